"""Document sync: requests, relays, doc-unavailable, pushes, persistence, ephemeral."""

from __future__ import annotations

import automerge.core as am
import cbor2

from podsync.ids import new_document_id
from podsync.sync import (
    DocumentChanged, DocumentUnavailable, EphemeralReceived, Persist, Send, SyncEngine,
)
from podsync.sync.limits import (
    MAX_DOCS_IN_FLIGHT, MAX_UNKNOWN_WANTS_PER_PEER, REQUEST_TIMEOUT, SEND_BACKLOG_LIMIT_BYTES,
    SEND_BACKLOG_PAUSE_BYTES,
)
from podsync.sync.messages import DocUnavailable, Ephemeral, Request, Sync, encode
from podsync.sync import AllowAll
from tests.sync.helpers import closes, make_engine, of_type, open_acceptor, sent, stored_doc
from tests.sync.simnet import SimNet, SourcedEngine

EMPTY_REQUEST = am.Document().generate_sync_message(am.SyncState()).encode()


class NoAnnounce(AllowAll):
    def may_announce(self, peer_id: str, doc_id: str) -> bool:
        return False

    def may_read(self, peer_id: str, doc_id: str) -> bool:
        return True


def test_unknown_document_with_nobody_to_ask_is_unavailable_at_once() -> None:
    engine, source = make_engine("srv")
    open_acceptor(engine, 1, "cli")
    doc_id = new_document_id()
    effects = engine.receive(1, encode(Request("cli", "srv", doc_id, EMPTY_REQUEST)), 0.0)
    assert sent(effects) == [DocUnavailable("srv", "cli", doc_id)]
    assert not of_type(effects, Persist)
    assert doc_id not in source.chunks


def test_relay_forwards_then_answers_unavailable() -> None:
    net = SimNet(1)
    a, b, c = net.add("A"), net.add("B"), net.add("C")
    net.connect("A", "B")
    net.connect("B", "C")
    net.settle()
    doc_id = new_document_id()
    mark = net.mark()
    a.apply(a.engine.find(doc_id, net.now))
    net.settle()
    frames = net.frames_since(mark)
    assert any(n == "B" and isinstance(m, Request) and m.target_id == "C" and m.document_id == doc_id
               for n, _, m in frames)
    assert any(n == "C" and m == DocUnavailable("C", "B", doc_id) for n, _, m in frames)
    assert any(n == "B" and m == DocUnavailable("B", "A", doc_id) for n, _, m in frames)
    assert a.of_type(DocumentUnavailable) == [DocumentUnavailable(doc_id)]
    assert all(doc_id not in n.source.chunks for n in (a, b, c))


def test_relay_fetches_from_a_peer_that_does_not_announce() -> None:
    net = SimNet(2)
    a, b = net.add("A"), net.add("B")
    c = net.add("C", NoAnnounce())
    doc_id = c.create()
    net.connect("A", "B")
    net.connect("B", "C")
    net.settle()
    assert a.content(doc_id) is None and b.content(doc_id) is None
    a.apply(a.engine.find(doc_id, net.now))
    net.settle()
    assert a.content(doc_id) == c.content(doc_id) == b.content(doc_id)
    found = [e for e in a.of_type(DocumentChanged) if e.doc_id == doc_id]
    assert found and found[0].origin == "remote" and found[0].peer_id == "B"
    assert not a.of_type(DocumentUnavailable)
    # and it stays live: an edit at C reaches A
    c.edit(doc_id, "later", "yes")
    net.settle()
    assert a.content(doc_id)["later"] == (am.ScalarType.Str, "yes")  # type: ignore[index]


def test_relay_answers_unavailable_when_the_asked_peer_stays_silent() -> None:
    engine, _ = make_engine("srv")
    open_acceptor(engine, 1, "cli")
    open_acceptor(engine, 2, "mute")
    doc_id = new_document_id()
    effects = engine.receive(1, encode(Request("cli", "srv", doc_id, EMPTY_REQUEST)), 0.0)
    assert [(type(m), m.target_id) for m in sent(effects)] == [(Request, "mute")]
    assert sent(engine.tick(REQUEST_TIMEOUT - 0.5)) == []
    assert sent(engine.tick(REQUEST_TIMEOUT)) == [DocUnavailable("srv", "cli", doc_id)]


def test_relay_answers_when_the_asked_peer_leaves() -> None:
    engine, _ = make_engine("srv")
    open_acceptor(engine, 1, "cli")
    open_acceptor(engine, 2, "gone")
    doc_id = new_document_id()
    engine.receive(1, encode(Request("cli", "srv", doc_id, EMPTY_REQUEST)), 0.0)
    assert DocUnavailable("srv", "cli", doc_id) in sent(engine.disconnect(2, 1.0))


def test_unavailable_document_arrives_later() -> None:
    net = SimNet(3)
    a = net.add("A")
    c = net.add("C", NoAnnounce())
    doc_id = c.create()
    a.apply(a.engine.find(doc_id, net.now))
    assert a.of_type(DocumentUnavailable) == [DocumentUnavailable(doc_id)]
    net.connect("A", "C")
    net.settle()
    assert a.content(doc_id) == c.content(doc_id)
    assert any(e.doc_id == doc_id for e in a.of_type(DocumentChanged))


def test_find_of_a_held_document_answers_at_once() -> None:
    engine, source = make_engine("me")
    doc_id, doc = stored_doc(source, title="x")
    (changed,) = engine.find(doc_id, 0.0)
    assert changed == DocumentChanged(doc_id, sorted(doc.get_heads()), "local", None)


def test_remote_changes_are_persisted_and_pushed_on_at_once() -> None:
    net = SimNet(4)
    a, b, c = net.add("A"), net.add("B"), net.add("C")
    doc_id = a.create()
    net.connect("A", "B")
    net.connect("B", "C")
    net.settle()
    a.edit(doc_id, "k", "v")
    net.settle()
    (batch,) = [batch for batch in b.batches if of_type(batch, Persist)][-1:]
    persist, changed = of_type(batch, Persist)[0], of_type(batch, DocumentChanged)[0]
    assert persist.doc_id == doc_id
    assert changed == DocumentChanged(doc_id, persist.heads, "remote", "A")
    # in the same call, B pushed the change on to C
    to_c = [b.links[e.conn].acceptor.name for e in batch if isinstance(e, Send)]
    assert "C" in to_c
    for node in (a, b, c):
        stored = node.source.load(doc_id)
        assert stored is not None and sorted(stored.get_heads()) == node.heads(doc_id) == a.heads(doc_id)


def test_local_change_reports_and_pushes_to_every_peer() -> None:
    net = SimNet(5)
    a, b, c = net.add("A"), net.add("B"), net.add("C")
    doc_id = a.create()
    net.connect("A", "B")
    net.connect("A", "C")
    net.settle()
    before = len(a.events)
    a.edit(doc_id, "k", "v")
    effects = a.events[before:]
    (changed,) = of_type(effects, DocumentChanged)
    assert changed.origin == "local" and changed.peer_id is None
    targets = {m.target_id for _, m in a.sent[-2:] if isinstance(m, Sync)}
    assert targets == {"B", "C"}
    assert not of_type(effects, Persist)  # the repo stores its own changes


def test_doc_peer_states_track_advertised_heads() -> None:
    net = SimNet(6)
    a, b = net.add("A"), net.add("B")
    doc_id = a.create()
    net.connect("A", "B")
    net.settle()
    assert a.engine.doc_peer_states(doc_id) == {"B": True}
    assert b.engine.doc_peer_states(doc_id) == {"A": True}
    net.partition(["A"])
    net.run(1.0)
    a.edit(doc_id, "k", "v")
    assert a.engine.doc_peer_states(doc_id) == {}
    net.heal()
    net.settle()
    assert a.engine.doc_peer_states(doc_id) == {"B": True}


def test_ephemeral_relay_names_the_link_it_came_over_and_dedupes() -> None:
    """Identity comes from the link: C hears A's broadcast as coming from B, the
    peer it is linked to, whatever senderId the frame carried."""
    net = SimNet(7)
    a, b, c = net.add("A"), net.add("B"), net.add("C")
    doc_id = a.create()
    net.connect("A", "B")
    net.connect("B", "C")
    net.settle()
    payload = cbor2.dumps({"cursor": 3})
    a.apply(a.engine.broadcast(doc_id, payload, net.now))
    a.apply(a.engine.broadcast(doc_id, payload, net.now))
    net.settle()
    assert [(e.sender_id, e.data) for e in c.of_type(EphemeralReceived)] == [("B", payload)] * 2
    assert [(e.sender_id, e.data) for e in b.of_type(EphemeralReceived)] == [("A", payload)] * 2
    relayed = [m for _, m in b.sent if isinstance(m, Ephemeral)]
    assert [(m.sender_id, m.target_id, m.count) for m in relayed] == [("A", "C", 1), ("A", "C", 2)]
    assert not a.of_type(EphemeralReceived)  # never echoed back to the sender
    # a replayed message (same session, same count) is dropped
    conn = next(conn for conn, link in c.links.items() if link.alive)
    replay = encode(relayed[0])
    assert not of_type(c.engine.receive(conn, replay, net.now), EphemeralReceived)


def test_ephemeral_sender_and_count_cannot_speak_for_or_silence_another() -> None:
    engine, source = make_engine("srv")
    doc_id, _ = stored_doc(source, n="1")
    open_acceptor(engine, 1, "mallory")
    open_acceptor(engine, 2, "alice")
    for conn in (1, 2):  # both sync the document, so ephemeral messages reach them
        engine.receive(conn, encode(Request(engine._links[conn].peer_id, "srv", doc_id, EMPTY_REQUEST)), 0.0)
    # Mallory claims to be Alice, with the largest count a JS number holds.
    forged = engine.receive(1, encode(Ephemeral("alice", "srv", doc_id, 2**53, "alices-session", b"\x01")), 0.0)
    assert [e.sender_id for e in of_type(forged, EphemeralReceived)] == ["mallory"]
    assert [(m.sender_id, m.target_id) for m in sent(forged) if isinstance(m, Ephemeral)] == [("mallory", "alice")]
    # Alice's own session, count 1, still gets through.
    real = engine.receive(2, encode(Ephemeral("alice", "srv", doc_id, 1, "alices-session", b"\x02")), 0.0)
    assert [(e.sender_id, e.data) for e in of_type(real, EphemeralReceived)] == [("alice", b"\x02")]


def test_ephemeral_copy_an_app_relays_back_reaches_nobody() -> None:
    """automerge-repo passes every ephemeral message it receives on to its other
    peers unchanged: Bob's app hands the node back the message it relayed from
    Alice. That copy must not go to Alice (her own message, now from "bob") nor be
    reported as Bob's; Bob's own messages, and relays of messages the node has not
    seen, still count."""
    engine, source = make_engine("srv")
    doc_id, _ = stored_doc(source, n="1")
    open_acceptor(engine, 1, "alice")
    open_acceptor(engine, 2, "bob")
    for conn in (1, 2):
        engine.receive(conn, encode(Request(engine._links[conn].peer_id, "srv", doc_id, EMPTY_REQUEST)), 0.0)
    original = engine.receive(1, encode(Ephemeral("alice", "srv", doc_id, 1, "alices-session", b"\x01")), 0.0)
    relayed = [m for m in sent(original, 2) if isinstance(m, Ephemeral)]
    assert [(m.sender_id, m.count, m.session_id) for m in relayed] == [("alice", 1, "alices-session")]
    echo = engine.receive(2, encode(Ephemeral("alice", "srv", doc_id, 1, "alices-session", b"\x01")), 0.0)
    assert not of_type(echo, EphemeralReceived) and not sent(echo)
    own = engine.receive(2, encode(Ephemeral("bob", "srv", doc_id, 1, "bobs-session", b"\x02")), 0.0)
    assert [(e.sender_id, e.data) for e in of_type(own, EphemeralReceived)] == [("bob", b"\x02")]
    unseen = engine.receive(2, encode(Ephemeral("alice", "srv", doc_id, 2, "alices-session", b"\x03")), 0.0)
    assert [(e.sender_id, e.data) for e in of_type(unseen, EphemeralReceived)] == [("bob", b"\x03")]


def test_announcements_are_limited_in_flight() -> None:
    engine, source = make_engine("srv", extension=False)
    for i in range(MAX_DOCS_IN_FLIGHT + 10):
        stored_doc(source, n=str(i))
    effects = open_acceptor(engine, 1, "cli")
    syncs = [m for m in sent(effects) if isinstance(m, Sync)]
    assert len(syncs) == MAX_DOCS_IN_FLIGHT
    # one settles (the peer declines it): exactly one more starts
    more = engine.receive(1, encode(DocUnavailable("cli", "srv", syncs[0].document_id)), 1.0)
    assert len([m for m in sent(more) if isinstance(m, Sync)]) == 1
    # a declined document is not pushed again, even after a local change
    doc = engine.open(syncs[0].document_id)
    assert doc is not None
    with doc.transaction() as tx:
        tx.put(am.ROOT, "again", am.ScalarType.Str, "x")
    assert sent(engine.local_change(syncs[0].document_id, 2.0)) == []


def test_backlog_pauses_announcements_and_closes_a_stuck_peer() -> None:
    engine, source = make_engine("srv", extension=False)
    for i in range(MAX_DOCS_IN_FLIGHT + 2):
        stored_doc(source, n=str(i))
    syncs = [m for m in sent(open_acceptor(engine, 1, "cli")) if isinstance(m, Sync)]
    assert engine.send_backlog(1, SEND_BACKLOG_PAUSE_BYTES + 1, 1.0) == []
    # a slot frees but the link is backed up: nothing new starts
    assert sent(engine.receive(1, encode(DocUnavailable("cli", "srv", syncs[0].document_id)), 1.0)) == []
    # once it drains, the queue moves again
    assert len(sent(engine.send_backlog(1, 0, 2.0))) == 1
    (close,) = closes(engine.send_backlog(1, SEND_BACKLOG_LIMIT_BYTES + 1, 3.0))
    assert close.conn == 1 and "slow" in close.reason
    assert engine.peers() == []


def test_plain_peer_that_requests_is_kept_live() -> None:
    """A JS-style peer that is never announced to, but asks by id, gets live edits."""
    net = SimNet(8)
    srv = net.add("srv", NoAnnounce())
    cli = net.add("cli", extension=False)
    doc_id = srv.create()
    net.connect("cli", "srv")
    net.settle()
    assert cli.content(doc_id) is None
    cli.apply(cli.engine.find(doc_id, net.now))
    net.settle()
    assert cli.content(doc_id) == srv.content(doc_id)
    srv.edit(doc_id, "live", "1")
    net.settle()
    assert cli.heads(doc_id) == srv.heads(doc_id)
    cli.edit(doc_id, "back", "2")
    net.settle()
    assert cli.heads(doc_id) == srv.heads(doc_id)


def test_sync_with_created_engine_document_object_is_the_live_one() -> None:
    engine = SourcedEngine("me", make_engine("x")[1])
    doc = am.Document()
    with doc.transaction() as tx:
        tx.put(am.ROOT, "a", am.ScalarType.Str, "b")
    doc_id = new_document_id()
    (changed,) = engine.create(doc_id, doc, 0.0)
    assert changed == DocumentChanged(doc_id, sorted(doc.get_heads()), "local", None)
    assert engine.open(doc_id) is doc


def test_requests_for_unknown_documents_are_bounded_per_peer() -> None:
    engine, _ = make_engine("srv")
    open_acceptor(engine, 1, "cli")
    answers = 0
    for _ in range(MAX_UNKNOWN_WANTS_PER_PEER + 50):
        effects = engine.receive(1, encode(Request("cli", "srv", new_document_id(), EMPTY_REQUEST)), 0.0)
        answers += sum(isinstance(m, DocUnavailable) for m in sent(effects))
    assert answers == MAX_UNKNOWN_WANTS_PER_PEER + 50
    assert len(engine._docs.docs) == MAX_UNKNOWN_WANTS_PER_PEER  # the rest kept nothing
    engine.disconnect(1, 1.0)
    assert engine._docs.docs == {}  # and a departing peer's wants are forgotten


def test_request_rounds_in_a_ring_end_without_waiting_for_the_timeout() -> None:
    net = SimNet(9)
    names = ["A", "B", "C", "D", "E"]
    for name in names:
        net.add(name)
    for left, right in zip(names, names[1:] + names[:1]):
        net.connect(left, right)
    net.settle()
    a = net.nodes["A"]
    doc_id = new_document_id()
    started = net.now
    a.apply(a.engine.find(doc_id, net.now))
    while not a.of_type(DocumentUnavailable):
        net.step()
    assert net.now - started < REQUEST_TIMEOUT / 2  # simulated seconds
    net.settle()
    assert all(doc_id not in node.source.chunks for node in net.nodes.values())
