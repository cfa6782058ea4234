"""Locks, presence, tasks and typed-board schemas."""

from __future__ import annotations

from contextlib import AbstractAsyncContextManager
from typing import Any, Mapping

from ._core import Requester
from .locks import HeldLock, hold_lock
from .types import (
    EnqueueResult,
    LockGrant,
    PresenceResult,
    SchemaDefinition,
    SchemaList,
    SchemaSetResult,
    SchemaSummary,
    TaskInfo,
    TaskState,
)
from .wire import compact


class CoordinationOps(Requester):
    request_timeout_ms: float

    # --- locks ---

    async def acquire_lock(self, board: str, name: str, *, ttl_ms: int, wait_ms: int | None = None) -> LockGrant:
        """Takes the lock, waiting up to ``wait_ms`` (LockedError after that). Its token fences writes."""
        args = compact(board=board, name=name, ttlMs=ttl_ms, waitMs=wait_ms)
        # The server may hold the request for wait_ms: the reply deadline must allow it.
        timeout = self.request_timeout_ms + (wait_ms or 0)
        result = await self.request("lock.acquire", args, timeout_ms=timeout)
        return LockGrant(result["token"], result["expiresAt"])

    async def extend_lock(self, board: str, name: str, token: int, ttl_ms: int, *, timeout_ms: float | None = None) -> int:
        """Extends a held lock; returns its new expiry (FencedError when it was lost)."""
        args = {"board": board, "name": name, "token": token, "ttlMs": ttl_ms}
        result = await self.request("lock.extend", args, timeout_ms=timeout_ms)
        expires: int = result["expiresAt"]
        return expires

    async def release_lock(self, board: str, name: str, token: int) -> bool:
        result = await self.request("lock.release", {"board": board, "name": name, "token": token})
        return bool(result.get("released"))

    def lock(self, board: str, name: str, *, ttl_ms: int = 10_000, wait_ms: int = 10_000) -> AbstractAsyncContextManager[HeldLock]:
        """``async with client.lock(board, name) as lock:`` holds the lock for the block.

        The lock is extended while the block runs and released after it, whatever happens.
        Pass ``fence=lock`` to writes so they commit only while it is held; ``lock.lost``
        tells whether it was lost meanwhile.
        """
        return hold_lock(self, board, name, ttl_ms, wait_ms)

    # --- presence ---

    async def presence(self, board: str, meta: Any) -> PresenceResult:
        """Shows this agent on the board as ``$presence/<agent>`` until cleared or disconnected."""
        result = await self.request("presence.set", {"board": board, "meta": meta})
        return PresenceResult(result["rev"], result["since"], result["expiresAt"])

    async def clear_presence(self, board: str) -> bool:
        result = await self.request("presence.clear", {"board": board})
        return bool(result.get("cleared"))

    # --- tasks ---

    async def enqueue(
        self,
        board: str,
        queue: str,
        data: Any,
        *,
        task_id: str | None = None,
        attempts: int | None = None,
        backoff_ms: int | None = None,
        delay_ms: int | None = None,
        priority: int | None = None,
    ) -> EnqueueResult:
        """Adds a task; the same ``task_id`` again creates nothing (``created`` is False)."""
        args = compact(board=board, queue=queue, taskId=task_id, attempts=attempts, backoffMs=backoff_ms, delayMs=delay_ms, priority=priority)
        args["data"] = data
        result = await self.request("task.enqueue", args)
        return EnqueueResult(result["taskId"], bool(result["created"]))

    async def task(self, board: str, task_id: str) -> TaskInfo:
        return TaskInfo.from_wire(await self.request("task.get", {"board": board, "taskId": task_id}))

    async def cancel_task(self, board: str, task_id: str) -> TaskState:
        result = await self.request("task.cancel", {"board": board, "taskId": task_id})
        state: TaskState = result["state"]
        return state

    # --- schemas (typed boards; these need the admin scope) ---

    async def set_schema(
        self,
        board: str,
        pattern: str,
        schema: Mapping[str, Any] | bool,
        schema_version: int,
        *,
        migration: list[dict[str, Any]] | None = None,
    ) -> SchemaSetResult:
        args = compact(board=board, pattern=pattern, schemaVersion=schema_version, migration=migration)
        args["schema"] = schema
        r = await self.request("schema.set", args)
        return SchemaSetResult(r["pattern"], r["schemaVersion"], r["rev"], bool(r["created"]))

    async def get_schema(self, board: str, pattern: str, schema_version: int | None = None) -> SchemaDefinition:
        r = await self.request("schema.get", compact(board=board, pattern=pattern, schemaVersion=schema_version))
        return SchemaDefinition(r["pattern"], r["schemaVersion"], r.get("schema"), r.get("registeredAt", 0), r.get("previous"), r.get("migration"))

    async def list_schemas(self, board: str) -> SchemaList:
        r = await self.request("schema.list", {"board": board})
        schemas = [SchemaSummary(s["pattern"], s["schemaVersion"], list(s.get("versions", []))) for s in r.get("schemas", [])]
        return SchemaList(schemas, dict(r.get("migration", {})))

