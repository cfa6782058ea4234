"""The one place where every frame a test's clients send and receive is checked.

Clients made by the ``client`` fixture report each frame here through the client's
``frame_observer``; a client made by hand takes ``frame_observer=frames.observer()``, one
observer per client, since a reply is checked against the op its request id was sent with,
and ids are per client. ``check_frame`` validates each frame against
``docs/protocol.schema.json``, the JSON Schema of every request, reply and push that
clients in other languages are written against:

- a request against ``request.<op>`` (closed: an unknown field fails);
- a reply against ``reply.ok`` or ``reply.error``, and an ok reply's ``result`` against
  ``result.<op>`` of the request with that id;
- a push against ``push.<name>``.

As in the TypeScript tests' check, objects the schema leaves open only by saying nothing
(results and pushes may carry more fields than listed) are closed here, so that a field
the server sends but the schema does not name fails too. The schema's patterns are
ECMA-262 regular expressions; they are translated where Python's ``re`` reads them
differently (``$`` before a final newline, ``.``, ``\\d``). Besides, the server is an
oracle: a BAD_REQUEST reply means the client produced a frame the server refused, which
fails the test unless the test expects it, and a test that sends a frame the schema
refuses on purpose must see the server refuse it too.
"""

from __future__ import annotations

import json
import re
import threading
from functools import lru_cache
from itertools import islice
from typing import Any, Callable, Iterator

from jsonschema import Draft202012Validator, validators
from jsonschema.exceptions import ValidationError

from .processes import REPO

SCHEMA_PATH = REPO / "docs" / "protocol.schema.json"
MAX_DEPTH = 64
MAX_FRAME_BYTES = 1 << 20

Json = dict[str, Any]


# --- ECMA-262 patterns in Python's re ---

_ECMA_DOT = "[^\\n\\r\\u2028\\u2029]"
_ECMA_CLASS_ESCAPES = {"d": "0-9", "w": "A-Za-z0-9_"}
_ECMA_ESCAPES = {"d": "[0-9]", "D": "[^0-9]", "w": "[A-Za-z0-9_]", "W": "[^A-Za-z0-9_]"}


def ecma_pattern(pattern: str) -> str:
    """An ECMA-262 (``u`` flag, no ``m``) pattern as a Python ``re`` pattern of the same meaning.

    Outside a class: ``$`` is the end of the text only (Python's also matches before a final
    newline), ``.`` excludes every line terminator, ``\\d``/``\\w`` are ASCII. The other
    escapes the schema uses (``\\/``, ``\\uXXXX``) read the same in both. Anything this does not
    translate faithfully is refused rather than guessed.
    """
    out: list[str] = []
    in_class = False
    i = 0
    while i < len(pattern):
        char = pattern[i]
        if char == "\\":
            if i + 1 >= len(pattern):
                raise ValueError(f"pattern ends in a backslash: {pattern!r}")
            escape = pattern[i + 1]
            if in_class and escape in _ECMA_CLASS_ESCAPES:
                out.append(_ECMA_CLASS_ESCAPES[escape])
            elif not in_class and escape in _ECMA_ESCAPES:
                out.append(_ECMA_ESCAPES[escape])
            elif escape in "sSbBpPkc" or (escape == "u" and pattern[i + 2 : i + 3] == "{"):
                raise ValueError(f"ECMA escape \\{escape} not translated: {pattern!r}")
            else:
                out.append(pattern[i : i + 2])
            i += 2
            continue
        if in_class:
            in_class = char != "]"
            out.append(char)
        elif char == "[":
            in_class = True
            out.append(char)
            if pattern[i + 1 : i + 2] == "]":
                raise ValueError(f"an empty ECMA class is not translated: {pattern!r}")
        elif char == "$":
            out.append(r"(?![\s\S])")
        elif char == ".":
            out.append(_ECMA_DOT)
        else:
            out.append(char)
        i += 1
    return "".join(out)


@lru_cache(maxsize=None)
def _compiled(pattern: str) -> re.Pattern[str]:
    return re.compile(ecma_pattern(pattern))


def _pattern_keyword(validator: Any, pattern: str, instance: Any, schema: Json) -> Iterator[ValidationError]:
    if validator.is_type(instance, "string") and not _compiled(pattern).search(instance):
        yield ValidationError(f"{instance[:80]!r} does not match {pattern!r}")


_Validator = validators.extend(Draft202012Validator, {"pattern": _pattern_keyword})


# --- the schema file ---


def _closed(node: Any) -> Any:
    """Closes every object schema that names its properties and says nothing of others."""
    if isinstance(node, list):
        return [_closed(item) for item in node]
    if not isinstance(node, dict):
        return node
    out = {k: ({p: _closed(s) for p, s in v.items()} if k == "properties" else _closed(v)) for k, v in node.items()}
    if "properties" in out and "additionalProperties" not in out:
        out["additionalProperties"] = False
    return out


class ProtocolSchema:
    """``docs/protocol.schema.json`` as validators, one per definition, made on first use."""

    def __init__(self, document: Json) -> None:
        Draft202012Validator.check_schema(document)
        self.document = document
        self._defs: Json = _closed(document["$defs"])
        self._validators: dict[str, Any] = {}
        self._lock = threading.Lock()

    @staticmethod
    @lru_cache(maxsize=1)
    def load() -> ProtocolSchema:
        return ProtocolSchema(json.loads(SCHEMA_PATH.read_text(encoding="utf-8")))

    def has(self, name: str) -> bool:
        return name in self._defs

    @property
    def error_codes(self) -> list[str]:
        """The wire's error codes, as the schema lists them."""
        codes = self.document["$defs"]["error"]["properties"]["code"]["enum"]
        assert isinstance(codes, list)
        return [str(code) for code in codes]

    def problems(self, name: str, value: Any, limit: int = 3) -> list[str]:
        """Why ``value`` is not a ``name`` (the definition's name in ``$defs``); empty when it is."""
        with self._lock:
            validator = self._validators.get(name)
            if validator is None:
                if name not in self._defs:
                    return [f"the schema has no definition {name}"]
                validator = _Validator({"$defs": self._defs, "$ref": f"#/$defs/{name}"})
                self._validators[name] = validator
        return [f"{name} {'/'.join(map(str, e.absolute_path)) or '/'}: {e.message[:300]}" for e in islice(validator.iter_errors(value), limit)]


# --- frame by frame ---


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


def check_frame(direction: str, text: str, frame: Any, op: str | None = None) -> list[str]:
    """What is wrong with one frame (empty when nothing is).

    ``direction`` is ``send`` or ``receive``; for a reply, ``op`` is the op of the request
    with its id (None when unknown: then only the envelope is checked).
    """
    schema = ProtocolSchema.load()
    if not isinstance(frame, dict):
        return [f"{direction}: not a JSON object"]
    if direction == "send":
        problems: list[str] = []
        name = f"request.{frame.get('op')}"
        if not isinstance(frame.get("op"), str) or not schema.has(name):
            problems.append(f"unknown op {frame.get('op')!r}")
        else:
            problems.extend(schema.problems(name, frame))
        # What the schema cannot say: the server's nesting and size bounds.
        if _depth(frame) > MAX_DEPTH:
            problems.append(f"{frame.get('op')}: nested deeper than {MAX_DEPTH}")
        if len(text.encode("utf-8", "surrogatepass")) > MAX_FRAME_BYTES:
            problems.append(f"{frame.get('op')}: frame over {MAX_FRAME_BYTES} bytes")
        return problems
    if "push" in frame:
        name = f"push.{frame['push']}"
        return schema.problems(name, frame) if schema.has(name) else [f"unknown push {frame['push']!r}"]
    if frame.get("ok") is False:
        return schema.problems("reply.error", frame)
    if frame.get("ok") is True:
        problems = schema.problems("reply.ok", frame)
        if not problems and op is not None:
            problems = schema.problems(f"result.{op}", frame["result"])
        return problems
    return ["a frame that is neither a reply nor a push"]


Observer = Callable[[str, str], None]


class FrameLog:
    """Collects what the clients of one test sent and received, and any problem found."""

    def __init__(self) -> None:
        self.sent: list[str] = []
        self.received_count = 0
        self.problems: list[str] = []
        self.refusals: list[dict[str, Any]] = []
        #: Tests that send bad input on purpose set this; BAD_REQUEST replies are then expected,
        #: and so are requests the schema refuses, provided the server refuses them too.
        self.expect_bad_requests = False
        self._default: Observer | None = None
        self._channels: list[_Channel] = []
        self._lock = threading.Lock()

    def observer(self) -> Observer:
        """A frame observer for one client (``frame_observer=frames.observer()``)."""
        channel = _Channel(self)
        with self._lock:
            self._channels.append(channel)
        return channel.observe

    def observe(self, direction: str, text: str) -> None:
        """The observer of one client that a test did not make one for (its first use makes it)."""
        if self._default is None:
            self._default = self.observer()
        self._default(direction, text)

    def _record(self, direction: str, text: str, problems: list[str]) -> None:
        with self._lock:
            if direction == "send":
                self.sent.append(text)
            else:
                self.received_count += 1
            self.problems.extend(f"{direction}: {p}\n  frame: {text[:300]}" for p in problems)

    def sent_frames(self, op: str | None = None) -> list[dict[str, Any]]:
        frames = [json.loads(t) for t in self.sent]
        return [f for f in frames if op is None or f.get("op") == op]

    def take_problems(self) -> list[str]:
        """The problems found so far, which then no longer fail the test (for tests of the check itself)."""
        with self._lock:
            taken, self.problems = self.problems, []
            for channel in self._channels:
                channel.refused_by_schema.clear()
            return taken

    def verify(self) -> None:
        unanswered = [f"a request the schema refuses and the server never answered: {p}" for c in self._channels for p in c.refused_by_schema.values()]
        problems = self.problems + unanswered
        assert not problems, "frames that break the protocol:\n" + "\n".join(problems[:10])
        if not self.expect_bad_requests:
            assert not self.refusals, f"the server refused frames as BAD_REQUEST: {self.refusals[:5]}"


class _Channel:
    """One client's frames: which op each request id was, so its reply is checked against that op."""

    def __init__(self, log: FrameLog) -> None:
        self.log = log
        self.ops: dict[int, str] = {}
        #: Requests the schema refuses that a test sent on purpose, awaiting the server's refusal.
        self.refused_by_schema: dict[int, str] = {}

    def observe(self, direction: str, text: str) -> None:
        try:
            frame = json.loads(text)
        except ValueError:
            self.log._record(direction, text, ["not JSON"])
            return
        try:
            problems = self._check(direction, text, frame)
        except Exception as err:  # a check that cannot run is a failure of its own, never a pass
            problems = [f"the check failed: {err!r}"]
        self.log._record(direction, text, problems)

    def _check(self, direction: str, text: str, frame: Any) -> list[str]:
        request_id = frame.get("id") if isinstance(frame, dict) else None
        if direction == "send":
            problems = check_frame(direction, text, frame)
            if isinstance(request_id, int) and isinstance(frame.get("op"), str):
                self.ops[request_id] = frame["op"]
                if problems and self.log.expect_bad_requests:
                    self.refused_by_schema[request_id] = "; ".join(problems)
                    return []
            return problems
        if not isinstance(frame, dict) or "push" in frame:
            return check_frame(direction, text, frame)
        op = self.ops.get(request_id) if isinstance(request_id, int) else None
        problems = check_frame(direction, text, frame, op)
        if frame.get("ok") is True and op is None:
            problems.append(f"a reply to id {request_id!r}, which this client never sent")
        code = frame.get("error", {}).get("code") if frame.get("ok") is False and isinstance(frame.get("error"), dict) else None
        if code == "BAD_REQUEST":
            with self.log._lock:
                self.log.refusals.append(frame)
        if isinstance(request_id, int) and request_id in self.refused_by_schema:
            refused = self.refused_by_schema.pop(request_id)
            if code != "BAD_REQUEST":
                problems.append(f"the schema refuses a request the server answered {code or 'ok'}: {refused}")
        return problems
