"""Opening files: newer schemas and foreign files are refused and left untouched."""

from __future__ import annotations

import os
import sqlite3
from pathlib import Path

import automerge.core as am
import pytest

from podsync.errors import SchemaTooNew, StoreError
from podsync.store import SCHEMA_VERSION, DocumentStore


def snapshot_dir(directory: Path) -> dict[str, tuple[bytes, int]]:
    return {p.name: (p.read_bytes(), p.stat().st_mtime_ns) for p in sorted(directory.iterdir())}


def test_a_new_store_gets_the_current_schema(db_path: Path) -> None:
    DocumentStore(db_path).close()
    conn = sqlite3.connect(db_path)
    try:
        assert conn.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")}
        assert {"documents", "chunks", "sync_state", "meta"} <= tables
    finally:
        conn.close()


def test_a_newer_schema_is_refused_and_the_file_is_unchanged(
    db_path: Path, edit, tmp_path: Path
) -> None:
    doc = am.Document()
    with DocumentStore(db_path) as store:
        store.append_changes("d", [edit(doc, "k", 1)], doc.get_heads())
    conn = sqlite3.connect(db_path)
    conn.execute(f"PRAGMA user_version={SCHEMA_VERSION + 1}")
    conn.close()
    before = snapshot_dir(tmp_path)
    assert list(before) == [db_path.name]  # no -wal or -shm left by the close

    with pytest.raises(SchemaTooNew, match="newer podsync"):
        DocumentStore(db_path)

    assert snapshot_dir(tmp_path) == before


def test_a_newer_schema_still_in_the_log_is_refused(db_path: Path, tmp_path: Path) -> None:
    DocumentStore(db_path).close()
    # A writer that bumped the version and was killed before checkpointing
    # leaves the new header only in the write-ahead log.
    conn = sqlite3.connect(db_path)
    conn.execute("PRAGMA wal_autocheckpoint=0")
    conn.execute(f"PRAGMA user_version={SCHEMA_VERSION + 1}")
    db_before = db_path.read_bytes()
    try:
        with pytest.raises(SchemaTooNew):
            DocumentStore(db_path)
        assert db_path.read_bytes() == db_before
    finally:
        conn.close()


def test_a_file_that_is_not_sqlite_is_refused_untouched(db_path: Path) -> None:
    db_path.write_bytes(b"these are somebody's notes, not a database\n" * 10)
    mtime = db_path.stat().st_mtime_ns
    with pytest.raises(StoreError, match="not a podsync store"):
        DocumentStore(db_path)
    assert db_path.read_bytes().startswith(b"these are somebody's notes")
    assert db_path.stat().st_mtime_ns == mtime


def test_another_sqlite_database_is_refused(db_path: Path) -> None:
    conn = sqlite3.connect(db_path)
    conn.execute("CREATE TABLE recipes(name TEXT)")
    conn.commit()
    conn.close()
    with pytest.raises(StoreError, match="not a podsync store"):
        DocumentStore(db_path)
    conn = sqlite3.connect(db_path)
    try:
        tables = [r[0] for r in conn.execute("SELECT name FROM sqlite_master")]
    finally:
        conn.close()
    assert tables == ["recipes"]


def test_a_missing_directory_is_a_store_error(tmp_path: Path) -> None:
    with pytest.raises(StoreError, match="cannot open"):
        DocumentStore(tmp_path / "no" / "such" / "dir" / "podsync.db")
    assert not (tmp_path / "no").exists()


def test_storage_id_is_written_once(db_path: Path) -> None:
    ids = set()
    for _ in range(3):
        with DocumentStore(db_path) as store:
            ids.add(store.storage_id)
    assert len(ids) == 1
    assert not os.path.exists(f"{db_path}-wal")  # a clean close checkpoints the log


@pytest.mark.parametrize("had_roots", [True, False])
def test_a_store_of_version_5_is_brought_to_the_current_schema(
        db_path: Path, edit, had_roots: bool) -> None:
    """Stores of version 5 were written with the table of root counts and without
    it (it came within that version): both open, keep what they hold, and have
    every table of the current version."""
    doc = am.Document()
    with DocumentStore(db_path) as store:
        store.append_changes("d", [edit(doc, "k", 1)], doc.get_heads())
    conn = sqlite3.connect(db_path)
    for table in ("document_readers", "document_views") + (() if had_roots else ("document_roots",)):
        conn.execute(f"DROP TABLE {table}")
    conn.execute("PRAGMA user_version=5")
    conn.commit()
    conn.close()

    with DocumentStore(db_path) as store:
        assert store.load("d").get(am.ROOT, "k")[0][1] == 1
        store.save_roots([("d", list(doc.get_heads()), 1)]).result()
        store.save_readers([("d", b"basis", "kind", b'"pod"')]).result()
        store.save_document_views("thread", [("d", b"basis", b"view")]).result()
        assert store.load_roots() == {"d": (sorted(doc.get_heads()), 1)}
        assert store.load_readers(["d"]) == {"d": (b"basis", "kind", b'"pod"')}
        assert store.load_document_views("thread", ["d"]) == {"d": (b"basis", b"view")}
    conn = sqlite3.connect(db_path)
    assert conn.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
    conn.close()
