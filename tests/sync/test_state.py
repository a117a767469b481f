"""Each link's state for a document (PeerDoc): the requests between us and that
peer, as the frames it sends and we answer move them along."""

from __future__ import annotations

import automerge.core as am

from podsync.ids import new_document_id
from podsync.sync import Effect, SyncEngine
from podsync.sync.messages import DocUnavailable, Request, Sync, encode
from tests.sync.helpers import make_engine, open_acceptor, sent
from tests.sync.test_documents import EMPTY_REQUEST, NoAnnounce


def a_document() -> am.Document:
    doc = am.Document()
    with doc.transaction() as tx:
        tx.put(am.ROOT, "k", am.ScalarType.Str, "v")
    return doc


def serve(engine: SyncEngine, conn: int, peer_id: str, doc_id: str, doc: am.Document,
          now: float) -> list[Effect]:
    """Play the peer on ``conn`` holding ``doc`` until the engine has nothing more to
    ask it; every effect of the exchange."""
    theirs = am.SyncState()
    effects: list[Effect] = []
    msg = doc.generate_sync_message(theirs)
    while msg is not None:
        got = engine.receive(conn, encode(Sync(peer_id, engine.peer_id, doc_id, msg.encode())), now)
        effects += got
        answers = [m for m in sent(got, conn) if isinstance(m, Sync)]
        for answer in answers:
            doc.receive_sync_message(theirs, am.Message.decode(answer.data))
        msg = doc.generate_sync_message(theirs) if answers else None
    return effects


def test_a_peer_that_said_it_has_none_and_then_asks_gets_the_document() -> None:
    """Asked while our own request round runs, the document reaches it when it
    arrives, though it answered that request doc-unavailable first and is not
    announced to (as a member's local app is not)."""
    engine, _ = make_engine("srv", policy=NoAnnounce())
    open_acceptor(engine, 1, "app")
    open_acceptor(engine, 2, "peer")
    doc_id = new_document_id()
    engine.find(doc_id, 0.0)
    assert sent(engine.receive(1, encode(DocUnavailable("app", "srv", doc_id)), 0.1)) == []
    assert sent(engine.receive(1, encode(Request("app", "srv", doc_id, EMPTY_REQUEST)), 0.2)) == []
    effects = serve(engine, 2, "peer", doc_id, a_document(), 0.3)
    assert [m for m in sent(effects, 1) if isinstance(m, Sync)]


def test_a_peer_that_asks_and_then_says_it_has_none_gets_the_document() -> None:
    engine, _ = make_engine("srv", policy=NoAnnounce())
    open_acceptor(engine, 1, "app")
    open_acceptor(engine, 2, "peer")
    doc_id = new_document_id()
    engine.receive(1, encode(Request("app", "srv", doc_id, EMPTY_REQUEST)), 0.0)
    assert sent(engine.receive(1, encode(DocUnavailable("app", "srv", doc_id)), 0.1)) == []
    effects = serve(engine, 2, "peer", doc_id, a_document(), 0.3)
    assert [m for m in sent(effects, 1) if isinstance(m, Sync)]
