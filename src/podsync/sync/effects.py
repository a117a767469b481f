"""What the engine asks its runtime to do, and what it reports about peers.

Every engine call returns a list of these, in the order they must be carried out
(frames for one link must be sent in list order).
"""

from __future__ import annotations

from typing import Literal, Union

import msgspec

from podsync.sync.messages import Message, PeerMetadata, encode

ConnId = int
"""Opaque id of one link, chosen by the runtime."""


class Send(msgspec.Struct, frozen=True):
    """Write one binary WebSocket frame on ``conn``."""

    conn: ConnId
    data: bytes


class Close(msgspec.Struct, frozen=True):
    """Close ``conn``; ``reason`` is for the log. The engine has already forgotten the
    link (and reported PeerDisconnected if it was open): a later ``disconnect`` for
    it is a no-op."""

    conn: ConnId
    reason: str


class AwaitDrain(msgspec.Struct, frozen=True):
    """Call ``send_backlog`` for ``conn`` once the frames sent on it so far have
    been written out. The engine asks this after sending whole documents, whose
    in-flight slots it frees only then."""

    conn: ConnId


class PeerConnected(msgspec.Struct, frozen=True):
    conn: ConnId
    peer_id: str
    metadata: PeerMetadata


class PeerDisconnected(msgspec.Struct, frozen=True):
    conn: ConnId
    peer_id: str


class Persist(msgspec.Struct, frozen=True):
    """Changes that arrived from a peer; store them. ``heads`` are the document's
    heads once they are applied. Local changes are never reported here.

    ``changes`` are automerge chunks to append: change chunks, or one saved
    document when the whole document arrived at once (a cold sync). Loading the
    concatenation of a document's chunks restores it either way."""

    doc_id: str
    changes: list[bytes]
    heads: list[bytes]


class DocumentChanged(msgspec.Struct, frozen=True):
    doc_id: str
    heads: list[bytes]
    origin: Literal["local", "remote"]
    peer_id: str | None


class DocumentUnavailable(msgspec.Struct, frozen=True):
    """A ``find`` we started: no connected peer has the document."""

    doc_id: str


class EphemeralReceived(msgspec.Struct, frozen=True):
    doc_id: str
    sender_id: str
    data: bytes


class ListHeld(msgspec.Struct, frozen=True):
    """A storage request: the heads of every stored document. Answer with
    ``SyncEngine.held_listed``; until then the engine parks every call it gets."""


class LoadDocument(msgspec.Struct, frozen=True):
    """A storage request: load ``doc_id`` from the store. Answer with
    ``SyncEngine.document_loaded``; work that needs it waits until then."""

    doc_id: str


class Damaged(msgspec.Struct, frozen=True):
    """The answer to LoadDocument for a stored document that does not load: the
    engine treats it as not held (peers asking for it hear doc-unavailable)."""

    reason: str


#: What the engine asks of storage; the runtime answers each one (see engine.py).
StorageRequest = Union[ListHeld, LoadDocument]

Effect = Union[Send, Close, AwaitDrain, PeerConnected, PeerDisconnected, Persist, DocumentChanged,
               DocumentUnavailable, EphemeralReceived, ListHeld, LoadDocument]


class PeerInfo(msgspec.Struct, frozen=True):
    """One link whose handshake is complete (for status)."""

    conn: ConnId
    peer_id: str
    metadata: PeerMetadata
    role: Literal["dialer", "acceptor"]
    connected_at: float
    summary: bool  # both sides speak the podsync summary extension


class Outbox:
    """Collects the effects of one engine call, in order."""

    def __init__(self) -> None:
        self.effects: list[Effect] = []

    def send(self, conn: ConnId, msg: Message) -> None:
        self.effects.append(Send(conn, encode(msg)))

    def emit(self, effect: Effect) -> None:
        self.effects.append(effect)
