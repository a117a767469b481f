"""Compaction folds incrementals into one snapshot without losing content or heads."""

from __future__ import annotations

import time

import automerge.core as am

from podsync.store import COMPACT_MIN_INCREMENTAL_BYTES, DocumentStore

# Auto-compaction runs on the writer thread after a short idle period; a test
# waits at most this long for it before failing.
WAIT_S = 10.0


def chunk_kinds(raw, doc_id: str) -> list[str]:
    rows = raw().execute("SELECT kind FROM chunks WHERE doc_id=? ORDER BY id", (doc_id,))
    return [kind for (kind,) in rows]


def test_compaction_keeps_content_and_heads_and_drops_old_chunks(
    store: DocumentStore, edit, raw
) -> None:
    doc = am.Document()
    edit(doc, "start", 0)
    store.create_document("d", "pod", doc)
    for i in range(10):
        store.append_changes("d", [edit(doc, f"k{i}", i)], doc.get_heads())
    old = {sha for (sha,) in raw().execute("SELECT sha256 FROM chunks WHERE doc_id='d'")}
    assert len(old) == 11

    assert store.compact("d") is True

    assert chunk_kinds(raw, "d") == ["snapshot"]
    [(new,)] = raw().execute("SELECT sha256 FROM chunks WHERE doc_id='d'").fetchall()
    assert new not in old
    loaded = store.load("d")
    assert loaded.get_heads() == doc.get_heads()
    assert store.heads("d") == sorted(doc.get_heads())
    assert sorted(loaded.keys(am.ROOT)) == sorted(doc.keys(am.ROOT))
    assert len(loaded.get_changes([])) == len(doc.get_changes([]))


def test_compacting_a_lone_snapshot_does_nothing(store: DocumentStore, edit, raw) -> None:
    doc = am.Document()
    edit(doc, "k", 1)
    store.create_document("d", "pod", doc)
    assert store.compact("d") is False
    assert chunk_kinds(raw, "d") == ["snapshot"]


def test_changes_after_compaction_still_load(store: DocumentStore, edit) -> None:
    doc = am.Document()
    store.append_changes("d", [edit(doc, "k", 1)], doc.get_heads())
    assert store.compact("d")
    store.append_changes("d", [edit(doc, "k", 2)], doc.get_heads())
    assert store.load("d").get(am.ROOT, "k")[0] == (am.ScalarType.Int, 2)


def test_outgrown_incrementals_are_compacted_automatically(store: DocumentStore, edit, raw) -> None:
    doc = am.Document()
    edit(doc, "k", 0)
    store.create_document("d", "pod", doc)
    written = 0
    i = 0
    while written <= COMPACT_MIN_INCREMENTAL_BYTES:
        i += 1
        change = edit(doc, f"key-{i}", i)
        written += len(change)
        store.append_changes("d", [change], doc.get_heads())

    deadline = time.monotonic() + WAIT_S
    while chunk_kinds(raw, "d") != ["snapshot"] and time.monotonic() < deadline:
        time.sleep(0.01)
    assert chunk_kinds(raw, "d") == ["snapshot"]
    loaded = store.load("d")
    assert loaded.get_heads() == doc.get_heads()
    assert loaded.get(am.ROOT, f"key-{i}")[0] == (am.ScalarType.Int, i)


def test_small_incrementals_are_left_alone(store: DocumentStore, edit, raw) -> None:
    doc = am.Document()
    edit(doc, "k", 0)
    store.create_document("d", "pod", doc)
    for i in range(3):
        store.append_changes("d", [edit(doc, "k", i)], doc.get_heads())
    store.close()  # lets any pending writer work finish
    assert chunk_kinds(raw, "d") == ["snapshot", "incremental", "incremental", "incremental"]
