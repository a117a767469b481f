"""Damaged chunks: the store names the document, loads the others, keeps the bytes."""

from __future__ import annotations

import hashlib
from pathlib import Path

import automerge.core as am
import pytest

from podsync.errors import DamagedDocument
from podsync.store import DocumentStore


@pytest.fixture
def three_docs(db_path: Path, edit) -> dict[str, am.Document]:
    """Documents a, b, c, each a snapshot plus three incremental chunks, store closed."""
    docs = {}
    with DocumentStore(db_path) as store:
        for doc_id in "abc":
            docs[doc_id] = doc = am.Document()
            edit(doc, "name", 0)
            store.create_document(doc_id, "need", doc)
            for i in range(1, 4):
                store.append_changes(doc_id, [edit(doc, f"k{i}", i)], doc.get_heads())
    return docs


def chunks(raw, doc_id: str) -> list[tuple[int, str, bytes, bytes]]:
    return (
        raw()
        .execute("SELECT id, kind, sha256, bytes FROM chunks WHERE doc_id=? ORDER BY id", (doc_id,))
        .fetchall()
    )


def damage(raw) -> dict[int, bytes]:
    """Truncate one of a's incrementals and flip a bit in b's snapshot; return the new bytes."""
    conn = raw()
    a_id, _, _, a_bytes = chunks(raw, "a")[2]
    b_id, b_kind, _, b_bytes = chunks(raw, "b")[0]
    assert b_kind == "snapshot"
    flipped = bytearray(b_bytes)
    flipped[len(flipped) // 2] ^= 0x10
    tampered = {a_id: a_bytes[: len(a_bytes) // 2], b_id: bytes(flipped)}
    for chunk_id, data in tampered.items():
        conn.execute("UPDATE chunks SET bytes=? WHERE id=?", (data, chunk_id))
    return tampered


def stored_bytes(raw) -> dict[int, bytes]:
    return dict(raw().execute("SELECT id, bytes FROM chunks").fetchall())


def test_damaged_documents_are_named_and_the_others_load(db_path: Path, three_docs, raw) -> None:
    tampered = damage(raw)
    with DocumentStore(db_path) as store:
        with pytest.raises(DamagedDocument) as a_err:
            store.load("a")
        assert a_err.value.doc_id == "a"
        assert "SHA-256" in a_err.value.reason
        with pytest.raises(DamagedDocument) as b_err:
            store.load("b")
        assert b_err.value.doc_id == "b"

        c = store.load("c")
        assert c.get_heads() == three_docs["c"].get_heads()

        damaged = {i.doc_id: i.damaged for i in store.damaged_documents()}
        assert set(damaged) == {"a", "b"}
        assert all(damaged.values())

    # The damaged bytes are still in the file, exactly as they were.
    after = stored_bytes(raw)
    for chunk_id, data in tampered.items():
        assert after[chunk_id] == data

    with DocumentStore(db_path) as store:  # the verdict is durable
        assert {i.doc_id for i in store.damaged_documents()} == {"a", "b"}
        with pytest.raises(DamagedDocument):
            store.load("a")


def test_load_all_reports_damage_and_loads_the_rest(db_path: Path, three_docs, raw) -> None:
    damage(raw)
    with DocumentStore(db_path) as store:
        loaded = store.load_all()
        assert set(loaded.documents) == {"c"}
        assert set(loaded.damaged) == {"a", "b"}
        assert {i.doc_id for i in store.damaged_documents()} == {"a", "b"}


def test_chunks_that_verify_but_do_not_parse_are_damage_too(db_path: Path, three_docs, raw) -> None:
    garbage = b"\x85\x6f\x4a\x83 not an automerge chunk"
    chunk_id = chunks(raw, "c")[1][0]
    raw().execute(
        "UPDATE chunks SET bytes=?, sha256=? WHERE id=?",
        (garbage, hashlib.sha256(garbage).digest(), chunk_id),
    )
    with DocumentStore(db_path) as store:
        with pytest.raises(DamagedDocument, match="automerge cannot load"):
            store.load("c")
        assert store.load("a").get_heads() == three_docs["a"].get_heads()


def test_a_damaged_document_is_never_compacted_and_keeps_every_chunk(
    db_path: Path, three_docs, raw, edit
) -> None:
    tampered = damage(raw)
    with DocumentStore(db_path) as store:
        assert store.compact("a") is False  # finds the damage itself and records it
        assert [i.doc_id for i in store.damaged_documents()] == ["a"]
        before = stored_bytes(raw)
        # New changes to a damaged document are still stored, and nothing is rewritten.
        doc = three_docs["a"]
        for i in range(200):
            store.append_changes("a", [edit(doc, "more", i)], doc.get_heads())
        assert store.compact("a") is False
    after = stored_bytes(raw)
    assert {k: after[k] for k in before} == before
    assert len(after) == len(before) + 200
    for chunk_id, data in tampered.items():
        assert after[chunk_id] == data


def test_salvage_loads_what_verifies_and_the_document_stays_damaged(
    db_path: Path, three_docs, raw
) -> None:
    tampered = damage(raw)
    a_truncated = min(tampered)  # a's chunks were written before b's
    with DocumentStore(db_path) as store:
        with pytest.raises(DamagedDocument):
            store.load("a")
        salvaged = store.salvage("a")
        assert salvaged.left_out == [a_truncated]
        # Chunk 2 of a held k2; the snapshot and k1 come back. k3 depends on k2,
        # so automerge holds it back until k2 arrives (from a peer, by sync).
        keys = salvaged.document.keys(am.ROOT)
        assert "name" in keys and "k1" in keys and "k2" not in keys
        assert [i.doc_id for i in store.damaged_documents()] == ["a"]
        with pytest.raises(DamagedDocument):
            store.load("a")


def test_a_snapshot_that_would_not_load_back_is_never_written(db_path: Path) -> None:
    """A change automerge applies but would not have encoded itself makes the
    saved form of its document unloadable: compaction keeps the chunks."""
    from tests.sync.bombs import run_length_bomb  # noqa: PLC0415
    base = am.Document()
    with base.transaction() as tx:
        tx.put(am.ROOT, "kept", am.ScalarType.Str, "yes")
    hand_made = run_length_bomb(10)
    with DocumentStore(db_path) as store:
        store.create_document("c", "test", base)
        loaded = am.Document.load(base.save() + hand_made)
        store.append_changes("c", [hand_made], loaded.get_heads())
        assert store.compact("c") is False
        again = store.load("c")
        assert again.get(am.ROOT, "kept") is not None and again.get(am.ROOT, "k") is not None
        assert store.damaged_documents() == []
