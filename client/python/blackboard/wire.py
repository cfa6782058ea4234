"""Building request frames: camelCase fields, optional ones left out, limits checked before sending.

The server refuses (BAD_REQUEST) a field sent as ``null`` unless it takes any JSON, an
unknown field, NaN or Infinity (not JSON), JSON nested deeper than its limit, and closes
the socket on a frame over ``MAX_FRAME_BYTES``. The client never produces such a frame:
these are checked here, before anything goes out.
"""

from __future__ import annotations

import json
from typing import Any

from .errors import BadRequestError, TooLargeError

#: The server's default MAX_JSON_DEPTH; the frame object itself is depth 1.
MAX_JSON_DEPTH = 64

_encoder = json.JSONEncoder(ensure_ascii=False, allow_nan=False, separators=(",", ":"))


def compact(**fields: Any) -> dict[str, Any]:
    """The fields that were given: ``None`` means "left out", never ``null`` on the wire."""
    return {name: value for name, value in fields.items() if value is not None}


def _depth_exceeds(value: Any, limit: int) -> bool:
    """Whether ``value`` nests deeper than ``limit`` (iteratively: a deep value must not blow the stack)."""
    stack: list[tuple[Any, int]] = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, dict):
            if depth > limit:
                return True
            stack.extend((v, depth + 1) for v in item.values())
        elif isinstance(item, (list, tuple)):
            if depth > limit:
                return True
            stack.extend((v, depth + 1) for v in item)
    return False


def encode_frame(frame: dict[str, Any], max_frame_bytes: int, max_depth: int = MAX_JSON_DEPTH) -> str:
    """The frame as JSON text, or an error saying why the server would refuse it (nothing is sent)."""
    try:
        text = _encoder.encode(frame)
    except (ValueError, TypeError) as err:
        # NaN/Infinity, a circular value, or an object json cannot write.
        raise BadRequestError(f"cannot send {frame.get('op')}: {err}", {"op": frame.get("op")}) from err
    # UTF-8 is what goes on the wire: a lone surrogate cannot be sent (and would alias another key).
    if len(text) * 4 > max_frame_bytes or not text.isascii():
        try:
            size = len(text.encode("utf-8"))
        except UnicodeEncodeError as err:
            raise BadRequestError(f"cannot send {frame.get('op')}: text that is not valid Unicode ({err.reason})", {"op": frame.get("op")}) from err
        if size > max_frame_bytes:
            raise TooLargeError(
                f"{frame.get('op')} frame is larger than {max_frame_bytes} bytes",
                {"op": frame.get("op"), "limit": max_frame_bytes},
            )
    # Nesting needs a bracket per level: most frames have too few brackets to be too deep.
    if text.count("{") + text.count("[") > max_depth and _depth_exceeds(frame, max_depth):
        raise BadRequestError(f"{frame.get('op')} frame nests deeper than {max_depth}", {"op": frame.get("op")})
    return text

