"""A Python worker process for the task tests, the counterpart of
test/faults/task-worker-agent.ts (subtasks mode) with the same checkpoint shape, so
either can resume the other's task.

    py_task_worker.py --url ws://... --board b [--queue jobs] [--step-ms 50] [--lease 2000] [--agent name]

Each task's data is {n}; subtask i outputs "<taskId>:<i>" and a checkpoint
{next, outputs} follows each one; the result is {outputs}. One JSON line per thing done.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import time
from typing import Any

import blackboard
from _frame_file import frame_observer


def say(**line: Any) -> None:
    print(json.dumps({"pid": os.getpid(), "t": int(time.time() * 1000), **line}), flush=True)


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--url", required=True)
    parser.add_argument("--board", required=True)
    parser.add_argument("--queue", default="jobs")
    parser.add_argument("--step-ms", type=int, default=50)
    parser.add_argument("--lease", type=int, default=2_000)
    parser.add_argument("--agent", default=f"py-agent-{os.getpid()}")
    args = parser.parse_args()

    async def handler(data: Any, ctx: blackboard.TaskContext) -> Any:
        state = ctx.last_checkpoint or {"next": 0, "outputs": []}
        say(event="start", taskId=ctx.task_id, attempt=ctx.attempt, **{"from": state["next"]})
        for i in range(state["next"], data["n"]):
            await asyncio.sleep(args.step_ms / 1000)
            state = {"next": i + 1, "outputs": [*state["outputs"], f"{ctx.task_id}:{i}"]}
            await ctx.checkpoint(state, round((i + 1) / data["n"] * 100))
        say(event="finished", taskId=ctx.task_id, attempt=ctx.attempt)
        return {"outputs": state["outputs"]}

    def on_error(err: BaseException, task_id: str) -> None:
        say(event="error", taskId=task_id, code=getattr(err, "code", repr(err)))

    options: dict[str, Any] = {"reconnect_base_ms": 50, "reconnect_cap_ms": 500, "frame_observer": frame_observer()}
    async with blackboard.Client(args.url, agent=args.agent, **options) as bb:
        worker = bb.worker(args.board, args.queue, handler, lease_ms=args.lease, on_error=on_error)
        await worker.start()
        say(event="ready")
        await worker.serve()


if __name__ == "__main__":
    asyncio.run(main())
