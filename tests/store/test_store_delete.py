"""Documents noted for deletion leave the store, with all that is kept for them,
at the next ``delete_noted``; a note that is not a list of ids deletes nothing."""

from __future__ import annotations

import logging
import sqlite3
from pathlib import Path

import automerge.core as am
import pytest

from podsync.store import DocumentStore
from podsync.store.document_store import DELETE_LATER_KEY


def rows(path: Path, doc_id: str) -> dict[str, int]:
    with sqlite3.connect(path) as conn:
        return {table: conn.execute(f"SELECT count(*) FROM {table} WHERE doc_id=?",  # noqa: S608
                                    (doc_id,)).fetchone()[0]
                for table in ("documents", "chunks", "sync_state")}


def test_noted_documents_are_deleted_at_the_next_delete_noted_and_only_they(
        tmp_path: Path, edit) -> None:
    path = tmp_path / "relay.db"
    with DocumentStore(path) as store:
        for value, doc_id in enumerate(("gone", "kept", "also-gone")):
            doc = am.Document()
            store.append_changes(doc_id, [edit(doc, "k", value)], doc.get_heads())
        store.delete_later(["gone"])
        store.delete_later(["also-gone", "never-stored"])
        assert store.has("gone")  # noted, not deleted yet
    with sqlite3.connect(path) as conn:  # what else a store keeps for a document
        conn.executemany("INSERT INTO sync_state(doc_id, storage_id, bytes) VALUES (?, 'peer', x'00')",
                         [("gone",), ("kept",)])
    with DocumentStore(path) as store:  # the note survives a restart
        assert sorted(store.delete_noted()) == ["also-gone", "gone", "never-stored"]
        assert [info.doc_id for info in store.list_documents()] == ["kept"]
        assert store.load("kept").get(am.ROOT, "k")[0] == (am.ScalarType.Int, 1)
        assert store.delete_noted() == []  # done once
    assert rows(path, "gone") == {"documents": 0, "chunks": 0, "sync_state": 0}
    assert rows(path, "kept") == {"documents": 1, "chunks": 1, "sync_state": 1}


@pytest.mark.parametrize("note", ["not json", '{"a": 1}', "[1, 2]"])
def test_a_note_that_is_not_a_list_of_ids_deletes_nothing(tmp_path: Path, edit, note: str,
                                                           caplog: pytest.LogCaptureFixture) -> None:
    path = tmp_path / "relay.db"
    with DocumentStore(path) as store:
        doc = am.Document()
        store.append_changes("kept", [edit(doc, "k", 1)], doc.get_heads())
    with sqlite3.connect(path) as conn:
        conn.execute("INSERT INTO meta(key, value) VALUES (?, ?)", (DELETE_LATER_KEY, note))
    with DocumentStore(path) as store, caplog.at_level(logging.WARNING):
        assert store.delete_noted() == []
        assert store.has("kept")
    assert "list of documents to delete is unreadable" in caplog.text
