"""The README's Python agent (examples/agent.py) runs as written."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import tempfile

import blackboard
from conftest import ServerFactory
from support.agents import AGENTS, PYTHON_PACKAGE, check_frame_file
from support.aio import run
from support.frames import FrameLog
from support.processes import REPO, RedisProcess


def test_the_readme_agent_runs_twice_and_counts_both(servers: ServerFactory, frames: FrameLog) -> None:
    # Its board is named "demo": a Redis of its own keeps it away from everything else.
    redis = RedisProcess().start()
    try:
        process = servers({"REDIS_URL": redis.url})
        outputs, checked = [], 0
        for name in ("alice", "bob"):
            handle, frame_log = tempfile.mkstemp(prefix="bb-frames-", suffix=".jsonl")
            os.close(handle)
            # As written, but with its client's frames logged for the frame check.
            env = {**os.environ, "PYTHONPATH": str(PYTHON_PACKAGE), "BLACKBOARD_URL": process.url, "FRAME_LOG": frame_log}
            command = [sys.executable, str(AGENTS / "frame_logged.py"), "examples/agent.py", name]
            outputs.append(subprocess.run(command, cwd=REPO, env=env, capture_output=True, text=True, timeout=60))
            checked += check_frame_file(frame_log, frames)
        assert [o.returncode for o in outputs] == [0, 0], [o.stderr for o in outputs]
        assert checked > 10
        # How many keys the replica holds depends on whether the agent's own events came back yet.
        assert re.fullmatch(r"alice: 1 steps done; the plan holds [0-2] keys", outputs[0].stdout.strip())
        assert re.fullmatch(r"bob: 2 steps done; the plan holds 2 keys", outputs[1].stdout.strip())

        async def claims() -> object:
            async with blackboard.Client(process.url, frame_observer=frames.observer()) as bb:
                return (await bb.get("demo", "plan/claims")).value

        assert run(claims()) == {"items": ["alice", "bob"]}
    finally:
        redis.stop()
