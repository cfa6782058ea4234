"""``async with client.lock(...)``: extended while held, a fence for writes, released after."""

from __future__ import annotations

import asyncio

import pytest

import blackboard
from conftest import ClientFactory
from support.aio import run, wait_until
from support.frames import FrameLog
from support.processes import ServerProcess
from support.proxy import Proxy


def test_a_held_lock_is_extended_fences_writes_and_is_released(client: ClientFactory, board: str, frames: FrameLog) -> None:
    async def scenario() -> None:
        async with client(agent="holder") as bb, client(agent="rival") as rival:
            async with bb.lock(board, "job", ttl_ms=601) as lock:
                assert lock.token > 0 and lock.fence == blackboard.Fence("job", lock.token)
                # Three TTLs later it is still held: the keeper extended it.
                await asyncio.sleep(1.8)
                assert not lock.lost
                written = await bb.put(board, "result", {"by": "holder"}, fence=lock)
                assert written.version == 1
                with pytest.raises(blackboard.LockedError) as locked:
                    await rival.acquire_lock(board, "job", ttl_ms=1_000, wait_ms=0)
                assert locked.value.holder == "holder"
                holder_view = (await rival.get(board, "$locks/job")).value
                assert holder_view["holder"] == "holder" and holder_view["token"] == lock.token
            # Released at the end of the block: the rival gets it at once, with a larger token.
            grant = await rival.acquire_lock(board, "job", ttl_ms=1_000, wait_ms=0)
            assert grant.token > lock.token
            with pytest.raises(blackboard.FencedError):
                await bb.put(board, "result", {"by": "stale"}, fence=lock)
            await rival.release_lock(board, "job", grant.token)

            with pytest.raises(RuntimeError):
                async with bb.lock(board, "job", ttl_ms=1_000):
                    raise RuntimeError("the body failed")
            # Released even so.
            await rival.release_lock(board, "job", (await rival.acquire_lock(board, "job", ttl_ms=1_000, wait_ms=0)).token)

    run(scenario())
    # Each extension asks for the ttl the lock was taken with, to the millisecond.
    extends = frames.sent_frames("lock.extend")
    assert 601 in {f["ttlMs"] for f in extends} and {f["ttlMs"] for f in extends} <= {601, 1_000}


def test_a_holder_cut_off_learns_its_lock_is_lost_and_its_writes_are_fenced(server: ServerProcess, client: ClientFactory, board: str) -> None:
    async def scenario() -> None:
        proxy = await Proxy(server.port).start()
        try:
            async with client(proxy.url, agent="cut") as bb, client(agent="next") as successor:
                async with bb.lock(board, "job", ttl_ms=800) as lock:
                    proxy.refusing = True
                    proxy.cut()
                    # Its connection is gone, so the server released the lock: another takes it.
                    grant = await successor.acquire_lock(board, "job", ttl_ms=10_000, wait_ms=5_000)
                    await wait_until(lambda: lock.lost, 5, "the holder to notice")
                    assert isinstance(lock.lost_reason, blackboard.FencedError)
                    with pytest.raises(blackboard.FencedError):
                        lock.check()
                    proxy.refusing = False
                    with pytest.raises(blackboard.FencedError):
                        await bb.put(board, "shared", {"by": "cut"}, fence=lock)
                assert grant.token > lock.token
                await successor.put(board, "shared", {"by": "next"}, fence=blackboard.Fence("job", grant.token))
                assert (await bb.get(board, "shared")).value == {"by": "next"}
        finally:
            await proxy.close()

    run(scenario())
