"""One exception class per wire error code.

Every error a server answers with becomes an instance of the class for its code, carrying
the server's ``message`` and ``details`` (always a dict). Branch on the class (or on
``.code``), never on the message text.
"""

from __future__ import annotations

import builtins
from typing import Any, Mapping


class BlackboardError(Exception):
    """An error that crossed the wire (or the client's own equivalent of one)."""

    #: The wire code; subclasses name theirs.
    code: str = "INTERNAL"

    def __init__(self, message: str, details: Mapping[str, Any] | None = None, *, code: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.details: dict[str, Any] = dict(details) if details else {}
        if code is not None and code != type(self).code:
            # An unknown code from a newer server keeps its name on the instance.
            self.code = code

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.message!r}, details={self.details!r})"


class BadRequestError(BlackboardError, ValueError):
    """The frame broke the protocol's rules; ``details["issues"]`` names each problem."""

    code = "BAD_REQUEST"


class UnauthorizedError(BlackboardError, PermissionError):
    """A missing, bad or expired token."""

    code = "UNAUTHORIZED"


class ForbiddenError(BlackboardError, PermissionError):
    """The token's scopes do not allow the op, or the key belongs to the server (``$…``)."""

    code = "FORBIDDEN"


class NotFoundError(BlackboardError, LookupError):
    """No such key, task or subscription."""

    code = "NOT_FOUND"


class ConflictError(BlackboardError):
    """A compare failed; ``current`` holds the key's state so the caller can merge without a read."""

    code = "CONFLICT"

    @property
    def current(self) -> dict[str, Any] | None:
        current = self.details.get("current")
        return current if isinstance(current, dict) else None

    @property
    def failed(self) -> list[dict[str, Any]]:
        """For a ``txn``: every compare that failed, in request order."""
        failed = self.details.get("failed")
        return failed if isinstance(failed, list) else []


class FencedError(BlackboardError):
    """The fencing token is no longer the lock's (or the task's) current holder's."""

    code = "FENCED"


class LockedError(BlackboardError):
    """The lock is still held by another agent after the wait."""

    code = "LOCKED"

    @property
    def holder(self) -> str | None:
        holder = self.details.get("holder")
        return holder if isinstance(holder, str) else None


class CompactedError(BlackboardError):
    """The revisions asked for are no longer retained."""

    code = "COMPACTED"

    @property
    def compact_rev(self) -> int | None:
        rev = self.details.get("compactRev")
        return rev if isinstance(rev, int) else None


class EpochChangedError(BlackboardError):
    """The board lost data and started a new epoch: re-read instead of resuming."""

    code = "EPOCH_CHANGED"

    @property
    def epoch(self) -> str | None:
        epoch = self.details.get("epoch")
        return epoch if isinstance(epoch, str) else None


class InvalidError(BlackboardError, ValueError):
    """The value breaks the key's schema; ``details["errors"]`` says where."""

    code = "INVALID"


class TooLargeError(BlackboardError, ValueError):
    """A value, revision or frame over the server's limits."""

    code = "TOO_LARGE"


class RateLimitedError(BlackboardError):
    """Refused under load or past a rate; nothing was done. Send it again after ``retry_after_ms``."""

    code = "RATE_LIMITED"

    @property
    def retry_after_ms(self) -> int | None:
        wait = self.details.get("retryAfterMs")
        return wait if isinstance(wait, int) and not isinstance(wait, bool) else None


class UnavailableError(BlackboardError, ConnectionError):
    """The server (or the connection to it) cannot serve the request now."""

    code = "UNAVAILABLE"


class RequestTimeoutError(BlackboardError, builtins.TimeoutError):
    """No answer in time. For a ``durable`` write, ``details["rev"]`` is committed and will persist."""

    code = "TIMEOUT"


class InternalError(BlackboardError):
    """The server failed unexpectedly."""

    code = "INTERNAL"


ERROR_CLASSES: Mapping[str, type[BlackboardError]] = {
    cls.code: cls
    for cls in (
        BadRequestError,
        UnauthorizedError,
        ForbiddenError,
        NotFoundError,
        ConflictError,
        FencedError,
        LockedError,
        CompactedError,
        EpochChangedError,
        InvalidError,
        TooLargeError,
        RateLimitedError,
        UnavailableError,
        RequestTimeoutError,
        InternalError,
    )
}

ERROR_CODES: tuple[str, ...] = tuple(ERROR_CLASSES)


def error_from_wire(body: object) -> BlackboardError:
    """The exception for an ``error`` object of a reply; a code this client does not know stays visible."""
    if not isinstance(body, dict):
        return InternalError("malformed error reply", {"error": body})
    code = body.get("code")
    message = body.get("message")
    details = body.get("details")
    text = message if isinstance(message, str) else "request failed"
    detail_map = details if isinstance(details, dict) else {}
    if isinstance(code, str) and code in ERROR_CLASSES:
        return ERROR_CLASSES[code](text, detail_map)
    return BlackboardError(text, detail_map, code=code if isinstance(code, str) else "INTERNAL")
