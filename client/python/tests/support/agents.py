"""Agents in processes of their own (TypeScript through tsx, or Python), which tests
kill, freeze and read: each prints one JSON object per line on stdout."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import threading
from pathlib import Path
from typing import Any, Callable

from .aio import wait_until
from .frames import FrameLog
from .processes import REPO

AGENTS = Path(__file__).resolve().parents[1] / "agents"
PYTHON_PACKAGE = Path(__file__).resolve().parents[2]

Line = dict[str, Any]


def check_frame_file(path: str, frames: FrameLog) -> int:
    """Passes the frames a Python agent wrote to ``path`` (``FRAME_LOG``) through the frame
    check, one observer per client of the agent; removes the file; returns how many."""
    observers: dict[int, Callable[[str, str], None]] = {}
    count = 0
    with open(path, encoding="utf-8") as log:
        for line in log:
            try:
                direction, text, client = json.loads(line)
            except ValueError:
                continue  # the last line of a killed agent may be cut short
            if client not in observers:
                observers[client] = frames.observer()
            observers[client](direction, text)
            count += 1
    os.unlink(path)
    return count


class Agent:
    def __init__(self, command: list[str], env: dict[str, str] | None = None, frame_log: str | None = None) -> None:
        self.lines: list[Line] = []
        self.frame_log = frame_log
        self._stderr: list[str] = []
        self.proc = subprocess.Popen(
            command, cwd=REPO, env={**os.environ, **(env or {})},
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        )
        threading.Thread(target=self._read, daemon=True).start()
        threading.Thread(target=self._read_errors, daemon=True).start()

    @staticmethod
    def typescript(script: str | Path, *args: str) -> Agent:
        return Agent(["node", "--import", "tsx", str(script), *args])

    @staticmethod
    def python(script: str, *args: str) -> Agent:
        """A Python agent; its client's frames are written to a file for ``check_frames``."""
        handle, frame_log = tempfile.mkstemp(prefix="bb-frames-", suffix=".jsonl")
        os.close(handle)
        env = {"PYTHONPATH": str(PYTHON_PACKAGE), "FRAME_LOG": frame_log}
        return Agent([sys.executable, str(AGENTS / script), *args], env, frame_log)

    def check_frames(self, frames: FrameLog) -> int:
        """Passes every frame the agent's clients sent and received through the test's frame check."""
        if self.frame_log is None:
            return 0
        count = check_frame_file(self.frame_log, frames)
        self.frame_log = None
        return count

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for text in self.proc.stdout:
            try:
                line = json.loads(text)
            except ValueError:
                continue
            if isinstance(line, dict):
                self.lines.append(line)

    def _read_errors(self) -> None:
        assert self.proc.stderr is not None
        for text in self.proc.stderr:
            self._stderr.append(text)

    def output(self) -> str:
        return f"stdout: {self.lines[-20:]}\nstderr: {''.join(self._stderr)[-3000:]}"

    def find(self, event: str, match: Callable[[Line], bool] = lambda _: True) -> Line | None:
        return next((line for line in list(self.lines) if line.get("event") == event and match(line)), None)

    def count(self, event: str) -> int:
        return sum(1 for line in list(self.lines) if line.get("event") == event)

    async def until(self, event: str, match: Callable[[Line], bool] = lambda _: True, timeout: float = 60) -> Line:
        try:
            await wait_until(lambda: self.find(event, match) is not None or self.proc.poll() is not None, timeout, f"agent {event}")
        except AssertionError as err:
            raise AssertionError(f"{err}; {self.output()}") from None
        found = self.find(event, match)
        if found is None:
            raise AssertionError(f"the agent exited ({self.proc.returncode}) before {event}; {self.output()}")
        return found

    def say(self, text: str) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.write(text + "\n")
        self.proc.stdin.flush()

    def signal(self, sig: int) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(sig)

    def kill(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait()
