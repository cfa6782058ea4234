"""For agents run by the tests: when FRAME_LOG names a file, every frame the agent's client
sends and receives is appended to it, so that the test passes them through its frame check."""

from __future__ import annotations

import json
import os
from typing import Callable, Optional


def frame_observer(client: int = 0) -> Optional[Callable[[str, str], None]]:
    """The observer for one client of the agent (``client`` tells an agent's clients apart:
    request ids are per client)."""
    path = os.environ.get("FRAME_LOG")
    if not path:
        return None
    sink = open(path, "a", buffering=1, encoding="utf-8")

    def observe(direction: str, text: str) -> None:
        sink.write(json.dumps([direction, text, client]) + "\n")

    return observe
