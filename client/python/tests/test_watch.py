"""``watch``: a replica that resumes with fromRev after reconnects, without gap or
duplicate, and takes a new snapshot when the server says COMPACTED or EPOCH_CHANGED."""

from __future__ import annotations

import asyncio

import pytest

import blackboard
from blackboard import Watch, WatchChange
from conftest import ClientFactory, ServerFactory
from support.aio import random_board, run, wait_until
from support.frames import FrameLog
from support.processes import RedisProcess, ServerProcess
from support.proxy import Proxy


async def board_items(bb: blackboard.Client, board: str) -> dict[str, tuple[object, int, int, int]]:
    return {i.key: (i.value, i.version, i.create_rev, i.mod_rev) async for i in bb.list(board)}


def replica_items(watch: Watch) -> dict[str, tuple[object, int, int, int]]:
    return {k: (e.value, e.version, e.create_rev, e.mod_rev) for k, e in watch.replica.items()}


async def collect(watch: Watch, into: list[WatchChange]) -> None:
    async for change in watch:
        into.append(change)


def test_snapshot_then_events_in_order(client: ClientFactory, board: str) -> None:
    async def scenario() -> None:
        async with client() as writer, client() as watcher:
            await writer.put(board, "plan/a", 1)
            await writer.put(board, "other", 1)
            async with watcher.watch(board, ["plan/**"]) as watch:
                assert watch.values() == {"plan/a": 1} and watch.rev == 2
                changes: list[WatchChange] = []
                reader = asyncio.ensure_future(collect(watch, changes))
                await writer.put(board, "plan/b", {"x": [1]})
                await writer.put(board, "other", 2)
                await writer.patch(board, "plan/a", [{"op": "replace", "path": "", "value": 5}])
                await writer.delete(board, "plan/b")
                await wait_until(lambda: len(changes) >= 4, 10, "the events")
                events = [c.event for c in changes if c.type == "event" and c.event]
                assert [(e.rev, e.key, e.type) for e in events] == [(3, "plan/b", "put"), (5, "plan/a", "put"), (6, "plan/b", "delete")]
                assert changes[0].type == "reset" and changes[0].reason == "snapshot"
                board_now = await board_items(writer, board)
                assert replica_items(watch) == {k: v for k, v in board_now.items() if k.startswith("plan/")}
                assert watch.values() == {"plan/a": 5}
                assert watch.replica["plan/a"].version == 2 and watch.replica["plan/a"].create_rev == 1
            await asyncio.wait_for(reader, 5)  # iteration ends with the watch

    run(scenario())


def test_resume_after_reconnects_without_gap_or_duplicate(client: ClientFactory, board: str, frames: FrameLog) -> None:
    async def scenario() -> None:
        async with client() as writer, client() as watcher:
            watch = watcher.watch(board, ["**"])
            await watch.ready()
            changes: list[WatchChange] = []
            reader = asyncio.ensure_future(collect(watch, changes))
            acked: list[int] = []

            async def write(worker: int) -> None:
                for i in range(150):
                    acked.append((await writer.put(board, f"w{worker}/{i % 9}", i)).rev)

            writing = asyncio.ensure_future(asyncio.gather(*(write(w) for w in range(4))))
            for n in range(1, 5):
                await asyncio.sleep(0.1)
                watcher.connection.drop()
                await wait_until(lambda n=n: len(frames.sent_frames("subscribe")) == n + 1, 20, f"resume {n}")
            await writing
            await wait_until(lambda: watch.rev >= max(acked), 20, "the watcher to catch up")
            await asyncio.sleep(0.05)  # the reader takes what is queued
            seen = [c.rev for c in changes if c.type == "event"]
            assert sorted(seen) == seen and len(seen) == len(set(seen)) == 600
            assert set(seen) == set(acked)
            assert replica_items(watch) == await board_items(writer, board)
            await watch.close()
            await reader

    run(scenario())
    resumes = [f for f in frames.sent_frames("subscribe") if "fromRev" in f]
    assert len(resumes) == 4 and all(f["epoch"] and "snapshot" not in f for f in resumes)


def test_compacted_resume_takes_a_new_snapshot(servers: ServerFactory, frames: FrameLog) -> None:
    process = servers({"STREAM_RETENTION": "100"})
    board = random_board()

    async def scenario() -> None:
        proxy = await Proxy(process.port).start()
        try:
            async with blackboard.Client(process.url, frame_observer=frames.observer()) as writer, \
                    blackboard.Client(proxy.url, frame_observer=frames.observer(), reconnect_base_ms=300, reconnect_cap_ms=300) as watcher:
                await writer.put(board, "k/0", 0)
                watch = watcher.watch(board, ["k/**"], from_rev=1)
                await watch.ready()
                changes: list[WatchChange] = []
                reader = asyncio.ensure_future(collect(watch, changes))
                proxy.refusing = True
                proxy.cut()
                # While the watcher is away, more is written than the stream retains.
                for i in range(400):
                    await writer.put(board, f"k/{i % 13}", i)
                proxy.refusing = False
                await wait_until(lambda: watch.rev >= 401, 20, "the watcher to catch up")
                await asyncio.sleep(0.05)
                resets = [c for c in changes if c.type == "reset"]
                assert resets and resets[-1].reason == "snapshot"
                assert replica_items(watch) == await board_items(writer, board)
                await watch.close()
                await reader
        finally:
            await proxy.close()

    run(scenario())


def test_a_new_epoch_takes_a_new_snapshot(servers: ServerFactory, frames: FrameLog) -> None:
    redis = RedisProcess().start()
    try:
        process = servers({"REDIS_URL": redis.url})
        board = random_board()

        async def scenario() -> None:
            async with blackboard.Client(process.url, frame_observer=frames.observer()) as writer, \
                    blackboard.Client(process.url, frame_observer=frames.observer()) as watcher:
                for i in range(20):
                    await writer.put(board, f"k/{i}", i)
                watch = watcher.watch(board, ["**"])
                await watch.ready()
                first_epoch = watch.epoch
                # Redis loses everything; without history the board starts again in a new epoch.
                redis.stop()
                redis.start()
                await wait_until(lambda: _put_ok(writer, board), 30, "writes after the loss")
                for i in range(5):
                    await writer.put(board, f"after/{i}", i)
                await wait_until(lambda: watch.epoch != first_epoch and "after/4" in watch.replica, 30, "the new epoch's snapshot")
                assert replica_items(watch) == await board_items(writer, board)
                assert "k/3" not in watch.replica
                await watch.close()

        run(scenario())
    finally:
        redis.stop()


async def _put_ok_async(bb: blackboard.Client, board: str) -> bool:
    try:
        await bb.put(board, "probe", 1)
        return True
    except blackboard.BlackboardError:
        return False


def _put_ok(bb: blackboard.Client, board: str):  # type: ignore[no-untyped-def]
    return _put_ok_async(bb, board)


def test_a_refused_watch_says_why_and_a_slow_reader_gets_an_overflow_reset(client: ClientFactory, board: str, frames: FrameLog) -> None:
    frames.expect_bad_requests = True

    async def scenario() -> None:
        async with client() as bb:
            bad = bb.watch(board, ["a//b"])
            with pytest.raises(blackboard.BadRequestError):
                await bad.ready(5_000)
            assert bad.closed

            watch = bb.watch(board, ["**"], max_queue=5)
            await watch.ready()
            for i in range(12):
                await bb.put(board, f"k/{i}", i)
            await wait_until(lambda: watch.rev >= 12, 10, "the events")
            await watch.close()
            changes = [c async for c in watch]
            assert changes[0].type == "reset" and changes[0].reason == "overflow"
            assert [c.rev for c in changes[1:]] == list(range(13 - len(changes[1:]), 13))
            assert len(watch.replica) == 12

    run(scenario())


def test_a_progress_behind_the_replica_takes_a_new_snapshot(client: ClientFactory, board: str, frames: FrameLog) -> None:
    async def scenario() -> None:
        async with client() as bb:
            for i in range(10):
                await bb.put(board, f"k/{i}", i)
            watch = bb.watch(board, ["**"])
            await watch.ready()
            changes: list[WatchChange] = []
            reader = asyncio.ensure_future(collect(watch, changes))
            # What a board that lost data and started over would report, had its server not
            # closed the subscription: a revision below what the replica holds.
            watch.on_progress(3)
            await wait_until(lambda: len([c for c in changes if c.type == "reset"]) == 2, 10, "the second snapshot")
            assert replica_items(watch) == await board_items(bb, board) and watch.rev == 10
            await bb.put(board, "after", 1)
            await wait_until(lambda: "after" in watch.replica, 10, "events on the new subscription")
            await watch.close()
            await reader

    run(scenario())
    assert len(frames.sent_frames("unsubscribe")) == 2
    assert [f.get("snapshot") for f in frames.sent_frames("subscribe")] == [True, True]


BIG = 200 * 1024


def _big(i: int, round_: int = 0) -> str:
    return f"{i:02d}:{round_}:" + chr(ord("a") + i % 26) * BIG


def test_a_snapshot_in_parts_is_whole_before_the_watch_yields(client: ClientFactory, board: str, frames: FrameLog) -> None:
    """50 values of 200 KiB (10 MiB) pass MAX_REPLY_BYTES many times over: the snapshot comes
    in a subscribe result and ``snapshot`` pushes, and the watch assembles it first."""

    async def scenario() -> None:
        async with client() as writer, client() as watcher:
            for i in range(50):
                await writer.put(board, f"big/{i:02d}", _big(i))
            await writer.put(board, "other", 1)
            parts: list[dict[str, object]] = []
            watcher.add_listener("push", lambda m: parts.append(m) if m.get("push") == "snapshot" else None)
            changes: list[WatchChange] = []
            async with watcher.watch(board, ["big/**"], on_change=changes.append) as watch:
                # Ready only once every part is in: the replica is the board's, and complete.
                assert len(parts) >= 8 and [p["more"] for p in parts] == [True] * (len(parts) - 1) + [False]
                assert len(watch.replica) == 50 and watch.rev == 51
                assert replica_items(watch) == {k: v for k, v in (await board_items(writer, board)).items() if k.startswith("big/")}
                assert [(c.type, c.reason, c.rev) for c in changes] == [("reset", "snapshot", 51)]
                reader_changes: list[WatchChange] = []
                reader = asyncio.ensure_future(collect(watch, reader_changes))
                # The first thing iteration yields is the whole snapshot, then the events after it.
                await writer.put(board, "big/07", _big(7, 1))
                await writer.delete(board, "big/08")
                await wait_until(lambda: watch.rev >= 53, 20, "the events after the snapshot")
                assert watch.replica["big/07"].value == _big(7, 1) and "big/08" not in watch.replica
                assert replica_items(watch) == {k: v for k, v in (await board_items(writer, board)).items() if k.startswith("big/")}
            await asyncio.wait_for(reader, 5)
            assert [(c.type, c.rev) for c in reader_changes] == [("reset", 51), ("event", 52), ("event", 53)]
            # The first part came in the subscribe result itself.
            subscribes = [f for f in frames.sent_frames("subscribe") if f.get("snapshot")]
            assert len(subscribes) == 1

    run(scenario())


def test_writes_during_a_snapshot_in_parts_follow_it_once(client: ClientFactory, board: str) -> None:
    async def scenario() -> None:
        async with client() as writer, client() as watcher:
            for i in range(50):
                await writer.put(board, f"big/{i:02d}", _big(i))
            acked: list[int] = []

            async def write() -> None:
                for n in range(40):
                    acked.append((await writer.put(board, f"big/{n % 50:02d}", _big(n % 50, 1 + n // 50))).rev)

            writing = asyncio.ensure_future(write())
            changes: list[WatchChange] = []
            watch = watcher.watch(board, ["big/**"], on_change=changes.append)
            await watch.ready(60_000)
            await writing
            await wait_until(lambda: watch.rev >= max(acked), 30, "the watcher to catch up")
            snapshot_rev = changes[0].rev
            assert changes[0].type == "reset" and [c.type for c in changes].count("reset") == 1
            seen = [c.rev for c in changes if c.type == "event"]
            assert seen == [rev for rev in sorted(acked) if rev > snapshot_rev]
            assert replica_items(watch) == await board_items(writer, board)
            await watch.close()

    run(scenario())


def test_a_snapshot_cut_off_between_its_parts_is_taken_again(server: ServerProcess, client: ClientFactory, board: str, frames: FrameLog) -> None:
    async def scenario() -> None:
        proxy = await Proxy(server.port).start()
        try:
            async with client() as writer, client(proxy.url) as watcher:
                for i in range(50):
                    await writer.put(board, f"big/{i:02d}", _big(i))
                parts: list[bool] = []
                watcher.add_listener("push", lambda m: parts.append(m["more"]) if m.get("push") == "snapshot" else None)
                # The network fails after 3 MiB of the 10 MiB snapshot.
                proxy.reply_budget = 3 << 20
                changes: list[WatchChange] = []
                watch = watcher.watch(board, ["big/**"], on_change=changes.append)
                await watch.ready(60_000)
                assert proxy.connections == 2 and parts.count(False) == 1 and parts.index(False) > 4
                assert replica_items(watch) == await board_items(writer, board)
                assert [(c.type, c.reason) for c in changes] == [("reset", "snapshot")]
                await writer.put(board, "big/00", "after")
                await wait_until(lambda: bool(watch.replica["big/00"].value == "after"), 20, "events after the second snapshot")
                await watch.close()
        finally:
            await proxy.close()

    run(scenario())
    assert [f.get("snapshot") for f in frames.sent_frames("subscribe")] == [True, True]


def test_a_raw_subscription_hands_over_each_snapshot_part(client: ClientFactory, board: str) -> None:
    async def scenario() -> None:
        async with client() as bb:
            for i in range(12):
                await bb.put(board, f"big/{i:02d}", _big(i))
            parts: list[tuple[list[str], bool]] = []
            done = asyncio.Event()

            def on_snapshot(items: list[blackboard.KeyRecord], more: bool) -> None:
                parts.append(([i.key for i in items], more))
                if not more:
                    done.set()

            result = await bb.subscribe(board, ["big/**"], snapshot=True, on_snapshot=on_snapshot)
            assert result.more and result.snapshot
            await asyncio.wait_for(done.wait(), 20)
            keys = [i.key for i in result.snapshot] + [k for p in parts for k in p[0]]
            assert keys == [f"big/{i:02d}" for i in range(12)]
            assert [more for _, more in parts][-1] is False

    run(scenario())
