"""Task workers: results, checkpoints, resume after a lost worker, cancel, failures."""

from __future__ import annotations

import asyncio
from typing import Any

import blackboard
from blackboard import TaskContext
from conftest import ClientFactory
from support.aio import run, wait_until
from support.processes import ServerProcess
from support.proxy import Proxy


async def state_of(bb: blackboard.Client, board: str, task_id: str, state: str) -> bool:
    return (await bb.task(board, task_id)).state == state


def test_a_worker_completes_tasks_with_checkpoints_and_progress(client: ClientFactory, board: str) -> None:
    async def scenario() -> None:
        async with client() as bb:
            seen: list[tuple[str, int]] = []

            async def handler(data: Any, ctx: TaskContext) -> Any:
                seen.append((ctx.task_id, ctx.attempt))
                total = 0
                for i in range(data["n"]):
                    total += i
                    await ctx.checkpoint({"next": i + 1, "total": total}, progress=(i + 1) * 100 / data["n"])
                await ctx.progress(100)
                return {"total": total}

            async with bb.worker(board, "jobs", handler, concurrency=2):
                for i in range(4):
                    created = await bb.enqueue(board, "jobs", {"n": 3 + i}, task_id=f"t{i}")
                    assert created.created
                assert not (await bb.enqueue(board, "jobs", {"n": 99}, task_id="t0")).created
                for i in range(4):
                    await wait_until(lambda i=i: state_of(bb, board, f"t{i}", "completed"), 20, f"task t{i}")
            for i in range(4):
                info = await bb.task(board, f"t{i}")
                n = 3 + i
                assert info.result == {"total": n * (n - 1) // 2} and info.seq == n and info.progress == 100
                assert info.checkpoint == {"next": n, "total": n * (n - 1) // 2} and info.attempt == 1
            assert sorted(seen) == [(f"t{i}", 1) for i in range(4)]

    run(scenario())


def test_a_lost_worker_s_task_resumes_elsewhere_from_its_last_checkpoint(server: ServerProcess, client: ClientFactory, board: str) -> None:
    async def scenario() -> None:
        proxy = await Proxy(server.port).start()
        try:
            async with client(proxy.url) as first, client() as second, client() as admin:
                gate = asyncio.Event()
                stops: list[str | None] = []

                async def slow(data: Any, ctx: TaskContext) -> Any:
                    step = (ctx.last_checkpoint or {"next": 0})["next"]
                    try:
                        while step < data["n"]:
                            await ctx.checkpoint({"next": step + 1})
                            step += 1
                            if step == 3:
                                gate.set()
                                await asyncio.sleep(3_600)
                    finally:
                        stops.append(ctx.stop_reason)
                    return {"done": step}

                resumed: list[tuple[int, Any]] = []

                async def fast(data: Any, ctx: TaskContext) -> Any:
                    resumed.append((ctx.attempt, ctx.last_checkpoint))
                    return {"done": data["n"], "from": ctx.last_checkpoint["next"]}

                await admin.enqueue(board, "jobs", {"n": 5}, task_id="long")
                async with first.worker(board, "jobs", slow, lease_ms=2_000):
                    await asyncio.wait_for(gate.wait(), 20)
                    proxy.refusing = True
                    proxy.cut()
                    await wait_until(lambda: stops == ["lost"], 10, "the handler to be stopped")
                    async with second.worker(board, "jobs", fast):
                        await wait_until(lambda: state_of(admin, board, "long", "completed"), 20, "completion")
                info = await admin.task(board, "long")
                assert resumed == [(2, {"next": 3})]
                assert info.result == {"done": 5, "from": 3} and info.losses == 1
        finally:
            await proxy.close()

    run(scenario())


def test_cancel_stops_the_handler_and_failures_are_reported(client: ClientFactory, board: str) -> None:
    async def scenario() -> None:
        async with client() as bb, client() as admin:
            started = asyncio.Event()
            reasons: list[str | None] = []

            async def handler(data: Any, ctx: TaskContext) -> Any:
                if data == "cancel-me":
                    started.set()
                    try:
                        await asyncio.sleep(3_600)
                    finally:
                        reasons.append(ctx.stop_reason)
                if data == "permanent":
                    raise blackboard.PermanentTaskError("cannot be done")
                if data == "flaky" and ctx.attempt == 1:
                    raise ValueError("try again")
                if data == "unwieldy":
                    # Longer than task.fail takes, in characters JavaScript counts twice, with a lone surrogate.
                    raise blackboard.PermanentTaskError("bad name \udcff: " + "\U0001f600" * 5_000)
                return {"attempt": ctx.attempt}

            async with bb.worker(board, "jobs", handler, concurrency=3):
                await admin.enqueue(board, "jobs", "cancel-me", task_id="c")
                await asyncio.wait_for(started.wait(), 20)
                assert await admin.cancel_task(board, "c") == "cancelled"
                await wait_until(lambda: reasons == ["cancelled"], 10, "the handler to stop")
                await admin.enqueue(board, "jobs", "permanent", task_id="p", attempts=3)
                await admin.enqueue(board, "jobs", "flaky", task_id="f", attempts=3)
                await wait_until(lambda: state_of(admin, board, "p", "failed"), 20, "the permanent failure")
                await wait_until(lambda: state_of(admin, board, "f", "completed"), 20, "the retry")
                await admin.enqueue(board, "jobs", "unwieldy", task_id="u", attempts=3)
                await wait_until(lambda: state_of(admin, board, "u", "failed"), 20, "the unwieldy failure")
            unwieldy = (await admin.task(board, "u")).error
            assert unwieldy is not None and unwieldy.startswith("bad name \\udcff: \U0001f600")
            assert len(unwieldy.encode("utf-16-le")) // 2 in (4_095, 4_096)
            permanent = await admin.task(board, "p")
            assert permanent.attempt == 1 and permanent.error == "cannot be done"
            assert (await admin.task(board, "f")).result == {"attempt": 2}
            assert (await admin.task(board, "c")).state == "cancelled"

    run(scenario())


def test_a_worker_registers_again_after_a_reconnect(client: ClientFactory, board: str) -> None:
    async def scenario() -> None:
        async with client() as bb, client() as admin:
            async with bb.worker(board, "jobs", lambda data, ctx: data * 2) as worker:
                first_id = worker.worker_id
                bb.connection.drop()
                await wait_until(lambda: worker.worker_id not in (None, first_id), 10, "the new registration")
                await admin.enqueue(board, "jobs", 21, task_id="after")
                await wait_until(lambda: state_of(admin, board, "after", "completed"), 20, "completion")
            assert (await admin.task(board, "after")).result == 42

    run(scenario())
