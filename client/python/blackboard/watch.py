"""A local replica of the keys matching some patterns, kept current across reconnects.

It starts from a snapshot, applies events in revision order, and after a reconnect
resumes with ``fromRev`` = last seen + 1 (and the epoch it knows), so nothing is missed
and nothing is applied twice; if the server says COMPACTED or EPOCH_CHANGED it takes a
new snapshot and reports a reset.
"""

from __future__ import annotations

import asyncio
from collections import deque
from dataclasses import dataclass, field
from types import TracebackType
from typing import TYPE_CHECKING, Any, AsyncIterator, Callable, Literal, Sequence

from ._core import SubscriptionHandler
from .backoff import full_jitter_delay
from .connection import ConnectionState
from .errors import BlackboardError, CompactedError, EpochChangedError, RateLimitedError, RequestTimeoutError, UnavailableError
from .types import Event, KeyRecord, SubscribeResult

if TYPE_CHECKING:
    from .client import Client

#: Failures that a later attempt (or the next connection) can get past.
_TRANSIENT = (UnavailableError, RequestTimeoutError, RateLimitedError)


@dataclass(slots=True)
class ReplicaEntry:
    value: Any
    version: int
    create_rev: int
    mod_rev: int


@dataclass(slots=True)
class _Assembly:
    """A snapshot larger than one reply, gathered from the subscribe result and the ``snapshot`` pushes."""

    result: SubscribeResult
    entries: dict[str, ReplicaEntry]
    parts: int = 1
    held: list[dict[str, Any]] = field(default_factory=list)


@dataclass(slots=True)
class WatchChange:
    """``event``: one change applied; ``reset``: the replica was replaced (a snapshot, or
    ``reason="overflow"`` when changes were dropped because nobody read them; the replica
    itself is always whole); ``progress``: every matching revision up to ``rev`` is in."""

    type: Literal["event", "reset", "progress"]
    rev: int
    event: Event | None = None
    epoch: str | None = None
    reason: str | None = None


class Watch(SubscriptionHandler):
    def __init__(
        self,
        client: Client,
        board: str,
        patterns: Sequence[str],
        *,
        from_rev: int | None = None,
        on_change: Callable[[WatchChange], None] | None = None,
        max_queue: int = 10_000,
    ) -> None:
        self.board = board
        self.patterns = list(patterns)
        #: key → entry: the matching keys as of ``rev``.
        self.replica: dict[str, ReplicaEntry] = {}
        #: Every matching revision up to this one has been applied.
        self.rev = 0 if from_rev is None else max(0, from_rev - 1)
        self.epoch = ""
        self.closed = False
        self._client = client
        self._from_rev = from_rev
        self._on_change = on_change
        self._sub: str | None = None
        self._ready: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._queue: deque[WatchChange] = deque()
        self._max_queue = max(1, max_queue)
        self._wakeup = asyncio.Event()
        self._resuming: asyncio.Task[None] | None = None
        self._again = False
        self._force_snapshot = False
        #: A snapshot whose parts are still arriving (None when none is).
        self._assembly: _Assembly | None = None

    # --- lifecycle ---

    def start(self) -> None:
        self._client.add_listener("open", self._on_open)
        self._client.add_listener("state", self._on_state)
        if self._client.state is ConnectionState.CONNECTED:
            self._on_open()
        else:
            self._client.connection.start()

    async def ready(self, timeout_ms: float | None = None) -> None:
        """Waits until the replica holds its snapshot (or the resume point was accepted)."""
        await asyncio.wait_for(asyncio.shield(self._ready), None if timeout_ms is None else timeout_ms / 1000)

    async def close(self) -> None:
        if self.closed:
            return
        self.closed = True
        self._client.remove_listener("open", self._on_open)
        self._client.remove_listener("state", self._on_state)
        if self._resuming is not None:
            self._resuming.cancel()
        self._wakeup.set()
        sub, self._sub = self._sub, None
        if sub is not None:
            self._client._unregister(sub)
            if self._client.state is ConnectionState.CONNECTED:
                try:
                    await self._client.request("unsubscribe", {"sub": sub}, timeout_ms=5_000)
                except BlackboardError:
                    pass

    async def __aenter__(self) -> Watch:
        await self.ready()
        return self

    async def __aexit__(self, kind: type[BaseException] | None, value: BaseException | None, tb: TracebackType | None) -> None:
        await self.close()

    def values(self) -> dict[str, Any]:
        """The replica as key → value."""
        return {key: entry.value for key, entry in self.replica.items()}

    # --- iteration ---

    def __aiter__(self) -> AsyncIterator[WatchChange]:
        return self._changes()

    async def _changes(self) -> AsyncIterator[WatchChange]:
        while True:
            while self._queue:
                yield self._queue.popleft()
            if self.closed:
                return
            self._wakeup.clear()
            await self._wakeup.wait()

    def _emit(self, change: WatchChange) -> None:
        if len(self._queue) >= self._max_queue:
            # Nobody reads fast enough: drop what waits and say so; the replica stays whole.
            self._queue.clear()
            self._queue.append(WatchChange("reset", self.rev, epoch=self.epoch, reason="overflow"))
        self._queue.append(change)
        self._wakeup.set()
        if self._on_change is not None:
            self._on_change(change)

    # --- resuming ---

    def _on_state(self, state: ConnectionState) -> None:
        if state is ConnectionState.CLOSED:
            error = self._client.connection.closed_error or UnavailableError("the client is closed")
            self._fail(error)

    def _on_open(self) -> None:
        self._sub = None
        if self._assembly is not None:
            # A snapshot cut off before its last part is taken again rather than resumed.
            self._assembly = None
            self._force_snapshot = True
        self._start_resuming()

    def _start_resuming(self) -> None:
        if self._resuming is None or self._resuming.done():
            self._resuming = asyncio.get_running_loop().create_task(self._resume_loop())
        else:
            self._again = True

    async def _resume_loop(self) -> None:
        attempt = 0
        while not self.closed and self._client.state is ConnectionState.CONNECTED:
            self._again = False
            try:
                await self._resume()
            except _TRANSIENT:
                # The socket went (the next open resumes), or the server was busy: try again soon.
                await asyncio.sleep(full_jitter_delay(attempt, 50, 2_000) / 1000)
                attempt += 1
                continue
            except BlackboardError as err:
                self._fail(err)
                return
            if not self._again:
                return

    async def _resume(self) -> None:
        resuming = self.epoch != "" or self._from_rev is not None
        if not resuming or self._force_snapshot:
            self._force_snapshot = False
            await self._snapshot()
            return
        args: dict[str, Any] = {"board": self.board, "patterns": self.patterns, "fromRev": self.rev + 1}
        if self.epoch:
            args["epoch"] = self.epoch
        try:
            await self._subscribe(args, self._accept)
        except (CompactedError, EpochChangedError):
            await self._snapshot()

    async def _subscribe(self, args: dict[str, Any], on_reply: Callable[[SubscribeResult], None]) -> None:
        def settle(raw: Any) -> None:
            # With the reply itself, before any push that follows it: the frames after a reply
            # may be handled before the coroutine that sent the request runs again.
            result = SubscribeResult.from_wire(raw)
            self._client._register(result.sub, self)
            on_reply(result)

        await self._client.request("subscribe", args, on_result=settle)

    async def _snapshot(self) -> None:
        await self._subscribe({"board": self.board, "patterns": self.patterns, "snapshot": True}, self._snapshot_began)

    def _snapshot_began(self, result: SubscribeResult) -> None:
        entries = {item.key: ReplicaEntry(item.value, item.version, item.create_rev, item.mod_rev) for item in result.snapshot or []}
        if not result.more:
            self._install(result, entries)
            return
        # The rest comes in ``snapshot`` pushes; the replica stays as it is until the last one.
        self._sub = result.sub
        self._assembly = _Assembly(result, entries)
        if self.closed:
            self._client._unregister(result.sub)

    def on_snapshot(self, items: list[dict[str, Any]], more: bool) -> None:
        assembly = self._assembly
        if assembly is None:
            return
        for raw in items:
            item = KeyRecord.from_wire(raw)
            assembly.entries[item.key] = ReplicaEntry(item.value, item.version, item.create_rev, item.mod_rev)
        assembly.parts += 1
        if more:
            return
        self._assembly = None
        self._install(assembly.result, assembly.entries)
        if assembly.held:
            self.on_events(assembly.held)

    def _install(self, result: SubscribeResult, entries: dict[str, ReplicaEntry]) -> None:
        self.replica = entries
        self.rev = result.rev
        self._accept(result)
        self._emit(WatchChange("reset", result.rev, epoch=result.epoch, reason="snapshot"))

    def _accept(self, result: SubscribeResult) -> None:
        self._sub = result.sub
        self.epoch = result.epoch
        if self.closed:
            self._client._unregister(result.sub)
        if not self._ready.done():
            self._ready.set_result(None)

    def _fail(self, error: BlackboardError) -> None:
        if not self._ready.done():
            self._ready.set_exception(error)
            self._ready.exception()
        self.closed = True
        self._wakeup.set()

    # --- pushes ---

    def on_events(self, events: list[dict[str, Any]]) -> None:
        if self._assembly is not None:
            # The protocol sends every part before the first event; should one come early,
            # it waits for the whole snapshot, which it follows.
            self._assembly.held.extend(events)
            return
        seen = self.rev
        highest = seen
        for raw in events:
            rev = raw["rev"]
            # A revision already applied (a resume overlapping what was seen) is skipped.
            if rev <= seen:
                continue
            event = Event.from_wire(raw)
            if event.type == "delete":
                self.replica.pop(event.key, None)
            else:
                previous = self.replica.get(event.key)
                created = previous.create_rev if previous is not None and event.version > 1 else rev
                self.replica[event.key] = ReplicaEntry(event.value, event.version, created, rev)
            if rev > highest:
                highest = rev
            self.rev = highest
            self._emit(WatchChange("event", rev, event=event))

    def on_progress(self, rev: int) -> None:
        if self._assembly is not None:
            return  # the replica is not at any revision until the snapshot is whole
        if rev < self.rev and self._sub is not None:
            # The board is behind what was applied: it lost data and started over. The server
            # closes such subscriptions itself; should that be missed, take a new snapshot.
            self._went_backwards()
            return
        if rev > self.rev:
            self.rev = rev
        self._emit(WatchChange("progress", rev))

    def _went_backwards(self) -> None:
        sub, self._sub = self._sub, None
        if sub is not None:
            self._client._unregister(sub)
            unsubscribing = asyncio.get_running_loop().create_task(self._client.request("unsubscribe", {"sub": sub}, timeout_ms=5_000))
            unsubscribing.add_done_callback(lambda t: t.cancelled() or t.exception())
        self._force_snapshot = True
        self._start_resuming()
