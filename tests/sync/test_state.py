"""Each link's state for a document (PeerDoc): the requests between us and that
peer, as the frames it sends and we answer move them along."""

from __future__ import annotations

import automerge.core as am
import pytest

from podsync.ids import new_document_id
from podsync.sync import AllowAll, DocumentChanged, DocumentUnavailable, Effect, SyncEngine
from podsync.sync.messages import DocUnavailable, Request, Sync, encode
from podsync.sync.state import TRANSITIONS, IllegalTransition, PeerDoc, PeerState
from tests.sync.helpers import make_engine, of_type, open_acceptor, sent
from tests.sync.test_documents import EMPTY_REQUEST, NoAnnounce


def a_document() -> am.Document:
    doc = am.Document()
    with doc.transaction() as tx:
        tx.put(am.ROOT, "k", am.ScalarType.Str, "v")
    return doc


class Peer:
    """The far end of one link, holding ``doc`` and syncing it as automerge does."""

    def __init__(self, engine: SyncEngine, conn: int, peer_id: str, doc_id: str,
                 doc: am.Document) -> None:
        self.engine, self.conn, self.peer_id, self.doc_id, self.doc = engine, conn, peer_id, doc_id, doc
        self.sync_state = am.SyncState()

    def step(self, now: float, kind: type[Request] | type[Sync] = Sync) -> list[Effect] | None:
        """Send the engine our next message, if automerge has one, and take its answers."""
        msg = self.doc.generate_sync_message(self.sync_state)
        if msg is None:
            return None
        got = self.engine.receive(self.conn, encode(kind(self.peer_id, self.engine.peer_id, self.doc_id,
                                                         msg.encode())), now)
        self.take(got)
        return got

    def take(self, effects: list[Effect]) -> None:
        for answer in sent(effects, self.conn):
            if isinstance(answer, Sync) and answer.document_id == self.doc_id:
                self.doc.receive_sync_message(self.sync_state, am.Message.decode(answer.data))

    def serve(self, now: float) -> list[Effect]:
        """Sync until neither side has more to say; every effect of the exchange."""
        effects: list[Effect] = []
        while (got := self.step(now)) is not None:
            effects += got
        return effects


def serve(engine: SyncEngine, conn: int, peer_id: str, doc_id: str, doc: am.Document,
          now: float) -> list[Effect]:
    return Peer(engine, conn, peer_id, doc_id, doc).serve(now)


def state(engine: SyncEngine, doc_id: str, conn: int) -> PeerState | None:
    ds = engine._docs.docs.get(doc_id)
    pd = ds.peers.get(conn) if ds is not None else None
    return pd.state if pd is not None else None


# ---------------------------------------------------------------- the table

def test_every_named_transition_has_a_method_and_refuses_what_the_table_refuses() -> None:
    for name, (sources, to) in TRANSITIONS.items():
        for start in PeerState:
            pd = PeerDoc(state=start)
            if start in sources:
                getattr(pd, name)()
                assert pd.state is to
            else:
                with pytest.raises(IllegalTransition, match=name):
                    getattr(pd, name)()
                assert pd.state is start  # refused, not half done


def test_illegal_transitions_are_refused() -> None:
    with pytest.raises(IllegalTransition):
        PeerDoc().we_have_none()  # nobody asked
    wanted = PeerDoc(state=PeerState.WANTED)
    with pytest.raises(IllegalTransition):
        wanted.we_ask()  # we never ask a peer that is asking us
    with pytest.raises(IllegalTransition):
        wanted.they_have_none()  # it stays owed the document
    with pytest.raises(IllegalTransition):
        PeerDoc(state=PeerState.TOLD_UNAVAILABLE).we_have_none()  # answered once
    with pytest.raises(IllegalTransition):
        PeerDoc(state=PeerState.REQUESTED).we_ask()  # one request at a time
    with pytest.raises(IllegalTransition):
        PeerDoc().admitted()  # nothing was offered


# ---------------------------------------------------------------- paths through it

def test_ask_then_unavailable() -> None:
    engine, _ = make_engine("srv")
    open_acceptor(engine, 1, "p")
    open_acceptor(engine, 2, "q")
    doc_id = new_document_id()
    engine.find(doc_id, 0.0)
    assert state(engine, doc_id, 1) is state(engine, doc_id, 2) is PeerState.REQUESTED
    engine.receive(1, encode(DocUnavailable("p", "srv", doc_id)), 0.1)
    assert state(engine, doc_id, 1) is PeerState.UNAVAILABLE
    assert state(engine, doc_id, 2) is PeerState.REQUESTED
    effects = engine.receive(2, encode(DocUnavailable("q", "srv", doc_id)), 0.2)
    assert of_type(effects, DocumentUnavailable) == [DocumentUnavailable(doc_id)]
    # Asked only for the find, which is answered: neither link keeps a state for it
    # (the find still asks every new link until the document arrives).
    assert engine._docs.docs[doc_id].peers == {}


def test_ask_then_sync() -> None:
    engine, _ = make_engine("srv")
    open_acceptor(engine, 1, "p")
    doc_id = new_document_id()
    engine.find(doc_id, 0.0)
    assert state(engine, doc_id, 1) is PeerState.REQUESTED
    effects = serve(engine, 1, "p", doc_id, a_document(), 0.1)
    assert [e.origin for e in of_type(effects, DocumentChanged)] == ["remote"]
    assert state(engine, doc_id, 1) is PeerState.SYNCING
    assert engine._docs.docs[doc_id].request_deadline is None


def app_asks() -> tuple[SyncEngine, Peer, str]:
    """An engine with links to "app" (1), which asks it for a document it holds
    nothing of, and to "p" (2)."""
    engine, _ = make_engine("srv")
    open_acceptor(engine, 1, "app")
    open_acceptor(engine, 2, "p")
    doc_id = new_document_id()
    app = Peer(engine, 1, "app", doc_id, am.Document())
    app.step(0.0, Request)
    assert state(engine, doc_id, 1) is PeerState.WANTED
    assert state(engine, doc_id, 2) is PeerState.REQUESTED  # asked on its behalf
    return engine, app, doc_id


def test_wanted_then_we_get_it_then_syncing() -> None:
    engine, app, doc_id = app_asks()
    pushed = serve(engine, 2, "p", doc_id, a_document(), 0.1)
    assert state(engine, doc_id, 2) is PeerState.SYNCING
    assert state(engine, doc_id, 1) is PeerState.WANTED  # pushed, not yet answered
    app.take(pushed)
    app.serve(0.2)
    assert state(engine, doc_id, 1) is PeerState.SYNCING
    assert sorted(app.doc.get_heads()) == engine._docs.docs[doc_id].heads


def test_wanted_then_told_unavailable_then_it_arrives() -> None:
    engine, app, doc_id = app_asks()
    told = engine.receive(2, encode(DocUnavailable("p", "srv", doc_id)), 0.1)
    assert sent(told, 1) == [DocUnavailable("srv", "app", doc_id)]
    assert state(engine, doc_id, 1) is PeerState.TOLD_UNAVAILABLE
    assert state(engine, doc_id, 2) is None  # asked only on its behalf: forgotten
    assert sent(engine.receive(1, encode(DocUnavailable("app", "srv", doc_id)), 0.2)) == []
    assert state(engine, doc_id, 1) is PeerState.TOLD_UNAVAILABLE  # still owed it
    pushed = serve(engine, 2, "p", doc_id, a_document(), 0.3)  # p gets it later and offers it
    assert not [m for m in sent(pushed, 1) if isinstance(m, DocUnavailable)]  # answered once
    app.take(pushed)
    app.serve(0.4)
    assert state(engine, doc_id, 1) is PeerState.SYNCING
    assert sorted(app.doc.get_heads()) == engine._docs.docs[doc_id].heads


def test_a_want_answered_and_asked_again_is_wanted_again() -> None:
    engine, app, doc_id = app_asks()
    engine.receive(2, encode(DocUnavailable("p", "srv", doc_id)), 0.1)
    assert state(engine, doc_id, 1) is PeerState.TOLD_UNAVAILABLE
    engine.receive(1, encode(Request("app", "srv", doc_id, EMPTY_REQUEST)), 0.2)
    assert state(engine, doc_id, 1) is PeerState.WANTED


class Admitting(AllowAll):
    """Who reads a document is known only once it is kept (as a pod's records say)."""

    def __init__(self, *, admit: bool) -> None:
        self.kept: set[str] = set()
        self._admit = admit

    def may_read(self, peer_id: str, doc_id: str) -> bool:
        return doc_id in self.kept

    def admit(self, peer_id: str, doc_id: str, doc: am.Document) -> bool:
        if self._admit:
            self.kept.add(doc_id)
        return self._admit


def test_offered_then_admitted() -> None:
    engine, _ = make_engine("srv", policy=Admitting(admit=True))
    open_acceptor(engine, 1, "p")
    doc_id = new_document_id()
    p = Peer(engine, 1, "p", doc_id, a_document())
    p.step(0.0)  # automerge's first message: heads only
    assert state(engine, doc_id, 1) is PeerState.OFFERED
    p.serve(0.1)
    assert state(engine, doc_id, 1) is PeerState.SYNCING
    assert engine._docs.docs[doc_id].heads == sorted(p.doc.get_heads())


def test_offered_and_not_admitted_leaves_nothing() -> None:
    engine, source = make_engine("srv", policy=Admitting(admit=False))
    open_acceptor(engine, 1, "p")
    doc_id = new_document_id()
    effects = serve(engine, 1, "p", doc_id, a_document(), 0.0)
    assert DocUnavailable("srv", "p", doc_id) in sent(effects, 1)
    assert doc_id not in engine._docs.docs and doc_id not in source.chunks


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
