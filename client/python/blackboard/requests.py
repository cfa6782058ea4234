"""Matching replies to requests, and resending what is safe to resend.

While the connection is down, a request that was never sent, or that is safe to repeat
(a read, or a write carrying a ``reqId``), waits for the next socket, bounded by its
timeout, and goes out again as the identical frame. One that was sent and is not safe to
repeat fails with UnavailableError, since its outcome is unknown. A request refused with
RATE_LIMITED did nothing, so it is sent again after the ``retryAfterMs`` the server
names; a repeatable one answered UNAVAILABLE (the server restarting, Redis failing over)
is sent again after a short backoff, for a bounded time.
"""

from __future__ import annotations

import asyncio
import random
from typing import Any, Callable

from .backoff import full_jitter_delay
from .errors import BlackboardError, RequestTimeoutError, UnavailableError, error_from_wire

ResultHook = Callable[[Any], None]


class _Pending:
    __slots__ = ("op", "frame", "future", "resendable", "sent", "on_result", "deadline", "unavailable_since", "retries", "timer")

    def __init__(self, op: str, frame: str, future: asyncio.Future[Any], resendable: bool, on_result: ResultHook | None, deadline: float) -> None:
        self.op = op
        self.frame = frame
        self.future = future
        self.resendable = resendable
        self.sent = False
        self.on_result = on_result
        self.deadline = deadline
        self.unavailable_since: float | None = None
        self.retries = 0
        self.timer: asyncio.TimerHandle | None = None


class RequestManager:
    def __init__(
        self,
        transmit: Callable[[str], bool],
        *,
        max_in_flight: int,
        retry_rate_limited: bool,
        retry_unavailable_ms: float,
    ) -> None:
        self._transmit = transmit
        self._next_id = 1
        self._pending: dict[int, _Pending] = {}
        self._slots = asyncio.Semaphore(max_in_flight)
        self._retry_rate_limited = retry_rate_limited
        self._retry_unavailable_ms = retry_unavailable_ms

    def __len__(self) -> int:
        return len(self._pending)

    def next_id(self) -> int:
        request_id = self._next_id
        self._next_id += 1
        return request_id

    async def send(
        self,
        request_id: int,
        op: str,
        frame: str,
        *,
        resendable: bool,
        timeout_ms: float,
        on_result: ResultHook | None = None,
    ) -> Any:
        """Sends the frame (now, or once connected) and resolves with the reply's result."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout_ms / 1000
        if self._slots.locked():
            try:
                await asyncio.wait_for(self._slots.acquire(), timeout_ms / 1000)
            except asyncio.TimeoutError:
                raise RequestTimeoutError(f"{op} waited {timeout_ms:.0f} ms for a free slot", {"op": op}) from None
        else:
            await self._slots.acquire()
        future: asyncio.Future[Any] = loop.create_future()
        entry = _Pending(op, frame, future, resendable, on_result, deadline)
        self._pending[request_id] = entry
        timer = loop.call_at(deadline, self._expire, request_id, timeout_ms)
        try:
            entry.sent = self._transmit(frame)
            return await future
        finally:
            timer.cancel()
            if entry.timer is not None:
                entry.timer.cancel()
            if self._pending.get(request_id) is entry:
                del self._pending[request_id]
            self._slots.release()

    def _expire(self, request_id: int, timeout_ms: float) -> None:
        entry = self._pending.pop(request_id, None)
        if entry is not None and not entry.future.done():
            entry.future.set_exception(RequestTimeoutError(f"{entry.op} got no reply within {timeout_ms:.0f} ms", {"op": entry.op}))

    def handle_reply(self, message: dict[str, Any]) -> None:
        """Settles the request a reply answers (a reply to nothing pending is ignored)."""
        request_id = message.get("id")
        if not isinstance(request_id, int):
            return
        entry = self._pending.get(request_id)
        if entry is None:
            return
        if message.get("ok") is True:
            del self._pending[request_id]
            result = message.get("result")
            if entry.on_result is not None:
                entry.on_result(result)
            if not entry.future.done():
                entry.future.set_result(result)
            return
        error = error_from_wire(message.get("error"))
        if self._retry_later(request_id, entry, error):
            return
        del self._pending[request_id]
        if not entry.future.done():
            entry.future.set_exception(error)

    def _retry_later(self, request_id: int, entry: _Pending, error: BlackboardError) -> bool:
        loop = asyncio.get_running_loop()
        now = loop.time()
        if error.code == "RATE_LIMITED" and self._retry_rate_limited:
            wait_ms = error.details.get("retryAfterMs")
            if not isinstance(wait_ms, int) or isinstance(wait_ms, bool):
                return False
            # At least the wait the server named, spread a little so refused clients do not return together.
            delay = max(wait_ms, 1) * (1 + random.random() * 0.25) / 1000
        elif error.code == "UNAVAILABLE" and entry.resendable and self._retry_unavailable_ms > 0:
            if entry.unavailable_since is None:
                entry.unavailable_since = now
            if (now - entry.unavailable_since) * 1000 >= self._retry_unavailable_ms:
                return False
            delay = full_jitter_delay(entry.retries, 50, 1_000) / 1000
        else:
            return False
        if now + delay >= entry.deadline:
            return False
        entry.retries += 1
        entry.sent = False
        entry.timer = loop.call_later(delay, self._resend, request_id, entry)
        return True

    def _resend(self, request_id: int, entry: _Pending) -> None:
        entry.timer = None
        if self._pending.get(request_id) is entry and not entry.sent:
            entry.sent = self._transmit(entry.frame)

    def connection_lost(self) -> None:
        """The socket is gone: unknown outcomes fail now; the rest wait for the next socket."""
        for request_id, entry in list(self._pending.items()):
            if not entry.sent or entry.resendable:
                entry.sent = False
                continue
            del self._pending[request_id]
            if not entry.future.done():
                entry.future.set_exception(UnavailableError(f"connection lost before the reply to {entry.op}; outcome unknown", {"op": entry.op}))

    def connection_opened(self) -> None:
        for entry in list(self._pending.values()):
            if not entry.sent and entry.timer is None:
                entry.sent = self._transmit(entry.frame)

    def fail_all(self, error: BlackboardError) -> None:
        for entry in self._pending.values():
            if not entry.future.done():
                entry.future.set_exception(error)
        self._pending.clear()
