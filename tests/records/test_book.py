"""The record book: reading a document's records as it changes, remembering the
ones members delete or overwrite, and keeping them in the store."""

from __future__ import annotations

import datetime as dt
import threading

import automerge.core as am

from podsync.records.book import RecordBook, records_object
from podsync.records.format import Draft, Record, build_payload, parse, record_id, seal
from podsync.records.verify import Signer, Verifier
from podsync.store import DocumentStore
from podsync.trust.identity import device_id_from_cert_der, new_device_key
from podsync.trust.ledger import new_document

T0 = dt.datetime(2026, 3, 1, 9, 0, tzinfo=dt.timezone.utc)


def make(signer: Signer, n: int, start: int = 0) -> list[Record]:
    out = []
    for i in range(start, start + n):
        payload = build_payload(Draft("t", {"i": i}), pod="P", scope="D", by=signer.device_id,
                                at=T0, prev=None)
        record = parse(record_id(payload), seal(payload, signer.sign(payload)))
        assert isinstance(record, Record)
        out.append(record)
    return out


def put(doc: am.Document, records: list[Record]) -> None:
    with doc.transaction() as tx:
        obj = records_object(tx)
        for r in records:
            tx.put(obj, r.id, am.ScalarType.Bytes, r.sealed)


def setup(store=None):
    key, cert = new_device_key()
    signer = Signer(key, device_id_from_cert_der(cert))
    verifier = Verifier()
    verifier.learn(cert)
    return signer, RecordBook(store, verifier)


def test_new_records_are_read_as_the_document_changes() -> None:
    signer, book = setup()
    first, later = make(signer, 3), make(signer, 2, start=3)
    doc = new_document(first)
    got = book.ingest("D", doc)
    assert {r.id for r in got.added} == {r.id for r in first} and got.missing == []
    put(doc, later)
    got = book.ingest("D", doc)  # through the diff since the heads read last
    assert {r.id for r in got.added} == {r.id for r in later}
    assert book.ingest("D", doc).added == []  # nothing new at the same heads
    assert all(book.known("D").signed[r.id] is True for r in first + later)


def test_deleted_overwritten_and_replaced_records_are_kept_and_reported_missing() -> None:
    signer, book = setup()
    records = make(signer, 4)
    doc = new_document(records)
    book.ingest("D", doc)
    obj = records_object(doc)
    with doc.transaction() as tx:
        tx.delete(obj, records[0].id)
        tx.put(obj, records[1].id, am.ScalarType.Bytes, b"junk")
    got = book.ingest("D", doc)
    assert {r.id for r in got.missing} == {records[0].id, records[1].id}
    assert set(book.known("D").records) == {r.id for r in records}
    with doc.transaction() as tx:
        tx.put_object(am.ROOT, "records", am.ObjType.Map)
    got = book.ingest("D", doc)
    assert {r.id for r in got.missing} == {r.id for r in records}


def test_junk_under_a_key_is_counted_not_used() -> None:
    signer, book = setup()
    doc = new_document(make(signer, 1))
    with doc.transaction() as tx:
        obj = records_object(tx)
        tx.put(obj, "f" * 32, am.ScalarType.Str, "not a record")
        tx.put_object(obj, "e" * 32, am.ObjType.Map)
    book.ingest("D", doc)
    known = book.known("D")
    assert len(known.records) == 1
    assert {u.reason for u in known.unreadable.values()} == {"malformed"}
    assert len(known.unreadable) == 2


def test_records_outlive_the_document_in_the_store(tmp_path) -> None:
    with DocumentStore(tmp_path / "s.db") as store:
        signer, book = setup(store)
        records = make(signer, 5)
        doc = new_document(records)
        book.ingest("D", doc)
        with doc.transaction() as tx:
            tx.delete(records_object(tx), records[0].id)
        book.ingest("D", doc)
    with DocumentStore(tmp_path / "s.db") as store:
        again = RecordBook(store, Verifier())  # no certificate known: answers come from the store
        known = again.known("D")
        assert set(known.records) == {r.id for r in records}
        assert all(known.signed[r.id] is True for r in records)
        assert known.heads == sorted(doc.get_heads())


def _no_diff(book: RecordBook, monkeypatch) -> None:
    def refuse(*args: object) -> None:
        raise AssertionError("the book worked out what changed with automerge's diff")

    monkeypatch.setattr(book, "_changed_keys", refuse)
    monkeypatch.setattr(book, "_read_all", refuse)


def test_this_nodes_own_write_is_taken_without_reading_the_document(monkeypatch) -> None:
    signer, book = setup()
    doc = new_document(make(signer, 3))
    book.ingest("D", doc)
    mine = make(signer, 2, start=3)
    expected = book.expect("D", doc.get_heads(), mine)
    put(doc, mine)
    _no_diff(book, monkeypatch)
    assert book.ingest("D", doc).missing == []
    book.settle_expected("D", expected)
    known = book.known("D")
    assert {r.id for r in mine} <= set(known.records)
    assert all(known.signed[r.id] is True for r in mine)
    assert known.heads == sorted(doc.get_heads())
    assert known.changed[mine[-1].subject] == known.version


def test_a_change_from_elsewhere_beside_the_own_write_is_still_read() -> None:
    signer, book = setup()
    doc = new_document(make(signer, 3))
    book.ingest("D", doc)
    other = doc.fork()
    theirs = make(signer, 1, start=10)
    put(other, theirs)
    mine = make(signer, 1, start=20)
    book.expect("D", doc.get_heads(), mine)
    put(doc, mine)
    doc.merge(other)  # a peer's change landed before the book looked
    got = book.ingest("D", doc)
    assert {r.id for r in got.added} >= {theirs[0].id}
    assert {r.id for r in mine + theirs} <= set(book.known("D").records)


def test_an_announced_write_that_never_happened_is_not_mistaken_for_a_peers_change() -> None:
    signer, book = setup()
    doc = new_document(make(signer, 3))
    book.ingest("D", doc)
    other = doc.fork()
    theirs = make(signer, 1, start=10)
    put(other, theirs)
    book.expect("D", doc.get_heads(), make(signer, 1, start=20))  # its transaction failed
    doc.merge(other)
    got = book.ingest("D", doc)
    assert [r.id for r in got.added] == [theirs[0].id]
    assert theirs[0].id in book.known("D").records


def test_records_nobody_asked_for_are_let_go_and_read_back_the_same(tmp_path) -> None:
    with DocumentStore(tmp_path / "s.db") as store:
        signer, book = setup(store)
        idle, busy, junk = new_document(make(signer, 4)), new_document(make(signer, 2, 10)), \
            new_document(make(signer, 1, 20))
        with junk.transaction() as tx:
            tx.put(records_object(tx), "f" * 32, am.ScalarType.Str, "not a record")
        for doc_id, doc in (("I", idle), ("B", busy), ("J", junk)):
            book.ingest(doc_id, doc)
        before = book.known("I")
        store.submit_records("I", []).result()  # everything written has landed
        assert book.sweep() == []  # all were used since the last sweep
        book.known("B")
        book.keep("K")
        assert sorted(book.sweep()) == ["I", "J"]  # "B" was used
        assert set(book.loaded()) == {"B"}
        # The junk is read back with the records: still there to be counted.
        assert [(u.key, u.reason) for u in book.known("J").unreadable.values()] == \
            [("f" * 32, "malformed")]
        again = book.known("I")
        assert again is not before
        assert set(again.records) == set(before.records) and again.heads == before.heads
        assert all(again.signed[rid] is True for rid in again.records)
        assert again.version > before.version  # newer than anything seen before
        put(idle, make(signer, 1, 30))
        assert len(book.ingest("I", idle).added) == 1  # reading goes on from the heads kept


def test_records_still_being_written_are_not_let_go(tmp_path) -> None:
    with DocumentStore(tmp_path / "s.db") as store:
        signer, book = setup(store)
        book.ingest("D", new_document(make(signer, 2)))
        gate = threading.Event()
        store._writer.submit(lambda conn: gate.wait(5))  # the writer is busy
        book.add_own("D", make(signer, 1, 5)[0])
        assert book.sweep() == []  # used since the last sweep
        assert book.sweep() == [] and "D" in book.loaded()  # idle, but not written yet
        gate.set()
        store.submit_records("D", []).result()
        assert book.sweep() == ["D"]


def test_past_the_cap_the_least_recently_used_records_make_room(tmp_path, monkeypatch) -> None:
    from podsync.records import book as book_mod

    monkeypatch.setattr(book_mod, "MAX_RECORD_DOCUMENTS", 3)
    with DocumentStore(tmp_path / "s.db") as store:
        signer, book = setup(store)
        book.keep("P")
        docs = {name: new_document(make(signer, 2, i * 10)) for i, name in enumerate("PABCDE")}
        for name, doc in docs.items():
            book.ingest(name, doc)
            store.submit_records(name, []).result()
        assert len(book.loaded()) <= 3 and "P" in book.loaded() and "E" in book.loaded()
        again = book.known("A")  # read back from the store, whole
        assert set(again.records) == {r.id for r in make(signer, 2, 10)}


def test_the_chain_rule_gives_every_node_the_same_answer_whatever_the_order() -> None:
    """A record whose own signature fails is authentic once a valid record of the
    same signer names it as prev (the signer signed its hash) — on a node that got
    both at once and on one that got them apart, before or after a restart."""
    key, cert = new_device_key()
    signer = Signer(key, device_id_from_cert_der(cert))
    first = build_payload(Draft("t", {"i": 0}), pod="P", scope="D", by=signer.device_id,
                          at=T0, prev=None)
    a = parse(record_id(first), seal(first, bytes(64)))  # its signature is garbage
    second = build_payload(Draft("t", {"i": 1}), pod="P", scope="D", by=signer.device_id,
                           at=T0, prev=record_id(first))
    b = parse(record_id(second), seal(second, signer.sign(second)))
    assert isinstance(a, Record) and isinstance(b, Record)
    answers = []
    for batches in ([[a, b]], [[a], [b]], [[b], [a]]):
        verifier = Verifier()
        verifier.learn(cert)
        book = RecordBook(None, verifier)
        doc = new_document([])
        for batch in batches:
            put(doc, batch)
            book.ingest("D", doc)
        answers.append((book.known("D").signed[a.id], book.known("D").signed[b.id]))
    assert answers == [(True, True)] * 3
    # Alone, without the record that vouches for it, it is not authentic.
    verifier = Verifier()
    verifier.learn(cert)
    alone = RecordBook(None, verifier)
    alone.ingest("D", new_document([a]))
    assert alone.known("D").signed[a.id] is False


def test_what_could_not_be_read_is_counted_after_a_restart_until_it_is_gone(tmp_path) -> None:
    """A document that is not read again (its heads did not move) still says what
    it holds that is no record; once the junk is deleted, it says so no more."""
    with DocumentStore(tmp_path / "s.db") as store:
        signer, book = setup(store)
        doc = new_document(make(signer, 2))
        with doc.transaction() as tx:
            tx.put(records_object(tx), "junk", am.ScalarType.Bytes, b"\x00not a record")
            tx.put(records_object(tx), "text", am.ScalarType.Str, "a string")
        book.ingest("D", doc)
        store.submit_records("D", []).result()
    with DocumentStore(tmp_path / "s.db") as store:
        again = RecordBook(store, Verifier())
        assert sorted(again.known("D").unreadable) == ["junk", "text"]
        assert set(store.unreadable_records()["D"]) == {"junk", "text"}
        assert again.ingest("D", doc).added == []  # the same heads: nothing read
        with doc.transaction() as tx:
            tx.delete(records_object(tx), "junk")
        again.ingest("D", doc)
        assert sorted(again.known("D").unreadable) == ["text"]
        store.submit_records("D", []).result()
        assert set(store.unreadable_records()["D"]) == {"text"}
