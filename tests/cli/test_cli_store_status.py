"""`status` over a real store: sound documents, damaged ones, a newer schema."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import automerge.core as am
from cli_helpers import Podsync, assert_clean_failure

from podsync import ids
from podsync.store import DocumentStore


def _doc(title: str) -> am.Document:
    doc = am.Document()
    with doc.transaction() as tx:
        tx.put(am.ROOT, "title", am.ScalarType.Str, title)
    return doc


def test_documents_and_damaged_documents(podsync: Podsync, home_dir: Path) -> None:
    assert podsync("init", "--name", "Ada").returncode == 0
    sound_id, broken_id = ids.new_document_id(), ids.new_document_id()
    sound = _doc("shopping")
    with DocumentStore(home_dir / "podsync.db") as store:
        store.create_document(sound_id, "needs", sound)
        store.create_document(broken_id, "agreements", _doc("chores"))
    db = sqlite3.connect(home_dir / "podsync.db")
    try:
        (data,) = db.execute("SELECT bytes FROM chunks WHERE doc_id=?", (broken_id,)).fetchone()
        flipped = bytearray(data)
        flipped[len(flipped) // 2] ^= 0xFF
        with db:
            db.execute("UPDATE chunks SET bytes=? WHERE doc_id=?", (bytes(flipped), broken_id))
    finally:
        db.close()

    status = json.loads(podsync("status", "--json").stdout)
    by_url = {d["url"]: d for d in status["documents"]}
    assert by_url[ids.document_url(sound_id)] == {
        "url": ids.document_url(sound_id), "kind": "needs",
        "heads": [h.hex() for h in sound.get_heads()], "in_sync_with": [],
    }
    assert ids.document_url(broken_id) not in by_url
    (damaged,) = status["damaged_documents"]
    assert damaged["url"] == ids.document_url(broken_id)
    assert damaged["kind"] == "agreements"
    assert isinstance(damaged["reason"], str) and damaged["reason"]

    human = podsync("status")
    assert human.returncode == 0
    assert "quarantined" in human.stdout and broken_id in human.stdout
    # The damaged bytes are kept for salvage, never deleted.
    db = sqlite3.connect(home_dir / "podsync.db")
    try:
        (kept,) = db.execute("SELECT bytes FROM chunks WHERE doc_id=?", (broken_id,)).fetchone()
    finally:
        db.close()
    assert kept == bytes(flipped)


def test_store_from_a_newer_podsync_is_refused_untouched(podsync: Podsync, home_dir: Path) -> None:
    assert podsync("init", "--name", "Ada").returncode == 0
    db_path = home_dir / "podsync.db"
    db = sqlite3.connect(db_path)
    db.execute("PRAGMA user_version=999")
    db.close()  # the last connection checkpoints the log into the file
    before = (db_path.read_bytes(), db_path.stat().st_mtime_ns)
    files = sorted(p.name for p in home_dir.iterdir())

    assert_clean_failure(podsync("status", "--json"), 1, "newer podsync", str(db_path))
    assert (db_path.read_bytes(), db_path.stat().st_mtime_ns) == before
    assert sorted(p.name for p in home_dir.iterdir()) == files
