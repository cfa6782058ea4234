"""The one place where every frame a test's clients send and receive is checked.

Clients made by the ``client`` fixture report each frame here through the client's
``frame_observer``. ``check_frame`` holds the rules the protocol states that can be
checked frame by frame; validation against ``docs/protocol.schema.json`` (JSON Schema of
every request, reply and push) belongs in ``check_frame`` too, once that file exists.
Besides, the server is an oracle: a BAD_REQUEST reply means the client produced a frame
the server refused, which fails the test unless the test expects it.
"""

from __future__ import annotations

import json
from typing import Any

#: Fields that take any JSON, and so may be null; any other field sent as null is refused.
ANY_JSON_FIELDS = frozenset({"value", "data", "meta", "checkpoint", "result"})
KNOWN_OPS = frozenset({
    "get", "list", "put", "patch", "delete", "txn", "history", "boards", "subscribe", "unsubscribe",
    "lock.acquire", "lock.extend", "lock.release", "presence.set", "presence.clear",
    "task.enqueue", "task.work", "task.heartbeat", "task.checkpoint", "task.complete", "task.fail",
    "task.get", "task.cancel", "task.stop", "schema.set", "schema.get", "schema.list",
})
PUSHES = frozenset({"events", "progress", "task", "task.cancel"})
MAX_DEPTH = 64
MAX_FRAME_BYTES = 1 << 20


def _depth(value: Any) -> int:
    deepest, stack = 0, [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, dict):
            deepest = max(deepest, depth)
            stack.extend((v, depth + 1) for v in item.values())
        elif isinstance(item, list):
            deepest = max(deepest, depth)
            stack.extend((v, depth + 1) for v in item)
    return deepest


def check_frame(direction: str, text: str, frame: Any) -> list[str]:
    """What is wrong with one frame (empty when nothing is)."""
    problems: list[str] = []
    if not isinstance(frame, dict):
        return [f"{direction}: not a JSON object"]
    if direction == "send":
        if not isinstance(frame.get("id"), int) or isinstance(frame.get("id"), bool):
            problems.append("request without an integer id")
        if frame.get("op") not in KNOWN_OPS:
            problems.append(f"unknown op {frame.get('op')!r}")
        for name, value in frame.items():
            if value is None and name not in ANY_JSON_FIELDS:
                problems.append(f"{frame.get('op')}: field {name} sent as null")
        if _depth(frame) > MAX_DEPTH:
            problems.append(f"{frame.get('op')}: nested deeper than {MAX_DEPTH}")
        if len(text.encode("utf-8")) > MAX_FRAME_BYTES:
            problems.append(f"{frame.get('op')}: frame over {MAX_FRAME_BYTES} bytes")
    else:
        if "push" in frame:
            if frame["push"] not in PUSHES:
                problems.append(f"unknown push {frame['push']!r}")
        elif "ok" in frame:
            if frame["ok"] is False and not isinstance(frame.get("error", {}).get("details", {}), dict):
                problems.append("error details that are not an object")
        else:
            problems.append("a frame that is neither a reply nor a push")
    return problems


class FrameLog:
    """Collects what the clients of one test sent and received, and any problem found."""

    def __init__(self) -> None:
        self.sent: list[str] = []
        self.received_count = 0
        self.problems: list[str] = []
        self.refusals: list[dict[str, Any]] = []
        #: Tests that send bad input on purpose set this; BAD_REQUEST replies are then expected.
        self.expect_bad_requests = False

    def observe(self, direction: str, text: str) -> None:
        try:
            frame = json.loads(text)
        except ValueError:
            self.problems.append(f"{direction}: not JSON: {text[:200]}")
            return
        if direction == "send":
            self.sent.append(text)
        else:
            self.received_count += 1
            if frame.get("ok") is False and frame.get("error", {}).get("code") == "BAD_REQUEST":
                self.refusals.append(frame)
        self.problems.extend(check_frame(direction, text, frame))

    def sent_frames(self, op: str | None = None) -> list[dict[str, Any]]:
        frames = [json.loads(t) for t in self.sent]
        return [f for f in frames if op is None or f.get("op") == op]

    def verify(self) -> None:
        assert not self.problems, f"frames that break the protocol: {self.problems[:10]}"
        if not self.expect_bad_requests:
            assert not self.refusals, f"the server refused frames as BAD_REQUEST: {self.refusals[:5]}"
