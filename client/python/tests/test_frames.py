"""The frame check itself: frames that break docs/protocol.schema.json are caught, in
both directions, so that a test whose client sends or receives one fails."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest

import blackboard
import blackboard.sync
from conftest import ClientFactory
from support.aio import run
from support.frames import FrameLog, ProtocolSchema, ecma_pattern
from support.processes import ServerProcess


def _exchange(log: FrameLog, request: dict[str, Any], reply: dict[str, Any]) -> list[str]:
    observe = log.observer()
    observe("send", json.dumps(request))
    observe("receive", json.dumps(reply))
    return log.take_problems()


PUT: dict[str, Any] = {"id": 1, "op": "put", "board": "b1", "key": "k", "value": {"n": 1}, "reqId": "r-1"}


def test_well_formed_frames_pass() -> None:
    log = FrameLog()
    assert _exchange(log, PUT, {"id": 1, "ok": True, "result": {"version": 1, "rev": 7}}) == []
    assert _exchange(log, {"id": 2, "op": "get", "board": "b1", "key": "k"}, {
        "id": 2, "ok": False, "error": {"code": "NOT_FOUND", "message": "no key k", "details": {"key": "k"}},
    }) == []
    observe = log.observer()
    observe("receive", json.dumps({"push": "snapshot", "sub": "s1", "items": [
        {"key": "a", "value": None, "version": 1, "createRev": 1, "modRev": 1},
    ], "more": False}))
    observe("receive", json.dumps({"push": "progress", "sub": "s1", "rev": 9}))
    assert log.take_problems() == []
    log.verify()


@pytest.mark.parametrize("request_frame", [
    {**PUT, "bogus": 1},  # requests are closed
    {**PUT, "ifVersion": None},  # null only where any JSON goes
    {**PUT, "board": "Not A Board"},
    {**PUT, "board": "board\n"},  # ECMA `$` is the end of the text; Python's also matches before a final newline
    {**PUT, "key": "a//b"},
    {**PUT, "fence": {"lock": "l", "token": 0}},
    {"id": 1, "op": "nonsense"},
    {"op": "get", "board": "b1", "key": "k"},
])
def test_a_request_the_schema_refuses_is_caught(request_frame: dict[str, Any]) -> None:
    log = FrameLog()
    log.observer()("send", json.dumps(request_frame))
    assert log.problems
    with pytest.raises(AssertionError, match="frames that break the protocol"):
        log.verify()


@pytest.mark.parametrize("reply", [
    {"id": 1, "ok": True, "result": {"rev": 7}},  # result.put without version
    {"id": 1, "ok": True, "result": {"version": 1, "rev": 7, "unheard": True}},  # a field the schema does not name
    {"id": 1, "ok": True, "result": {"version": "1", "rev": 7}},
    {"id": 1, "ok": False, "error": {"code": "NO_SUCH_CODE", "message": "", "details": {}}},
    {"id": 1, "ok": False, "error": {"code": "CONFLICT", "message": ""}},  # details is always there
    {"id": 1, "ok": False, "error": {"code": "RATE_LIMITED", "message": "", "details": {"retryAfterMs": 1.5}}},
    {"id": 2, "ok": True, "result": {"version": 1, "rev": 7}},  # answers nothing this client sent
    {"id": 1, "result": {}},
])
def test_a_reply_the_schema_refuses_is_caught(reply: dict[str, Any]) -> None:
    assert _exchange(FrameLog(), PUT, reply)


@pytest.mark.parametrize("push", [
    {"push": "snapshot", "sub": "s1", "items": []},  # the last part says more: false
    {"push": "events", "sub": "s1", "events": [{"rev": 1, "key": "k", "type": "put", "version": 1, "actor": "a", "ts": 1, "extra": 1}]},
    {"push": "progress", "sub": "s1", "rev": -1},
    {"push": "gossip", "sub": "s1"},
    {"sub": "s1", "rev": 1},
])
def test_a_push_the_schema_refuses_is_caught(push: dict[str, Any]) -> None:
    log = FrameLog()
    log.observer()("receive", json.dumps(push))
    assert log.take_problems()


def test_a_bad_request_sent_on_purpose_must_be_refused_by_the_server_too() -> None:
    log = FrameLog()
    log.expect_bad_requests = True
    bad = {**PUT, "board": "Not A Board"}
    # The schema and the server agree: nothing to report.
    assert _exchange(log, bad, {"id": 1, "ok": False, "error": {"code": "BAD_REQUEST", "message": "", "details": {"issues": []}}}) == []
    # The schema refuses what the server accepted: the two disagree.
    assert _exchange(log, bad, {"id": 1, "ok": True, "result": {"version": 1, "rev": 1}})
    # Never answered at all.
    log.observer()("send", json.dumps(bad))
    with pytest.raises(AssertionError, match="never answered"):
        log.verify()


def test_ecma_patterns_keep_their_meaning_in_python() -> None:
    end = re.compile(ecma_pattern("^[a-z]+$"))
    assert end.search("abc") and not end.search("abc\n")
    dot = re.compile(ecma_pattern("^a.b$"))
    assert dot.search("a-b") and not dot.search("a\u2028b") and not dot.search("a\rb")
    digits = re.compile(ecma_pattern(r"^(?!\d+$)[\d.]+$"))
    assert digits.search("1.2") and not digits.search("12") and not digits.search("١.٢")
    assert re.compile(ecma_pattern(r"^[^\uD800-\uDFFF]*$")).search("a\ud800") is None
    with pytest.raises(ValueError):
        ecma_pattern(r"^\p{L}+$")


def test_a_frame_the_client_sends_that_the_schema_refuses_fails_a_real_test(client: ClientFactory, board: str, frames: FrameLog) -> None:
    """End to end: a client's frame through the fixture's observer, refused by schema and server alike."""

    async def scenario() -> None:
        async with client() as bb:
            await bb.put(board, "k", 1)
            with pytest.raises(blackboard.BadRequestError):
                await bb.request("put", {"board": board, "key": "k", "value": 2, "unheard": True})

    run(scenario())
    caught = frames.take_problems()
    assert len(caught) == 1 and "unheard" in caught[0] and caught[0].startswith("send:")
    assert len(frames.refusals) == 1
    frames.refusals.clear()  # provoked on purpose


def test_every_error_code_of_the_schema_has_its_class_and_keeps_its_details() -> None:
    codes = ProtocolSchema.load().error_codes
    assert len(codes) >= 15
    assert sorted(blackboard.ERROR_CLASSES) == sorted(codes) == sorted(blackboard.ERROR_CODES)
    classes = [blackboard.ERROR_CLASSES[code] for code in codes]
    assert len(set(classes)) == len(classes)
    for code in codes:
        details = {"code": code, "n": [1, 2], "retryAfterMs": 5}
        body = {"code": code, "message": f"m {code}", "details": details}
        assert not ProtocolSchema.load().problems("error", body)
        err = blackboard.error_from_wire(body)
        assert type(err) is blackboard.ERROR_CLASSES[code] and isinstance(err, blackboard.BlackboardError)
        assert err.code == code and err.message == f"m {code}" and err.details == details
        # Each class is exported from the package under its own name.
        assert getattr(blackboard, type(err).__name__) is type(err)


def test_a_client_made_without_an_observer_is_checked_all_the_same(server: ServerProcess, board: str, frames: FrameLog) -> None:
    async def scenario() -> None:
        async with blackboard.Client(server.url) as bb:
            await bb.put(board, "k", 1)
        with blackboard.sync.Client(server.url) as script:
            assert script.get(board, "k").value == 1

    run(scenario())
    assert [f["op"] for f in frames.sent_frames()] == ["put", "get"]
    assert frames.received_count == 2 and not frames.problems
