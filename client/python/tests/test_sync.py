"""``blackboard.sync.Client``: the same client for scripts, on a background loop."""

from __future__ import annotations

import time
from typing import Any

import pytest

import blackboard
from blackboard.sync import Client, TaskContext
from support.frames import FrameLog
from support.processes import ServerProcess


def test_the_synchronous_client_does_what_the_asyncio_one_does(server: ServerProcess, board: str, frames: FrameLog) -> None:
    with Client(server.url, agent="script", frame_observer=frames.observer()) as bb, \
            Client(server.url, agent="other", frame_observer=frames.observer()) as other:
        assert bb.state is blackboard.ConnectionState.CONNECTED
        assert bb.put(board, "a", {"n": 1}).version == 1
        assert bb.get(board, "a").value == {"n": 1}
        with pytest.raises(blackboard.ConflictError):
            bb.put(board, "a", {"n": 2}, if_version=0)
        with pytest.raises(blackboard.NotFoundError):
            bb.get(board, "missing")
        for _ in range(5):
            bb.update(board, "count", lambda v: (v or 0) + 1)
        assert bb.value(board, "count") == 5
        assert [item.key for item in bb.list(board)] == ["a", "count"]
        assert [e.rev for e in bb.history(board)] == [1, 2, 3, 4, 5, 6]

        with bb.watch(board, ["a"]) as watch:
            assert watch.values() == {"a": {"n": 1}}
            other.put(board, "a", {"n": 3})
            changes = iter(watch)
            assert next(changes).type == "reset"
            change = next(changes)
            assert change.type == "event" and change.event is not None and change.event.value == {"n": 3}

        # The lock is extended on the background loop while this thread sleeps past its TTL.
        with bb.lock(board, "job", ttl_ms=500) as lock:
            time.sleep(1.2)
            assert not lock.lost
            bb.put(board, "locked-write", 1, fence=lock)
            with pytest.raises(blackboard.LockedError):
                other.acquire_lock(board, "job", ttl_ms=500, wait_ms=0)
        other.release_lock(board, "job", other.acquire_lock(board, "job", ttl_ms=500, wait_ms=0).token)

        def handler(data: Any, ctx: TaskContext) -> Any:
            ctx.checkpoint({"half": data // 2})
            return data * 2

        with bb.worker(board, "jobs", handler):
            other.enqueue(board, "jobs", 21, task_id="sync-task")
            deadline = time.monotonic() + 20
            while other.task(board, "sync-task").state != "completed":
                assert time.monotonic() < deadline, "the task did not complete"
                time.sleep(0.05)
        info = other.task(board, "sync-task")
        assert info.result == 42 and info.checkpoint == {"half": 10}
    assert bb.state is blackboard.ConnectionState.CLOSED
