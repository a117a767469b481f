"""SyncEngine: the sans-IO automerge-repo protocol v1 engine.

Events go in (a link opened, a frame arrived, a local change, a timer tick) and
a list of effects comes out (send this frame, close that link, persist these
changes, a document changed). The engine owns no socket, task or clock; the
runtime executes the effects in order and passes a monotonic ``now`` to every call.

Storage is asked for, never read (as samod's document actors do): the engine
emits ListHeld before its first piece of work and LoadDocument when a frame, an
announcement or the runtime needs a stored document that is not in memory; the
runtime answers with ``held_listed`` and ``document_loaded``, at once or later,
and reports its durable writes with ``stored``. Work that needs an answer waits
(calls before the listing; a document's frames and announcements while it loads,
see storage.py) and carries on when it comes. The engine keeps what it was told
(every stored document's heads), so summaries and announcements cost no query,
and a document whose load is answered Damaged is simply not held.

Links are isolated: anything a peer sends that breaks the protocol — a frame
over MAX_FRAME_BYTES, bad CBOR, a field of the wrong type, automerge bytes that
do not decode or apply, or that would inflate past MAX_INPUT_BYTES or
MAX_INPUT_ENTRIES (see cost.py) — closes that link (``Close``) and nothing else.
Whatever the engine had already applied stays applied and is reported, so its
state is consistent afterwards and every other link carries on.

Identity comes from the link: a link the transport authenticated
(``expected_peer_id``) is never replaced by one it did not, ephemeral messages
are attributed to and de-duplicated by the link's peer, and budgets
(MAX_UNKNOWN_WANTS_PER_PEER, PEER_NEW_DOCUMENTS_*) are kept per proven peer, so
reconnecting does not renew them.

Backpressure: the runtime may report each link's unsent bytes with
``send_backlog``. Above SEND_BACKLOG_PAUSE_BYTES the engine starts no new
announcements on that link and drops ephemeral messages for it; above
SEND_BACKLOG_LIMIT_BYTES it closes the link as too slow. Replies and live pushes
are never held back: they are bounded by what the peer itself sends and by local
edits, and a peer that cannot drain them is the one that gets closed.
"""

from __future__ import annotations

import functools
import logging
import secrets
from collections import OrderedDict
from collections.abc import Callable, Iterable, Mapping
from typing import Any, Literal, TypeVar

import automerge.core as am

from podsync.errors import InvalidId, ProtocolError
from podsync.ids import parse_document_id
from podsync.sync.documents import Documents
from podsync.sync.heads import parse_sync_heads
from podsync.sync.effects import (
    Close, ConnId, Damaged, Effect, EphemeralReceived, ListHeld, Outbox, PeerConnected,
    PeerDisconnected, PeerInfo,
)
from podsync.sync.cost import Cost
from podsync.sync.guards import Intake
from podsync.sync.intake import Measured, measure
from podsync.sync.limits import (
    HANDSHAKE_TIMEOUT, MAX_EPHEMERAL_SESSIONS, SEND_BACKLOG_LIMIT_BYTES, SEND_BACKLOG_PAUSE_BYTES,
)
from podsync.sync.messages import (
    EXT_RANGES, EXT_SUMMARY, EXT_WHOLE_DOC, EXTENSION_VERSION, PROTOCOL_VERSION, DocUnavailable,
    Ephemeral, ErrorMessage, Join, Message, Peer, PeerMetadata, Ranges, Request, Summary, Sync,
    WholeDoc,
)
from podsync.sync.policy import AllowAll, SharePolicy
from podsync.sync.state import UNAUTHENTICATED, Link, LinkState

log = logging.getLogger("podsync.sync")

_BASE36 = "0123456789abcdefghijklmnopqrstuvwxyz"

F = TypeVar("F", bound=Callable[..., list[Effect]])


def _after_listing(method: F) -> F:
    """Until the runtime has answered ListHeld, a call is parked (and the first
    one asks for the listing); ``held_listed`` runs the parked calls in order."""
    @functools.wraps(method)
    def call(self: SyncEngine, *args: Any, **kwargs: Any) -> list[Effect]:
        if self._docs.catalog is not None:
            return method(self, *args, **kwargs)
        self._parked.append(functools.partial(method, self, *args, **kwargs))
        return [ListHeld()] if len(self._parked) == 1 else []
    return call  # type: ignore[return-value]


class SyncEngine:
    def __init__(self, peer_id: str, policy: SharePolicy | None = None,
                 *, storage_id: str | None = None, extension: bool = True) -> None:
        self.peer_id = peer_id
        self.policy = policy if policy is not None else AllowAll()
        self.metadata = PeerMetadata(
            storage_id=storage_id,
            is_ephemeral=storage_id is None,
            extension_version=EXTENSION_VERSION if extension else None,
            extensions=(EXT_SUMMARY, EXT_WHOLE_DOC, EXT_RANGES) if extension else (),
        )
        self._links: dict[ConnId, Link] = {}
        self._docs = Documents(peer_id, self.policy, self._links)
        self._parked: list[Callable[[], list[Effect]]] = []  # calls waiting for ListHeld's answer
        # Like automerge-repo's: a random base-36 id per running instance.
        self.session_id = "".join(secrets.choice(_BASE36) for _ in range(12))
        self._ephemeral_count = 0
        self._seen: OrderedDict[tuple[str, str], int] = OrderedDict()
        self._intake = Intake(peer_id)

    # ------------------------------------------------------------ links

    @_after_listing
    def connect(self, conn: ConnId, role: Literal["dialer", "acceptor"], now: float, *,
                expected_peer_id: str | None = None,
                reserved: Callable[[str], bool] | None = None) -> list[Effect]:
        """A link opened. The dialer speaks first (join); the acceptor waits for it.

        The engine believes the ``senderId`` a peer gives, and the share policy is
        asked about that id. When the transport has authenticated the other end
        (TLS), pass its identity as ``expected_peer_id``: a handshake naming anyone
        else closes the link. For a link it did not authenticate, ``reserved``
        names the ids such a link may not take (the pod's devices): a handshake
        claiming one closes the link."""
        if conn in self._links:
            raise ValueError(f"link {conn} is already connected")
        out = Outbox()
        state = LinkState.AWAIT_PEER if role == "dialer" else LinkState.AWAIT_JOIN
        self._links[conn] = Link(conn, role, now, state, expected_peer_id=expected_peer_id,
                                 identity=expected_peer_id or UNAUTHENTICATED, reserved=reserved)
        if role == "dialer":
            out.send(conn, Join(self.peer_id, (PROTOCOL_VERSION,), self.metadata))
        return out.effects

    @_after_listing
    def receive(self, conn: ConnId, frame: bytes, now: float) -> list[Effect]:
        """One binary frame from ``conn``. Frames for a link the engine closed are ignored."""
        return self.receive_measured(conn, measure(bytes(frame)), now)

    @_after_listing
    def receive_measured(self, conn: ConnId, frame: Measured, now: float) -> list[Effect]:
        """One frame from ``conn``, already decoded and weighed by :func:`intake.measure`
        (which a runtime may run off its event loop)."""
        out = Outbox()
        link = self._links.get(conn)
        if link is None:
            log.debug("frame for unknown or closed link %s ignored", conn)
            return out.effects
        self._handle(out, link, frame, now)
        return out.effects

    def _handle(self, out: Outbox, link: Link, frame: Measured, now: float) -> None:
        """Handle one frame of ``link``; whatever goes wrong closes that link only."""
        try:
            if frame.error is not None:
                raise frame.error
            assert frame.message is not None
            self._dispatch(out, link, frame.message, frame.cost, now)
        except ProtocolError as err:
            self._close(out, link, f"protocol error: {err}")
        except (KeyboardInterrupt, SystemExit):
            raise
        except BaseException as err:  # a PyO3 panic is a BaseException; it ends this link only
            log.exception("peer %s: internal error on link %s", link.peer_id or "?", link.conn)
            self._close(out, link, f"internal error: {type(err).__name__}: {err}")

    @_after_listing
    def disconnect(self, conn: ConnId, now: float) -> list[Effect]:
        out = Outbox()
        link = self._links.get(conn)
        if link is not None:
            self._forget(out, link)
        return out.effects

    @_after_listing
    def send_backlog(self, conn: ConnId, queued_bytes: int, now: float) -> list[Effect]:
        """The runtime's count of bytes written to ``conn`` and not yet drained."""
        out = Outbox()
        link = self._links.get(conn)
        if link is None:
            return out.effects
        link.backlog = queued_bytes
        link.drain_awaited = False
        # Whole documents sent before this report have left the queue (or are
        # counted in it): their in-flight slots are free.
        for doc_id in link.whole_sent:
            link.in_flight.pop(doc_id, None)
        link.whole_sent.clear()
        if queued_bytes > SEND_BACKLOG_LIMIT_BYTES:
            self._close(out, link, f"peer too slow: {queued_bytes} bytes unsent "
                                   f"(limit {SEND_BACKLOG_LIMIT_BYTES})")
        elif queued_bytes <= SEND_BACKLOG_PAUSE_BYTES and link.open:
            self._docs.drain(out, link, now)
        return out.effects

    def _close(self, out: Outbox, link: Link, reason: str, *, level: int = logging.WARNING) -> None:
        if self._links.get(link.conn) is not link:
            return
        log.log(level, "closing link %s (peer %s): %s", link.conn, link.peer_id or "?", reason)
        out.emit(Close(link.conn, reason))
        self._forget(out, link)

    def _forget(self, out: Outbox, link: Link) -> None:
        del self._links[link.conn]
        self._docs.drop_link(out, link)
        if link.open:
            log.info("peer %s disconnected (link %s)", link.peer_id, link.conn)
            out.emit(PeerDisconnected(link.conn, link.peer_id))

    # ------------------------------------------------------------ handshake

    def _dispatch(self, out: Outbox, link: Link, msg: Message, cost: Cost, now: float) -> None:
        if link.state is LinkState.AWAIT_JOIN:
            if not isinstance(msg, Join):
                raise ProtocolError(f"expected join, got {type(msg).__name__}")
            self._on_join(out, link, msg, now)
        elif link.state is LinkState.AWAIT_PEER:
            if isinstance(msg, ErrorMessage):
                self._close(out, link, f"peer refused the handshake: {msg.message}")
            elif not isinstance(msg, Peer):
                raise ProtocolError(f"expected peer, got {type(msg).__name__}")
            elif msg.selected_version != PROTOCOL_VERSION:
                raise ProtocolError(f"peer selected protocol version {msg.selected_version!r}")
            else:
                self._open(out, link, msg.sender_id, msg.metadata, now)
        elif isinstance(msg, (Request, Sync, WholeDoc, DocUnavailable)) and self._wait_for_load(
                out, link, msg, cost):
            pass
        elif isinstance(msg, (Request, Sync)):
            self._take_in(out, link, msg, bool(parse_sync_heads(msg.data)), cost, now)
        elif isinstance(msg, DocUnavailable):
            self._docs.on_unavailable(out, link, msg, now)
        elif isinstance(msg, Ephemeral):
            self._on_ephemeral(out, link, msg)
        elif isinstance(msg, Summary):
            self._docs.on_summary(out, link, msg, now)
        elif isinstance(msg, WholeDoc):
            self._take_in(out, link, msg, True, cost, now)
        elif isinstance(msg, Ranges):
            self._docs.on_ranges(out, link, msg, now)
        elif isinstance(msg, ErrorMessage):
            self._close(out, link, f"peer reported an error: {msg.message}")
        elif isinstance(msg, (Join, Peer)) and msg.sender_id != link.peer_id:
            raise ProtocolError(f"second handshake as {msg.sender_id!r} on a link of {link.peer_id!r}")
        else:
            # leave, remote-heads-changed, remote-subscription-change (gossip is off,
            # as in automerge-repo by default), a repeated handshake, unknown types.
            log.debug("peer %s: %s ignored", link.peer_id, type(msg).__name__)

    def _wait_for_load(self, out: Outbox, link: Link,
                       msg: Request | Sync | WholeDoc | DocUnavailable, cost: Cost) -> bool:
        """Park a frame about a stored document not in memory (asking the runtime
        to load it), and any about one being loaded, behind those before it."""
        doc_id = msg.document_id
        if doc_id in self._docs.loading or (
                not isinstance(msg, DocUnavailable) and self._docs.needs_load(doc_id)):
            self._docs.request_load(out, doc_id).frames.append((link, msg, cost))
            return True
        return False

    def _on_join(self, out: Outbox, link: Link, msg: Join, now: float) -> None:
        versions = msg.supported_versions
        if versions is not None and PROTOCOL_VERSION not in versions:
            out.send(link.conn, ErrorMessage(
                self.peer_id, msg.sender_id,
                f"unsupported protocol versions {list(versions)}; this peer speaks {PROTOCOL_VERSION!r}"))
            self._close(out, link, f"no common protocol version in {list(versions)}")
            return
        self._open(out, link, msg.sender_id, msg.metadata, now, answer=True)

    def _open(self, out: Outbox, link: Link, peer_id: str, metadata: PeerMetadata | None,
              now: float, *, answer: bool = False) -> bool:
        if not peer_id:
            raise ProtocolError("empty senderId")
        if peer_id == self.peer_id:
            self._close(out, link, "connected to itself")
            return False
        if link.expected_peer_id is not None and peer_id != link.expected_peer_id:
            self._close(out, link, f"peer calls itself {peer_id!r} but is {link.expected_peer_id!r}")
            return False
        if link.expected_peer_id is None and link.reserved is not None and link.reserved(peer_id):
            self._close(out, link, f"an unauthenticated link may not call itself {peer_id!r}, "
                                   "a device of the pod")
            return False
        for other in list(self._links.values()):
            if other is link or not other.open or other.peer_id != peer_id:
                continue
            if other.expected_peer_id is not None and link.expected_peer_id is None:
                self._close(out, link, "an authenticated link to this peer exists")
                return False
            if self._keeps_new(link, other, peer_id):
                self._close(out, other, "replaced by a newer link to the same peer", level=logging.INFO)
            else:
                self._close(out, link, "a link to this peer already exists", level=logging.INFO)
                return False
        link.state = LinkState.OPEN
        link.peer_id = peer_id
        link.metadata = metadata or PeerMetadata()
        link.connected_at = now
        link.summary = (self.metadata.extension_version is not None
                        and link.metadata.extension_version is not None
                        and EXT_SUMMARY in link.metadata.extensions)
        link.whole_doc = link.summary and EXT_WHOLE_DOC in link.metadata.extensions
        link.ranges = (link.summary and EXT_RANGES in self.metadata.extensions
                       and EXT_RANGES in link.metadata.extensions)
        if answer:
            out.send(link.conn, Peer(self.peer_id, peer_id, PROTOCOL_VERSION, self.metadata))
        log.info("peer %s connected (link %s, %s%s)", peer_id, link.conn, link.role,
                 ", summary" if link.summary else "")
        out.emit(PeerConnected(link.conn, peer_id, link.metadata))
        self._docs.link_opened(out, link, now)
        return True

    def _keeps_new(self, new: Link, old: Link, peer_id: str) -> bool:
        """Two links to one peer: which survives. A peer that joins again on a new
        link replaced its old one (automerge-repo does the same), and so does a
        second dial of ours. When both nodes dialed each other at once, both keep
        the link dialed by the smaller peer id, so they agree without talking."""
        if new.role == old.role:
            return True
        dialer_of_new = self.peer_id if new.role == "dialer" else peer_id
        return dialer_of_new == min(self.peer_id, peer_id)

    # ------------------------------------------------------------ ephemeral

    def _on_ephemeral(self, out: Outbox, link: Link, msg: Ephemeral) -> None:
        """Deliver and pass on an ephemeral message as coming from the link's
        peer, whatever ``senderId`` it carries: a peer can neither speak for
        another nor, with a huge count, silence another's session.

        Messages from an authenticated link (another node) go on to
        unauthenticated ones (local apps) only: nodes are linked to each other
        directly, so relaying between them would only deliver duplicates."""
        if msg.sender_id == self.peer_id or msg.session_id == self.session_id:
            return  # our own broadcast, come back around a loop
        try:
            parse_document_id(msg.document_id)
        except InvalidId:
            return
        if not self.policy.may_read(link.peer_id, msg.document_id):
            log.info("peer %s: ephemeral for document %s refused", link.peer_id, msg.document_id)
            return
        key = (link.peer_id, msg.session_id)
        last = self._seen.get(key)
        if last is not None and msg.count <= last:
            return
        if msg.sender_id != link.peer_id:
            # A relay: automerge-repo passes every ephemeral message it receives on
            # to its other peers, senderId, session and count unchanged, so an app
            # hands back what this node just relayed to it (under the name of the
            # link it came over). One that link already brought is a copy, which
            # would otherwise reach its sender again as the relaying app's message.
            # Only the link of ``sender_id`` itself records under that name, so no
            # peer can silence another this way.
            original = self._seen.get((msg.sender_id, msg.session_id))
            if original is not None and msg.count <= original:
                return
        self._seen[key] = msg.count
        self._seen.move_to_end(key)
        while len(self._seen) > MAX_EPHEMERAL_SESSIONS:
            self._seen.popitem(last=False)
        out.emit(EphemeralReceived(msg.document_id, link.peer_id, msg.data))
        for target in self._docs.ephemeral_links(msg.document_id, link.conn):
            if link.expected_peer_id is not None and target.expected_peer_id is not None:
                continue
            out.send(target.conn, Ephemeral(link.peer_id, target.peer_id, msg.document_id,
                                            msg.count, msg.session_id, msg.data))

    def _take_in(self, out: Outbox, link: Link, msg: Request | Sync | WholeDoc, content: bool,
                 cost: Cost, now: float) -> None:
        """Hand a document's frame to the documents if it is within the budgets
        (guards.py): new documents per peer (for frames offering ``content``),
        and growth per document (for frames carrying any). A document's first
        input starts its running size."""
        doc_id = msg.document_id
        ds = self._docs.get(doc_id)
        held = self._docs.holds_content(doc_id)
        if content and not self._intake.may_take_up(out, link, doc_id, ds, held, now):
            return
        doc = self._docs.document(ds) if held and ds is not None else None
        if not self._intake.may_grow(out, link, ds, doc, cost):
            return
        if isinstance(msg, WholeDoc):
            self._docs.on_whole_doc(out, link, msg, now)
        else:
            self._docs.on_sync(out, link, msg, now)
        self._intake.first_input(self._docs.docs.get(doc_id), held, cost)

    @_after_listing
    def broadcast(self, doc_id: str, data: bytes, now: float) -> list[Effect]:
        """Send an ephemeral message (``data``: the CBOR-encoded app payload) to
        every peer syncing ``doc_id``."""
        if not data:
            raise ValueError("an ephemeral message needs a non-empty payload")
        out = Outbox()
        self._ephemeral_count += 1
        for link in self._docs.ephemeral_links(doc_id, None):
            out.send(link.conn, Ephemeral(self.peer_id, link.peer_id, doc_id,
                                          self._ephemeral_count, self.session_id, data))
        return out.effects

    # ------------------------------------------------------------ documents

    @_after_listing
    def local_change(self, doc_id: str, now: float) -> list[Effect]:
        """The object ``open``/``create`` returned was changed locally: emits
        DocumentChanged(origin="local") and pushes to every peer syncing it."""
        out = Outbox()
        self._docs.local_change(out, doc_id, now)
        return out.effects

    @_after_listing
    def create(self, doc_id: str, doc: am.Document, now: float) -> list[Effect]:
        """A new local document, already persisted by the repo; announced per policy."""
        out = Outbox()
        self._docs.create(out, doc_id, doc, now)
        return out.effects

    # ------------------------------------------------------------ storage answers

    def held_listed(self, heads: Mapping[str, Iterable[bytes]], now: float) -> list[Effect]:
        """The answer to ListHeld: every stored document's heads. The engine keeps
        them (and ``stored`` keeps them current); the calls parked meanwhile run."""
        if self._docs.catalog is not None:
            log.debug("stored documents listed again; the first listing stands")
            return []
        self._docs.catalog = {doc_id: sorted(h) for doc_id, h in heads.items()}
        parked, self._parked = self._parked, []
        effects: list[Effect] = []
        for call in parked:
            effects.extend(call())
        return effects

    @_after_listing
    def document_loaded(self, doc_id: str, doc: am.Document | Damaged | None,
                        now: float, *, size: Cost | None = None) -> list[Effect]:
        """The answer to LoadDocument (or a load the runtime made on its own): the
        stored document, None if it is not stored, or Damaged, and what the store
        measured it to cost if it knows. What waited for it carries on; a
        document that did not load is not held, so the peers that asked for it
        hear doc-unavailable."""
        out = Outbox()
        for link, msg, cost in self._docs.loaded(out, doc_id, doc, now, size):
            if self._links.get(link.conn) is link:
                self._handle(out, link, Measured(0, msg, cost), now)
        return out.effects

    def stored(self, doc_id: str, heads: Iterable[bytes]) -> None:
        """A write the runtime made for ``doc_id`` is durable, and the store holds
        it at ``heads``. (Only a document whose every change is stored is let go
        of from memory.)"""
        if self._docs.catalog is not None:
            self._docs.catalog[doc_id] = sorted(heads)

    def needs_load(self, doc_id: str) -> bool:
        """Whether ``doc_id`` is held but not in memory: :meth:`open` returns None
        for it until the runtime loads it (``document_loaded``)."""
        return self._docs.catalog is not None and self._docs.needs_load(doc_id)

    @property
    def listed(self) -> bool:
        """Whether the runtime has answered ListHeld."""
        return self._docs.catalog is not None

    def note_size(self, doc_id: str, size: Cost) -> None:
        """What an open document was measured to cost (the repo weighs stored
        documents as it loads them), so its growth is tracked from there."""
        ds = self._docs.docs.get(doc_id)
        if ds is not None:
            ds.size = size

    def held_ids(self) -> set[str]:
        """Every document this node holds: stored, or arrived and not stored yet."""
        return self._docs.all_ids()

    def holds(self, doc_id: str) -> bool:
        """Whether content of ``doc_id`` is in memory (it may not be stored yet)."""
        ds = self._docs.docs.get(doc_id)
        return ds is not None and ds.has_content

    def open(self, doc_id: str) -> am.Document | None:
        """The live document; None if it is not held, or not in memory (see
        :meth:`needs_load`)."""
        return self._docs.open(doc_id)

    @_after_listing
    def find(self, doc_id: str, now: float) -> list[Effect]:
        """Ask the connected peers for a document we do not hold. The answer is
        DocumentChanged (immediately, origin "local", if it is held after all) or
        DocumentUnavailable; the document is still taken if it turns up later."""
        out = Outbox()
        self._docs.find(out, doc_id, now)
        return out.effects

    @_after_listing
    def tick(self, now: float) -> list[Effect]:
        """Timeouts: handshakes, summaries, request rounds, stuck announcements."""
        out = Outbox()
        for link in list(self._links.values()):
            if not link.open and link.opened_at + HANDSHAKE_TIMEOUT <= now:
                self._close(out, link, "handshake timed out")
        self._docs.tick(out, now)
        for link, doc_id in self._intake.due(list(self._links.values()), now):
            self._docs.ask_again(out, link, doc_id, now)
        return out.effects

    @_after_listing
    def policy_changed(self, now: float) -> list[Effect]:
        """Re-read the share policy: stop syncs it now refuses, start announcements
        it now allows."""
        out = Outbox()
        self._docs.policy_changed(out, now)
        return out.effects

    # ------------------------------------------------------------ introspection

    def peers(self) -> list[PeerInfo]:
        return [PeerInfo(link.conn, link.peer_id, link.metadata, link.role, link.connected_at,
                         link.summary)
                for link in self._links.values() if link.open]

    def doc_peer_states(self, doc_id: str) -> dict[str, bool]:
        """peer id -> whether its last advertised heads equal ours, for every peer
        syncing ``doc_id``."""
        return self._docs.peer_states(doc_id)
