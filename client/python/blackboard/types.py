"""What the server answers, as typed objects with snake_case fields.

Each ``from_wire`` reads the fields this client knows; a server may send more (the
contract allows it), and they are ignored.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal, Mapping

JsonPatch = list[dict[str, Any]]


def _int(m: Mapping[str, Any], name: str, default: int = 0) -> int:
    value = m.get(name, default)
    return value if isinstance(value, int) else default


@dataclass(frozen=True, slots=True)
class Fence:
    """What a write passes as ``fence`` to commit only while the lock is still held."""

    lock: str
    token: int

    def to_wire(self) -> dict[str, Any]:
        return {"lock": self.lock, "token": self.token}


@dataclass(frozen=True, slots=True)
class KeyRecord:
    key: str
    value: Any
    version: int
    create_rev: int
    mod_rev: int

    @staticmethod
    def from_wire(m: Mapping[str, Any]) -> KeyRecord:
        return KeyRecord(m["key"], m.get("value"), _int(m, "version"), _int(m, "createRev"), _int(m, "modRev"))


@dataclass(frozen=True, slots=True)
class GetResult:
    key: str
    value: Any
    version: int
    create_rev: int
    mod_rev: int
    #: The board's current revision (with ``at_rev``: that revision).
    rev: int
    #: For keys governed by a schema: the schema version the value is presented in.
    schema_version: int | None = None

    @staticmethod
    def from_wire(m: Mapping[str, Any]) -> GetResult:
        sv = m.get("schemaVersion")
        return GetResult(
            m["key"], m.get("value"), _int(m, "version"), _int(m, "createRev"), _int(m, "modRev"), _int(m, "rev"),
            sv if isinstance(sv, int) else None,
        )


@dataclass(frozen=True, slots=True)
class ListPage:
    items: list[KeyRecord]
    rev: int
    more: bool

    @staticmethod
    def from_wire(m: Mapping[str, Any]) -> ListPage:
        return ListPage([KeyRecord.from_wire(i) for i in m.get("items", [])], _int(m, "rev"), bool(m.get("more")))


@dataclass(frozen=True, slots=True)
class PutResult:
    version: int
    rev: int


@dataclass(frozen=True, slots=True)
class UpdateResult:
    """What ``update`` committed: the value ``fn`` returned, at this version and revision."""

    version: int
    rev: int
    value: Any
    attempts: int


@dataclass(frozen=True, slots=True)
class PatchResult:
    version: int
    rev: int
    value: Any


@dataclass(frozen=True, slots=True)
class DeleteResult:
    rev: int


@dataclass(frozen=True, slots=True)
class TxnResult:
    rev: int
    #: One entry per op, in order: put → {version}, patch → {version, value}, delete → {}.
    results: list[dict[str, Any]]


@dataclass(slots=True)
class Event:
    """One change, as pushed to subscribers and returned by ``history``.

    (Not frozen, unlike the other results: events are built by the thousand per second,
    and a plain slotted class is built three times faster.)
    """

    rev: int
    key: str
    type: Literal["put", "delete"]
    version: int
    actor: str
    ts: int
    #: The new value (absent, so None, for deletes and for events that carry ``patch``).
    value: Any = None
    patch: JsonPatch | None = None
    has_value: bool = False

    @staticmethod
    def from_wire(m: Mapping[str, Any]) -> Event:
        get = m.get
        kind: Literal["put", "delete"] = "delete" if get("type") == "delete" else "put"
        return Event(m["rev"], m["key"], kind, m["version"], get("actor", ""), get("ts", 0), get("value"), get("patch"), "value" in m)


@dataclass(frozen=True, slots=True)
class HistoryPage:
    events: list[Event]
    more: bool

    @staticmethod
    def from_wire(m: Mapping[str, Any]) -> HistoryPage:
        return HistoryPage([Event.from_wire(e) for e in m.get("events", [])], bool(m.get("more")))


@dataclass(frozen=True, slots=True)
class SearchHighlight:
    #: JSON Pointer of the string in the value (``""`` for a value that is a string).
    path: str
    #: An excerpt of that string.
    text: str
    #: ``(start, end)`` offsets of the matching words in ``text`` (UTF-16 code units, as on the wire).
    marks: list[tuple[int, int]]

    @staticmethod
    def from_wire(m: Mapping[str, Any]) -> SearchHighlight:
        marks = [(int(a), int(b)) for a, b in m.get("marks", [])]
        return SearchHighlight(str(m.get("path", "")), str(m.get("text", "")), marks)


@dataclass(frozen=True, slots=True)
class SearchItem:
    key: str
    #: The revision of the matching value (with ``history``, the event's revision).
    rev: int
    version: int
    #: Higher ranks first.
    score: float
    highlights: list[SearchHighlight]

    @staticmethod
    def from_wire(m: Mapping[str, Any]) -> SearchItem:
        score = m.get("score", 0)
        return SearchItem(
            str(m["key"]), _int(m, "rev"), _int(m, "version"), float(score) if isinstance(score, (int, float)) else 0.0,
            [SearchHighlight.from_wire(h) for h in m.get("highlights", [])],
        )


@dataclass(frozen=True, slots=True)
class SearchPage:
    #: Best first.
    items: list[SearchItem]
    #: The revision the index holds (with ``at_rev``: that revision).
    rev: int
    #: More matches follow: ask again with ``after`` = ``next``.
    more: bool
    next: str | None = None
    #: Nothing matched exactly: these items match words close to the query's.
    fuzzy: bool = False

    @staticmethod
    def from_wire(m: Mapping[str, Any]) -> SearchPage:
        nxt = m.get("next")
        return SearchPage(
            [SearchItem.from_wire(i) for i in m.get("items", [])], _int(m, "rev"), bool(m.get("more")),
            nxt if isinstance(nxt, str) else None, m.get("fuzzy") is True,
        )


@dataclass(frozen=True, slots=True)
class BoardInfo:
    board: str
    rev: int
    epoch: str

    @staticmethod
    def from_wire(m: Mapping[str, Any]) -> BoardInfo:
        return BoardInfo(str(m["board"]), _int(m, "rev"), str(m.get("epoch", "")))


@dataclass(frozen=True, slots=True)
class BoardsPage:
    boards: list[BoardInfo]
    #: More boards follow: ask again with ``after`` = the last board.
    more: bool

    @staticmethod
    def from_wire(m: Mapping[str, Any]) -> BoardsPage:
        return BoardsPage([BoardInfo.from_wire(b) for b in m.get("boards", [])], bool(m.get("more")))


@dataclass(frozen=True, slots=True)
class SubscribeResult:
    sub: str
    rev: int
    epoch: str
    #: With ``snapshot=True``: the matching keys as of ``rev`` (the first part, when ``more``).
    snapshot: list[KeyRecord] | None = None
    #: The snapshot goes on in ``snapshot`` pushes, the last with ``more`` false, before any event.
    more: bool = False

    @staticmethod
    def from_wire(m: Mapping[str, Any]) -> SubscribeResult:
        snap = m.get("snapshot")
        items = [KeyRecord.from_wire(i) for i in snap] if isinstance(snap, list) else None
        return SubscribeResult(str(m["sub"]), _int(m, "rev"), str(m.get("epoch", "")), items, m.get("more") is True)


@dataclass(frozen=True, slots=True)
class LockGrant:
    #: The fencing token: the board revision at which the lock was taken.
    token: int
    #: When the lock lapses unless extended (server time, epoch milliseconds).
    expires_at: int


@dataclass(frozen=True, slots=True)
class PresenceResult:
    rev: int
    since: int
    expires_at: int


@dataclass(frozen=True, slots=True)
class EnqueueResult:
    task_id: str
    created: bool


TaskState = Literal["waiting", "delayed", "active", "completed", "failed", "cancelled"]


@dataclass(frozen=True, slots=True)
class TaskInfo:
    task_id: str
    queue: str
    state: TaskState
    attempt: int
    attempts: int
    progress: float
    seq: int
    losses: int
    failures: int
    checkpoint: Any
    result: Any = None
    error: str | None = None

    @staticmethod
    def from_wire(m: Mapping[str, Any]) -> TaskInfo:
        progress = m.get("progress", 0)
        error = m.get("error")
        return TaskInfo(
            str(m.get("taskId", "")), str(m.get("queue", "")), m.get("state", "waiting"), _int(m, "attempt"),
            _int(m, "attempts"), progress if isinstance(progress, (int, float)) else 0, _int(m, "seq"),
            _int(m, "losses"), _int(m, "failures"), m.get("checkpoint"), m.get("result"),
            error if isinstance(error, str) else None,
        )


@dataclass(frozen=True, slots=True)
class Task:
    """A task handed to a worker."""

    task_id: str
    queue: str
    data: Any
    attempt: int
    checkpoint: Any
    progress: float
    token: str

    @staticmethod
    def from_wire(m: Mapping[str, Any]) -> Task:
        progress = m.get("progress", 0)
        return Task(
            str(m["taskId"]), str(m.get("queue", "")), m.get("data"), _int(m, "attempt", 1), m.get("checkpoint"),
            progress if isinstance(progress, (int, float)) else 0, str(m["token"]),
        )


@dataclass(frozen=True, slots=True)
class SchemaSetResult:
    pattern: str
    schema_version: int
    rev: int
    created: bool


@dataclass(frozen=True, slots=True)
class SchemaDefinition:
    pattern: str
    schema_version: int
    schema: Any
    registered_at: int
    previous: int | None = None
    migration: list[dict[str, Any]] | None = None


@dataclass(frozen=True, slots=True)
class SchemaSummary:
    pattern: str
    schema_version: int
    versions: list[int]


@dataclass(frozen=True, slots=True)
class SchemaList:
    schemas: list[SchemaSummary]
    #: The state of the board's background migration: {pending, running, last?}.
    migration: dict[str, Any] = field(default_factory=dict)
