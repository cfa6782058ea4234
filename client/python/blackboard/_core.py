"""The client's core: one logical connection, the request manager, and push routing."""

from __future__ import annotations

import asyncio
import json
import logging
import uuid
from types import TracebackType
from typing import Any, Callable, Mapping, Sequence, TypeVar

from .connection import Connection, ConnectionEvents, ConnectionState, FrameObserver
from .errors import BlackboardError, UnavailableError
from .requests import RequestManager, ResultHook
from .wire import encode_frame

log = logging.getLogger("blackboard")

#: Ops that change nothing: safe to send again after a reconnect.
READ_OPS = frozenset({"get", "list", "history", "boards", "task.get", "schema.get", "schema.list"})
#: Writes: each gets a ``reqId``, so sending the identical frame again applies it once.
WRITE_OPS = frozenset({"put", "patch", "delete", "txn"})

Listener = Callable[..., None]
_Self = TypeVar("_Self", bound="ClientCore")


class SubscriptionHandler:
    """Receives one subscription's pushes (raw event dicts, in revision order)."""

    def on_events(self, events: list[dict[str, Any]]) -> None: ...

    def on_progress(self, rev: int) -> None: ...

    def on_snapshot(self, items: list[dict[str, Any]], more: bool) -> None:
        """The next part of a snapshot the subscribe result began (raw key records, in key order)."""


class Requester:
    """What the op mixins need of a client: one request/reply call."""

    async def request(
        self,
        op: str,
        args: Mapping[str, Any],
        *,
        timeout_ms: float | None = None,
        on_result: ResultHook | None = None,
    ) -> Any:
        raise NotImplementedError


class ClientCore(Requester, ConnectionEvents):
    def __init__(
        self,
        url: str | Sequence[str],
        agent: str | None = None,
        token: str | None = None,
        *,
        request_timeout_ms: float = 30_000,
        connect_timeout_ms: float | None = 30_000,
        retry_rate_limited: bool = True,
        retry_unavailable_ms: float = 5_000,
        reconnect_base_ms: float = 100,
        reconnect_cap_ms: float = 5_000,
        open_timeout_ms: float = 10_000,
        max_in_flight: int = 1_024,
        max_frame_bytes: int = 1 << 20,
        max_message_bytes: int = 64 << 20,
        frame_observer: FrameObserver | None = None,
    ) -> None:
        urls = [url] if isinstance(url, str) else list(url)
        if agent is None and token is None:
            # A stable identity across reconnects: a reqId only matches the agent that sent it,
            # so a write resent from a new connection must come from the same agent.
            agent = f"py-{uuid.uuid4().hex[:12]}"
        #: The agent id sent with ``?agent=`` (None when the token names the agent).
        self.agent = agent
        self.request_timeout_ms = request_timeout_ms
        self._connect_timeout_ms = connect_timeout_ms
        self._max_frame_bytes = max_frame_bytes
        self.connection = Connection(
            urls,
            self,
            agent=agent,
            token=token,
            reconnect_base_ms=reconnect_base_ms,
            reconnect_cap_ms=reconnect_cap_ms,
            open_timeout_ms=open_timeout_ms,
            max_message_bytes=max_message_bytes,
            observer=frame_observer,
        )
        self._requests = RequestManager(
            self.connection.send,
            max_in_flight=max_in_flight,
            retry_rate_limited=retry_rate_limited,
            retry_unavailable_ms=retry_unavailable_ms,
        )
        self._subscriptions: dict[str, SubscriptionHandler] = {}
        self._listeners: dict[str, list[Listener]] = {"open": [], "close": [], "state": [], "push": []}
        self._first_open: asyncio.Future[None] | None = None
        self._req_prefix = f"{uuid.uuid4().hex}-"
        self._req_count = 0

    # --- lifecycle ---

    @property
    def state(self) -> ConnectionState:
        return self.connection.state

    async def connect(self, timeout_ms: float | None = None) -> None:
        """Opens the connection and waits until it is up the first time.

        Raises the server's refusal (UnauthorizedError, ...) at once, and UnavailableError
        when no connection came up within ``timeout_ms`` (default ``connect_timeout_ms``;
        None waits for ever); the client is closed then.
        """
        if self.state is ConnectionState.CONNECTED:
            return
        if self.state is ConnectionState.CLOSED:
            raise self._closed_error()
        if self._first_open is None:
            self._first_open = asyncio.get_running_loop().create_future()
        self.connection.start()
        limit = self._connect_timeout_ms if timeout_ms is None else timeout_ms
        try:
            await asyncio.wait_for(asyncio.shield(self._first_open), None if limit is None else limit / 1000)
        except asyncio.TimeoutError:
            await self.close()
            raise UnavailableError(f"no connection to {self.connection.url} within {limit:.0f} ms", {"url": self.connection.url}) from None
        except BlackboardError:
            await self.close()
            raise

    async def close(self) -> None:
        """Closes for good; pending requests fail with UnavailableError."""
        await self.connection.close()

    async def __aenter__(self: _Self) -> _Self:
        await self.connect()
        return self

    async def __aexit__(self, kind: type[BaseException] | None, value: BaseException | None, tb: TracebackType | None) -> None:
        await self.close()

    def add_listener(self, event: str, listener: Listener) -> None:
        """``open`` (), ``close`` (code, reason), ``state`` (ConnectionState), ``push`` (message dict)."""
        self._listeners[event].append(listener)

    def remove_listener(self, event: str, listener: Listener) -> None:
        try:
            self._listeners[event].remove(listener)
        except ValueError:
            pass

    def _emit(self, event: str, *args: Any) -> None:
        for listener in list(self._listeners[event]):
            try:
                listener(*args)
            except Exception:
                log.exception("blackboard %s listener failed", event)

    def _closed_error(self) -> BlackboardError:
        return self.connection.closed_error or UnavailableError("the client is closed")

    # --- connection events ---

    def on_open(self) -> None:
        self._requests.connection_opened()
        if self._first_open is not None and not self._first_open.done():
            self._first_open.set_result(None)
        self._emit("open")

    def on_close(self, code: int, reason: str) -> None:
        self._subscriptions.clear()
        self._requests.connection_lost()
        self._emit("close", code, reason)

    def on_state(self, state: ConnectionState) -> None:
        if state is ConnectionState.CLOSED:
            error = self._closed_error()
            self._requests.fail_all(error)
            if self._first_open is not None and not self._first_open.done():
                self._first_open.set_exception(error)
                self._first_open.exception()  # retrieved: connect() may not be waiting
        self._emit("state", state)

    def on_message(self, text: str) -> None:
        try:
            message = json.loads(text)
        except ValueError:
            log.warning("blackboard: a frame that is not JSON was ignored")
            return
        if not isinstance(message, dict):
            return
        try:
            if "ok" in message:
                self._requests.handle_reply(message)
                return
            kind = message.get("push")
            if kind == "events":
                handler = self._subscriptions.get(message.get("sub", ""))
                if handler is not None:
                    handler.on_events(message.get("events", []))
            elif kind == "progress":
                handler = self._subscriptions.get(message.get("sub", ""))
                rev = message.get("rev")
                if handler is not None and isinstance(rev, int):
                    handler.on_progress(rev)
            elif kind == "snapshot":
                handler = self._subscriptions.get(message.get("sub", ""))
                if handler is not None:
                    handler.on_snapshot(message.get("items", []), message.get("more") is True)
            self._emit("push", message)
        except Exception:
            log.exception("blackboard: handling a frame failed")

    # --- requests ---

    async def request(
        self,
        op: str,
        args: Mapping[str, Any],
        *,
        timeout_ms: float | None = None,
        on_result: ResultHook | None = None,
    ) -> Any:
        """Sends any op with its wire arguments (camelCase) and returns the reply's ``result``.

        Writes get a ``reqId`` when they carry none, so that a resend after a reconnect is
        applied once. ``on_result`` runs with the result before any later frame is handled.
        """
        if self.state is ConnectionState.CLOSED:
            raise self._closed_error()
        self.connection.start()
        request_id = self._requests.next_id()
        frame = {"id": request_id, "op": op, **args}
        if op in WRITE_OPS and "reqId" not in frame:
            # Unique per agent: a random prefix per client, then a counter (cheaper than a UUID each).
            self._req_count += 1
            frame["reqId"] = f"{self._req_prefix}{self._req_count}"
        text = encode_frame(frame, self._max_frame_bytes)
        return await self._requests.send(
            request_id,
            op,
            text,
            resendable=op in READ_OPS or op in WRITE_OPS,
            timeout_ms=self.request_timeout_ms if timeout_ms is None else timeout_ms,
            on_result=on_result,
        )

    def _register(self, sub: str, handler: SubscriptionHandler) -> None:
        self._subscriptions[sub] = handler

    def _unregister(self, sub: str) -> None:
        self._subscriptions.pop(sub, None)


__all__ = ["ClientCore", "Requester", "SubscriptionHandler", "READ_OPS", "WRITE_OPS"]
