"""Blackboard: a coordination board for teams of AI agents (asyncio client).

    async with blackboard.Client("ws://127.0.0.1:8080", agent="planner") as bb:
        await bb.put("demo", "plan/step", {"n": 1})
        print((await bb.get("demo", "plan/step")).value)

``blackboard.sync.Client`` is the same client for scripts without asyncio.
"""

from .backoff import full_jitter_delay
from .client import Client
from .connection import ConnectionState
from .errors import (
    ERROR_CLASSES,
    ERROR_CODES,
    BadRequestError,
    BlackboardError,
    CompactedError,
    ConflictError,
    EpochChangedError,
    FencedError,
    ForbiddenError,
    InternalError,
    InvalidError,
    LockedError,
    NotFoundError,
    RateLimitedError,
    RequestTimeoutError,
    TooLargeError,
    UnauthorizedError,
    UnavailableError,
    error_from_wire,
)
from .locks import HeldLock
from .txn import TxnDelete, TxnPatch, TxnPut
from .types import (
    BoardInfo,
    BoardsPage,
    DeleteResult,
    EnqueueResult,
    Event,
    Fence,
    GetResult,
    HistoryPage,
    SearchHighlight,
    SearchItem,
    SearchPage,
    KeyRecord,
    ListPage,
    LockGrant,
    PatchResult,
    PresenceResult,
    PutResult,
    SubscribeResult,
    Task,
    TaskInfo,
    TxnResult,
    UpdateResult,
)
from .watch import ReplicaEntry, Watch, WatchChange
from .worker import PermanentTaskError, TaskContext, Worker

__version__ = "0.1.0"

__all__ = [
    "Client", "ConnectionState", "full_jitter_delay",
    "BlackboardError", "BadRequestError", "UnauthorizedError", "ForbiddenError", "NotFoundError", "ConflictError",
    "FencedError", "LockedError", "CompactedError", "EpochChangedError", "InvalidError", "TooLargeError",
    "RateLimitedError", "UnavailableError", "RequestTimeoutError", "InternalError",
    "ERROR_CLASSES", "ERROR_CODES", "error_from_wire",
    "HeldLock", "Fence", "TxnPut", "TxnPatch", "TxnDelete",
    "BoardInfo", "BoardsPage", "DeleteResult", "EnqueueResult", "Event", "GetResult", "HistoryPage", "SearchHighlight", "SearchItem", "SearchPage", "KeyRecord", "ListPage",
    "LockGrant", "PatchResult", "PresenceResult", "PutResult", "SubscribeResult", "Task", "TaskInfo", "TxnResult",
    "UpdateResult", "ReplicaEntry", "Watch", "WatchChange", "PermanentTaskError", "TaskContext", "Worker",
]
