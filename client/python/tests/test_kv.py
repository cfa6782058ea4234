"""Every key-value op against a real server: arguments as the wire names them, results typed."""

from __future__ import annotations

import asyncio

import pytest

import blackboard
from blackboard import TxnDelete, TxnPatch, TxnPut
from conftest import ClientFactory
from support.aio import run
from support.frames import FrameLog


def test_put_get_and_snake_case_arguments_on_the_wire(client: ClientFactory, board: str, frames: FrameLog) -> None:
    async def scenario() -> None:
        async with client() as bb:
            first = await bb.put(board, "plan/a", {"n": 1, "big": 2**64 + 1, "empty": []})
            assert (first.version, first.rev) == (1, 1)
            got = await bb.get(board, "plan/a")
            assert got.value == {"n": 1, "big": 2**64 + 1, "empty": []}
            assert (got.version, got.create_rev, got.mod_rev, got.rev) == (1, 1, 1, 1)
            second = await bb.put(board, "plan/a", {"n": 2}, if_version=1)
            assert (second.version, second.rev) == (2, 2)
            with pytest.raises(blackboard.ConflictError) as conflict:
                await bb.put(board, "plan/a", {"n": 3}, if_version=1)
            assert conflict.value.current is not None and conflict.value.current["version"] == 2
            assert conflict.value.current["value"] == {"n": 2}
            await bb.put(board, "nulls", None)
            assert (await bb.get(board, "nulls")).value is None
            assert await bb.value(board, "missing", default="none") == "none"

    run(scenario())
    puts = frames.sent_frames("put")
    assert puts[1]["ifVersion"] == 1 and "if_version" not in puts[1]
    # Every write carries a reqId the client chose; nothing optional was sent as null.
    assert all(isinstance(p["reqId"], str) and p["reqId"] for p in puts)
    assert all("fence" not in p and "durability" not in p for p in puts)


def test_patch_delete_and_txn(client: ClientFactory, board: str) -> None:
    async def scenario() -> None:
        async with client() as bb:
            await bb.put(board, "list", {"items": []})
            patched = await bb.patch(board, "list", [{"op": "add", "path": "/items/-", "value": "x"}])
            assert patched.value == {"items": ["x"]} and patched.version == 2
            with pytest.raises(blackboard.ConflictError) as failed_test:
                await bb.patch(board, "list", [{"op": "test", "path": "/items/0", "value": "nope"}])
            assert failed_test.value.details.get("reason") == "test"
            deleted = await bb.delete(board, "list", if_version=2)
            assert deleted.rev == patched.rev + 1
            with pytest.raises(blackboard.NotFoundError):
                await bb.delete(board, "list")

            result = await bb.txn(board, [TxnPut("a", 1), TxnPut("b", {"x": 1})], {"a": 0, "b": 0})
            assert result.results == [{"version": 1}, {"version": 1}]
            both = await bb.txn(board, [TxnPatch("b", [{"op": "add", "path": "/y", "value": 2}]), TxnDelete("a")], [("a", 1)])
            assert both.rev == result.rev + 1
            assert (await bb.get(board, "b")).value == {"x": 1, "y": 2}
            with pytest.raises(blackboard.ConflictError) as conflict:
                await bb.txn(board, [TxnPut("c", 1)], {"a": 5, "b": 2})
            assert [f["key"] for f in conflict.value.failed] == ["a"]
            with pytest.raises(blackboard.NotFoundError):
                await bb.get(board, "c")

    run(scenario())


def test_list_and_history_iterate_every_page(client: ClientFactory, board: str) -> None:
    async def scenario() -> None:
        async with client() as bb:
            for i in range(25):
                await bb.put(board, f"k/{i:02d}", i)
            await bb.txn(board, [TxnPut(f"t/{i}", i) for i in range(7)])
            keys = [item.key async for item in bb.list(board, "k/", page_size=4)]
            assert keys == [f"k/{i:02d}" for i in range(25)]
            page = await bb.list_page(board, "k/", limit=10)
            assert page.more and len(page.items) == 10 and page.rev == 26
            # Pages of 3 events cut the seven-key txn (revision 26) apart; each event comes once.
            events = [e async for e in bb.history(board, page_size=3)]
            assert [(e.rev, e.key) for e in events] == [(i + 1, f"k/{i:02d}") for i in range(25)] + [(26, f"t/{i}") for i in range(7)]
            assert all(e.type == "put" and e.actor == bb.agent for e in events)
            one_key = [e.rev async for e in bb.history(board, key="k/03")]
            assert one_key == [4]
            ranged = [e.rev async for e in bb.history(board, from_rev=10, to_rev=12)]
            assert ranged == [10, 11, 12]
            boards = [b async for b in bb.boards(board)]
            assert [(b.board, b.rev) for b in boards] == [(board, 26)] and boards[0].epoch

    run(scenario())


def test_at_rev_and_durable_writes_with_history(client: ClientFactory, board: str) -> None:
    async def scenario() -> None:
        async with client() as bb:
            first = await bb.put(board, "k", "one", durability="durable")
            await bb.put(board, "k", "two")
            assert (await bb.get(board, "k", at_rev=first.rev)).value == "one"
            assert [i.value async for i in bb.list(board, at_rev=first.rev)] == ["one"]

    run(scenario())


def test_update_loops_compare_and_set_until_it_commits(client: ClientFactory, board: str) -> None:
    async def scenario() -> None:
        async with client() as a, client() as b:
            async def bump(bb: blackboard.Client, n: int) -> None:
                for _ in range(n):
                    await bb.update(board, "counter", lambda v: (v or 0) + 1)

            await asyncio.gather(bump(a, 50), bump(b, 50), bump(a, 50))
            got = await a.get(board, "counter")
            assert got.value == 150 and got.version == 150

            async def later(v: object) -> object:
                await asyncio.sleep(0)
                return {"from": v}

            done = await a.update(board, "counter", later)
            assert done.value == {"from": 150} and done.attempts == 1

    run(scenario())


def test_boards_iterates_every_page(client: ClientFactory, board: str, frames: FrameLog) -> None:
    names = [f"{board}-{i}" for i in range(7)]

    async def scenario() -> None:
        async with client() as bb:
            for n, name in enumerate(reversed(names)):
                for i in range(n + 1):
                    await bb.put(name, "k", i)
            listed = [b async for b in bb.boards(f"{board}-", page_size=3)]
            assert [(b.board, b.rev) for b in listed] == [(name, 7 - i) for i, name in enumerate(names)]
            page = await bb.boards_page(f"{board}-", limit=3)
            assert page.more and [b.board for b in page.boards] == names[:3]
            last = await bb.boards_page(f"{board}-", after=names[5], limit=3)
            assert not last.more and [b.board for b in last.boards] == names[6:]
            # One page of the default size holds them all.
            assert [b.board async for b in bb.boards(f"{board}-")] == names

    run(scenario())
    # Three pages (3 + 3 + 1 boards), each after the last board of the one before.
    first = frames.sent_frames("boards")[:3]
    assert [(f.get("after"), f.get("limit")) for f in first] == [(None, 3), (names[2], 3), (names[5], 3)]


def test_presence_and_typed_board_schemas_through_every_op(client: ClientFactory, board: str) -> None:
    async def scenario() -> None:
        async with client(agent="typist") as bb:
            shown = await bb.presence(board, {"role": "planner"})
            assert shown.rev >= 1 and shown.expires_at > shown.since
            assert (await bb.get(board, "$presence/typist")).value is not None
            assert await bb.clear_presence(board) is True

            first = await bb.set_schema(board, "prefs/*", {"type": "object", "required": ["theme"]}, 1)
            assert first.created and first.schema_version == 1 and first.pattern == "prefs/*"
            await bb.put(board, "prefs/ada", {"theme": "dark"})
            migration = [{"op": "move", "from": "/theme", "path": "/colour"}]
            second = await bb.set_schema(board, "prefs/*", {"type": "object", "required": ["colour"]}, 2, migration=migration)
            assert second.created and second.rev > first.rev
            again = await bb.set_schema(board, "prefs/*", {"type": "object", "required": ["colour"]}, 2, migration=migration)
            assert not again.created

            newest = await bb.get_schema(board, "prefs/*")
            assert (newest.schema_version, newest.previous, newest.migration) == (2, 1, migration)
            oldest = await bb.get_schema(board, "prefs/*", schema_version=1)
            assert oldest.schema == {"type": "object", "required": ["theme"]} and oldest.registered_at > 0
            listed = await bb.list_schemas(board)
            assert [(s.pattern, s.schema_version, sorted(s.versions)) for s in listed.schemas] == [("prefs/*", 2, [1, 2])]
            assert "pending" in listed.migration
            got = await bb.get(board, "prefs/ada")
            assert got.value == {"colour": "dark"} and got.schema_version == 2
            assert (await bb.get(board, "prefs/ada", schema_version=2)).value == {"colour": "dark"}

    run(scenario())


def test_search_finds_what_was_just_written_ranks_pages_and_reads_history(client: ClientFactory, board: str, frames: FrameLog) -> None:
    # One request below is sent wrong on purpose: the schema and the server must both refuse it.
    frames.expect_bad_requests = True

    async def scenario() -> None:
        async with client() as bb:
            for i in range(6):
                await bb.put(board, f"notes/{i}", {"text": f"routine status line number {i}"})
            planted = await bb.put(board, "notes/deploy", {"title": "plan", "text": "the quartz harbor deploy starts at dawn"})
            # min_rev: the index holds the write before the search answers.
            page = await bb.search_page(board, '"quartz harbor"', min_rev=planted.rev)
            assert [i.key for i in page.items] == ["notes/deploy"]
            assert page.rev >= planted.rev and not page.more and not page.fuzzy
            highlight = page.items[0].highlights[0]
            assert highlight.path == "/text"
            start, end = highlight.marks[0]
            assert highlight.text[start:end].lower() in ("quartz", "harbor")
            # A misspelling falls back to close words.
            fuzzy = await bb.search_page(board, "deplyo")
            assert fuzzy.fuzzy and [i.key for i in fuzzy.items] == ["notes/deploy"]
            # The iterator follows `next` across pages of 2.
            keys = [item.key async for item in bb.search(board, "routine", page_size=2)]
            assert sorted(keys) == [f"notes/{i}" for i in range(6)]
            assert [i.key async for i in bb.search(board, "routine -number")] == []
            # Overwritten: gone from the current values, found in history with its revision.
            await bb.put(board, "notes/deploy", {"text": "cancelled"})
            assert (await bb.search_page(board, "quartz", min_rev=planted.rev + 1)).items == []
            old = await bb.search_page(board, "quartz", history=True)
            assert [(i.key, i.rev) for i in old.items] == [("notes/deploy", planted.rev)]
            with pytest.raises(blackboard.BadRequestError):
                await bb.search_page(board, "x", limit=1_000)

    run(scenario())
    sent = frames.sent_frames("search")
    assert any(f.get("minRev") for f in sent) and all("min_rev" not in f and "page_size" not in f for f in sent)
