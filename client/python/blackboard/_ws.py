"""The ``websockets`` library across its versions (10.4 to 15).

Version 13 added the new asyncio implementation (``websockets.asyncio.client``) and later
versions deprecate the legacy one that 10.4 has. The client prefers the new one when it
is there; the two differ in the name of the extra-headers argument and in how a refused
handshake carries its HTTP status. Everything else the client uses (``send``, ``recv``,
``close``, ``ConnectionClosed.rcvd``) is common to both.
"""

from __future__ import annotations

import importlib
from typing import Any, Callable, Mapping, Protocol, Sequence

from websockets.exceptions import ConnectionClosed, InvalidHandshake, InvalidURI

__all__ = ["Socket", "ConnectionClosed", "InvalidHandshake", "InvalidURI", "open_socket", "close_code", "http_status", "IMPLEMENTATION"]


class Socket(Protocol):
    """What the client needs of a connection, in either implementation."""

    async def send(self, message: str) -> None: ...

    async def recv(self) -> str | bytes: ...

    async def close(self, code: int = 1000, reason: str = "") -> None: ...


def _pick_connect() -> tuple[Callable[..., Any], str, str]:
    try:
        module = importlib.import_module("websockets.asyncio.client")
        return module.connect, "additional_headers", "asyncio"
    except ImportError:
        legacy = importlib.import_module("websockets")
        return legacy.connect, "extra_headers", "legacy"


_connect, _HEADERS_ARGUMENT, IMPLEMENTATION = _pick_connect()


async def open_socket(
    url: str,
    *,
    headers: Mapping[str, str],
    subprotocols: Sequence[str],
    max_size: int,
    open_timeout: float,
    ping_interval: float | None = 20.0,
) -> Socket:
    """Opens one WebSocket (raises OSError, InvalidHandshake or TimeoutError when it cannot)."""
    arguments: dict[str, Any] = {
        _HEADERS_ARGUMENT: dict(headers),
        "subprotocols": list(subprotocols),
        # Frames are small JSON; compressing each costs more CPU than it saves on a LAN.
        "compression": None,
        "max_size": max_size,
        "open_timeout": open_timeout,
        "ping_interval": ping_interval,
        "ping_timeout": ping_interval,
        "close_timeout": 2.0,
    }
    socket: Socket = await _connect(url, **arguments)
    return socket


def close_code(err: ConnectionClosed) -> tuple[int, str]:
    """The close code and reason the server sent (1006 when the socket just went)."""
    received = err.rcvd
    if received is None:
        return 1006, "connection lost"
    return int(received.code), str(received.reason)


def http_status(err: BaseException) -> int | None:
    """The HTTP status of a refused upgrade, in either implementation's exception."""
    status = getattr(err, "status_code", None)
    if status is None:
        status = getattr(getattr(err, "response", None), "status_code", None)
    return int(status) if isinstance(status, int) else None
