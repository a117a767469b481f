"""Which stored documents count as measured at their current bytes."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import automerge.core as am

from podsync.store import DocumentStore
from podsync.store.schema import MIGRATIONS
from podsync.sync.cost import Cost
from podsync.sync.limits import MAX_STORED_BYTES
from tests.sync.bombs import deflate_bomb


def test_changes_stored_with_measure_keep_the_document_measured(store: DocumentStore,
                                                                edit) -> None:
    doc = am.Document()
    first = edit(doc, "a", 1)
    store.submit_changes("d", [first], doc.get_heads(), measure=True).result()
    assert store.unmeasured() == []
    second = edit(doc, "b", 2)
    store.submit_changes("d", [second], doc.get_heads(), measure=True).result()
    assert store.unmeasured() == []
    # The running total is what measuring the whole stored document gives.
    assert _recorded(store, "d") == store.load_all(["d"]).sizes["d"]
    # A write that does not measure breaks the chain until the document is measured.
    store.append_changes("d", [edit(doc, "c", 3)], doc.get_heads())
    store.submit_changes("d", [edit(doc, "e", 4)], doc.get_heads(), measure=True).result()
    assert store.unmeasured() == ["d"]
    store.load_all(["d"])
    store.submit_changes("d", [edit(doc, "f", 5)], doc.get_heads(), measure=True).result()
    assert store.unmeasured() == []
    assert _recorded(store, "d") == store.load_all(["d"]).sizes["d"]
    # Compaction measures the snapshot it writes.
    assert store.compact("d")
    assert store.unmeasured() == []
    assert _recorded(store, "d") == store.load_all(["d"]).sizes["d"]


def _recorded(store: DocumentStore, doc_id: str) -> Cost:
    conn = sqlite3.connect(store.path)
    try:
        row = conn.execute("SELECT measured_bytes, measured_entries FROM documents"
                           " WHERE doc_id=?", (doc_id,)).fetchone()
    finally:
        conn.close()
    return Cost(*row)


def test_a_bomb_stored_with_measure_is_left_unmeasured(store: DocumentStore) -> None:
    bomb = deflate_bomb(2 * MAX_STORED_BYTES)
    store.submit_changes("bomb", [bomb], [b"\x01" * 32], measure=True).result()
    assert store.unmeasured() == ["bomb"]
    loaded = store.load_all(["bomb"])
    assert "inflates past" in loaded.damaged["bomb"]
    # Damaged now: never measured again, never served.
    assert store.unmeasured() == []


def test_writes_without_measuring_leave_a_document_unmeasured(store: DocumentStore, edit) -> None:
    doc = am.Document()
    store.append_changes("d", [edit(doc, "a", 1)], doc.get_heads())
    assert store.unmeasured() == ["d"]
    store.load_all()
    assert store.unmeasured() == []
    store.append_changes("d", [edit(doc, "b", 2)], doc.get_heads())
    assert store.unmeasured() == ["d"]


def test_a_schema_3_store_migrates_with_every_document_unmeasured(db_path: Path, edit) -> None:
    conn = sqlite3.connect(db_path, isolation_level=None)
    for statements in MIGRATIONS[:3]:
        for statement in statements:
            conn.execute(statement)
    conn.execute("PRAGMA user_version=3")
    conn.execute("INSERT INTO documents(doc_id, kind, heads, damaged, created, updated)"
                 " VALUES ('old', 'needs', x'', NULL, 0, 0)")
    conn.close()
    with DocumentStore(db_path) as store:
        assert store.unmeasured() == ["old"]
        assert store.load_all().documents.keys() == {"old"}
        assert store.unmeasured() == []
