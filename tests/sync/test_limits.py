"""Every named limit of the engine (sync/limits.py), sent past by a hostile peer.

The runtime's own limits (backlog, budgets of bytes and entries) are sent past
over real sockets in tests/net and tests/hostile.
"""

from __future__ import annotations

import os

import automerge.core as am
import cbor2
import pytest

from podsync.ids import new_document_id
from podsync.sync import AwaitDrain, EphemeralReceived, Persist, Send, SyncEngine
from podsync.sync.guards import measure_document
from podsync.sync.limits import (
    IN_FLIGHT_TIMEOUT, MAX_DOCUMENT_ENTRIES, MAX_CBOR_DEPTH, MAX_CBOR_ITEMS, MAX_DOCS_IN_FLIGHT, MAX_EPHEMERAL_SESSIONS,
    MAX_INPUT_BYTES, MAX_INPUT_ENTRIES, MAX_UNKNOWN_WANTS_PER_PEER, PEER_NEW_DOCUMENTS_BURST,
    PEER_NEW_DOCUMENTS_PER_SECOND, REQUEST_TIMEOUT, SEND_BACKLOG_PAUSE_BYTES, WHOLE_BYTES_PER_CALL,
)
from podsync.sync.messages import (
    DocUnavailable, Ephemeral, Join, PeerMetadata, Request, Summary, Sync, WholeDoc, decode, encode,
)
from tests.sync.bombs import deflate_bomb, list_change, run_length_bomb, sync_message
from tests.sync.helpers import closes, make_engine, of_type, open_acceptor, sent, stored_doc
from tests.sync.simnet import MemorySource, SourcedEngine
from tests.sync.test_bad_input import EMPTY, Bench

EXT = PeerMetadata(None, True, 1, ("summary", "doc"))


def made_up_heads() -> bytes:
    """A sync message claiming one head nobody has."""
    return sync_message([], heads=[os.urandom(32)])


def small_doc(**values: str) -> am.Document:
    doc = am.Document()
    with doc.transaction() as tx:
        for key, value in values.items():
            tx.put(am.ROOT, key, am.ScalarType.Str, value)
    return doc


# ---------------------------------------------------------------- CBOR


def test_a_frame_of_too_many_cbor_items_closes_only_its_link() -> None:
    bench = Bench()
    flood = cbor2.dumps({"type": "sync", "senderId": "bad", "junk": [None] * (MAX_CBOR_ITEMS + 1)})
    (close,) = closes(bench.engine.receive(2, flood, 0.0))
    assert close.conn == 2 and f"more than {MAX_CBOR_ITEMS} CBOR items" in close.reason
    bench.good_link_still_works()


def test_a_frame_nesting_cbor_too_deep_closes_only_its_link() -> None:
    bench = Bench()
    nested: object = "x"
    for _ in range(MAX_CBOR_DEPTH + 1):
        nested = [nested]
    (close,) = closes(bench.engine.receive(2, cbor2.dumps({"type": "x", "n": nested}), 0.0))
    assert f"deeper than {MAX_CBOR_DEPTH}" in close.reason
    bench.good_link_still_works()


def test_cbor_within_the_limits_still_decodes() -> None:
    bench = Bench()
    fine = cbor2.dumps({"type": "future-thing", "senderId": "bad", "list": list(range(MAX_CBOR_ITEMS // 2))})
    assert closes(bench.engine.receive(2, fine, 0.0)) == []


# ---------------------------------------------------------------- inflation


def test_a_run_length_bomb_in_a_sync_message_is_refused_unapplied() -> None:
    bench = Bench()
    bomb = sync_message([run_length_bomb(2 * MAX_INPUT_ENTRIES)])
    before = bench.engine.open(bench.doc_id).get_heads()  # type: ignore[union-attr]
    effects = bench.engine.receive(2, encode(Sync("bad", "srv", bench.doc_id, bomb)), 0.0)
    (close,) = closes(effects)
    assert "column entries" in close.reason and str(MAX_INPUT_ENTRIES) in close.reason
    assert of_type(effects, Persist) == []
    assert bench.engine.open(bench.doc_id).get_heads() == before  # type: ignore[union-attr]
    bench.good_link_still_works()


def test_a_deflate_bomb_sent_whole_is_refused_unloaded() -> None:
    bench = Bench(bad_extension=True)
    doc_id = new_document_id()
    bomb = deflate_bomb(2 * MAX_INPUT_BYTES)
    effects = bench.engine.receive(2, encode(WholeDoc("bad", "srv", doc_id, bomb)), 0.0)
    (close,) = closes(effects)
    assert "inflates past" in close.reason and str(MAX_INPUT_BYTES) in close.reason
    assert of_type(effects, Persist) == [] and bench.engine.open(doc_id) is None
    bench.good_link_still_works()


def test_an_input_within_the_limits_is_applied() -> None:
    """The control: a change automerge made, run-length encoded too, but small."""
    bench = Bench()
    effects = bench.engine.receive(
        2, encode(Sync("bad", "srv", bench.doc_id, sync_message([list_change(1000, "a")]))), 0.0)
    assert closes(effects) == [] and of_type(effects, Persist)


def test_a_change_automerge_would_encode_otherwise_is_undone_and_refused() -> None:
    """Applied, automerge would keep it under another hash than it was sent with,
    and this node and the sender would disagree about it for good."""
    bench = Bench()
    doc = bench.engine.open(bench.doc_id)
    assert doc is not None
    before = sorted(doc.get_heads())
    effects = bench.engine.receive(
        2, encode(Sync("bad", "srv", bench.doc_id, sync_message([run_length_bomb(10)]))), 0.0)
    (close,) = closes(effects)
    assert "not encoded as automerge encodes them" in close.reason
    assert of_type(effects, Persist) == []
    live = bench.engine.open(bench.doc_id)
    assert live is not None and sorted(live.get_heads()) == before and live.get(am.ROOT, "k") is None
    bench.good_link_still_works()


# ---------------------------------------------------------------- unknown wants


def test_made_up_heads_count_as_unknown_wants() -> None:
    engine, _ = make_engine("srv")
    open_acceptor(engine, 1, "cli")
    answers = 0
    for _ in range(MAX_UNKNOWN_WANTS_PER_PEER + 50):
        effects = engine.receive(1, encode(Sync("cli", "srv", new_document_id(), made_up_heads())), 0.0)
        answers += sum(isinstance(m, DocUnavailable) for m in sent(effects))
    assert answers == 50
    assert len(engine._docs.docs) == MAX_UNKNOWN_WANTS_PER_PEER
    engine.disconnect(1, 1.0)
    assert engine._docs.docs == {}


def test_forwarded_asks_are_forgotten_so_reconnects_leave_nothing_behind() -> None:
    """A member asking for made-up ids and reconnecting again and again: the
    requests we forwarded for it to another peer leave no record behind."""
    engine, _ = make_engine("srv")
    engine.connect(9, "acceptor", 0.0, expected_peer_id="other")
    engine.receive(9, encode(Join("other", ("1",), PeerMetadata())), 0.0)
    now = 0.0
    for round_ in range(3):
        conn = 10 + round_
        engine.connect(conn, "acceptor", now, expected_peer_id="mallory")
        engine.receive(conn, encode(Join("mallory", ("1",), PeerMetadata())), now)
        refused = 0
        for _ in range(MAX_UNKNOWN_WANTS_PER_PEER + 20):
            effects = engine.receive(conn, encode(Request("mallory", "srv", new_document_id(), EMPTY)), now)
            refused += any(isinstance(m, DocUnavailable) and m.target_id == "mallory" for m in sent(effects))
        assert refused == 20
        forwarded = [d for d, ds in engine._docs.docs.items() if 9 in ds.peers]
        assert len(forwarded) == MAX_UNKNOWN_WANTS_PER_PEER
        engine.disconnect(conn, now)
        now += REQUEST_TIMEOUT
        engine.tick(now)  # the forwarded requests time out
        assert engine._docs.docs == {}, f"round {round_}: records left behind"
        assert engine._links[9].docs == set()


def test_unauthenticated_links_share_one_budget_of_unknown_wants() -> None:
    """Local apps prove no identity: however many links they open, together
    they keep at most the limit."""
    engine, _ = make_engine("srv")
    for conn in (1, 2, 3):
        open_acceptor(engine, conn, f"app-{conn}")
    kept = 0
    for i in range(MAX_UNKNOWN_WANTS_PER_PEER + 30):
        conn = 1 + i % 3
        effects = engine.receive(conn, encode(Sync(f"app-{conn}", "srv", new_document_id(), made_up_heads())), 0.0)
        kept += not any(isinstance(m, DocUnavailable) for m in sent(effects))
    assert kept == MAX_UNKNOWN_WANTS_PER_PEER
    assert len(engine._docs.docs) == MAX_UNKNOWN_WANTS_PER_PEER


# ---------------------------------------------------------------- new documents


def test_new_documents_a_peer_offers_are_bounded_across_reconnects() -> None:
    engine, source = make_engine("srv")
    docs = [(new_document_id(), bytes(small_doc(n=str(i)).save()))
            for i in range(PEER_NEW_DOCUMENTS_BURST + 5)]

    def offer(conn: int, batch: list[tuple[str, bytes]], now: float) -> tuple[int, int]:
        taken = refused = 0
        for doc_id, data in batch:
            effects = engine.receive(conn, encode(WholeDoc("mallory", "srv", doc_id, data)), now)
            taken += bool(of_type(effects, Persist))
            refused += DocUnavailable("srv", "mallory", doc_id) in sent(effects)
        return taken, refused

    engine.connect(1, "acceptor", 0.0, expected_peer_id="mallory")
    engine.receive(1, encode(Join("mallory", ("1",), EXT)), 0.0)
    assert offer(1, docs[:PEER_NEW_DOCUMENTS_BURST + 2], 0.0) == (PEER_NEW_DOCUMENTS_BURST, 2)
    # A new link of the same proven peer starts with what is left: nothing.
    engine.disconnect(1, 0.0)
    engine.connect(2, "acceptor", 0.0, expected_peer_id="mallory")
    engine.receive(2, encode(Join("mallory", ("1",), EXT)), 0.0)
    assert offer(2, docs[PEER_NEW_DOCUMENTS_BURST + 2:PEER_NEW_DOCUMENTS_BURST + 3], 0.0) == (0, 1)
    # As the budget refills, the node asks for what it refused, oldest first, one
    # token each, over the peer's open link; what the peer sends then is taken.
    refused = [doc_id for doc_id, _ in docs[PEER_NEW_DOCUMENTS_BURST:PEER_NEW_DOCUMENTS_BURST + 3]]
    asked = [m.document_id for m in sent(engine.tick(2 / PEER_NEW_DOCUMENTS_PER_SECOND))
             if isinstance(m, Request)]
    assert asked == refused[:2]
    asked += [m.document_id for m in sent(engine.tick(3 / PEER_NEW_DOCUMENTS_PER_SECOND))
              if isinstance(m, Request)]
    assert asked == refused
    # The answers come with no token left: they were asked for, not offered.
    assert offer(2, docs[PEER_NEW_DOCUMENTS_BURST:PEER_NEW_DOCUMENTS_BURST + 3],
                 3 / PEER_NEW_DOCUMENTS_PER_SECOND) == (3, 0)
    assert not [m for m in sent(engine.tick(10.0)) if isinstance(m, Request)]  # each asked once
    # Time refills it at the stated rate.
    later = 10.0 + 2 / PEER_NEW_DOCUMENTS_PER_SECOND
    assert offer(2, docs[PEER_NEW_DOCUMENTS_BURST + 3:], later) == (2, 0)
    # Documents the node already holds never count.
    held = docs[0]
    effects = engine.receive(2, encode(WholeDoc("mallory", "srv", held[0], held[1])), later)
    assert not any(isinstance(m, DocUnavailable) for m in sent(effects))


# ---------------------------------------------------------------- sending whole documents


def test_whole_documents_obey_the_in_flight_limit_and_wait_to_be_written() -> None:
    engine, source = make_engine("srv")
    for i in range(MAX_DOCS_IN_FLIGHT * 3):
        stored_doc(source, n=str(i))
    open_acceptor(engine, 1, "cli", extension=True)
    effects = engine.receive(1, encode(Summary("cli", "srv", b"")), 0.0)  # it lacks everything
    wholes = [m for m in sent(effects) if isinstance(m, WholeDoc)]
    assert len(wholes) == MAX_DOCS_IN_FLIGHT
    assert of_type(effects, AwaitDrain) == [AwaitDrain(1)]
    # Once the runtime says they were written out, the next ones go.
    more = engine.send_backlog(1, 0, 1.0)
    assert len([m for m in sent(more) if isinstance(m, WholeDoc)]) == MAX_DOCS_IN_FLIGHT


def test_whole_documents_stop_at_the_backlog_pause_mark() -> None:
    engine, source = make_engine("srv")
    size = 1024 * 1024
    for _ in range(MAX_DOCS_IN_FLIGHT):
        doc = am.Document()
        with doc.transaction() as tx:  # 1 MiB that does not compress
            tx.put(am.ROOT, "blob", am.ScalarType.Bytes, os.urandom(size))
        source.save(new_document_id(), doc)
    open_acceptor(engine, 1, "cli", extension=True)
    effects = engine.receive(1, encode(Summary("cli", "srv", b"")), 0.0)
    frames = [e.data for e in effects if isinstance(e, Send) and isinstance(decode(e.data), WholeDoc)]
    # It stops with the frame that crossed the mark, well before the in-flight limit.
    assert sum(map(len, frames[:-1])) <= SEND_BACKLOG_PAUSE_BYTES < sum(map(len, frames))
    assert len(frames) < MAX_DOCS_IN_FLIGHT


def test_whole_documents_in_memory_leave_a_share_per_call() -> None:
    """Documents already open go whole about WHOLE_BYTES_PER_CALL at a time: the
    frames made leave (and the peer loads them) before the next are saved."""
    engine, source = make_engine("srv")
    size = WHOLE_BYTES_PER_CALL // 3
    ids = []
    for _ in range(6):
        doc = am.Document()
        with doc.transaction() as tx:  # a third of the share that does not compress
            tx.put(am.ROOT, "blob", am.ScalarType.Bytes, os.urandom(size))
        doc_id = new_document_id()
        source.save(doc_id, doc)
        assert engine.open(doc_id) is not None  # in memory, as a member's use leaves it
        ids.append(doc_id)
    open_acceptor(engine, 1, "cli", extension=True)
    effects = engine.receive(1, encode(Summary("cli", "srv", b"")), 0.0)
    frames = [e.data for e in effects if isinstance(e, Send) and isinstance(decode(e.data), WholeDoc)]
    first = [decode(data).document_id for data in frames]
    # It stops with the frame that crossed the share.
    assert sum(map(len, frames[:-1])) < WHOLE_BYTES_PER_CALL <= sum(map(len, frames))
    assert len(first) == 3 and of_type(effects, AwaitDrain) == [AwaitDrain(1)]
    more = engine.send_backlog(1, 0, 1.0)
    rest = [m.document_id for m in sent(more) if isinstance(m, WholeDoc)]
    assert sorted(first + rest) == sorted(ids)


# ---------------------------------------------------------------- timeouts, sessions


def test_an_announcement_nobody_answers_frees_its_slot_after_the_timeout() -> None:
    engine, source = make_engine("srv", extension=False)
    for i in range(MAX_DOCS_IN_FLIGHT + 1):
        stored_doc(source, n=str(i))
    first = [m for m in sent(open_acceptor(engine, 1, "cli")) if isinstance(m, Sync)]
    assert len(first) == MAX_DOCS_IN_FLIGHT
    assert sent(engine.tick(IN_FLIGHT_TIMEOUT - 1)) == []
    late = [m for m in sent(engine.tick(IN_FLIGHT_TIMEOUT)) if isinstance(m, Sync)]
    assert len(late) == 1 and late[0].document_id not in {m.document_id for m in first}


def test_ephemeral_sessions_remembered_are_bounded() -> None:
    engine, source = make_engine("srv")
    doc_id, _ = stored_doc(source, n="1")
    open_acceptor(engine, 1, "cli")
    engine.receive(1, encode(Request("cli", "srv", doc_id, EMPTY)), 0.0)

    def deliver(session: str) -> bool:
        effects = engine.receive(1, encode(Ephemeral("cli", "srv", doc_id, 1, session, b"\x01")), 0.0)
        return bool(of_type(effects, EphemeralReceived))

    assert deliver("s0") and not deliver("s0")  # a replay is dropped
    for i in range(1, MAX_EPHEMERAL_SESSIONS + 1):
        assert deliver(f"s{i}")
    assert len(engine._seen) == MAX_EPHEMERAL_SESSIONS
    assert deliver("s0")  # the oldest was forgotten to make room


# ---------------------------------------------------------------- identity


def test_an_unauthenticated_link_cannot_take_a_proven_peer_id() -> None:
    engine, _ = make_engine("srv")
    engine.connect(1, "acceptor", 0.0, expected_peer_id="ada-device")
    engine.receive(1, encode(Join("ada-device", ("1",), PeerMetadata())), 0.0)
    engine.connect(2, "acceptor", 0.0)  # a local app
    (close,) = closes(engine.receive(2, encode(Join("ada-device", ("1",), PeerMetadata())), 0.0))
    assert close.conn == 2
    assert [p.conn for p in engine.peers()] == [1]  # Ada's link stays


def test_an_unauthenticated_link_may_not_claim_a_reserved_id() -> None:
    engine, _ = make_engine("srv")
    engine.connect(2, "acceptor", 0.0, reserved=lambda peer_id: peer_id == "bo-device")
    (close,) = closes(engine.receive(2, encode(Join("bo-device", ("1",), PeerMetadata())), 0.0))
    assert "may not call itself" in close.reason
    engine.connect(3, "acceptor", 0.0, reserved=lambda peer_id: peer_id == "bo-device")
    assert closes(engine.receive(3, encode(Join("an-app", ("1",), PeerMetadata())), 0.0)) == []


def test_the_engine_alone_keeps_working_after_every_refusal() -> None:
    """After each kind of refusal above, a fresh honest peer syncs a document."""
    source = MemorySource()
    engine = SourcedEngine("srv", source)
    doc_id, doc = stored_doc(source, title="t")
    open_acceptor(engine, 1, "bad")
    engine.receive(1, encode(Sync("bad", "srv", doc_id, sync_message([run_length_bomb(10 * MAX_INPUT_ENTRIES)]))), 0.0)
    open_acceptor(engine, 2, "good")
    reply = sent(engine.receive(2, encode(Request("good", "srv", doc_id, EMPTY)), 0.0))
    assert any(isinstance(m, Sync) for m in reply)


@pytest.mark.slow
def test_a_document_grows_no_further_than_its_limit() -> None:
    """Inputs each within one input's limits, aimed at one document: past
    MAX_DOCUMENT_ENTRIES they are answered doc-unavailable, the link stays."""
    engine, source = make_engine("srv")
    doc_id, _ = stored_doc(source, n="1")
    open_acceptor(engine, 1, "mallory")
    ops = MAX_INPUT_ENTRIES // 10  # about nine entries each: just under one input
    for sent_inputs in range(1, MAX_DOCUMENT_ENTRIES // (9 * ops) + 3):
        effects = engine.receive(1, encode(Sync("mallory", "srv", doc_id,
                                                sync_message([list_change(ops, str(sent_inputs))]))), 0.0)
        assert closes(effects) == []
        if any(isinstance(m, DocUnavailable) for m in sent(effects)):
            break
    else:
        raise AssertionError("the document took every input")
    doc = engine.open(doc_id)
    assert doc is not None
    assert measure_document(doc).entries <= MAX_DOCUMENT_ENTRIES + MAX_INPUT_ENTRIES
    assert sent_inputs > 1  # the ones that fitted were taken
