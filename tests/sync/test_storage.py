"""Storage as requests: the engine asks (ListHeld, LoadDocument) and the runtime
answers; work that needs an answer waits for it, and no engine call reads storage."""

from __future__ import annotations

import automerge.core as am

from podsync.sync import Damaged, ListHeld, LoadDocument, SyncEngine
from podsync.sync.messages import DocUnavailable, Request, Sync, encode
from tests.sync.helpers import make_engine, of_type, open_acceptor, sent, stored_doc
from tests.sync.simnet import MemorySource, SimNet

EMPTY = am.Document().generate_sync_message(am.SyncState()).encode()


def listed_engine(source: MemorySource) -> SyncEngine:
    """An engine with no source at all, given the source's listing by hand."""
    engine = SyncEngine("srv")
    assert engine.held_listed(source.all_heads(), 0.0) == []
    return engine


def test_calls_wait_for_the_listing_and_run_in_order_once_it_comes() -> None:
    source = MemorySource()
    doc_id, _ = stored_doc(source, title="held")
    engine = SyncEngine("srv")
    assert engine.connect(1, "acceptor", 0.0) == [ListHeld()]  # asked once ...
    assert engine.tick(0.1) == []  # ... and later calls wait too
    after = engine.held_listed(source.all_heads(), 0.2)
    assert after == []  # a link with no handshake yet, and a tick: nothing to say
    assert engine.held_ids() == {doc_id}
    assert engine.held_listed({}, 0.3) == [] and engine.held_ids() == {doc_id}  # the first answer stands


def test_a_request_for_a_stored_document_waits_for_its_load() -> None:
    source = MemorySource()
    doc_id, doc = stored_doc(source, title="stored")
    engine = listed_engine(source)
    # A peer that speaks no summaries is announced every document: that asks for the load.
    assert of_type(open_acceptor(engine, 1, "cli"), LoadDocument) == [LoadDocument(doc_id)]
    asked = engine.receive(1, encode(Request("cli", "srv", doc_id, EMPTY)), 1.0)
    assert asked == []  # it waits for the load already asked for
    assert engine.needs_load(doc_id) and engine.open(doc_id) is None
    # A second frame about it while it loads waits behind the first; no second load.
    again = engine.receive(1, encode(Request("cli", "srv", doc_id, EMPTY)), 1.1)
    assert again == []
    answered = engine.document_loaded(doc_id, source.load(doc_id), 1.2)
    replies = sent(answered, 1)
    assert replies and all(isinstance(m, Sync) and m.document_id == doc_id for m in replies)
    assert engine.open(doc_id).get_heads() == doc.get_heads()  # type: ignore[union-attr]


def test_a_damaged_document_is_answered_unavailable() -> None:
    source = MemorySource()
    doc_id, _ = stored_doc(source, title="rotten")
    engine = listed_engine(source)
    open_acceptor(engine, 1, "cli", extension=True)  # a summary peer: nothing announced yet
    asked = engine.receive(1, encode(Request("cli", "srv", doc_id, EMPTY)), 1.0)
    assert of_type(asked, LoadDocument) == [LoadDocument(doc_id)] and sent(asked) == []
    answered = engine.document_loaded(doc_id, Damaged("checksum mismatch"), 1.1)
    assert sent(answered, 1) == [DocUnavailable("srv", "cli", doc_id)]
    assert doc_id not in engine.held_ids() and not engine.needs_load(doc_id)


def test_an_announcement_waits_for_the_load_of_what_it_announces() -> None:
    source = MemorySource()
    doc_id, _ = stored_doc(source, title="announced")
    engine = listed_engine(source)
    opened = open_acceptor(engine, 1, "cli")  # no summary extension: announced one by one
    assert of_type(opened, LoadDocument) == [LoadDocument(doc_id)]
    assert not [m for m in sent(opened, 1) if isinstance(m, Sync)]
    answered = engine.document_loaded(doc_id, source.load(doc_id), 0.5)
    assert [m.document_id for m in sent(answered, 1) if isinstance(m, Sync)] == [doc_id]


def test_only_a_document_the_runtime_reports_stored_is_let_go() -> None:
    engine, source = make_engine("srv")
    source.written = lambda doc_id, heads: None  # the runtime has not reported its writes
    doc_id, doc = stored_doc(MemorySource(), title="arriving")
    engine.held_ids()  # listed while the store is empty
    open_acceptor(engine, 1, "cli")
    state = am.SyncState()
    while (msg := doc.generate_sync_message(state)) is not None:
        out = engine.receive(1, encode(Sync("cli", "srv", doc_id, msg.encode())), 1.0)
        for reply in sent(out, 1):
            doc.receive_sync_message(state, am.Message.decode(reply.data))  # type: ignore[attr-defined]
    assert engine.holds(doc_id)
    assert not engine._docs.unload(doc_id)  # its changes are not known to be stored
    engine.stored(doc_id, doc.get_heads())
    assert engine._docs.unload(doc_id) and engine.needs_load(doc_id)


def test_engine_calls_never_read_storage_across_a_simulated_network() -> None:
    """Every source below fails if read while an engine call runs (SourcedEngine
    answers between calls); documents are loaded all the same."""
    net = SimNet(seed=7)
    a, b = net.add("a"), net.add("b")
    ids = [a.create() for _ in range(5)]
    net.connect("a", "b")
    net.settle()
    for node in (a, b):
        node.engine._docs.residency.max_loaded = 1  # let go of nearly everything
    for doc_id in ids:
        a.engine._docs.unload(doc_id)
    for link in net.live_links():
        net.kill(link)
    net.settle()
    assert b.edit(ids[0], "k", "v")
    net.settle()
    assert a.content(ids[0])["k"] == (am.ScalarType.Str, "v")  # type: ignore[index]
    assert a.source.loads > 0  # the loads happened, as answers to requests
