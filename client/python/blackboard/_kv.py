"""Key-value ops: reads, writes, transactions, history, and the compare-and-set loop."""

from __future__ import annotations

import asyncio
import inspect
import random
from typing import Any, AsyncIterator, Awaitable, Callable, Literal, Mapping, Sequence, Union

from ._core import Requester
from .errors import ConflictError, NotFoundError
from .txn import TxnOp
from .types import (
    BoardInfo,
    BoardsPage,
    DeleteResult,
    Event,
    Fence,
    GetResult,
    HistoryPage,
    JsonPatch,
    KeyRecord,
    ListPage,
    PatchResult,
    PutResult,
    SearchItem,
    SearchPage,
    TxnResult,
    UpdateResult,
)
from .wire import compact

Durability = Literal["memory", "durable"]
UpdateFn = Callable[[Any], Union[Any, Awaitable[Any]]]
Compare = Union[Mapping[str, int], Sequence[tuple[str, int]]]

#: The server's largest ``limit`` for ``history``.
_MAX_HISTORY_LIMIT = 10_000


def _fence(fence: Fence | None) -> dict[str, Any] | None:
    return None if fence is None else {"lock": fence.lock, "token": fence.token}


class KvOps(Requester):
    async def get(self, board: str, key: str, *, at_rev: int | None = None, schema_version: int | None = None) -> GetResult:
        """The key's value and metadata (NotFoundError when it does not exist)."""
        args = compact(board=board, key=key, atRev=at_rev, schemaVersion=schema_version)
        return GetResult.from_wire(await self.request("get", args))

    async def value(self, board: str, key: str, default: Any = None) -> Any:
        """The key's value, or ``default`` when it does not exist."""
        try:
            return (await self.get(board, key)).value
        except NotFoundError:
            return default

    async def list_page(
        self, board: str, prefix: str = "", *, after: str | None = None, limit: int | None = None, at_rev: int | None = None
    ) -> ListPage:
        """One page of keys starting with ``prefix``, in ascending byte order, after the key ``after``."""
        args = compact(board=board, prefix=prefix, after=after, limit=limit, atRev=at_rev)
        return ListPage.from_wire(await self.request("list", args))

    async def list(self, board: str, prefix: str = "", *, at_rev: int | None = None, page_size: int | None = None) -> AsyncIterator[KeyRecord]:
        """Every key starting with ``prefix``, page after page while the server says ``more``.

        Without ``at_rev`` each page is read at the board's revision of that moment.
        """
        after: str | None = None
        while True:
            page = await self.list_page(board, prefix, after=after, limit=page_size, at_rev=at_rev)
            for item in page.items:
                yield item
            if not page.more or not page.items:
                return
            after = page.items[-1].key

    async def put(
        self,
        board: str,
        key: str,
        value: Any,
        *,
        if_version: int | None = None,
        fence: Fence | None = None,
        req_id: str | None = None,
        durability: Durability | None = None,
    ) -> PutResult:
        """Writes the value; with ``if_version`` only if the key is at that version (0: absent)."""
        args: dict[str, Any] = {"board": board, "key": key, "value": value}
        if if_version is not None:
            args["ifVersion"] = if_version
        if fence is not None or req_id is not None or durability is not None:
            args.update(compact(fence=_fence(fence), reqId=req_id, durability=durability))
        result = await self.request("put", args)
        return PutResult(result["version"], result["rev"])

    async def patch(
        self,
        board: str,
        key: str,
        patch: JsonPatch,
        *,
        if_version: int | None = None,
        fence: Fence | None = None,
        req_id: str | None = None,
        durability: Durability | None = None,
    ) -> PatchResult:
        """Applies an RFC 6902 patch to the latest value (or, with ``if_version``, to that version only)."""
        args = compact(board=board, key=key, patch=patch, ifVersion=if_version, fence=_fence(fence), reqId=req_id, durability=durability)
        result = await self.request("patch", args)
        return PatchResult(result["version"], result["rev"], result.get("value"))

    async def delete(
        self,
        board: str,
        key: str,
        *,
        if_version: int | None = None,
        fence: Fence | None = None,
        req_id: str | None = None,
        durability: Durability | None = None,
    ) -> DeleteResult:
        args = compact(board=board, key=key, ifVersion=if_version, fence=_fence(fence), reqId=req_id, durability=durability)
        return DeleteResult((await self.request("delete", args))["rev"])

    async def txn(
        self,
        board: str,
        ops: Sequence[TxnOp],
        compare: Compare = (),
        *,
        fence: Fence | None = None,
        req_id: str | None = None,
        durability: Durability | None = None,
    ) -> TxnResult:
        """Applies every op in one revision if every compare holds (``{key: version}``, 0 = absent)."""
        pairs = compare.items() if isinstance(compare, Mapping) else compare
        args = compact(board=board, fence=_fence(fence), reqId=req_id, durability=durability)
        args["compare"] = [{"key": key, "version": version} for key, version in pairs]
        args["ops"] = [op.to_wire() for op in ops]
        result = await self.request("txn", args)
        return TxnResult(result["rev"], list(result.get("results", [])))

    async def history_page(
        self,
        board: str,
        *,
        key: str | None = None,
        from_rev: int | None = None,
        to_rev: int | None = None,
        limit: int | None = None,
    ) -> HistoryPage:
        """One page of events, oldest first (``from_rev`` and ``to_rev`` inclusive)."""
        args = compact(board=board, key=key, fromRev=from_rev, toRev=to_rev, limit=limit)
        return HistoryPage.from_wire(await self.request("history", args))

    async def search_page(
        self,
        board: str,
        query: str,
        *,
        patterns: Sequence[str] | None = None,
        at_rev: int | None = None,
        history: bool | None = None,
        from_rev: int | None = None,
        to_rev: int | None = None,
        limit: int | None = None,
        after: str | None = None,
        min_rev: int | None = None,
    ) -> SearchPage:
        """One page of a full-text search of the board (web search syntax: words, ``"a phrase"``,
        ``-excluded``, ``or``), best first; misspelt words fall back to close ones (``fuzzy``).
        ``min_rev`` waits (bounded) until the index holds that revision."""
        args = compact(
            board=board, query=query, patterns=list(patterns) if patterns is not None else None, atRev=at_rev,
            history=history, fromRev=from_rev, toRev=to_rev, limit=limit, after=after, minRev=min_rev,
        )
        return SearchPage.from_wire(await self.request("search", args))

    async def search(
        self,
        board: str,
        query: str,
        *,
        patterns: Sequence[str] | None = None,
        at_rev: int | None = None,
        history: bool | None = None,
        from_rev: int | None = None,
        to_rev: int | None = None,
        min_rev: int | None = None,
        page_size: int | None = None,
    ) -> AsyncIterator[SearchItem]:
        """Every match, best first, page after page (following ``more`` with ``next``)."""
        after: str | None = None
        while True:
            page = await self.search_page(
                board, query, patterns=patterns, at_rev=at_rev, history=history, from_rev=from_rev, to_rev=to_rev,
                limit=page_size, after=after, min_rev=min_rev,
            )
            for item in page.items:
                yield item
            if not page.more or page.next is None:
                return
            after, min_rev = page.next, None

    async def history(
        self,
        board: str,
        *,
        key: str | None = None,
        from_rev: int | None = None,
        to_rev: int | None = None,
        page_size: int = 1_000,
    ) -> AsyncIterator[Event]:
        """Every event in the range, oldest first, page after page.

        A page may end inside a revision; the next page starts at that revision again and
        skips the keys already given (one revision never holds two events for one key).
        A revision larger than a page is read again with larger pages until it fits.
        """
        start = from_rev
        limit = page_size
        seen_rev = -1
        seen_keys: set[str] = set()
        while True:
            page = await self.history_page(board, key=key, from_rev=start, to_rev=to_rev, limit=limit)
            fresh = 0
            for event in page.events:
                if event.rev == seen_rev and event.key in seen_keys:
                    continue
                if event.rev != seen_rev:
                    seen_rev, seen_keys = event.rev, set()
                seen_keys.add(event.key)
                fresh += 1
                yield event
            if not page.more or not page.events:
                return
            last = page.events[-1].rev
            if fresh == 0 and limit < _MAX_HISTORY_LIMIT:
                # The page held only events already given: that revision is larger than a page.
                limit = min(_MAX_HISTORY_LIMIT, limit * 2)
                continue
            start, limit = (last + 1 if fresh == 0 else last), page_size

    async def boards_page(self, prefix: str | None = None, *, after: str | None = None, limit: int | None = None) -> BoardsPage:
        """One page of the boards the caller may read, in byte order, after the board ``after``."""
        args = compact(prefix=prefix, after=after, limit=limit)
        return BoardsPage.from_wire(await self.request("boards", args))

    async def boards(self, prefix: str | None = None, *, page_size: int | None = None) -> AsyncIterator[BoardInfo]:
        """Every board the caller may read (starting with ``prefix``), with its current revision
        and epoch, page after page while the server says ``more``."""
        after: str | None = None
        while True:
            page = await self.boards_page(prefix, after=after, limit=page_size)
            for info in page.boards:
                yield info
            if not page.more or not page.boards:
                return
            after = page.boards[-1].board

    async def update(
        self,
        board: str,
        key: str,
        fn: UpdateFn,
        *,
        max_attempts: int = 10_000,
        fence: Fence | None = None,
        durability: Durability | None = None,
    ) -> UpdateResult:
        """Read-modify-write with compare-and-set, looping until it commits.

        ``fn`` gets the current value (None when the key is absent) and returns the next
        one (it may be a coroutine function). A CONFLICT carries the key's current state,
        so a retry needs no extra read.
        """
        try:
            got = await self.get(board, key)
            value, version = got.value, got.version
        except NotFoundError:
            value, version = None, 0
        for attempt in range(1, max_attempts + 1):
            nxt = fn(value)
            if inspect.isawaitable(nxt):
                nxt = await nxt
            try:
                result = await self.put(board, key, nxt, if_version=version, fence=fence, durability=durability)
                return UpdateResult(result.version, result.rev, nxt, attempt)
            except ConflictError as conflict:
                if attempt >= max_attempts:
                    raise
                current = conflict.current or {}
                version = current.get("version", 0) if isinstance(current.get("version"), int) else 0
                value = current.get("value") if version else None
                if attempt > 3:
                    await asyncio.sleep(random.random() * min(100, attempt * 2) / 1000)
        raise AssertionError("unreachable")  # pragma: no cover
