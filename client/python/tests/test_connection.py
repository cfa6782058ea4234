"""The connection's guarantees: explicit states, reconnects by itself, resends what is
safe to resend as the identical frame, honours RATE_LIMITED, fails what is unknown."""

from __future__ import annotations

import asyncio
import json
import signal

import pytest

import blackboard
from blackboard import ConnectionState
from conftest import ClientFactory, ServerFactory
from support.aio import random_board, run, wait_until
from support.frames import FrameLog
from support.processes import ServerProcess, free_port
from support.proxy import Proxy


def test_states_reconnect_and_close(client: ClientFactory, board: str) -> None:
    async def scenario() -> None:
        bb = client()
        states: list[ConnectionState] = []
        bb.add_listener("state", states.append)
        assert bb.state is ConnectionState.DISCONNECTED
        await bb.connect()
        assert states == [ConnectionState.CONNECTING, ConnectionState.CONNECTED]
        await bb.put(board, "k", 1)
        bb.connection.drop()
        await wait_until(lambda: states.count(ConnectionState.CONNECTED) == 2, 10, "the reconnect")
        assert states[2:] == [ConnectionState.DISCONNECTED, ConnectionState.CONNECTING, ConnectionState.CONNECTED]
        assert (await bb.get(board, "k")).value == 1
        await bb.close()
        assert bb.state is ConnectionState.CLOSED and states[-1] is ConnectionState.CLOSED
        with pytest.raises(blackboard.UnavailableError):
            await bb.get(board, "k")

    run(scenario())


def test_a_write_whose_reply_was_lost_is_resent_as_the_identical_frame_and_applied_once(
    server: ServerProcess, client: ClientFactory, board: str, frames: FrameLog
) -> None:
    async def scenario() -> None:
        proxy = await Proxy(server.port).start()
        try:
            async with client(proxy.url) as bb, client() as observer:
                await bb.put(board, "before", 1)
                proxy.swallow_replies = True
                pending = asyncio.ensure_future(bb.put(board, "k", {"once": True}))
                # The server commits it; the client never hears back.
                await wait_until(_exists(observer, board, "k"), 10, "the commit")
                committed = await observer.get(board, "k")
                assert not pending.done()
                proxy.swallow_replies = False
                proxy.cut()
                result = await asyncio.wait_for(pending, 20)
                assert (result.version, result.rev) == (committed.version, committed.mod_rev) == (1, committed.rev)
                assert (await observer.get(board, "k")).version == 1
                # A read sent while replies are lost is resent too, and answered.
                proxy.swallow_replies = True
                read = asyncio.ensure_future(bb.get(board, "k"))
                await asyncio.sleep(0.2)
                proxy.swallow_replies = False
                proxy.cut()
                assert (await asyncio.wait_for(read, 20)).value == {"once": True}
                assert proxy.connections == 3
        finally:
            await proxy.close()

    run(scenario())
    puts = [text for text in frames.sent if json.loads(text).get("key") == "k" and json.loads(text)["op"] == "put"]
    assert len(puts) == 2 and puts[0] == puts[1]


def _exists(bb: blackboard.Client, board: str, key: str):  # type: ignore[no-untyped-def]
    async def check() -> bool:
        return await bb.value(board, key) is not None

    return check


def test_an_unrepeatable_request_lost_with_its_connection_fails_as_unknown(server: ServerProcess, client: ClientFactory, board: str) -> None:
    async def scenario() -> None:
        proxy = await Proxy(server.port).start()
        try:
            async with client(proxy.url) as bb:
                proxy.swallow_replies = True
                acquiring = asyncio.ensure_future(bb.acquire_lock(board, "job", ttl_ms=5_000))
                await asyncio.sleep(0.3)
                proxy.swallow_replies = False
                proxy.cut()
                with pytest.raises(blackboard.UnavailableError) as unknown:
                    await acquiring
                assert unknown.value.details == {"op": "lock.acquire"}
                # The client itself carries on.
                await bb.put(board, "after", 1)
        finally:
            await proxy.close()

    run(scenario())


def test_requests_made_while_the_server_is_down_go_out_once_it_is_up(servers: ServerFactory, frames: FrameLog) -> None:
    port = free_port()
    board = random_board()

    async def scenario() -> None:
        bb = blackboard.Client(f"ws://127.0.0.1:{port}", frame_observer=frames.observer(), reconnect_base_ms=20, reconnect_cap_ms=300)
        writes = asyncio.ensure_future(asyncio.gather(*(bb.put(board, f"k/{i}", i) for i in range(5)), bb.presence(board, {"up": True})))
        await asyncio.sleep(0.5)
        assert bb.state is not ConnectionState.CONNECTED and not writes.done()
        await asyncio.get_running_loop().run_in_executor(None, lambda: servers(port=port))
        results = await asyncio.wait_for(writes, 30)
        # Five puts and the presence entry: six revisions, each applied once.
        assert sorted(r.rev for r in results) == [1, 2, 3, 4, 5, 6]
        assert [k.key async for k in bb.list(board, "k/")] == [f"k/{i}" for i in range(5)]
        await bb.close()

    run(scenario())


def test_several_urls_the_next_is_tried(server: ServerProcess, board: str, frames: FrameLog) -> None:
    async def scenario() -> None:
        dead = f"ws://127.0.0.1:{free_port()}"
        async with blackboard.Client([dead, server.url], frame_observer=frames.observer(), reconnect_base_ms=10) as bb:
            assert (await bb.put(board, "k", 1)).version == 1

    run(scenario())


def test_rate_limited_requests_are_sent_again_after_retry_after(servers: ServerFactory, frames: FrameLog) -> None:
    process = servers({"RATE_LIMIT_RPS": "40", "RATE_LIMIT_BURST": "5"})
    board = random_board()
    timeline: list[tuple[float, str, str]] = []

    async def scenario() -> None:
        loop = asyncio.get_running_loop()

        check = frames.observer()

        def observe(direction: str, text: str) -> None:
            check(direction, text)
            timeline.append((loop.time(), direction, text))

        async with blackboard.Client(process.url, frame_observer=observe) as bb:
            results = await asyncio.gather(*(bb.put(board, f"k/{i % 7}", i) for i in range(60)))
            assert sorted(r.rev for r in results) == list(range(1, 61))

    run(scenario(), 120)
    refused = [(t, json.loads(text)) for t, d, text in timeline if d == "receive" and '"RATE_LIMITED"' in text]
    assert refused, "the server never refused anything: the test proves nothing"
    sends: dict[int, list[tuple[float, str]]] = {}
    for t, d, text in timeline:
        if d == "send":
            sends.setdefault(json.loads(text)["id"], []).append((t, text))
    for t, reply in refused:
        again = [(ts, text) for ts, text in sends[reply["id"]] if ts > t]
        assert again, f"request {reply['id']} was not sent again"
        # The identical frame (same reqId), and not before the wait the server named.
        assert again[0][1] == sends[reply["id"]][0][1]
        assert again[0][0] - t >= reply["error"]["details"]["retryAfterMs"] / 1000 * 0.99


def test_a_server_restart_is_survived_without_help(servers: ServerFactory, frames: FrameLog) -> None:
    process = servers()
    board = random_board()

    async def scenario() -> None:
        async with blackboard.Client(process.url, frame_observer=frames.observer(), reconnect_base_ms=50, reconnect_cap_ms=500) as bb:
            await bb.put(board, "k", 0)
            loop = asyncio.get_running_loop()
            assert await loop.run_in_executor(None, lambda: process.stop(signal.SIGTERM)) == 0
            pending = asyncio.ensure_future(asyncio.gather(bb.update(board, "k", lambda v: v + 1), bb.get(board, "k")))
            await asyncio.sleep(0.3)
            await loop.run_in_executor(None, process.start)
            done, _ = await asyncio.wait_for(pending, 30)
            assert done.value == 1
            assert bb.state is ConnectionState.CONNECTED

    run(scenario())
