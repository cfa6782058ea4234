"""For agents run by the tests: when FRAME_LOG names a file, every frame the agent's client
sends and receives is appended to it, so that the test passes them through its frame check."""

from __future__ import annotations

import json
import os
from typing import Callable, Optional


def frame_observer() -> Optional[Callable[[str, str], None]]:
    path = os.environ.get("FRAME_LOG")
    if not path:
        return None
    sink = open(path, "a", buffering=1, encoding="utf-8")

    def observe(direction: str, text: str) -> None:
        sink.write(json.dumps([direction, text]) + "\n")

    return observe
