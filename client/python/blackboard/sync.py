"""The client for scripts without asyncio: the same client, run on a background event loop.

    from blackboard.sync import Client

    with Client("ws://127.0.0.1:8080", agent="script") as bb:
        bb.put("demo", "hello", {"from": "python"})
        with bb.lock("demo", "report") as lock:
            bb.put("demo", "report", "...", fence=lock)

Every method blocks until its answer and raises the same exceptions as the asyncio client.
The connection, reconnects, lock extensions and watch replicas run on the background loop,
so they go on while the calling thread works.
"""

from __future__ import annotations

import asyncio
import threading
from contextlib import contextmanager
from typing import Any, AsyncIterator, Callable, Coroutine, Iterator, Sequence, TypeVar

from . import client as _async
from ._kv import Compare, Durability
from .connection import ConnectionState
from .locks import HeldLock
from .txn import TxnOp
from .types import (
    BoardInfo,
    BoardsPage,
    SearchItem,
    SearchPage,
    DeleteResult,
    EnqueueResult,
    Event,
    Fence,
    GetResult,
    JsonPatch,
    KeyRecord,
    LockGrant,
    PatchResult,
    PresenceResult,
    PutResult,
    TaskInfo,
    TaskState,
    TxnResult,
    UpdateResult,
)
from .watch import ReplicaEntry, Watch as _AsyncWatch, WatchChange
from .worker import TaskContext as _AsyncTaskContext, Worker as _AsyncWorker

T = TypeVar("T")


class _Loop:
    """An event loop in a daemon thread, and a way to run coroutines on it from another thread."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self.loop.run_forever, name="blackboard-sync", daemon=True)
        self._thread.start()

    def call(self, coro: Coroutine[Any, Any, T]) -> T:
        if threading.current_thread() is self._thread:
            coro.close()
            raise RuntimeError("blackboard.sync methods cannot be called from the client's own loop")
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result()

    def iterate(self, source: AsyncIterator[T]) -> Iterator[T]:
        async def step() -> T:
            return await source.__anext__()

        while True:
            try:
                yield self.call(step())
            except StopAsyncIteration:
                return

    def stop(self) -> None:
        self.loop.call_soon_threadsafe(self.loop.stop)
        self._thread.join(10)
        if not self._thread.is_alive():
            self.loop.close()


class Watch:
    """A replica kept current on the background loop; ``for change in watch`` blocks for each change."""

    def __init__(self, runner: _Loop, watch: _AsyncWatch) -> None:
        self._runner = runner
        self._watch = watch

    @property
    def replica(self) -> dict[str, ReplicaEntry]:
        return dict(self._watch.replica)

    @property
    def rev(self) -> int:
        return self._watch.rev

    @property
    def epoch(self) -> str:
        return self._watch.epoch

    def values(self) -> dict[str, Any]:
        return dict(self._watch.values())

    def ready(self, timeout_ms: float | None = None) -> None:
        self._runner.call(self._watch.ready(timeout_ms))

    def __iter__(self) -> Iterator[WatchChange]:
        return self._runner.iterate(self._watch.__aiter__())

    def close(self) -> None:
        self._runner.call(self._watch.close())

    def __enter__(self) -> Watch:
        self.ready()
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class TaskContext:
    """The task context for handlers that run in a thread: the same calls, blocking."""

    def __init__(self, runner: _Loop, ctx: _AsyncTaskContext) -> None:
        self._runner = runner
        self._ctx = ctx
        self.board, self.queue, self.task_id, self.attempt = ctx.board, ctx.queue, ctx.task_id, ctx.attempt

    @property
    def last_checkpoint(self) -> Any:
        return self._ctx.last_checkpoint

    @property
    def stop_reason(self) -> str | None:
        """Set once the task is cancelled or lost: the handler should return."""
        return self._ctx.stop_reason

    def checkpoint(self, state: Any, progress: float | None = None) -> int:
        return self._runner.call(self._ctx.checkpoint(state, progress))

    def progress(self, n: float) -> None:
        self._runner.call(self._ctx.progress(n))


class Client:
    """``blackboard.Client`` for synchronous code (same arguments)."""

    def __init__(self, url: str | Sequence[str], agent: str | None = None, token: str | None = None, **options: Any) -> None:
        self._runner = _Loop()

        async def make() -> _async.Client:
            return _async.Client(url, agent, token, **options)

        try:
            self.aio = self._runner.call(make())
            self._runner.call(self.aio.connect())
        except BaseException:
            self._runner.stop()
            raise

    @property
    def state(self) -> ConnectionState:
        return self.aio.state

    @property
    def agent(self) -> str | None:
        return self.aio.agent

    def close(self) -> None:
        try:
            self._runner.call(self.aio.close())
        finally:
            self._runner.stop()

    def __enter__(self) -> Client:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def request(self, op: str, args: dict[str, Any], *, timeout_ms: float | None = None) -> Any:
        return self._runner.call(self.aio.request(op, args, timeout_ms=timeout_ms))

    # --- key-value ---

    def get(self, board: str, key: str, *, at_rev: int | None = None, schema_version: int | None = None) -> GetResult:
        return self._runner.call(self.aio.get(board, key, at_rev=at_rev, schema_version=schema_version))

    def value(self, board: str, key: str, default: Any = None) -> Any:
        return self._runner.call(self.aio.value(board, key, default))

    def list(self, board: str, prefix: str = "", *, at_rev: int | None = None, page_size: int | None = None) -> Iterator[KeyRecord]:
        return self._runner.iterate(self.aio.list(board, prefix, at_rev=at_rev, page_size=page_size))

    def put(self, board: str, key: str, value: Any, *, if_version: int | None = None, fence: Fence | None = None,
            req_id: str | None = None, durability: Durability | None = None) -> PutResult:
        return self._runner.call(self.aio.put(board, key, value, if_version=if_version, fence=fence, req_id=req_id, durability=durability))

    def patch(self, board: str, key: str, patch: JsonPatch, *, if_version: int | None = None, fence: Fence | None = None,
              req_id: str | None = None, durability: Durability | None = None) -> PatchResult:
        return self._runner.call(self.aio.patch(board, key, patch, if_version=if_version, fence=fence, req_id=req_id, durability=durability))

    def delete(self, board: str, key: str, *, if_version: int | None = None, fence: Fence | None = None,
               req_id: str | None = None, durability: Durability | None = None) -> DeleteResult:
        return self._runner.call(self.aio.delete(board, key, if_version=if_version, fence=fence, req_id=req_id, durability=durability))

    def txn(self, board: str, ops: Sequence[TxnOp], compare: Compare = (), *, fence: Fence | None = None,
            req_id: str | None = None, durability: Durability | None = None) -> TxnResult:
        return self._runner.call(self.aio.txn(board, ops, compare, fence=fence, req_id=req_id, durability=durability))

    def history(self, board: str, *, key: str | None = None, from_rev: int | None = None, to_rev: int | None = None) -> Iterator[Event]:
        return self._runner.iterate(self.aio.history(board, key=key, from_rev=from_rev, to_rev=to_rev))

    def search_page(self, board: str, query: str, *, patterns: Sequence[str] | None = None, at_rev: int | None = None,
                    history: bool | None = None, from_rev: int | None = None, to_rev: int | None = None,
                    limit: int | None = None, after: str | None = None, min_rev: int | None = None) -> SearchPage:
        return self._runner.call(self.aio.search_page(board, query, patterns=patterns, at_rev=at_rev, history=history,
                                                      from_rev=from_rev, to_rev=to_rev, limit=limit, after=after,
                                                      min_rev=min_rev))

    def search(self, board: str, query: str, *, patterns: Sequence[str] | None = None, at_rev: int | None = None,
               history: bool | None = None, from_rev: int | None = None, to_rev: int | None = None,
               min_rev: int | None = None, page_size: int | None = None) -> Iterator[SearchItem]:
        return self._runner.iterate(self.aio.search(board, query, patterns=patterns, at_rev=at_rev, history=history,
                                                    from_rev=from_rev, to_rev=to_rev, min_rev=min_rev,
                                                    page_size=page_size))

    def boards_page(self, prefix: str | None = None, *, after: str | None = None, limit: int | None = None) -> BoardsPage:
        return self._runner.call(self.aio.boards_page(prefix, after=after, limit=limit))

    def boards(self, prefix: str | None = None, *, page_size: int | None = None) -> Iterator[BoardInfo]:
        return self._runner.iterate(self.aio.boards(prefix, page_size=page_size))

    def update(self, board: str, key: str, fn: Callable[[Any], Any], *, max_attempts: int = 10_000,
               fence: Fence | None = None) -> UpdateResult:
        """Compare-and-set loop; ``fn`` runs on the background loop, so keep it quick."""
        return self._runner.call(self.aio.update(board, key, fn, max_attempts=max_attempts, fence=fence))

    def watch(self, board: str, patterns: Sequence[str], *, from_rev: int | None = None, max_queue: int = 10_000) -> Watch:
        async def start() -> _AsyncWatch:
            return self.aio.watch(board, patterns, from_rev=from_rev, max_queue=max_queue)

        return Watch(self._runner, self._runner.call(start()))

    # --- locks, presence, tasks ---

    def acquire_lock(self, board: str, name: str, *, ttl_ms: int, wait_ms: int | None = None) -> LockGrant:
        return self._runner.call(self.aio.acquire_lock(board, name, ttl_ms=ttl_ms, wait_ms=wait_ms))

    def extend_lock(self, board: str, name: str, token: int, ttl_ms: int) -> int:
        return self._runner.call(self.aio.extend_lock(board, name, token, ttl_ms))

    def release_lock(self, board: str, name: str, token: int) -> bool:
        return self._runner.call(self.aio.release_lock(board, name, token))

    @contextmanager
    def lock(self, board: str, name: str, *, ttl_ms: int = 10_000, wait_ms: int = 10_000) -> Iterator[HeldLock]:
        """``with bb.lock(board, name) as lock:`` — extended on the background loop while the block runs."""
        manager = self.aio.lock(board, name, ttl_ms=ttl_ms, wait_ms=wait_ms)
        held = self._runner.call(manager.__aenter__())
        try:
            yield held
        except BaseException as err:
            self._runner.call(manager.__aexit__(type(err), err, err.__traceback__))
            raise
        self._runner.call(manager.__aexit__(None, None, None))

    def presence(self, board: str, meta: Any) -> PresenceResult:
        return self._runner.call(self.aio.presence(board, meta))

    def clear_presence(self, board: str) -> bool:
        return self._runner.call(self.aio.clear_presence(board))

    def enqueue(self, board: str, queue: str, data: Any, **options: Any) -> EnqueueResult:
        return self._runner.call(self.aio.enqueue(board, queue, data, **options))

    def task(self, board: str, task_id: str) -> TaskInfo:
        return self._runner.call(self.aio.task(board, task_id))

    def cancel_task(self, board: str, task_id: str) -> TaskState:
        return self._runner.call(self.aio.cancel_task(board, task_id))

    @contextmanager
    def worker(self, board: str, queue: str, handler: Callable[[Any, TaskContext], Any], *,
               concurrency: int | None = None, lease_ms: int = 30_000) -> Iterator[_AsyncWorker]:
        """``with bb.worker(board, queue, handler):`` works the queue while the block runs.

        ``handler(data, ctx)`` runs in a thread of its own per task; when the task is
        cancelled or lost, ``ctx.stop_reason`` is set and its further calls are FENCED.
        """
        runner = self._runner

        async def in_thread(data: Any, ctx: _AsyncTaskContext) -> Any:
            return await asyncio.to_thread(handler, data, TaskContext(runner, ctx))

        async def start() -> _AsyncWorker:
            return await self.aio.worker(board, queue, in_thread, concurrency=concurrency, lease_ms=lease_ms).start()

        worker = runner.call(start())
        try:
            yield worker
        finally:
            runner.call(worker.stop())
