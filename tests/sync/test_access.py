"""Access: nothing of a document reaches, or comes from, a peer that may not read it."""

from __future__ import annotations

import automerge.core as am
import cbor2
import pytest

from podsync.ids import document_id_bytes
from podsync.sync import AllowAll, DocumentChanged, EphemeralReceived, Persist, Send
from podsync.sync.messages import DocUnavailable, Ephemeral, Request, Summary, Sync, encode
from tests.sync.helpers import make_engine, of_type, open_acceptor, sent, stored_doc
from tests.sync.simnet import SimNet, SimNode


class Deny(AllowAll):
    """Everyone reads, writes and is offered everything except the (peer, doc)
    pairs listed, which may not even offer the document."""

    def __init__(self, *pairs: tuple[str, str]) -> None:
        self.denied = set(pairs)

    def may_announce(self, peer_id: str, doc_id: str) -> bool:
        return self.may_read(peer_id, doc_id)

    def may_read(self, peer_id: str, doc_id: str) -> bool:
        return (peer_id, doc_id) not in self.denied

    def may_write(self, peer_id: str, doc_id: str) -> bool:
        return self.may_read(peer_id, doc_id)

    def may_offer(self, peer_id: str, doc_id: str) -> bool:
        return self.may_read(peer_id, doc_id)


def leaks(frame: bytes, doc_id: str, doc: am.Document) -> list[str]:
    """Everything of ``doc`` found in one raw frame."""
    found = []
    if doc_id.encode() in frame or document_id_bytes(doc_id) in frame:
        found.append("document id")
    for change in doc.get_changes([]):
        if change.hash in frame:
            found.append("a change hash")
        if change.bytes in frame or change.raw_bytes[-16:] in frame:
            found.append("change bytes")
    return found


def frames_to(node: SimNode, peer: str) -> list[bytes]:
    out = []
    for batch in node.batches:
        for e in batch:
            if isinstance(e, Send):
                link = node.links[e.conn]
                far = link.acceptor if link.dialer is node else link.dialer
                if far.name == peer:
                    out.append(e.data)
    return out


def test_refused_request_gets_doc_unavailable_and_no_bytes() -> None:
    policy = Deny()
    engine, source = make_engine("srv", policy=policy)
    doc_id, doc = stored_doc(source, secret="feedback for the steward")
    policy.denied.add(("cli", doc_id))
    effects = open_acceptor(engine, 1, "cli", extension=True)
    assert any(isinstance(m, Summary) for m in sent(effects))  # a summary went, without it
    request = am.Document().generate_sync_message(am.SyncState()).encode()
    effects += engine.receive(1, encode(Request("cli", "srv", doc_id, request)), 0.0)
    effects += engine.receive(1, encode(Sync("cli", "srv", doc_id, request)), 0.0)
    assert sent(effects).count(DocUnavailable("srv", "cli", doc_id)) == 2
    for e in effects:
        if isinstance(e, Send) and cbor2.loads(e.data)["type"] != "doc-unavailable":
            assert leaks(e.data, doc_id, doc) == []


def test_refused_peer_changes_nothing() -> None:
    policy = Deny()
    engine, source = make_engine("srv", policy=policy)
    doc_id, doc = stored_doc(source, title="ours")
    policy.denied.add(("cli", doc_id))
    open_acceptor(engine, 1, "cli")
    theirs = doc.fork()
    with theirs.transaction() as tx:
        tx.put(am.ROOT, "title", am.ScalarType.Str, "theirs")
    state = am.SyncState()
    effects = []
    for _ in range(3):  # their whole side of a sync, as far as they can go alone
        msg = theirs.generate_sync_message(state)
        if msg is None:
            break
        effects += engine.receive(1, encode(Sync("cli", "srv", doc_id, msg.encode())), 0.0)
    assert not of_type(effects, Persist) and not of_type(effects, DocumentChanged)
    live = engine.open(doc_id)
    assert live is not None and live.get_heads() == doc.get_heads()
    assert {type(m) for m in sent(effects)} == {DocUnavailable}


def test_refused_peer_cannot_plant_a_new_document() -> None:
    policy = Deny()
    engine, source = make_engine("srv", policy=policy)
    planted = am.Document()
    with planted.transaction() as tx:
        tx.put(am.ROOT, "x", am.ScalarType.Str, "y")
    doc_id = "2hdTpLRSTDm66LVBnsMCeyWrmzEU"
    policy.denied.add(("cli", doc_id))
    open_acceptor(engine, 1, "cli")
    msg = planted.generate_sync_message(am.SyncState()).encode()
    effects = engine.receive(1, encode(Sync("cli", "srv", doc_id, msg)), 0.0)
    assert sent(effects) == [DocUnavailable("srv", "cli", doc_id)]
    assert engine.open(doc_id) is None and doc_id not in source.chunks


@pytest.mark.parametrize("c_extension", [False, True])
def test_network_never_sends_a_refused_document(c_extension: bool) -> None:
    net = SimNet(11)
    policy = Deny()
    a, b = net.add("A", policy), net.add("B", policy)
    c_plain = net.add("C", extension=c_extension)
    d = net.add("D", policy)
    # Contents of their own: the leak check looks for the tails of the secret's
    # changes, which a document with the same contents would share.
    secret = a.create(lambda tx: tx.put(am.ROOT, "secret", am.ScalarType.Str, "for readers only"))
    shared = a.create()
    policy.denied.add(("C", secret))
    net.connect("A", "B")
    net.connect("B", "C")
    net.connect("C", "D")
    net.connect("A", "D")
    net.settle()
    a.edit(secret, "more", "private")
    a.apply(a.engine.broadcast(secret, cbor2.dumps("typing"), net.now))
    net.settle()
    c_plain.apply(c_plain.engine.find(secret, net.now))  # asking by id does not help
    net.settle()
    assert c_plain.content(secret) is None
    assert c_plain.content(shared) == a.content(shared)
    assert b.content(secret) == d.content(secret) == a.content(secret)
    doc = a.engine.open(secret)
    assert doc is not None
    for node in (a, b, d):
        for data in frames_to(node, "C"):
            msg = cbor2.loads(data)
            if msg.get("type") == "doc-unavailable":
                continue  # the answer to C's own request names the id C asked for
            assert leaks(data, secret, doc) == [], (node.name, msg.get("type"))
    assert not [e for e in c_plain.of_type(EphemeralReceived) if e.doc_id == secret]


def test_ephemeral_from_a_refused_peer_is_dropped() -> None:
    engine, source = make_engine("srv", policy=(policy := Deny()))
    doc_id, _ = stored_doc(source, t="x")
    policy.denied.add(("cli", doc_id))
    open_acceptor(engine, 1, "cli")
    effects = engine.receive(1, encode(Ephemeral("cli", "srv", doc_id, 1, "s", b"\x01")), 0.0)
    assert effects == []


def test_policy_change_stops_and_starts_sync() -> None:
    net = SimNet(12)
    policy = Deny()
    a, b = net.add("A", policy), net.add("B")
    doc_id = a.create()
    net.connect("A", "B")
    net.settle()
    assert b.content(doc_id) == a.content(doc_id)
    policy.denied.add(("B", doc_id))
    a.apply(a.engine.policy_changed(net.now))
    a.edit(doc_id, "after", "revoked")
    net.settle()
    assert "after" not in (b.content(doc_id) or {})
    assert a.engine.doc_peer_states(doc_id) == {}
    b.edit(doc_id, "from-b", "x")  # B's push is refused and changes nothing at A
    net.settle()
    assert "from-b" not in (a.content(doc_id) or {})
    policy.denied.clear()
    a.apply(a.engine.policy_changed(net.now))
    net.settle()
    assert a.heads(doc_id) == b.heads(doc_id)
    assert "after" in (b.content(doc_id) or {}) and "from-b" in (a.content(doc_id) or {})


class Gatekeeper(AllowAll):
    """Nobody reads a document this engine does not hold; offers are admitted
    only when ``admit_ok``; ``readonly`` peers may read but not write."""

    def __init__(self) -> None:
        self.admit_ok = False
        self.offers: list[tuple[str, str]] = []
        self.readonly: set[str] = set()
        self.held: set[str] = set()

    def may_read(self, peer_id: str, doc_id: str) -> bool:
        return doc_id in self.held

    def may_announce(self, peer_id: str, doc_id: str) -> bool:
        return False

    def may_write(self, peer_id: str, doc_id: str) -> bool:
        return peer_id not in self.readonly

    def admit(self, peer_id: str, doc_id: str, doc: am.Document) -> bool:
        self.offers.append((peer_id, doc_id))
        if self.admit_ok:
            self.held.add(doc_id)
        return self.admit_ok


def offer(engine, doc_id: str, doc: am.Document) -> list:
    """A peer pushes ``doc`` (which ``engine`` holds nothing of) through a whole sync."""
    state = am.SyncState()
    effects: list = []
    for _ in range(4):
        msg = doc.generate_sync_message(state)
        if msg is None:
            break
        got = engine.receive(1, encode(Sync("cli", "srv", doc_id, msg.encode())), 0.0)
        effects += got
        for m in sent(got):
            if isinstance(m, Sync):
                doc.receive_sync_message(state, am.Message.decode(m.data))
    return effects


def test_an_offered_document_that_is_not_admitted_leaves_nothing_behind() -> None:
    policy = Gatekeeper()
    engine, source = make_engine("srv", policy=policy)
    open_acceptor(engine, 1, "cli")
    doc_id, doc = "2hdTpLRSTDm66LVBnsMCeyWrmzEU", am.Document()
    with doc.transaction() as tx:
        tx.put(am.ROOT, "records", am.ScalarType.Str, "claims of its own")
    effects = offer(engine, doc_id, doc)
    assert policy.offers == [("cli", doc_id)]
    assert not of_type(effects, Persist) and not of_type(effects, DocumentChanged)
    assert DocUnavailable("srv", "cli", doc_id) in sent(effects)
    assert engine.open(doc_id) is None and not engine.holds(doc_id)


def test_an_offered_document_that_is_admitted_is_kept() -> None:
    policy = Gatekeeper()
    policy.admit_ok = True
    engine, source = make_engine("srv", policy=policy)
    open_acceptor(engine, 1, "cli")
    doc_id, doc = "2hdTpLRSTDm66LVBnsMCeyWrmzEU", am.Document()
    with doc.transaction() as tx:
        tx.put(am.ROOT, "x", am.ScalarType.Str, "y")
    effects = offer(engine, doc_id, doc)
    assert len(of_type(effects, Persist)) == 1 and of_type(effects, DocumentChanged)
    assert engine.open(doc_id).get_heads() == doc.get_heads()


def test_a_peer_that_may_not_write_reads_but_its_changes_are_refused() -> None:
    policy = Gatekeeper()
    engine, source = make_engine("srv", policy=policy)
    doc_id, doc = stored_doc(source, title="ours")
    policy.held.add(doc_id)
    policy.readonly.add("cli")
    open_acceptor(engine, 1, "cli")
    reader, state = am.Document(), am.SyncState()
    effects: list = []
    for _ in range(4):  # reading works
        msg = reader.generate_sync_message(state)
        if msg is None:
            break
        got = engine.receive(1, encode(Sync("cli", "srv", doc_id, msg.encode())), 0.0)
        effects += got
        for m in sent(got):
            if isinstance(m, Sync):
                reader.receive_sync_message(state, am.Message.decode(m.data))
    assert reader.get_heads() == doc.get_heads()
    with reader.transaction() as tx:
        tx.put(am.ROOT, "title", am.ScalarType.Str, "theirs")
    msg = reader.generate_sync_message(state)
    effects = engine.receive(1, encode(Sync("cli", "srv", doc_id, msg.encode())), 0.0)
    assert sent(effects) == [DocUnavailable("srv", "cli", doc_id)]
    assert not of_type(effects, Persist)
    assert engine.open(doc_id).get_heads() == doc.get_heads()
