"""Derived views kept in the store (podsync.api.views): a command run without a
node lists them without deriving or reading records while the store holds
exactly what they were derived from, and never shows a view made from anything
else: a write, a setting, another version of podsync, the clock, a row that does
not read back.

Every test works on a real home (made by the real ``podsync init``) through
real operations on its store, each in a context of its own as separate commands
would be, and compares what the saved views give with a derivation from scratch
of the same records at the same moment.
"""

from __future__ import annotations

import datetime as dt
import json
import sqlite3
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import msgspec
import pytest
from tests.cli.cli_helpers import run_podsync

import podsync
from podsync.api import ops, views
from podsync.api.context import PodContext, offline_context
from podsync.api.ops_needs import NEEDS
from podsync.home import Home
from podsync.pod import needs

NOW = dt.datetime.now(dt.timezone.utc)


@pytest.fixture
def home(tmp_path: Path) -> Home:
    done = run_podsync("--home", str(tmp_path / "ada"), "init", "--name", "Ada")
    assert done.returncode == 0, done.stderr
    return Home(tmp_path / "ada")


@pytest.fixture
def derived(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[str]]:
    """The ids of the items derived (from their records) while a test runs."""
    calls: list[str] = []
    real = views.derive_entry

    def counting(kind, item, counted, now, tuned):  # type: ignore[no-untyped-def]
        calls.append(item.id)
        return real(kind, item, counted, now, tuned)

    monkeypatch.setattr(views, "derive_entry", counting)
    yield calls


async def command(home: Home, name: str, args: dict[str, Any] | None = None, *,
                  now: dt.datetime = NOW,
                  look: Callable[[PodContext], None] | None = None) -> Any:
    """Run one operation on the store, as a command with no node running does."""
    async with offline_context(home) as ctx:
        ctx.clock = lambda: now
        result = await ops.run(ctx, name, json.dumps(args or {}).encode())
        if look is not None:
            look(ctx)
    return msgspec.json.decode(ops.to_json(result))


async def from_scratch(home: Home, *, everything: bool, now: dt.datetime = NOW) -> Any:
    """The needs board derived afresh from the store's records (nothing saved used)."""
    async with offline_context(home) as ctx:
        doc_id = ctx.collection(needs.KIND)
        return msgspec.json.decode(views.Views(ctx.ledger).listing(doc_id, NEEDS, now,
                                                                    everything=everything))


async def board(home: Home, derived: list[str], *, everything: bool = False,
                now: dt.datetime = NOW) -> tuple[Any, list[str], bool]:
    """The board as a command lists it, what it derived, whether it read records."""
    derived.clear()
    read: list[bool] = []

    def look(ctx: PodContext) -> None:
        read.append(ctx.ledger.book.peek(ctx.collection(needs.KIND)) is not None)

    listed = await command(home, "need.list", {"all": True} if everything else {}, now=now,
                           look=look)
    made = list(derived)
    assert listed == await from_scratch(home, everything=everything, now=now)
    return listed, made, read[0]


async def add_needs(home: Home, n: int) -> list[str]:
    return [(await command(home, "need.add", {"title": f"need {i}"}))["id"] for i in range(n)]


async def test_a_second_command_lists_what_the_first_derived_without_reading_a_record(
        home: Home, derived: list[str]) -> None:
    ids = await add_needs(home, 4)
    first, made, _ = await board(home, derived)
    assert sorted(made) == sorted(ids) and sorted(n["id"] for n in first) == sorted(ids)
    again, made, read = await board(home, derived)
    assert again == first
    assert made == [] and read is False


async def test_a_write_is_seen_and_only_its_item_derived_again(home: Home, derived: list[str]) -> None:
    ids = await add_needs(home, 3)
    await board(home, derived)
    await command(home, "need.take", {"id": ids[1]})
    listed, made, _ = await board(home, derived)
    assert made == [ids[1]]
    assert {n["id"]: n["state"] for n in listed} == {ids[0]: "open", ids[1]: "held", ids[2]: "open"}
    # The views saved after that write serve the next command as they are.
    assert (await board(home, derived))[1:] == ([], False)


async def test_a_changed_setting_derives_every_item_again(home: Home, derived: list[str]) -> None:
    ids = await add_needs(home, 3)
    await board(home, derived, now=NOW + dt.timedelta(days=3))
    await command(home, "pod.setting", {"name": "need_unheld_days", "value": 2})
    listed, made, _ = await board(home, derived, now=NOW + dt.timedelta(days=3))
    assert sorted(made) == sorted(ids)
    assert all(n["neglected"] for n in listed)  # unheld for 3 days, past the 2 now set


async def test_views_saved_by_another_version_are_not_used(
        home: Home, derived: list[str], monkeypatch: pytest.MonkeyPatch) -> None:
    ids = await add_needs(home, 2)
    await board(home, derived)
    monkeypatch.setattr(podsync, "__version__", podsync.__version__ + ".next")
    _, made, _ = await board(home, derived)
    assert sorted(made) == sorted(ids)
    assert (await board(home, derived))[1] == []  # saved again, by this version


async def test_a_row_that_does_not_read_back_is_derived_again(
        home: Home, derived: list[str], caplog: pytest.LogCaptureFixture) -> None:
    ids = await add_needs(home, 3)
    await board(home, derived)
    with sqlite3.connect(home.db_path) as conn:
        conn.execute("UPDATE views SET entry = ? WHERE item_id = ?", (b"\xc1 not msgpack", ids[0]))
        conn.execute("UPDATE views SET entry = ? WHERE item_id = ?",
                     (msgspec.msgpack.encode(["not", "an", "entry"]), ids[2]))
    _, made, _ = await board(home, derived)
    assert sorted(made) == sorted([ids[0], ids[2]])
    assert "does not read back" in caplog.text
    assert (await board(home, derived))[1] == []  # rewritten whole


async def test_the_clock_moving_past_a_view_derives_that_item_from_its_own_records(
        home: Home, derived: list[str]) -> None:
    ids = await add_needs(home, 3)
    await board(home, derived)
    # Two weeks on every need is unheld past the default threshold: each view is
    # derived again, from its own records read from the store, not the board's.
    later = NOW + dt.timedelta(days=needs.NEED_UNHELD_DAYS, minutes=1)
    listed, made, read = await board(home, derived, now=later)
    assert sorted(made) == sorted(ids) and read is False
    assert all(n["neglected"] for n in listed)


async def test_a_listing_reads_only_live_items_and_the_archive_when_asked(
        home: Home, derived: list[str]) -> None:
    ids = await add_needs(home, 3)
    await command(home, "need.take", {"id": ids[0]})
    await command(home, "need.done", {"id": ids[0]})
    await command(home, "pod.setting", {"name": "archive_after_days", "value": 1})
    later = NOW + dt.timedelta(days=2)
    await board(home, derived, everything=True, now=later)  # derives all three
    # Only the live ones are kept: the archive is most of a pod's years.
    with sqlite3.connect(home.db_path) as conn:
        kept = {i for (i,) in conn.execute("SELECT item_id FROM views WHERE kind = 'need'")}
    assert kept == set(ids[1:])
    held: list[int] = []

    def look(ctx: PodContext) -> None:
        coll = ctx.views._collections[(ctx.collection(needs.KIND), NEEDS.name)]
        held.append(len(coll.entries))

    live = await command(home, "need.list", now=later, look=look)
    assert sorted(n["id"] for n in live) == sorted(ids[1:]) and held == [2]  # archived: unread
    derived.clear()
    everything = await command(home, "need.list", {"all": True}, now=later, look=look)
    assert {n["id"]: n["archived"] for n in everything} == {ids[0]: True, ids[1]: False,
                                                            ids[2]: False}
    assert held[-1] == 3 and derived == [ids[0]]  # the archive, from its records


async def test_the_node_saves_its_views_as_it_stops(tmp_path: Path, derived: list[str]) -> None:
    from tests.node.conftest import NodeFactory  # noqa: PLC0415 - starts real nodes

    factory = NodeFactory(tmp_path / "pod")
    node = await factory.start("ada")
    try:
        ids = [(await ops.run(node.context, "need.add",
                              json.dumps({"title": f"need {i}"}).encode())).id for i in range(3)]
        await ops.run(node.context, "need.list", b"{}")
    finally:
        await node.stop()
    # As of now: the node derived them as of its clock, which is the real one.
    listed, made, read = await board(node.home, derived, now=dt.datetime.now(dt.timezone.utc))
    assert sorted(n["id"] for n in listed) == sorted(ids)
    assert made == [] and read is False


async def test_views_saved_after_a_setting_changed_say_what_they_were_derived_under(
        home: Home, derived: list[str]) -> None:
    """Listed, then a setting changed, then saved as the command ends (as a node
    saving on its timer could): what was saved was derived under the old value,
    and the next command must not take it for the new one."""
    ids = await add_needs(home, 2)
    later = NOW + dt.timedelta(days=3)
    async with offline_context(home) as ctx:
        ctx.clock = lambda: later
        await ops.run(ctx, "need.list", b"{}")
        await ops.run(ctx, "pod.setting", json.dumps({"name": "need_unheld_days",
                                                      "value": 2}).encode())
    listed, made, _ = await board(home, derived, now=later)
    assert sorted(made) == sorted(ids) and all(n["neglected"] for n in listed)
