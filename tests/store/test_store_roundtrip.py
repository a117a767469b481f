"""Round trips through the store: create, append, load, heads, listing, kinds."""

from __future__ import annotations

import uuid
from pathlib import Path

import automerge.core as am
import pytest

from podsync.errors import DamagedDocument, NotFound, StoreError
from podsync.store import DocumentInfo, DocumentStore


def test_create_then_load_gives_the_same_document(store: DocumentStore, edit) -> None:
    doc = am.Document()
    edit(doc, "a", 1)
    store.create_document("d1", "pod", doc)

    loaded = store.load("d1")
    assert loaded.get(am.ROOT, "a")[0] == (am.ScalarType.Int, 1)
    assert loaded.get_heads() == doc.get_heads()
    assert store.heads("d1") == sorted(doc.get_heads())


def test_appended_changes_load_and_move_the_heads(store: DocumentStore, edit) -> None:
    doc = am.Document()
    edit(doc, "a", 0)
    store.create_document("d1", "need", doc)
    for i in range(1, 20):
        store.append_changes("d1", [edit(doc, "a", i), edit(doc, f"k{i}", i)], doc.get_heads())
        assert store.heads("d1") == sorted(doc.get_heads())

    loaded = store.load("d1")
    assert loaded.get(am.ROOT, "a")[0] == (am.ScalarType.Int, 19)
    assert len(loaded.keys(am.ROOT)) == 20
    assert loaded.get_heads() == doc.get_heads()


def test_append_creates_an_unknown_document_and_a_given_kind_sticks(
    store: DocumentStore, edit
) -> None:
    doc = am.Document()
    store.append_changes("fresh", [edit(doc, "x", 1)], doc.get_heads())
    assert store.list_documents() == [DocumentInfo("fresh", "unknown", doc.get_heads(), None)]

    store.append_changes("fresh", [edit(doc, "x", 2)], doc.get_heads(), kind="decision")
    store.append_changes("fresh", [edit(doc, "x", 3)], doc.get_heads())
    [info] = store.list_documents()
    assert info.kind == "decision"
    assert store.load("fresh").get(am.ROOT, "x")[0] == (am.ScalarType.Int, 3)


def test_list_documents_with_kinds_and_set_kind(store: DocumentStore, edit) -> None:
    docs = {}
    for doc_id, kind in [("b", "need"), ("a", "pod"), ("c", "agreement")]:
        docs[doc_id] = am.Document()
        edit(docs[doc_id], "k", 1)
        store.create_document(doc_id, kind, docs[doc_id])
    store.set_kind("c", "retired-agreement")

    listed = store.list_documents()
    assert [(i.doc_id, i.kind) for i in listed] == [
        ("a", "pod"),
        ("b", "need"),
        ("c", "retired-agreement"),
    ]
    assert all(i.heads == docs[i.doc_id].get_heads() and i.damaged is None for i in listed)
    assert store.damaged_documents() == []


def test_absent_documents(store: DocumentStore) -> None:
    assert not store.has("nope")
    assert store.heads("nope") is None
    with pytest.raises(NotFound):
        store.load("nope")
    with pytest.raises(NotFound):
        store.set_kind("nope", "pod")
    with pytest.raises(NotFound):
        store.compact("nope")


def test_creating_twice_is_refused_and_keeps_the_first(store: DocumentStore, edit) -> None:
    first, second = am.Document(), am.Document()
    edit(first, "who", 1)
    edit(second, "who", 2)
    store.create_document("d", "pod", first)
    with pytest.raises(StoreError, match="already"):
        store.create_document("d", "pod", second)
    assert store.load("d").get(am.ROOT, "who")[0] == (am.ScalarType.Int, 1)


def test_bad_heads_are_refused_before_anything_is_written(store: DocumentStore, edit) -> None:
    doc = am.Document()
    with pytest.raises(StoreError, match="32-byte"):
        store.append_changes("d", [edit(doc, "k", 1)], [b"short"])
    assert not store.has("d")


def test_everything_survives_reopening(db_path: Path, edit) -> None:
    doc = am.Document()
    with DocumentStore(db_path) as store:
        storage_id = store.storage_id
        store.create_document("d", "pod", doc)
        store.append_changes("d", [edit(doc, "k", 7)], doc.get_heads())
    uuid.UUID(storage_id, version=4)

    with DocumentStore(db_path) as store:
        assert store.storage_id == storage_id
        assert store.load("d").get(am.ROOT, "k")[0] == (am.ScalarType.Int, 7)
        assert store.heads("d") == doc.get_heads()


def test_load_all_loads_every_document(store: DocumentStore, edit) -> None:
    docs = {}
    for i in range(30):
        docs[f"d{i}"] = doc = am.Document()
        edit(doc, "n", i)
        store.create_document(f"d{i}", "need", doc)
        store.append_changes(f"d{i}", [edit(doc, "m", i)], doc.get_heads())

    loaded = store.load_all()
    assert loaded.damaged == {}
    assert set(loaded.documents) == set(docs)
    for doc_id, doc in loaded.documents.items():
        assert doc.get_heads() == docs[doc_id].get_heads()

    some = store.load_all(["d3", "d7", "absent"])
    assert set(some.documents) == {"d3", "d7"}
    assert some.documents["d7"].get(am.ROOT, "m")[0] == (am.ScalarType.Int, 7)


def test_a_closed_store_refuses_work(db_path: Path, edit) -> None:
    store = DocumentStore(db_path)
    store.close()
    store.close()  # closing twice is harmless
    with pytest.raises(StoreError, match="closed"):
        store.append_changes("d", [edit(am.Document(), "k", 1)], [])
    with pytest.raises(StoreError, match="closed"):
        store.load("d")


def test_a_large_document_loads_rebuilt_with_its_content_and_takes_changes(
        store: DocumentStore, edit, monkeypatch: pytest.MonkeyPatch) -> None:
    from podsync import amdoc

    doc = am.Document()
    for i in range(50):
        edit(doc, f"k{i}", i)
    store.create_document("big", "needs", doc)
    monkeypatch.setattr(amdoc, "REBUILD_MIN_BYTES", 1)  # every document is large
    for loaded in (store.load("big"), store.load_all(["big"]).documents["big"]):
        assert loaded.get_heads() == doc.get_heads()
        assert [loaded.get(am.ROOT, f"k{i}")[0][1] for i in range(50)] == list(range(50))
    loaded = store.load("big")
    store.append_changes("big", [edit(loaded, "after", 1)], loaded.get_heads())
    again = store.load("big")
    assert again.get(am.ROOT, "after")[0] == (am.ScalarType.Int, 1)
    assert again.get_heads() == loaded.get_heads()


def test_changes_stored_after_a_snapshot_go_into_it_rebuilt(
        store: DocumentStore, edit, monkeypatch: pytest.MonkeyPatch) -> None:
    """Incrementals after a snapshot (changes, several to a chunk, and a saved
    document stored as one) go into the rebuilt snapshot, not through
    ``Document.load`` (podsync.amdoc: 45 s against under one on a needs board)."""
    from podsync import amdoc
    from podsync.store import chunks

    monkeypatch.setattr(chunks, "FEED_MIN_BYTES", 0)  # the snapshot counts as large
    doc = am.Document()
    for i in range(30):
        edit(doc, f"k{i}", i)
    store.create_document("big", "needs", doc)
    two = [edit(doc, "a", 1), edit(doc, "b", 2)]
    store.append_changes("big", [b"".join(two)], doc.get_heads())  # two changes, one chunk
    store.append_changes("big", [edit(doc, "c", 3)], doc.get_heads())
    other = am.Document()
    edit(other, "from-elsewhere", 4)
    doc.merge(other)
    store.append_changes("big", [other.save()], doc.get_heads())  # a saved document as an incremental
    fed: list[int] = []
    real_feed = amdoc.feed_changes
    monkeypatch.setattr(amdoc, "feed_changes", lambda d, changes: (fed.append(len(changes)), real_feed(d, changes)))
    for loaded in (store.load("big"), store.load_all(["big"]).documents["big"]):
        assert sorted(loaded.get_heads()) == sorted(doc.get_heads())
        assert [loaded.get(am.ROOT, k)[0][1] for k in ("k0", "k29", "a", "b", "c", "from-elsewhere")] \
            == [0, 29, 1, 2, 3, 4]
    assert fed == [3, 3]  # the three changes, split out of their chunks, fed once per load
    # A change automerge refuses there (its checksum is wrong, which only
    # automerge checks) makes the document damaged, not automerge's error.
    monkeypatch.setattr(amdoc, "feed_changes", real_feed)
    bad = bytearray(edit(doc, "d", 5))
    bad[4] ^= 0xFF
    store.append_changes("big", [bytes(bad)], doc.get_heads())
    with pytest.raises(DamagedDocument, match="automerge cannot load the stored bytes"):
        store.load("big")


def test_many_records_are_written_in_statements_and_read_back(store: DocumentStore, edit) -> None:
    """Records go to SQLite some hundreds per statement (sorted by id): past one
    statement's worth, every row lands, and an unknown check never replaces an answer."""
    doc = am.Document()
    edit(doc, "a", 1)
    store.create_document("d1", "need", doc)
    rows = [(f"r{i:05d}", f"sealed {i}".encode(), None if i % 3 == 0 else i % 2 == 0)
            for i in reversed(range(2_345))]
    store.submit_records("d1", rows, heads=doc.get_heads()).result()
    again = [(rid, b"other bytes", None) for rid, _, _ in rows[:1_500]]
    store.submit_records("d1", again + [("r99999", b"new", True)]).result()

    stored = store.load_records("d1")
    by_id = {rid: (sealed, ok) for rid, sealed, ok in stored.rows}
    assert len(by_id) == 2_346 and stored.heads == sorted(doc.get_heads())
    for rid, sealed, ok in rows:
        assert by_id[rid] == (sealed, ok), rid
    assert by_id["r99999"] == (b"new", True)
