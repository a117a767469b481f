"""Small tools for driving engines by hand."""

from __future__ import annotations

from typing import Any

import automerge.core as am
import cbor2

from podsync.ids import new_document_id
from podsync.sync import Close, Effect, Send, SyncEngine
from podsync.sync.messages import Join, Message, Peer, PeerMetadata, decode, encode
from tests.sync.simnet import MemorySource, SourcedEngine


def make_engine(name: str, **kwargs: Any) -> tuple[SyncEngine, MemorySource]:
    source = MemorySource()
    return SourcedEngine(name, source, **kwargs), source


def sent(effects: list[Effect], conn: int | None = None) -> list[Message]:
    return [decode(e.data) for e in effects if isinstance(e, Send) and (conn is None or e.conn == conn)]


def closes(effects: list[Effect]) -> list[Close]:
    return [e for e in effects if isinstance(e, Close)]


def of_type(effects: list[Effect], kind: type) -> list[Any]:
    return [e for e in effects if isinstance(e, kind)]


def open_acceptor(engine: SyncEngine, conn: int, peer_id: str, *, extension: bool = False,
                  now: float = 0.0, features: tuple[str, ...] = ("summary", "doc")) -> list[Effect]:
    """Open ``conn`` on ``engine`` as if a peer called ``peer_id`` dialed it (offering
    the extension's ``features`` with ``extension``)."""
    meta = PeerMetadata(None, True, 1 if extension else None, features if extension else ())
    engine.connect(conn, "acceptor", now)
    return engine.receive(conn, encode(Join(peer_id, ("1",), meta)), now)


def open_dialer(engine: SyncEngine, conn: int, peer_id: str, *, now: float = 0.0) -> list[Effect]:
    engine.connect(conn, "dialer", now)
    return engine.receive(conn, encode(Peer(peer_id, engine.peer_id, "1", PeerMetadata())), now)


def stored_doc(source: MemorySource, **values: str) -> tuple[str, am.Document]:
    doc_id = new_document_id()
    doc = am.Document()
    with doc.transaction() as tx:
        for key, value in values.items():
            tx.put(am.ROOT, key, am.ScalarType.Str, value)
    source.save(doc_id, doc)
    return doc_id, doc


def frame(**fields: Any) -> bytes:
    return cbor2.dumps(fields)
