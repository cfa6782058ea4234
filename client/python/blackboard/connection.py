"""One logical connection that survives socket loss.

An explicit state machine (disconnected → connecting → connected, and closed for good)
that dials, reads and writes one WebSocket at a time and, when it goes, dials again after
a full-jitter backoff, moving on to the next URL when several are given (any node can
serve any client).
"""

from __future__ import annotations

import asyncio
import enum
import logging
from collections import deque
from typing import Callable, Sequence
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from ._ws import ConnectionClosed, InvalidURI, Socket, close_code, http_status, open_socket
from .backoff import full_jitter_delay
from .errors import BadRequestError, BlackboardError, ForbiddenError, NotFoundError, UnauthorizedError

log = logging.getLogger("blackboard")

WS_PATH = "/v1/ws"
SUBPROTOCOL = "blackboard.v1"

#: Close codes after which reconnecting cannot help (1008: token expired, scope revoked).
TERMINAL_CLOSE_CODES = frozenset({1008})

#: Refused upgrades that a retry would meet again: the connection closes for good.
_TERMINAL_STATUS: dict[int, type[BlackboardError]] = {
    400: BadRequestError,
    401: UnauthorizedError,
    403: ForbiddenError,
    404: NotFoundError,
}

FrameObserver = Callable[[str, str], None]
"""Called with ("send" | "receive", frame text) for every frame; for tests and tracing."""


class ConnectionState(str, enum.Enum):
    DISCONNECTED = "disconnected"
    CONNECTING = "connecting"
    CONNECTED = "connected"
    CLOSED = "closed"


class ConnectionEvents:
    """What the connection tells its owner. The owner overrides these; they must not raise."""

    def on_open(self) -> None: ...

    def on_message(self, text: str) -> None: ...

    def on_close(self, code: int, reason: str) -> None: ...

    def on_state(self, state: ConnectionState) -> None: ...


def endpoint(base: str, agent: str | None) -> str:
    """The WebSocket URL for a server address: ws(s) scheme, the default path, ``?agent=``."""
    if base.startswith("http"):
        base = "ws" + base[4:]
    parts = urlsplit(base)
    path = parts.path if parts.path not in ("", "/") else WS_PATH
    query = parse_qsl(parts.query, keep_blank_values=True)
    if agent is not None:
        query = [(k, v) for k, v in query if k != "agent"] + [("agent", agent)]
    return urlunsplit((parts.scheme, parts.netloc, path, urlencode(query), parts.fragment))


class Connection:
    def __init__(
        self,
        urls: Sequence[str],
        events: ConnectionEvents,
        *,
        agent: str | None,
        token: str | None,
        reconnect_base_ms: float,
        reconnect_cap_ms: float,
        open_timeout_ms: float,
        max_message_bytes: int,
        observer: FrameObserver | None,
    ) -> None:
        if not urls:
            raise ValueError("at least one server URL is needed")
        self.state = ConnectionState.DISCONNECTED
        #: Why the connection closed for good, when the server refused it (None after close()).
        self.closed_error: BlackboardError | None = None
        self._urls = list(urls)
        self._events = events
        self._agent = agent
        self._headers = {"Authorization": f"Bearer {token}"} if token else {}
        self._reconnect_base_ms = reconnect_base_ms
        self._reconnect_cap_ms = reconnect_cap_ms
        self._open_timeout = open_timeout_ms / 1000
        self._max_message_bytes = max_message_bytes
        self._observer = observer
        self._socket: Socket | None = None
        self._outbox: deque[str] = deque()
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._url_index = 0
        self._attempt = 0

    @property
    def url(self) -> str:
        return endpoint(self._urls[self._url_index % len(self._urls)], self._agent)

    def start(self) -> None:
        if self._task is None and self.state is not ConnectionState.CLOSED:
            self._task = asyncio.get_running_loop().create_task(self._run(), name="blackboard-connection")

    def send(self, text: str) -> bool:
        """Queues a frame on the open socket; False when there is none (the caller keeps it)."""
        if self.state is not ConnectionState.CONNECTED:
            return False
        self._outbox.append(text)
        self._wake.set()
        return True

    def drop(self) -> None:
        """Closes the current socket as if it had failed; the connection dials again."""
        socket = self._socket
        if socket is not None:
            asyncio.get_running_loop().create_task(socket.close(4000, "client dropped the connection"))

    async def close(self) -> None:
        """Closes for good: no reconnect; resolves once the socket is closed."""
        if self.state is ConnectionState.CLOSED and self._task is None:
            return
        self._set_state(ConnectionState.CLOSED)
        socket, task = self._socket, self._task
        if socket is not None:
            try:
                await socket.close(1000, "client closed")
            except Exception:  # the socket is gone either way
                pass
        if task is not None:
            if socket is None:
                task.cancel()
            try:
                await asyncio.wait_for(asyncio.shield(task), 5)
            except (asyncio.CancelledError, asyncio.TimeoutError):
                task.cancel()
            except Exception:
                log.exception("blackboard connection loop failed")
        self._task = None

    def _closed(self) -> bool:
        # A method, not an inline check: the state changes across the awaits of the loop.
        return self.state is ConnectionState.CLOSED

    def _set_state(self, state: ConnectionState) -> None:
        if self.state is state or self.state is ConnectionState.CLOSED:
            return
        self.state = state
        self._events.on_state(state)

    def _terminate(self, error: BlackboardError | None) -> None:
        self.closed_error = error
        self._set_state(ConnectionState.CLOSED)

    async def _backoff(self) -> None:
        delay = full_jitter_delay(self._attempt, self._reconnect_base_ms, self._reconnect_cap_ms)
        self._attempt += 1
        await asyncio.sleep(delay / 1000)

    async def _run(self) -> None:
        while self.state is not ConnectionState.CLOSED:
            self._set_state(ConnectionState.CONNECTING)
            try:
                socket = await open_socket(
                    self.url,
                    headers=self._headers,
                    subprotocols=[SUBPROTOCOL],
                    max_size=self._max_message_bytes,
                    open_timeout=self._open_timeout,
                )
            except asyncio.CancelledError:
                raise
            except InvalidURI as err:
                self._terminate(BadRequestError(f"not a WebSocket URL: {self.url}", {"url": self.url, "reason": str(err)}))
                return
            except Exception as err:
                status = http_status(err)
                if status in _TERMINAL_STATUS:
                    message = f"the server refused the connection (HTTP {status})"
                    self._terminate(_TERMINAL_STATUS[status](message, {"status": status}))
                    return
                log.debug("blackboard: cannot connect to %s: %s", self.url, err)
                self._url_index += 1
                self._set_state(ConnectionState.DISCONNECTED)
                await self._backoff()
                continue
            if self._closed():
                await socket.close(1000, "client closed")
                return
            code, reason = await self._serve(socket)
            self._url_index += 1
            if self._closed():
                self._events.on_close(code, reason)
                return
            if code in TERMINAL_CLOSE_CODES:
                self._events.on_close(code, reason)
                self._terminate(UnauthorizedError(f"the server closed the connection ({code} {reason})", {"closeCode": code}))
                return
            self._set_state(ConnectionState.DISCONNECTED)
            self._events.on_close(code, reason)
            await self._backoff()

    async def _serve(self, socket: Socket) -> tuple[int, str]:
        """Runs one open socket until it closes; returns its close code and reason."""
        self._socket = socket
        self._attempt = 0
        self._outbox.clear()
        writer = asyncio.get_running_loop().create_task(self._write(socket), name="blackboard-writer")
        self._set_state(ConnectionState.CONNECTED)
        self._events.on_open()
        observer = self._observer
        on_message = self._events.on_message
        try:
            while True:
                message = await socket.recv()
                text = message if isinstance(message, str) else message.decode("utf-8", "replace")
                if observer is not None:
                    observer("receive", text)
                on_message(text)
        except ConnectionClosed as closed:
            return close_code(closed)
        except asyncio.CancelledError:
            raise
        except Exception as err:  # a broken socket that did not say so
            log.debug("blackboard: socket failed: %s", err)
            return 1006, str(err)
        finally:
            self._socket = None
            self._outbox.clear()
            writer.cancel()

    async def _write(self, socket: Socket) -> None:
        observer = self._observer
        outbox = self._outbox
        try:
            while True:
                while outbox:
                    text = outbox.popleft()
                    if observer is not None:
                        observer("send", text)
                    try:
                        await socket.send(text)
                    except ConnectionClosed:
                        raise
                    except Exception:  # one frame that cannot go out must not stop the others
                        log.exception("blackboard: a frame could not be sent")
                self._wake.clear()
                await self._wake.wait()
        except ConnectionClosed:
            return  # the reader sees the close and reports it
