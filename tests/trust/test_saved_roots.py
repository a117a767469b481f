"""A private document's history must start at its creation alone, or nobody reads
it (podsync.trust.ledger). The count of changes without parents is kept in the
store with the heads it was made at, so a command does not load every private
document to check it again; a history planted since, which changes the heads,
is caught all the same."""

from __future__ import annotations

import datetime as dt
import sqlite3
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import automerge.core as am
import pytest

from podsync.api.context import open_ledger
from podsync.config import load_config
from podsync.home import Home
from podsync.records.book import RECORDS_KEY
from podsync.records.format import Draft, build_payload, derived_id
from podsync.records.verify import Signer
from podsync.repo import Repo
from podsync.store import DocumentStore
from podsync.trust.identity import load_identity, load_signing_key
from podsync.trust.ledger import CREATE, NOBODY, Ledger, Readers, parse_own


@pytest.fixture
def home(tmp_path: Path) -> Home:
    done = subprocess.run([sys.executable, "-m", "podsync", "--home", str(tmp_path / "ada"),
                           "init", "--name", "Ada"], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    return Home(tmp_path / "ada")


def make_private(home: Home) -> str:
    """A private document Ada creates for herself, stored as her node would."""
    config, identity = load_config(home), load_identity(home)
    signer = Signer(load_signing_key(home), identity.device_id)
    draft = Draft(CREATE, {"kind": "feedback-statement", "readers": [config.member_id]})
    payload = build_payload(draft, pod=config.pod_id, scope="", by=identity.device_id,
                            at=dt.datetime.now(dt.timezone.utc), prev=None)
    doc_id = derived_id("doc", payload)
    record = parse_own(payload, signer.sign(payload))
    doc = am.Document()
    with doc.transaction() as tx:
        records = tx.put_object(am.ROOT, RECORDS_KEY, am.ObjType.Map)
        tx.put(records, record.id, am.ScalarType.Bytes, record.sealed)
    with DocumentStore(home.db_path) as store:
        store.create_document(doc_id, "automerge", doc)
        store.submit_records(doc_id, [(record.id, record.sealed, True)],
                             heads=sorted(doc.get_heads())).result()
    return doc_id


@pytest.fixture
def loads(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[str]]:
    """The documents the store loads whole while a test runs."""
    loaded: list[str] = []
    real = DocumentStore.load

    def counting(self: DocumentStore, doc_id: str) -> am.Document:
        loaded.append(doc_id)
        return real(self, doc_id)

    monkeypatch.setattr(DocumentStore, "load", counting)
    yield loaded


def plant_history(home: Home, doc_id: str) -> None:
    """A history of someone else's, planted under ``doc_id`` in the store while no
    node runs (its records stay as they are)."""
    with DocumentStore(home.db_path) as store:
        doc = store.load(doc_id)
        stranger = am.Document()
        with stranger.transaction() as tx:
            tx.put(am.ROOT, "note", am.ScalarType.Str, "not from the creation")
        doc.merge(stranger)
        store.append_changes(doc_id, [c.bytes for c in doc.get_changes(
            [h for h in doc.get_heads() if h not in stranger.get_heads()])],
            sorted(doc.get_heads()))


def readers_of(home: Home, doc_id: str) -> Readers:
    """Who may read ``doc_id``, as a command with no node running works it out."""
    config, identity = load_config(home), load_identity(home)
    with DocumentStore(home.db_path) as store:
        ledger: Ledger = open_ledger(config, Repo(store, identity.device_id), None)
        return ledger.readers(doc_id)


def test_a_checked_history_is_not_loaded_again_and_a_planted_one_is_caught(
        home: Home, loads: list[str]) -> None:
    doc_id = make_private(home)
    me = load_config(home).member_id
    assert me in readers_of(home, doc_id)
    assert loads.count(doc_id) == 1  # loaded to count its roots, and the count kept
    loads.clear()
    assert me in readers_of(home, doc_id)
    assert doc_id not in loads  # the same heads: not loaded again

    plant_history(home, doc_id)
    loads.clear()
    assert readers_of(home, doc_id) is NOBODY
    assert loads.count(doc_id) == 1
    with sqlite3.connect(home.db_path) as conn:
        (roots,) = conn.execute("SELECT roots FROM document_roots WHERE doc_id = ?",
                                (doc_id,)).fetchone()
    assert roots == 2
    assert readers_of(home, doc_id) is NOBODY  # and from the count kept, still nobody
