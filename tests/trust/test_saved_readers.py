"""Who reads a private document, kept in the store between commands
(podsync.trust.saved): taken without reading the document's records only while
the store holds the very records it was worked out from (the document's and
the pod document's) and this version of podsync made it; worked out again from
the records otherwise. Whether the document's history starts at its creation
is looked at all the same, so content planted under its id is still caught.

Every test works on a real home (made by the real ``podsync init``) with a
private document stored as a node stores one, each step in a ledger of its
own as separate commands would open it.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import sqlite3

import pytest

import podsync
from podsync.api import ops
from podsync.api.context import offline_context, open_ledger
from podsync.config import load_config
from podsync.home import Home
from podsync.records.format import Draft
from podsync.records.verify import Signer
from podsync.repo import Repo
from podsync.store import DocumentStore
from podsync.trust import saved
from podsync.trust.identity import load_identity, load_signing_key
from podsync.trust.ledger import NOBODY, Ledger, Readers
from tests.trust.test_saved_roots import home, make_private, plant_history  # noqa: F401 - the fixture

__all__ = ["home"]


def established(home: Home, doc_id: str) -> tuple[Readers, str | None, bool]:
    """As a command listing private documents works them out: the readers and
    kind of ``doc_id``, and whether its records were read from the store."""
    config, identity = load_config(home), load_identity(home)
    with DocumentStore(home.db_path) as store:
        ledger: Ledger = open_ledger(config, Repo(store, identity.device_id), None)
        saved.establish(ledger, [doc_id])
        read = ledger.book.peek(doc_id) is not None
        return ledger.readers(doc_id), ledger.kind(doc_id), read


def saved_row(home: Home, doc_id: str) -> tuple[bytes, str, bytes] | None:
    with sqlite3.connect(home.db_path) as conn:
        row = conn.execute("SELECT basis, kind, readers FROM document_readers WHERE doc_id = ?",
                           (doc_id,)).fetchone()
    return (bytes(row[0]), str(row[1]), bytes(row[2])) if row is not None else None


def write_pod_record(home: Home) -> None:
    """A record in the pod document (a setting), as a command writes one."""
    async def run() -> None:
        async with offline_context(home) as ctx:
            await ops.run(ctx, "pod.setting", b'{"name": "archive_after_days", "value": 40}')

    asyncio.run(run())


def add_record(home: Home, doc_id: str) -> None:
    """One more record of Ada's in the document, written as a command writes one."""
    config, identity = load_config(home), load_identity(home)
    signer = Signer(load_signing_key(home), identity.device_id)

    async def write() -> None:
        with DocumentStore(home.db_path) as store:
            repo = Repo(store, identity.device_id)
            ledger = open_ledger(config, repo, signer)
            await ledger.append(doc_id, Draft("statement.note", {"text": "a later word"}),
                                dt.datetime.now(dt.timezone.utc))
            await repo.flush()

    asyncio.run(write())


def test_saved_readers_are_taken_without_reading_records(home: Home) -> None:
    doc_id = make_private(home)
    me = load_config(home).member_id
    first = established(home, doc_id)
    assert first == (frozenset({me}), "feedback-statement", True)
    assert saved_row(home, doc_id) is not None
    assert established(home, doc_id) == (frozenset({me}), "feedback-statement", False)


def test_a_write_of_the_documents_records_is_worked_out_again(home: Home) -> None:
    doc_id = make_private(home)
    established(home, doc_id)
    before = saved_row(home, doc_id)
    add_record(home, doc_id)
    readers, kind, read = established(home, doc_id)
    assert read is True  # the basis saved no longer holds: the records are read
    assert readers == frozenset({load_config(home).member_id}) and kind == "feedback-statement"
    after = saved_row(home, doc_id)
    assert after is not None and before is not None and after[0] != before[0]
    assert established(home, doc_id)[2] is False


def test_a_write_of_the_pod_documents_records_is_worked_out_again(home: Home) -> None:
    """Who counts (and so whether the creation record counts) is the pod document's
    records: any write of them and the saved readers are not taken."""
    doc_id = make_private(home)
    established(home, doc_id)
    write_pod_record(home)
    assert established(home, doc_id)[2] is True
    assert established(home, doc_id)[2] is False


def test_another_version_or_a_row_that_does_not_read_back_is_worked_out_again(
        home: Home, monkeypatch: pytest.MonkeyPatch) -> None:
    doc_id = make_private(home)
    me = load_config(home).member_id
    established(home, doc_id)
    monkeypatch.setattr(podsync, "__version__", podsync.__version__ + ".next")
    assert established(home, doc_id) == (frozenset({me}), "feedback-statement", True)
    assert established(home, doc_id)[2] is False  # saved again by this version
    for garbage in (b"not json", b'"everyone"', b"[1, 2]"):
        with sqlite3.connect(home.db_path) as conn:
            conn.execute("UPDATE document_readers SET readers = ? WHERE doc_id = ?",
                         (garbage, doc_id))
        assert established(home, doc_id) == (frozenset({me}), "feedback-statement", True)


def test_history_planted_after_the_readers_were_saved_is_caught(home: Home) -> None:
    """Planting history under the id changes no record, so the saved readers still
    stand for the records; the history is looked at all the same, and nobody
    reads the document."""
    doc_id = make_private(home)
    established(home, doc_id)
    established(home, doc_id)
    plant_history(home, doc_id)
    readers, kind, read = established(home, doc_id)
    assert read is False  # the saved readers were taken (the records are unchanged) ...
    assert readers is NOBODY  # ... and the planted history still caught
    assert kind == "feedback-statement"


def test_readers_found_outside_the_stored_records_are_not_saved(home: Home) -> None:
    """A creation record found in the document itself rather than among its
    stored records (they were not stored yet) is not what the saved basis counts:
    nothing is kept."""
    doc_id = make_private(home)
    with sqlite3.connect(home.db_path) as conn:
        conn.execute("DELETE FROM records WHERE doc_id = ?", (doc_id,))
        conn.execute("DELETE FROM record_scans WHERE doc_id = ?", (doc_id,))
    readers, _, read = established(home, doc_id)
    assert read is True
    assert readers == frozenset({load_config(home).member_id})  # found in the document itself
    assert saved_row(home, doc_id) is None
