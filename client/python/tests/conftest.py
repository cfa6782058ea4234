"""Fixtures: a real server process on the real Redis and Postgres, and clients whose
every frame passes through one check (``support/frames.py``)."""

from __future__ import annotations

from typing import Any, Callable, Iterator

import pytest

import blackboard
from blackboard._core import ClientCore
from support.aio import random_board
from support.frames import FrameLog
from support.processes import Database, ServerProcess, ensure_built

ClientFactory = Callable[..., blackboard.Client]
ServerFactory = Callable[..., ServerProcess]


@pytest.fixture(scope="session")
def server() -> Iterator[ServerProcess]:
    """One server for the tests that need nothing special, with history in a database of its own."""
    ensure_built()
    db = Database()
    process = ServerProcess({"DATABASE_URL": db.url})
    try:
        process.start()
        yield process
    finally:
        process.close()
        db.drop()


@pytest.fixture
def servers() -> Iterator[ServerFactory]:
    """Starts servers with a test's own settings; stops them (and drops their databases) after it."""
    started: list[ServerProcess] = []
    databases: list[Database] = []

    def start(env: dict[str, str] | None = None, *, history: bool = False, port: int | None = None) -> ServerProcess:
        settings = dict(env or {})
        if history:
            db = Database()
            databases.append(db)
            settings["DATABASE_URL"] = db.url
        process = ServerProcess(settings, port)
        started.append(process)
        return process.start()

    yield start
    for process in started:
        process.close()
    for db in databases:
        db.drop()


@pytest.fixture(autouse=True)
def frames(monkeypatch: pytest.MonkeyPatch) -> Iterator[FrameLog]:
    """Every test's frame check. Any client a test makes without an observer of its own gets
    one here, so no client's frames escape the check, whichever way the test made it."""
    log = FrameLog()
    make_client = ClientCore.__init__

    def observed(self: ClientCore, *args: Any, **options: Any) -> None:
        if options.get("frame_observer") is None:
            options["frame_observer"] = log.observer()
        make_client(self, *args, **options)

    monkeypatch.setattr(ClientCore, "__init__", observed)
    yield log
    log.verify()


@pytest.fixture
def client(server: ServerProcess, frames: FrameLog) -> ClientFactory:
    """Makes clients (inside the test's event loop) whose frames go through the frame check."""

    def make(url: str | list[str] | None = None, **options: Any) -> blackboard.Client:
        settings: dict[str, Any] = {"reconnect_base_ms": 20, "reconnect_cap_ms": 500, "frame_observer": frames.observer()}
        settings.update(options)
        return blackboard.Client(url or server.url, **settings)

    return make


@pytest.fixture
def board() -> str:
    return random_board()
