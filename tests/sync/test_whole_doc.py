"""The whole-document extension: a peer that lacks a document gets it in one frame."""

from __future__ import annotations

import automerge.core as am

from podsync.ids import new_document_id
from podsync.sync import Persist
from podsync.sync.messages import DocUnavailable, WholeDoc, decode, encode
from podsync.sync import AllowAll
from tests.sync.helpers import closes, make_engine, of_type, open_acceptor, sent
from tests.sync.simnet import SimNet


class NoReads(AllowAll):
    def may_read(self, peer_id: str, doc_id: str) -> bool:
        return False

    def may_announce(self, peer_id: str, doc_id: str) -> bool:
        return False

    def may_offer(self, peer_id: str, doc_id: str) -> bool:
        return False



def test_a_document_the_peer_lacks_travels_whole_in_one_frame() -> None:
    net = SimNet(31)
    a, b = net.add("A"), net.add("B")
    doc_id = a.create()
    for i in range(300):
        a.edit(doc_id, "n", str(i))
    mark = net.mark()
    net.connect("B", "A")
    net.settle()
    frames = [(who, m) for who, _, m in net.frames_since(mark)
              if getattr(m, "document_id", None) == doc_id]
    assert [type(m).__name__ for _, m in frames] == ["WholeDoc"]
    assert b.heads(doc_id) == a.heads(doc_id) and b.content(doc_id) == a.content(doc_id)
    # It arrived as one saved document and was stored as those very bytes.
    [persist] = [e for e in b.of_type(Persist) if e.doc_id == doc_id]
    assert persist.changes == [frames[0][1].data]
    assert sorted(am.Document.load(persist.changes[0]).get_heads()) == a.heads(doc_id)
    # Both sides now count it as in step: a later edit is pushed and arrives.
    a.edit(doc_id, "after", "yes")
    net.settle()
    assert b.content(doc_id) == a.content(doc_id)


def test_each_side_receives_what_only_the_other_held() -> None:
    net = SimNet(32)
    a, b = net.add("A"), net.add("B")
    only_a, only_b = a.create(), b.create()
    mark = net.mark()
    net.connect("A", "B")
    net.settle()
    kinds = [type(m).__name__ for _, _, m in net.frames_since(mark)]
    assert kinds.count("WholeDoc") == 2 and "Sync" not in kinds
    assert a.heads(only_b) == b.heads(only_b) and b.heads(only_a) == a.heads(only_a)


def _whole(doc_id: str, data: bytes) -> bytes:
    return encode(WholeDoc("peer", "srv", doc_id, data))


def test_a_whole_document_for_a_document_the_peer_may_not_have_is_refused() -> None:
    engine, source = make_engine("srv", policy=NoReads())
    open_acceptor(engine, 1, "peer", extension=True)
    doc = am.Document()
    with doc.transaction() as tx:
        tx.put(am.ROOT, "secret", am.ScalarType.Str, "x")
    doc_id = new_document_id()
    effects = engine.receive(1, _whole(doc_id, doc.save()), 1.0)
    assert [type(m) for m in sent(effects, 1)] == [DocUnavailable]
    assert of_type(effects, Persist) == [] and engine.open(doc_id) is None


def test_a_whole_document_from_a_peer_that_did_not_negotiate_it_is_refused() -> None:
    engine, _ = make_engine("srv")
    open_acceptor(engine, 1, "peer", extension=False)
    doc = am.Document()
    with doc.transaction() as tx:
        tx.put(am.ROOT, "k", am.ScalarType.Str, "v")
    doc_id = new_document_id()
    effects = engine.receive(1, _whole(doc_id, doc.save()), 1.0)
    assert [type(m) for m in sent(effects, 1)] == [DocUnavailable]
    assert of_type(effects, Persist) == []


def test_bytes_that_are_not_a_document_close_only_that_link() -> None:
    engine, _ = make_engine("srv")
    open_acceptor(engine, 1, "peer", extension=True)
    open_acceptor(engine, 2, "other", extension=True)
    effects = engine.receive(1, _whole(new_document_id(), b"\x85\x6f\x4a\x83 not automerge"), 1.0)
    assert [c.conn for c in closes(effects)] == [1]
    assert [p.peer_id for p in engine.peers()] == ["other"]


def test_the_message_round_trips_through_the_codec() -> None:
    doc_id = new_document_id()
    msg = WholeDoc("a", "b", doc_id, b"\x01\x02")
    assert decode(encode(msg)) == msg
