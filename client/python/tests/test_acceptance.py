"""The Python client beside the TypeScript SDK, against real server processes: contention
on one key, a watcher through server restarts, tasks resumed across languages after a
SIGKILL, and a frozen lock holder fenced."""

from __future__ import annotations

import asyncio
import signal
from collections import Counter
from typing import Any

import blackboard
from blackboard import WatchChange
from conftest import ClientFactory, ServerFactory
from support.agents import AGENTS, Agent
from support.aio import random_board, run, wait_until
from support.frames import FrameLog
from support.processes import REPO, ServerProcess

TS_WORKER = REPO / "test" / "faults" / "task-worker-agent.ts"


def test_ten_python_and_ten_typescript_clients_increment_one_key_to_2000(server: ServerProcess, client: ClientFactory, board: str) -> None:
    ts = Agent.typescript(AGENTS / "ts_increment.ts", server.url, board, "counter", "10", "100")
    try:
        async def scenario() -> None:
            await ts.until("ready", timeout=120)
            clients = [client(agent=f"py-{i}") for i in range(10)]
            await asyncio.gather(*(c.connect() for c in clients))

            async def increments(bb: blackboard.Client) -> int:
                for _ in range(100):
                    await bb.update(board, "counter", lambda n: (n or 0) + 1)
                return 100

            ts.say("go")
            done, ts_done = await asyncio.gather(asyncio.gather(*(increments(c) for c in clients)), ts.until("done", timeout=240))
            assert sum(done) == 1_000 and ts_done["updates"] == 1_000
            final = await clients[0].get(board, "counter")
            assert (final.value, final.version) == (2_000, 2_000)
            actors = Counter([e.actor.split("-")[0] async for e in clients[0].history(board, key="counter")])
            assert actors == {"py": 1_000, "ts": 1_000}
            await asyncio.gather(*(c.close() for c in clients))

        run(scenario(), 300)
    finally:
        ts.kill()


def test_a_watcher_through_two_server_restarts_sees_every_revision_once(servers: ServerFactory, frames: FrameLog) -> None:
    process = servers()
    board = random_board()
    total = 5_000

    async def scenario() -> None:
        loop = asyncio.get_running_loop()
        options: dict[str, Any] = {"reconnect_base_ms": 50, "reconnect_cap_ms": 500}
        async with blackboard.Client(process.url, frame_observer=frames.observer(), **options) as writer, \
                blackboard.Client(process.url, frame_observer=frames.observer(), **options) as watcher:
            watch = watcher.watch(board, ["**"])
            await watch.ready()
            changes: list[WatchChange] = []

            async def read() -> None:
                async for change in watch:
                    changes.append(change)

            reader = asyncio.ensure_future(read())
            acked: list[int] = []
            next_write = 0

            async def write() -> None:
                nonlocal next_write
                while next_write < total:
                    i = next_write
                    next_write += 1
                    acked.append((await writer.put(board, f"item/{i % 50}", {"i": i})).rev)

            writing = asyncio.ensure_future(asyncio.gather(*(write() for _ in range(8))))
            for threshold in (1_500, 3_200):
                await wait_until(lambda: len(acked) >= threshold, 120, f"{threshold} writes")
                assert await loop.run_in_executor(None, process.stop, signal.SIGTERM) == 0
                await loop.run_in_executor(None, process.start)
            await asyncio.wait_for(writing, 120)

            # Each write is one revision, resends included: 1..5000, each acknowledged once.
            assert sorted(acked) == list(range(1, total + 1))
            await wait_until(lambda: watch.rev >= total, 60, "the watcher to catch up")
            await watch.close()
            await reader
            seen = [c.rev for c in changes if c.type == "event"]
            assert len(seen) == total and seen == list(range(1, total + 1))
            board_now = {i.key: (i.value, i.version, i.create_rev, i.mod_rev) async for i in writer.list(board)}
            replica = {k: (e.value, e.version, e.create_rev, e.mod_rev) for k, e in watch.replica.items()}
            assert replica == board_now and len(replica) == 50
            assert [c.reason for c in changes if c.type == "reset"] == ["snapshot"]

    run(scenario(), 400)
    resumes = [f for f in frames.sent_frames("subscribe") if "fromRev" in f]
    assert len(resumes) >= 2


async def _task_state(bb: blackboard.Client, board: str, task_id: str) -> str:
    return (await bb.task(board, task_id)).state


def _resume_across(first: Agent, second_factory: Any, server: ServerProcess, client: ClientFactory, board: str, frames: FrameLog) -> None:
    agents = [first]
    try:
        async def scenario() -> None:
            async with client() as admin:
                await admin.enqueue(board, "jobs", {"n": 20}, task_id="big")
                await first.until("start", lambda line: line.get("taskId") == "big", timeout=120)
                await wait_until(lambda: _seq_at_least(admin, board, 7), 60, "seven checkpoints")
                first.kill()
                await wait_until(lambda: _is(admin, board, "waiting"), 20, "the task back in the queue")
                at_loss = await admin.task(board, "big")
                assert at_loss.checkpoint["next"] == at_loss.seq >= 7

                second: Agent = second_factory()
                agents.append(second)
                try:
                    resumed = await second.until("start", lambda line: line.get("taskId") == "big", timeout=120)
                    assert resumed["attempt"] == 2 and resumed["from"] == at_loss.checkpoint["next"]
                    await wait_until(lambda: _is(admin, board, "completed"), 60, "completion")
                finally:
                    second.kill()
                done = await admin.task(board, "big")
                assert done.result == {"outputs": [f"big:{i}" for i in range(20)]}
                assert (done.attempt, done.losses, done.failures, done.seq, done.progress) == (2, 1, 0, 20, 100)

        run(scenario(), 300)
    finally:
        first.kill()
    # The Python agent's frames go through the same check as the test's own.
    assert sum(agent.check_frames(frames) for agent in agents) > 0


async def _seq_at_least(bb: blackboard.Client, board: str, n: int) -> bool:
    return (await bb.task(board, "big")).seq >= n


async def _is(bb: blackboard.Client, board: str, state: str) -> bool:
    return await _task_state(bb, board, "big") == state


def test_a_python_worker_killed_mid_task_is_resumed_by_a_typescript_worker(
    server: ServerProcess, client: ClientFactory, board: str, frames: FrameLog
) -> None:
    python = Agent.python("py_task_worker.py", "--url", server.url, "--board", board, "--step-ms", "100", "--lease", "5000")
    _resume_across(
        python,
        lambda: Agent.typescript(TS_WORKER, "--url", server.url, "--board", board, "--step-ms", "20"),
        server, client, board, frames,
    )


def test_a_typescript_worker_killed_mid_task_is_resumed_by_a_python_worker(
    server: ServerProcess, client: ClientFactory, board: str, frames: FrameLog
) -> None:
    typescript = Agent.typescript(TS_WORKER, "--url", server.url, "--board", board, "--step-ms", "100", "--lease", "5000")
    _resume_across(
        typescript,
        lambda: Agent.python("py_task_worker.py", "--url", server.url, "--board", board, "--step-ms", "20"),
        server, client, board, frames,
    )


def test_a_python_lock_holder_frozen_past_its_ttl_is_fenced(server: ServerProcess, client: ClientFactory, board: str, frames: FrameLog) -> None:
    holder = Agent.python("py_lock_holder.py", server.url, "frozen", board, "job", "1000")
    try:
        async def scenario() -> None:
            await wait_until(lambda: holder.count("wrote") >= 3 or holder.proc.poll() is not None, 120, "the holder's first writes")
            first = await holder.until("acquired")
            holder.signal(signal.SIGSTOP)
            async with client(agent="successor") as successor:
                # Granted once the frozen holder's lock lapses: it cannot extend it.
                grant = await successor.acquire_lock(board, "job", ttl_ms=30_000, wait_ms=15_000)
                assert grant.token > first["token"]
                fence = blackboard.Fence("job", grant.token)
                await successor.put(board, "shared", {"by": "successor"}, fence=fence)
                await successor.put(board, "agent/w0", {"by": "successor"}, fence=fence)
                holder.signal(signal.SIGCONT)
                fenced = await holder.until("fenced", timeout=30)
                assert await asyncio.get_running_loop().run_in_executor(None, holder.proc.wait, 30) == 0

                # Everything the holder wrote was written while its lock was valid.
                for line in [x for x in holder.lines if x["event"] == "wrote"]:
                    assert line["rev"] < grant.token
                items = {i.key: i async for i in successor.list(board, "agent/")}
                assert f"agent/w{fenced['seq']}" not in items or fenced["seq"] == 0
                assert items["agent/w0"].value == {"by": "successor"}
                assert all(i.mod_rev < grant.token for k, i in items.items() if k != "agent/w0")
                assert (await successor.get(board, "shared")).value == {"by": "successor"}
                held = (await successor.get(board, "$locks/job")).value
                assert held["holder"] == "successor" and held["token"] == grant.token
                await successor.release_lock(board, "job", grant.token)

        run(scenario(), 240)
    finally:
        holder.signal(signal.SIGCONT)
        holder.kill()
    assert holder.check_frames(frames) > 0
