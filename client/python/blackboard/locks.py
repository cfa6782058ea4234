"""Held locks: extended while held, and a fence for the writes made under them.

A lock lives ``ttl_ms`` from each acquire or extend. The keeper extends it every ttl/3 and
counts, on this machine, how long the lock surely lasts from when the last successful
request was *sent*. When an extension is FENCED, or that time runs out first (a pause, a
lost connection), the lock is marked lost. Writes made with its fence after that are
refused by the server with FENCED, so a stalled holder cannot clobber its successor.
"""

from __future__ import annotations

import asyncio
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, AsyncIterator

from .errors import BadRequestError, BlackboardError, FencedError, RequestTimeoutError, UnavailableError
from .types import Fence

if TYPE_CHECKING:
    from ._coordination import CoordinationOps


class LockKeeper:
    def __init__(self, client: CoordinationOps, board: str, name: str, token: int, ttl_ms: float) -> None:
        self._client = client
        self._board = board
        self._name = name
        self._token = token
        self._ttl = ttl_ms / 1000
        #: What each extension asks for: the acquire's own ttl (an integer on the wire).
        self._ttl_ms = round(ttl_ms)
        self.lost = asyncio.Event()
        self.lost_reason: BlackboardError | None = None
        self._task: asyncio.Task[None] | None = None

    def start(self, sent_at: float) -> None:
        """``sent_at``: loop time the acquire was sent; the lock lasts at least ttl from it."""
        self._task = asyncio.get_running_loop().create_task(self._keep(sent_at), name=f"blackboard-lock-{self._name}")

    async def _keep(self, held_since: float) -> None:
        loop = asyncio.get_running_loop()
        if loop.time() - held_since > self._ttl / 3:
            # The acquire waited for the lock, so when it was taken is unknown: confirm it now.
            held_since = loop.time()
            if not await self._extend(held_since):
                return
        while True:
            await asyncio.sleep(max(0.0, held_since + self._ttl / 3 - loop.time()))
            while True:
                sent = loop.time()
                if sent >= held_since + self._ttl:
                    self._lose(FencedError(f"lock {self._name} lapsed before it could be extended", {"lock": self._name}))
                    return
                if await self._extend(held_since):
                    held_since = sent
                    break
                if self.lost.is_set():
                    return
                # A transient failure (reconnecting, timeout): again soon, until the lock lapses.
                await asyncio.sleep(min(0.2, self._ttl / 10))

    async def _extend(self, held_since: float) -> bool:
        """True when extended; a FENCED answer marks the lock lost (and returns False)."""
        loop = asyncio.get_running_loop()
        # Never wait past the moment the lock would lapse: the loop must notice that in time.
        remaining_ms = max(100.0, (held_since + self._ttl - loop.time()) * 1000)
        try:
            await self._client.extend_lock(self._board, self._name, self._token, self._ttl_ms, timeout_ms=remaining_ms)
            return True
        except (FencedError, BadRequestError) as err:
            self._lose(err)
            return False
        except BlackboardError:
            return False

    def _lose(self, reason: BlackboardError) -> None:
        if not self.lost.is_set():
            self.lost_reason = reason
            self.lost.set()

    async def stop(self) -> None:
        """Stops extending (an extension in flight is abandoned; the release follows it)."""
        task, self._task = self._task, None
        if task is not None and not task.done():
            task.cancel()
            try:
                await task
            except asyncio.CancelledError:
                pass


@dataclass(frozen=True, eq=False)
class HeldLock(Fence):
    """A lock held inside ``async with client.lock(...)``; pass it as ``fence=`` to writes."""

    board: str = ""
    keeper: LockKeeper | None = field(default=None, repr=False)

    @property
    def fence(self) -> Fence:
        return Fence(self.lock, self.token)

    @property
    def lost(self) -> bool:
        """True once the lock is known to be lost (an extension was FENCED, or none came in time)."""
        return self.keeper is not None and self.keeper.lost.is_set()

    @property
    def lost_reason(self) -> BlackboardError | None:
        return None if self.keeper is None else self.keeper.lost_reason

    async def wait_lost(self) -> None:
        """Returns when the lock is lost (for a task that should stop then)."""
        if self.keeper is not None:
            await self.keeper.lost.wait()

    def check(self) -> None:
        """Raises FencedError if the lock is known to be lost."""
        if self.lost:
            raise self.lost_reason or FencedError(f"lock {self.lock} was lost", {"lock": self.lock})


@asynccontextmanager
async def hold_lock(client: CoordinationOps, board: str, name: str, ttl_ms: int, wait_ms: int) -> AsyncIterator[HeldLock]:
    loop = asyncio.get_running_loop()
    sent_at = loop.time()
    grant = await client.acquire_lock(board, name, ttl_ms=ttl_ms, wait_ms=wait_ms)
    keeper = LockKeeper(client, board, name, grant.token, ttl_ms)
    keeper.start(sent_at)
    try:
        yield HeldLock(name, grant.token, board, keeper)
    finally:
        await keeper.stop()
        try:
            await client.release_lock(board, name, grant.token)
        except (FencedError, UnavailableError, RequestTimeoutError):
            # Lost already, or the connection went (which releases it on the server): nothing to undo.
            pass
