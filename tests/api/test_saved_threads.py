"""Feedback threads listed by a command with no node running (podsync.api.views,
podsync.trust.saved): who reads each thread and each thread's view are kept in
the store with the counts of writes they were derived from, so a second listing
reads no thread's records and derives no thread; a write, a setting, another
version of podsync or a row that does not read back brings the records back
in; and a thread is served only to whom the readers check admits now: history
planted under a thread's id hides it, saved rows or not.

The pod is made by real nodes (Ada gives feedback to Bo, whose steward is Cy),
which are then stopped; every test works on its own copy of their homes,
through real operations, each in a context of its own as separate commands
would be, and compares each listing with one derived from scratch.
"""

from __future__ import annotations

import json
import shutil
import sqlite3
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import msgspec
import pytest
import pytest_asyncio

import podsync
from podsync.api import ops
from podsync.api.context import PodContext, offline_context
from podsync.api.views import Views
from podsync.errors import NotFound
from podsync.home import Home
from tests.node.conftest import NodeFactory, eventually
from tests.practices.helpers import call, holds_collections, steward_by_consent, until
from tests.trust.test_saved_roots import plant_history


@pytest_asyncio.fixture(loop_scope="module", scope="module")
async def made(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[tuple[Path, list[str]]]:
    """The pod's homes once its nodes stopped, and the ids of Ada's two threads."""
    root = Path(tmp_path_factory.mktemp("threads"))
    factory = NodeFactory(root)
    try:
        ada = await factory.start("ada")
        bo = await factory.start("bo", peers=[ada.listen_addresses[0]])
        cy = await factory.start("cy", peers=[ada.listen_addresses[0]])
        for node in (bo, cy):
            await holds_collections(node)
        await until(ada, "members.list", lambda ms: len(ms) == 3)
        await steward_by_consent(ada, bo, cy)
        leader = bo.config.member_id
        threads = [(await call(ada, "feedback.give", leader=leader, text=f"word {i}"))["thread_id"]
                   for i in range(2)]
        await until(cy, "feedback.threads", lambda ts: len(ts) == 2)
        # Ada's node lists them, so it has their views to save as it stops.
        assert len(await call(ada, "feedback.threads")) == 2
    finally:
        for node in factory.nodes:
            await node.stop()
    yield root, threads


@pytest.fixture
def pod(made: tuple[Path, list[str]], tmp_path: Path) -> tuple[Path, list[str]]:
    """This test's own copy of the homes."""
    root, threads = made
    shutil.copytree(root, tmp_path / "pod")
    return tmp_path / "pod", threads


@pytest.fixture
def derived(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[str]]:
    """The threads whose views were derived from their records while a test runs."""
    calls: list[str] = []
    real = Views.of_document

    def counting(self: Views, doc_id: str, what: str, compute: Any, **options: Any) -> Any:
        def counted() -> Any:
            calls.append(doc_id)
            return compute()
        return real(self, doc_id, what, counted, **options)

    monkeypatch.setattr(Views, "of_document", counting)
    yield calls


async def command(home: Home, name: str, args: dict[str, Any] | None = None,
                  look: Any = None) -> Any:
    """One operation on the store, as a command with no node running runs it."""
    async with offline_context(home) as ctx:
        result = await ops.run(ctx, name, json.dumps(args or {}).encode())
        if look is not None:
            look(ctx)
    return msgspec.json.decode(ops.to_json(result))


async def listing(home: Home, threads: list[str],
                  derived: list[str]) -> tuple[Any, list[str], set[str]]:
    """The member's threads as a command lists them, the threads it derived, and
    those whose records it read; checked against a listing from scratch."""
    derived.clear()
    read: list[set[str]] = []

    def look(ctx: PodContext) -> None:
        read.append({t for t in threads if ctx.ledger.book.peek(t) is not None})

    listed = await command(home, "feedback.threads", {"all": True}, look)
    made = list(derived)
    assert listed == await from_scratch(home)
    return listed, made, read[0]


async def from_scratch(home: Home) -> Any:
    """The same listing on a copy of the home with nothing saved for threads."""
    copy = home.root.parent / f"{home.root.name}-scratch"
    shutil.rmtree(copy, ignore_errors=True)
    shutil.copytree(home.root, copy)
    forget(Home(copy))
    try:
        return await command(Home(copy), "feedback.threads", {"all": True})
    finally:
        shutil.rmtree(copy)


def forget(home: Home) -> None:
    """Nothing saved about threads in ``home``'s store."""
    with sqlite3.connect(home.db_path) as conn:
        conn.execute("DELETE FROM document_readers")
        conn.execute("DELETE FROM document_views")


def saved_views(home: Home) -> set[str]:
    with sqlite3.connect(home.db_path) as conn:
        return {d for (d,) in conn.execute("SELECT doc_id FROM document_views WHERE what = 'thread'")}


async def test_a_node_saves_its_threads_and_their_readers_and_a_command_reads_no_record(
        pod: tuple[Path, list[str]], derived: list[str]) -> None:
    root, threads = pod
    ada = Home(root / "ada")
    # Saved by Ada's node as it stopped: the threads' views, and who reads them.
    assert saved_views(ada) == set(threads)
    with sqlite3.connect(ada.db_path) as conn:
        assert set(threads) <= {d for (d,) in conn.execute("SELECT doc_id FROM document_readers")}
    listed, made, read = await listing(ada, threads, derived)
    assert sorted(t["thread_id"] for t in listed) == sorted(threads)
    assert made == [] and read == set()
    again, made, read = await listing(ada, threads, derived)
    assert again == listed and made == [] and read == set()


async def test_with_nothing_saved_a_command_derives_once_then_reads_no_record(
        pod: tuple[Path, list[str]], derived: list[str]) -> None:
    root, threads = pod
    cy = Home(root / "cy")
    forget(cy)
    listed, made, read = await listing(cy, threads, derived)
    assert sorted(made) == sorted(threads) and read == set(threads)
    assert [t["messages"][0]["text"] for t in listed] == ["word 0", "word 1"]
    again, made, read = await listing(cy, threads, derived)
    assert again == listed and made == [] and read == set()


async def test_a_reply_derives_only_its_thread_again(
        pod: tuple[Path, list[str]], derived: list[str]) -> None:
    """The reply's command derives its thread's view (it answers with it) and
    keeps it; the next listing takes it, with the reply, as it is."""
    root, threads = pod
    cy = Home(root / "cy")
    await listing(cy, threads, derived)
    derived.clear()
    await command(cy, "feedback.reply", {"thread_id": threads[1], "text": "heard"})
    assert derived == [threads[1]]
    listed, made, read = await listing(cy, threads, derived)
    assert made == [] and read == {threads[1]}  # who reads it is worked out again
    assert [m["text"] for m in listed[1]["messages"]] == ["word 1", "heard"]
    assert (await listing(cy, threads, derived))[1:] == ([], set())


async def test_a_pod_write_or_another_version_derives_every_thread_again(
        pod: tuple[Path, list[str]], derived: list[str], monkeypatch: pytest.MonkeyPatch) -> None:
    root, threads = pod
    cy = Home(root / "cy")
    await listing(cy, threads, derived)
    await command(cy, "pod.setting", {"name": "archive_after_days", "value": 40})
    _, made, read = await listing(cy, threads, derived)
    assert sorted(made) == sorted(threads) and read == set(threads)
    assert (await listing(cy, threads, derived))[1:] == ([], set())
    monkeypatch.setattr(podsync, "__version__", podsync.__version__ + ".next")
    _, made, read = await listing(cy, threads, derived)
    assert sorted(made) == sorted(threads) and read == set(threads)


async def test_a_saved_view_that_does_not_read_back_is_derived_again(
        pod: tuple[Path, list[str]], derived: list[str]) -> None:
    root, threads = pod
    cy = Home(root / "cy")
    await listing(cy, threads, derived)
    with sqlite3.connect(cy.db_path) as conn:
        conn.execute("UPDATE document_views SET view = x'c1' WHERE doc_id = ?", (threads[0],))
    _, made, _ = await listing(cy, threads, derived)
    assert made == [threads[0]]


async def test_history_planted_under_a_thread_hides_it_saved_rows_or_not(
        pod: tuple[Path, list[str]], derived: list[str]) -> None:
    """History that does not start at the thread's creation, planted in the store
    while no node runs, changes no record: the saved readers and view still
    stand for the records. The thread is served to nobody all the same."""
    root, threads = pod
    cy = Home(root / "cy")
    await listing(cy, threads, derived)
    await listing(cy, threads, derived)
    plant_history(cy, threads[0])
    listed, _, _ = await listing(cy, threads, derived)
    assert [t["thread_id"] for t in listed] == [threads[1]]
    with pytest.raises(NotFound):
        await command(cy, "feedback.thread", {"thread_id": threads[0]})
    shown = await command(cy, "feedback.thread", {"thread_id": threads[1]})
    assert shown["messages"][0]["text"] == "word 1"


async def test_a_running_node_keeps_who_reads_its_threads_before_it_stops(
        pod: tuple[Path, list[str]]) -> None:
    """Kept once the node has warmed (and every ten minutes while it runs), not
    only as it stops: a node killed rather than stopped leaves them in the store."""
    root, threads = pod
    ada = Home(root / "ada")
    forget(ada)
    node = await NodeFactory(root).start("ada")
    try:
        await node.warmed.wait()

        def kept() -> set[str]:
            with sqlite3.connect(ada.db_path) as conn:
                return {d for (d,) in conn.execute("SELECT doc_id FROM document_readers")}

        await eventually(lambda: set(threads) <= kept())
    finally:
        await node.stop()
