"""``podsync status`` with no node running counts the records that do not count in
every document, and keeps those counts with what they were made from: the next
status reads no record, and any write of records counts that document again."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pytest
from cli_helpers import Podsync

from podsync.api.context import open_ledger
from podsync.config import load_config
from podsync.home import Home
from podsync.ids import document_url
from podsync.records.format import Draft, build_payload, record_id, seal
from podsync.repo import Repo
from podsync.store import DocumentStore
from podsync.trust import unverified
from podsync.trust.identity import load_identity, new_device_key
from podsync.trust.ledger import Ledger


def forge_into_needs(home: Home) -> str:
    """A record in Ada's name, signed by a key that is not hers, stored among the
    needs board's records as a received one would be; the board's id."""
    config, identity = load_config(home), load_identity(home)
    with DocumentStore(home.db_path) as store:
        ledger = open_ledger(config, Repo(store, identity.device_id), None)
        needs_doc = ledger.collections()["needs"]
        payload = build_payload(Draft("need.add", {"title": "forged"}), pod=config.pod_id,
                                scope=needs_doc, by=identity.device_id,
                                at=dt.datetime.now(dt.timezone.utc), prev=None)
        stranger, _ = new_device_key()
        store.submit_records(needs_doc, [(record_id(payload),
                                          seal(payload, stranger.sign(payload)), None)]).result()
    return needs_doc


def counted_in_process(home: Home, monkeypatch: pytest.MonkeyPatch) -> tuple[dict, list[str]]:
    """What ``unverified.everywhere`` gives, and the documents whose records it read."""
    config, identity = load_config(home), load_identity(home)
    read: list[str] = []
    real = Ledger.reasons

    def reasons(self: Ledger, doc_id: str, book):  # type: ignore[no-untyped-def]
        read.append(doc_id)
        return real(self, doc_id, book)

    monkeypatch.setattr(Ledger, "reasons", reasons)
    with DocumentStore(home.db_path) as store:
        ledger = open_ledger(config, Repo(store, identity.device_id), None)
        found = unverified.everywhere(ledger, [i.doc_id for i in store.list_documents()])
    return {d: r for d, r in found.items() if r}, read


def test_status_counts_a_forgery_and_counts_again_only_what_was_written(
        podsync: Podsync, home_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    assert podsync("init", "--name", "Ada").returncode == 0
    home = Home(home_dir)
    needs_doc = forge_into_needs(home)

    status = json.loads(podsync("status", "--json").stdout)
    assert status["unverified_records"]["total"] == 1
    [doc] = status["unverified_records"]["documents"]
    assert doc["url"] == document_url(needs_doc) and doc["reasons"] == {"bad-signature": 1}

    # Counted once, kept: nothing is read again while nothing was written.
    found, read = counted_in_process(home, monkeypatch)
    assert found == {needs_doc: {"bad-signature": 1}} and read == []

    # A write to the board: that document (and only it) is counted again.
    assert podsync("need", "add", "Fix the gate").returncode == 0
    found, read = counted_in_process(home, monkeypatch)
    assert found == {needs_doc: {"bad-signature": 1}} and read == [needs_doc]
    status = json.loads(podsync("status", "--json").stdout)
    assert status["unverified_records"]["total"] == 1
