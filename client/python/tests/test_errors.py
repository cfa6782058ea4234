"""Every error code of the catalogue, provoked from a real server, arrives as its own
exception class with the server's details."""

from __future__ import annotations

import asyncio
import signal
import subprocess

import pytest

import blackboard
from conftest import ClientFactory, ServerFactory
from support.aio import random_board, run, wait_until
from support.frames import FrameLog
from support.jwt import SECRET, mint
from support.processes import RedisProcess, ServerProcess, psql_background, psql_query


def test_request_errors_from_the_shared_server(client: ClientFactory, board: str, frames: FrameLog) -> None:
    frames.expect_bad_requests = True

    async def scenario() -> None:
        async with client(agent="first") as bb, client(agent="second") as other:
            with pytest.raises(blackboard.BadRequestError) as bad:
                await bb.put("Not A Board!", "k", 1)
            assert bad.value.code == "BAD_REQUEST" and bad.value.details["issues"]

            with pytest.raises(blackboard.ForbiddenError) as forbidden:
                await bb.put(board, "$locks/mine", 1)
            assert forbidden.value.code == "FORBIDDEN"

            with pytest.raises(blackboard.NotFoundError) as missing:
                await bb.get(board, "nothing/here")
            assert missing.value.details == {"key": "nothing/here"}

            await bb.put(board, "k", {"v": 1})
            with pytest.raises(blackboard.ConflictError) as conflict:
                await bb.put(board, "k", {"v": 2}, if_version=0)
            assert conflict.value.current is not None and conflict.value.current["value"] == {"v": 1}

            grant = await bb.acquire_lock(board, "job", ttl_ms=5_000)
            with pytest.raises(blackboard.LockedError) as locked:
                await other.acquire_lock(board, "job", ttl_ms=5_000, wait_ms=0)
            assert locked.value.holder == "first"
            with pytest.raises(blackboard.FencedError) as fenced:
                await other.put(board, "k", 3, fence=blackboard.Fence("job", grant.token + 1_000))
            assert fenced.value.code == "FENCED"

            with pytest.raises(blackboard.EpochChangedError) as epoch:
                await bb.subscribe(board, ["**"], from_rev=1, epoch="not-this-one")
            assert epoch.value.epoch and epoch.value.epoch != "not-this-one"

            await bb.set_schema(board, "typed/*", {"type": "object", "required": ["n"]}, 1)
            with pytest.raises(blackboard.InvalidError) as invalid:
                await bb.put(board, "typed/a", {"m": 1})
            assert invalid.value.details["pattern"] == "typed/*" and invalid.value.details["errors"]

            with pytest.raises(blackboard.TooLargeError) as large:
                await bb.put(board, "big", "x" * 300_000)
            assert large.value.code == "TOO_LARGE"
            # None of these changed anything.
            assert (await bb.get(board, "k")).version == 1

    run(scenario())
    assert {r["error"]["code"] for r in frames.refusals} == {"BAD_REQUEST"} and len(frames.refusals) == 1


def test_compacted_unavailable_and_internal(servers: ServerFactory, frames: FrameLog) -> None:
    redis = RedisProcess().start()
    try:
        process = servers({"REDIS_URL": redis.url, "STREAM_RETENTION": "100"})
        board = random_board()

        async def scenario() -> None:
            async with blackboard.Client(process.url, frame_observer=frames.observer(), retry_unavailable_ms=0) as bb:
                for i in range(300):
                    await bb.put(board, f"k/{i % 10}", i)
                with pytest.raises(blackboard.CompactedError) as compacted:
                    await bb.subscribe(board, ["**"], from_rev=1)
                assert compacted.value.compact_rev is not None and compacted.value.compact_rev > 1

                with pytest.raises(blackboard.UnavailableError) as unavailable:
                    await bb.put(board, "durable", 1, durability="durable")
                assert unavailable.value.code == "UNAVAILABLE"

                # A board whose hot state Redis cannot read as expected: the server fails inside.
                subprocess.run(["redis-cli", "-p", str(redis.port), "SET", f"bb:{{{board}}}:kv", "not a hash"], check=True, stdout=subprocess.DEVNULL)
                with pytest.raises(blackboard.InternalError) as internal:
                    await bb.get(board, "k/1")
                assert internal.value.code == "INTERNAL" and internal.value.details == {}

        run(scenario())
    finally:
        redis.stop()


def test_rate_limited_carries_retry_after(servers: ServerFactory, frames: FrameLog) -> None:
    process = servers({"RATE_LIMIT_RPS": "1", "RATE_LIMIT_BURST": "1"})

    async def scenario() -> None:
        async with blackboard.Client(process.url, frame_observer=frames.observer(), retry_rate_limited=False) as bb:
            board = random_board()
            with pytest.raises(blackboard.RateLimitedError) as limited:
                for i in range(5):
                    await bb.put(board, "k", i)
            assert limited.value.retry_after_ms is not None and limited.value.retry_after_ms > 0

    run(scenario())


def test_timeouts_from_the_server_and_from_the_client(servers: ServerFactory, frames: FrameLog) -> None:
    # A Redis of its own: a server with history on another database, sharing a Redis, would
    # persist this board's events there (its persister follows every board of that Redis).
    redis = RedisProcess().start()
    try:
        _timeouts(servers({"REDIS_URL": redis.url, "DURABLE_TIMEOUT_MS": "1000"}, history=True), frames)
    finally:
        redis.stop()


def _timeouts(process: ServerProcess, frames: FrameLog) -> None:
    database = process.env["DATABASE_URL"]
    lock_held = (
        "SELECT count(*) FROM pg_locks l JOIN pg_class c ON l.relation = c.oid "
        "WHERE c.relname = 'events' AND l.mode = 'AccessExclusiveLock' AND l.granted "
        "AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database())"
    )

    async def scenario() -> None:
        loop = asyncio.get_running_loop()
        board = random_board()
        async with blackboard.Client(process.url, frame_observer=frames.observer(), request_timeout_ms=3_000) as bb:
            await bb.put(board, "k", 0)
            # Postgres cannot take the event: a durable write is committed, but not acknowledged in time.
            locker = psql_background(database, "BEGIN; LOCK TABLE events IN ACCESS EXCLUSIVE MODE; SELECT pg_sleep(60); COMMIT;")
            try:
                async def held() -> bool:
                    return await loop.run_in_executor(None, psql_query, database, lock_held) == "1"

                await wait_until(held, 30, "the table lock", interval=0.1)
                with pytest.raises(blackboard.RequestTimeoutError) as timeout:
                    await bb.put(board, "k", 1, durability="durable")
                assert isinstance(timeout.value.details["rev"], int)
            finally:
                locker.kill()
                locker.wait()
                psql_query(database, "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE pid <> pg_backend_pid() AND query LIKE '%pg_sleep(60)%'")
            assert (await bb.get(board, "k")).value == 1

            # No reply at all: the client's own deadline, as the same class.
            assert process.proc is not None
            process.proc.send_signal(signal.SIGSTOP)
            try:
                with pytest.raises(blackboard.RequestTimeoutError) as silent:
                    await bb.get(board, "k")
                assert silent.value.details == {"op": "get"}
            finally:
                process.proc.send_signal(signal.SIGCONT)

    run(scenario())


def test_unauthorized_and_scopes_with_tokens(servers: ServerFactory, frames: FrameLog) -> None:
    process = servers({"AUTH_MODE": "jwt", "JWT_SECRET": SECRET})
    board = random_board()

    async def scenario() -> None:
        bad = blackboard.Client(process.url, token=mint("intruder", f"write:{board}", secret="x" * 40), frame_observer=frames.observer())
        with pytest.raises(blackboard.UnauthorizedError) as refused:
            await bad.connect()
        assert refused.value.details == {"status": 401}
        assert bad.state is blackboard.ConnectionState.CLOSED

        reader = blackboard.Client(process.url, token=mint("reader", f"read:{board}"), frame_observer=frames.observer())
        async with reader:
            with pytest.raises(blackboard.ForbiddenError) as forbidden:
                await reader.put(board, "k", 1)
            assert forbidden.value.details["op"] == "put"

        # A token that expires on an open connection: closed with 1008, and the client stays closed.
        short = blackboard.Client(process.url, token=mint("brief", f"read:{board}", ttl_seconds=2), frame_observer=frames.observer())
        await short.connect()
        await wait_until(lambda: short.state is blackboard.ConnectionState.CLOSED, 10, "the expiry close")
        with pytest.raises(blackboard.UnauthorizedError):
            await short.get(board, "k")
        await short.close()

    run(scenario())
