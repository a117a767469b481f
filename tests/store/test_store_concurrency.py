"""Concurrent appenders (threads and asyncio tasks) and the group commit beneath them."""

from __future__ import annotations

import asyncio
import sqlite3
import threading
from pathlib import Path

import automerge.core as am
import pytest

from podsync.errors import StoreError
from podsync.store import DocumentStore
from podsync.store.writer import GroupCommitWriter

THREADS = 8
CHANGES_PER_THREAD = 150


def test_concurrent_appenders_are_all_durable(db_path: Path, edit) -> None:
    docs = {f"doc{t}": am.Document() for t in range(THREADS)}
    errors: list[BaseException] = []

    def appender(doc_id: str) -> None:
        try:
            doc = docs[doc_id]
            for n in range(CHANGES_PER_THREAD):
                store.append_changes(doc_id, [edit(doc, "n", n)], doc.get_heads())
        except BaseException as e:  # surfaced by the assertion below
            errors.append(e)

    store = DocumentStore(db_path)
    threads = [threading.Thread(target=appender, args=(d,)) for d in docs]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    store.close()
    assert errors == []

    with DocumentStore(db_path) as reopened:
        for doc_id, doc in docs.items():
            loaded = reopened.load(doc_id)
            assert loaded.get_heads() == doc.get_heads()
            assert loaded.get(am.ROOT, "n")[0] == (am.ScalarType.Int, CHANGES_PER_THREAD - 1)
            assert len(loaded.get_changes([])) == CHANGES_PER_THREAD


def test_threads_sharing_one_document_keep_causal_order(db_path: Path, edit) -> None:
    """Submitting under the document's lock and waiting outside it is the intended pattern."""
    doc = am.Document()
    lock = threading.Lock()

    def appender(t: int) -> None:
        for n in range(CHANGES_PER_THREAD):
            with lock:
                change = edit(doc, f"t{t}", n)
                future = store.submit_changes("shared", [change], doc.get_heads())
            future.result()

    with DocumentStore(db_path) as store:
        threads = [threading.Thread(target=appender, args=(t,)) for t in range(4)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    with DocumentStore(db_path) as store:
        loaded = store.load("shared")
    assert loaded.get_heads() == doc.get_heads()
    assert len(loaded.get_changes([])) == 4 * CHANGES_PER_THREAD


async def test_async_appenders_are_all_durable(db_path: Path, edit) -> None:
    store = DocumentStore(db_path)

    async def appender(doc_id: str) -> am.Document:
        doc = am.Document()
        for n in range(50):
            await store.append_changes_async(doc_id, [edit(doc, "n", n)], doc.get_heads())
        return doc

    docs = await asyncio.gather(*(appender(f"d{i}") for i in range(THREADS)))
    store.close()
    with DocumentStore(db_path) as reopened:
        for i, doc in enumerate(docs):
            assert reopened.load(f"d{i}").get_heads() == doc.get_heads()


async def test_awaiting_a_commit_leaves_the_event_loop_running(store: DocumentStore, edit) -> None:
    writer_busy = threading.Event()
    release_writer = threading.Event()

    def hold(conn: sqlite3.Connection) -> None:
        writer_busy.set()
        release_writer.wait()

    # Occupy the writer so the append below has to wait for it. Were the loop
    # blocked, the fallback timer would free the writer and the assertion that
    # the append is still pending would fail (rather than the test hanging).
    fallback = threading.Timer(10, release_writer.set)
    fallback.start()
    store._writer.submit(hold)
    await asyncio.to_thread(writer_busy.wait)
    doc = am.Document()
    append = asyncio.create_task(
        store.append_changes_async("d", [edit(doc, "k", 1)], doc.get_heads())
    )
    await asyncio.sleep(0.01)
    assert not append.done()
    release_writer.set()
    fallback.cancel()
    await asyncio.wait_for(append, timeout=10)
    assert store.heads("d") == doc.get_heads()


async def test_cancelling_the_awaiter_does_not_withdraw_the_write(
    store: DocumentStore, edit
) -> None:
    writer_busy = threading.Event()
    release_writer = threading.Event()

    def hold(conn: sqlite3.Connection) -> None:
        writer_busy.set()
        release_writer.wait()

    store._writer.submit(hold)
    await asyncio.to_thread(writer_busy.wait)
    doc = am.Document()
    append = asyncio.create_task(
        store.append_changes_async("d", [edit(doc, "k", 1)], doc.get_heads())
    )
    await asyncio.sleep(0.01)
    append.cancel()
    release_writer.set()
    with pytest.raises(asyncio.CancelledError):
        await append
    store.close()
    with DocumentStore(store.path) as reopened:
        assert reopened.heads("d") == doc.get_heads()


class _NoMaintenance:
    def pending(self) -> bool:
        return False

    def next_job(self, idle: bool) -> None:
        return None

    def after_batch(self, committed: bool) -> None:
        pass


def _writer_on(path: Path, statements: list[str]) -> GroupCommitWriter:
    conn = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("CREATE TABLE t(v INTEGER)")
    conn.set_trace_callback(statements.append)
    return GroupCommitWriter(conn, _NoMaintenance())


def test_jobs_queued_together_share_one_commit(tmp_path: Path) -> None:
    statements: list[str] = []
    writer = _writer_on(tmp_path / "g.db", statements)
    busy, release = threading.Event(), threading.Event()
    writer.submit(lambda conn: (busy.set(), release.wait()))
    busy.wait()
    futures = [
        writer.submit(lambda conn, v=v: conn.execute("INSERT INTO t VALUES (?)", (v,)))
        for v in range(20)
    ]
    release.set()
    for f in futures:
        f.result()
    writer.close()
    # One commit for the job that held the writer, one for the 20 queued behind it.
    assert statements.count("COMMIT") == 2
    conn = sqlite3.connect(tmp_path / "g.db")
    try:
        assert conn.execute("SELECT count(*) FROM t").fetchone()[0] == 20
    finally:
        conn.close()


def test_a_failing_job_fails_alone(tmp_path: Path) -> None:
    statements: list[str] = []
    writer = _writer_on(tmp_path / "g.db", statements)
    busy, release = threading.Event(), threading.Event()
    writer.submit(lambda conn: (busy.set(), release.wait()))
    busy.wait()

    def bad(conn: sqlite3.Connection) -> None:
        conn.execute("INSERT INTO t VALUES (666)")
        raise StoreError("refused")

    ok1 = writer.submit(lambda conn: conn.execute("INSERT INTO t VALUES (1)"))
    failing = writer.submit(bad)
    ok2 = writer.submit(lambda conn: conn.execute("INSERT INTO t VALUES (2)"))
    release.set()
    ok1.result()
    ok2.result()
    with pytest.raises(StoreError, match="refused"):
        failing.result()
    writer.close()
    conn = sqlite3.connect(tmp_path / "g.db")
    try:
        assert sorted(v for (v,) in conn.execute("SELECT v FROM t")) == [1, 2]
    finally:
        conn.close()
