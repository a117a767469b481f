"""A node start measures only stored documents not measured at their current
bytes: a bomb written past the node is still set aside before anything is
served, and documents measured before are not read until they are asked for.

A real Repo over a real store; the store's own load calls are counted.
"""

from __future__ import annotations

import os
from pathlib import Path

import automerge.core as am
import pytest

from podsync.ids import new_document_id
from podsync.repo import Repo
from podsync.repo.values import put_value
from podsync.store import DocumentStore
from tests.sync.bombs import run_length_bomb

SOUND = 12


class Counted:
    """Which documents the store measured (load_all) and loaded (load)."""

    def __init__(self, store: DocumentStore, monkeypatch: pytest.MonkeyPatch) -> None:
        self.measured: list[str] = []
        self.loaded: list[str] = []
        load_all, load = store.load_all, store.load

        def counted_load_all(doc_ids=None):  # type: ignore[no-untyped-def]
            out = load_all(doc_ids)
            self.measured += [*out.documents, *out.damaged]
            return out

        def counted_load(doc_id: str) -> am.Document:
            self.loaded.append(doc_id)
            return load(doc_id)

        monkeypatch.setattr(store, "load_all", counted_load_all)
        monkeypatch.setattr(store, "load", counted_load)


def start(path: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[DocumentStore, Repo, Counted, dict[str, str]]:
    store = DocumentStore(path)
    counted = Counted(store, monkeypatch)
    repo = Repo(store, "me")
    return store, repo, counted, repo.open_stored()


def direct_change(store: DocumentStore, doc_id: str, heads: list[bytes] | None = None) -> None:
    """A change written into the store by something other than the node."""
    doc = store.load(doc_id)
    before = doc.get_heads()
    with doc.transaction() as tx:
        put_value(tx, am.ROOT, "edited", "directly")
    changes = [c.bytes for c in doc.get_changes(before)]
    store.append_changes(doc_id, changes, doc.get_heads() if heads is None else heads)


async def test_start_measures_only_what_was_not_measured(tmp_path: Path,
                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "store.db"
    store, repo, counted, quarantined = start(path, monkeypatch)
    created = [await repo.create("needs", lambda tx: put_value(tx, am.ROOT, "n", 1))
               for _ in range(SOUND)]
    # The node's own changes are measured as they are stored, like those that arrive.
    await repo.change(created[0], lambda tx: put_value(tx, am.ROOT, "n", 2))
    await repo.flush()
    store.close()

    # Written past the node: a sound document and a bomb.
    direct_sound, bomb = new_document_id(), new_document_id()
    with DocumentStore(path) as direct:
        sound = am.Document()
        with sound.transaction() as tx:
            put_value(tx, am.ROOT, "direct", True)
        direct.create_document(direct_sound, "needs", sound)
        direct.append_changes(bomb, [run_length_bomb(1_000_000_000)], [os.urandom(32)])

    store, repo, counted, quarantined = start(path, monkeypatch)
    try:
        # Documents the node wrote were measured as it stored them: only the two
        # written past it are measured, and nothing else is loaded at start.
        assert sorted(counted.measured) == sorted([bomb, direct_sound])
        assert counted.loaded == []
        assert set(quarantined) == {bomb}
        assert "column entries" in quarantined[bomb]
        # The rest is served, each loaded when it is asked for.
        for doc_id in created:
            assert repo.get(doc_id).get_heads()
        assert sorted(counted.loaded) == sorted(created)
        assert repo.get(direct_sound).get_heads()
        assert repo.engine.open(bomb) is None
    finally:
        store.close()

    # Measured once: the next start measures nothing (the bomb stays set aside).
    store, repo, counted, quarantined = start(path, monkeypatch)
    store.close()
    assert counted.measured == [] and quarantined == {}
    with DocumentStore(path) as direct:
        assert [info.doc_id for info in direct.damaged_documents()] == [bomb]


async def test_a_measured_document_written_directly_is_measured_again(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "store.db"
    store, repo, _, _ = start(path, monkeypatch)
    ids = [await repo.create("needs") for _ in range(3)]
    await repo.flush()
    store.close()
    store, repo, counted, _ = start(path, monkeypatch)
    store.close()
    assert counted.measured == []

    with DocumentStore(path) as direct:
        direct_change(direct, ids[0])
        # Bytes added under the heads it had: the heads alone would not tell.
        direct_change(direct, ids[1], heads=direct.heads(ids[1]))
    store, repo, counted, quarantined = start(path, monkeypatch)
    try:
        assert sorted(counted.measured) == sorted(ids[:2])
        assert quarantined == {}
        assert repo.get(ids[0]).get_heads() == store.heads(ids[0])
    finally:
        store.close()
    store, repo, counted, _ = start(path, monkeypatch)
    store.close()
    assert counted.measured == []
