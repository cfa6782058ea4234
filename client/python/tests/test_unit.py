"""Pure logic: backoff, the error catalogue, frame encoding, endpoints."""

from __future__ import annotations

import asyncio
import json
import math

import pytest

import blackboard
from blackboard.connection import endpoint
from blackboard.errors import error_from_wire
from blackboard.wire import compact, encode_frame

def test_full_jitter_delay_stays_within_its_ceiling_and_spreads_out() -> None:
    for attempt in range(12):
        ceiling = min(5_000, 100 * 2**attempt)
        assert blackboard.full_jitter_delay(attempt, 100, 5_000, random=lambda: 0.999999) <= ceiling
        assert blackboard.full_jitter_delay(attempt, 100, 5_000, random=lambda: 0.0) == 0
    delays = [blackboard.full_jitter_delay(6) for _ in range(500)]
    assert max(delays) <= 5_000 and min(delays) >= 0
    # Full jitter: spread over the whole range, not bunched near the ceiling.
    assert min(delays) < 1_000 and max(delays) > 4_000
    assert blackboard.full_jitter_delay(10_000) <= 5_000


def test_error_helpers_read_their_details() -> None:
    conflict = error_from_wire({"code": "CONFLICT", "message": "", "details": {"current": {"version": 3, "value": 1}, "failed": [{"key": "a"}]}})
    assert isinstance(conflict, blackboard.ConflictError)
    assert conflict.current == {"version": 3, "value": 1} and conflict.failed == [{"key": "a"}]
    limited = error_from_wire({"code": "RATE_LIMITED", "message": "", "details": {"retryAfterMs": 250}})
    assert isinstance(limited, blackboard.RateLimitedError) and limited.retry_after_ms == 250
    locked = error_from_wire({"code": "LOCKED", "message": "", "details": {"holder": "a1"}})
    assert isinstance(locked, blackboard.LockedError) and locked.holder == "a1"
    compacted = error_from_wire({"code": "COMPACTED", "message": "", "details": {"compactRev": 7}})
    assert isinstance(compacted, blackboard.CompactedError) and compacted.compact_rev == 7
    epoch = error_from_wire({"code": "EPOCH_CHANGED", "message": "", "details": {"epoch": "e2"}})
    assert isinstance(epoch, blackboard.EpochChangedError) and epoch.epoch == "e2"
    # Python's own hierarchy still catches them.
    assert isinstance(error_from_wire({"code": "TIMEOUT", "message": ""}), TimeoutError)
    assert isinstance(error_from_wire({"code": "UNAVAILABLE", "message": ""}), ConnectionError)
    assert isinstance(error_from_wire({"code": "NOT_FOUND", "message": ""}), LookupError)


def test_unknown_codes_and_malformed_bodies_stay_visible() -> None:
    err = error_from_wire({"code": "SOMETHING_NEW", "message": "later server", "details": {"x": 1}})
    assert type(err) is blackboard.BlackboardError and err.code == "SOMETHING_NEW" and err.details == {"x": 1}
    missing = error_from_wire({"code": "NOT_FOUND", "message": "no details"})
    assert missing.details == {}
    assert isinstance(error_from_wire("nonsense"), blackboard.InternalError)


def test_optional_fields_are_left_out_never_sent_as_null() -> None:
    assert compact(board="b", ifVersion=None, fence=None, reqId="r") == {"board": "b", "reqId": "r"}
    text = encode_frame({"id": 1, "op": "put", "board": "b", "key": "k", "value": None}, 1 << 20)
    assert json.loads(text) == {"id": 1, "op": "put", "board": "b", "key": "k", "value": None}


def test_frames_the_server_would_refuse_are_not_produced() -> None:
    with pytest.raises(blackboard.BadRequestError):
        encode_frame({"id": 1, "op": "put", "value": math.nan}, 1 << 20)
    with pytest.raises(blackboard.BadRequestError):
        encode_frame({"id": 1, "op": "put", "value": object()}, 1 << 20)
    with pytest.raises(blackboard.TooLargeError):
        encode_frame({"id": 1, "op": "put", "value": "x" * 2_000}, 1_024)
    deep: object = 1
    for _ in range(70):
        deep = [deep]
    with pytest.raises(blackboard.BadRequestError):
        encode_frame({"id": 1, "op": "put", "value": deep}, 1 << 20)
    shallow: object = 1
    for _ in range(60):
        shallow = [shallow]
    encode_frame({"id": 1, "op": "put", "value": shallow}, 1 << 20)
    with pytest.raises(blackboard.BadRequestError):
        encode_frame({"id": 1, "op": "put", "key": "a\ud800b", "value": 1}, 1 << 20)
    with pytest.raises(blackboard.TooLargeError):
        encode_frame({"id": 1, "op": "put", "value": "é" * 600}, 1_024)
    # Big integers keep every digit; text is not escaped to ASCII.
    assert json.loads(encode_frame({"id": 1, "op": "put", "value": [2**70, "é"]}, 1 << 20))["value"] == [2**70, "é"]


def test_a_url_that_is_no_websocket_url_closes_the_client_at_once() -> None:
    async def scenario() -> None:
        bb = blackboard.Client("nonsense", request_timeout_ms=1_000)
        with pytest.raises(blackboard.BadRequestError):
            await bb.connect(timeout_ms=5_000)
        assert bb.state is blackboard.ConnectionState.CLOSED

    asyncio.run(scenario())


def test_endpoint_adds_the_path_and_the_agent() -> None:
    assert endpoint("ws://h:1", "a1") == "ws://h:1/v1/ws?agent=a1"
    assert endpoint("http://h:1/", None) == "ws://h:1/v1/ws"
    assert endpoint("https://h/v1/ws?x=1", "a") == "wss://h/v1/ws?x=1&agent=a"
