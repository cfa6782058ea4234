"""The Blackboard client for asyncio."""

from __future__ import annotations

from typing import Any, Callable, Literal, Sequence

from ._coordination import CoordinationOps
from ._core import ClientCore, SubscriptionHandler
from ._kv import KvOps
from .types import Event, KeyRecord, SubscribeResult
from .watch import Watch, WatchChange
from .wire import compact
from .worker import ErrorHook, TaskHandler, Worker


class _Callbacks(SubscriptionHandler):
    def __init__(
        self,
        on_events: Callable[[list[Event]], None] | None,
        on_progress: Callable[[int], None] | None,
        on_snapshot: Callable[[list[KeyRecord], bool], None] | None,
    ) -> None:
        self._events = on_events
        self._progress = on_progress
        self._snapshot = on_snapshot

    def on_events(self, events: list[dict[str, Any]]) -> None:
        if self._events is not None:
            self._events([Event.from_wire(e) for e in events])

    def on_progress(self, rev: int) -> None:
        if self._progress is not None:
            self._progress(rev)

    def on_snapshot(self, items: list[dict[str, Any]], more: bool) -> None:
        if self._snapshot is not None:
            self._snapshot([KeyRecord.from_wire(i) for i in items], more)


class Client(KvOps, CoordinationOps, ClientCore):
    """One logical connection to a Blackboard server.

    ``async with Client(url, agent=...) as bb:`` connects, and reconnects by itself after
    any loss (full-jitter backoff, the next URL when several are given). Requests wait
    for their reply up to ``request_timeout_ms``; reads and writes (which carry an
    automatic ``reqId``) are resent as the identical frame after a reconnect, and
    requests refused with RATE_LIMITED are sent again after the server's
    ``retryAfterMs``. Errors are one exception class per code (see ``blackboard.errors``).
    """

    async def subscribe(
        self,
        board: str,
        patterns: Sequence[str],
        *,
        from_rev: int | None = None,
        snapshot: bool | None = None,
        mode: Literal["value", "patch"] | None = None,
        epoch: str | None = None,
        on_events: Callable[[list[Event]], None] | None = None,
        on_progress: Callable[[int], None] | None = None,
        on_snapshot: Callable[[list[KeyRecord], bool], None] | None = None,
    ) -> SubscribeResult:
        """A raw subscription on the current socket: it ends with the socket. ``watch`` is
        the form that resumes by itself, and assembles a snapshot sent in parts.

        A snapshot larger than one reply comes in parts: the result holds the first and says
        ``more``, then ``on_snapshot(items, more)`` gets each next part, the last with ``more``
        false, before any event."""
        args = compact(board=board, fromRev=from_rev, snapshot=snapshot, mode=mode, epoch=epoch)
        args["patterns"] = list(patterns)
        handler = _Callbacks(on_events, on_progress, on_snapshot)
        result = await self.request("subscribe", args, on_result=lambda r: self._register(str(r["sub"]), handler))
        return SubscribeResult.from_wire(result)

    async def unsubscribe(self, sub: str) -> None:
        self._unregister(sub)
        await self.request("unsubscribe", {"sub": sub})

    def watch(
        self,
        board: str,
        patterns: Sequence[str],
        *,
        from_rev: int | None = None,
        on_change: Callable[[WatchChange], None] | None = None,
        max_queue: int = 10_000,
    ) -> Watch:
        """A local replica of the matching keys that resumes after reconnects without gap or
        duplicate. ``async for change in watch`` yields each change; ``watch.replica`` is
        always current. Use ``async with client.watch(...) as w`` or ``await w.ready()``."""
        watch = Watch(self, board, patterns, from_rev=from_rev, on_change=on_change, max_queue=max_queue)
        watch.start()
        return watch

    def worker(
        self,
        board: str,
        queue: str,
        handler: TaskHandler,
        *,
        concurrency: int | None = None,
        lease_ms: int = 30_000,
        on_error: ErrorHook | None = None,
    ) -> Worker:
        """Works a queue: ``handler(data, ctx)`` runs for each task handed to this client.

        ``async with client.worker(...)`` (or ``await worker.start()``) registers it;
        ``ctx.last_checkpoint`` is where a resumed task left off, ``await ctx.checkpoint(state)``
        saves progress, and the handler is cancelled if the task is cancelled or lost.
        """
        return Worker(self, board, queue, handler, concurrency=concurrency, lease_ms=lease_ms, on_error=on_error)
