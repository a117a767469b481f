"""The document side of the engine: one DocSync per document, like automerge-repo's
CollectionSynchronizer and its DocSynchronizers.

Rules it keeps (protocol/README.md explains them on the wire):

* Nothing of a document reaches a link whose peer ``may_read`` refuses, and
  nothing from such a link changes the document; it is answered doc-unavailable.
* A document is pushed unasked (announced) only where ``may_announce`` allows;
  once a peer syncs a document with us, in either direction, it gets every later
  change at once while ``may_read`` holds.
* Announcements go through a per-link queue with at most MAX_DOCS_IN_FLIGHT
  unsettled at a time; an announced sync settles when our side has nothing more
  to say after the peer's answer.
* A request for a document nobody here holds is forwarded to every other link
  that may read it; the requesters get doc-unavailable once each of those has
  answered doc-unavailable (or asked for it too), or after REQUEST_TIMEOUT.
  Content arriving later still flows to them.

Each link's standing on a document is a PeerState (state.py): a request we sent
is REQUESTED until content arrives, the peer answers, or the round ends (then a
link asked only on someone's behalf is forgotten); a peer's request is WANTED
until it is answered, with the document or with doc-unavailable
(TOLD_UNAVAILABLE); heads it sends make it SYNCING, or OFFERED while what it sends
waits for the policy to admit it.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator

import automerge.core as am

from podsync import amdoc
from podsync.errors import ProtocolError
from podsync.ids import is_document_id
from podsync.sync.cost import Cost, change_hashes
from podsync.sync.guards import (
    beyond_input_limits, beyond_one_input, first_part, saved_or_changes, saved_prefix, weigh_saved,
)
from podsync.sync.effects import (
    AwaitDrain, ConnId, Damaged, DocumentChanged, DocumentUnavailable, LoadDocument, Outbox, Persist,
)
from podsync.sync.heads import (
    Summary as SummaryEntries,
    heads_digest,
    pack_summary,
    parse_sync_heads,
    without_capabilities,
    summary_key,
    sync_change_count,
    unpack_summary,
)
from podsync.sync.limits import (
    IN_FLIGHT_TIMEOUT, MAX_DOCS_IN_FLIGHT, MAX_UNKNOWN_WANTS_PER_PEER, REQUEST_TIMEOUT,
    SEND_BACKLOG_PAUSE_BYTES, SUMMARY_TIMEOUT, WHOLE_BYTES_PER_CALL,
)
from podsync.sync.messages import DocUnavailable, Ranges, Request, Summary, Sync, WholeDoc
from podsync.sync.policy import SharePolicy
from podsync.sync.ranges import Reconciler
from podsync.sync.residency import Residency
from podsync.sync.state import DocSync, Link, PeerDoc, PeerState
from podsync.sync.storage import Loading, ParkedFrame

log = logging.getLogger("podsync.sync")

class Documents:
    def __init__(self, peer_id: str, policy: SharePolicy, links: dict[ConnId, Link]) -> None:
        self.peer_id = peer_id
        self.policy = policy
        self.links = links  # shared with the engine, which adds and removes links
        self.docs: dict[str, DocSync] = {}
        #: Heads of every stored document (sorted), as the runtime listed them and
        #: reported its writes since (podsync.sync.storage); None until listed.
        self.catalog: dict[str, list[bytes]] | None = None
        #: Documents whose load was asked for, and the work waiting for them.
        self.loading: dict[str, Loading] = {}
        self._requesting: set[str] = set()  # documents with a request round running
        self._wanted: set[str] = set()  # documents a local find still wants
        #: Which documents stay loaded (podsync.sync.residency): the automerge
        #: object of one nobody uses is let go and loaded again when needed.
        self.residency = Residency()
        #: Links exchanging range summaries: the exchange, and the heads it summed up.
        self._ranges: dict[ConnId, tuple[Reconciler, dict[str, list[bytes]]]] = {}

    # ------------------------------------------------------------ lookup, loading

    @property
    def stored(self) -> dict[str, list[bytes]]:
        if self.catalog is None:
            raise RuntimeError("the stored documents are used before they are listed")
        return self.catalog

    def get(self, doc_id: str, *, create: bool = False) -> DocSync | None:
        """The DocSync of ``doc_id``; a stored document is not loaded until needed.
        With ``create``, a document held nowhere gets an empty in-memory one."""
        ds = self.docs.get(doc_id)
        if ds is None:
            stored = self.stored.get(doc_id)
            if not stored and not create:
                return None
            ds = DocSync(doc_id, None if stored else am.Document(), list(stored or []))
            self.docs[doc_id] = ds
        return ds

    def document(self, ds: DocSync) -> am.Document:
        """The loaded document of ``ds``: work that needs one not in memory waits
        for it in ``loading`` first, so this never meets an unloaded one."""
        if ds.doc is None:
            raise RuntimeError(f"document {ds.doc_id} is used before it is loaded")
        # Documents also come in by sync, not only from the store: past the cap,
        # the least recently used make room whichever way this one came.
        self.residency.touch(ds.doc_id)
        self.residency.fit(ds.doc_id, self.unload)
        return ds.doc

    def needs_load(self, doc_id: str) -> bool:
        """Whether ``doc_id`` is stored and not in memory (or its load is under way)."""
        if doc_id in self.loading:
            return True
        ds = self.docs.get(doc_id)
        return ds.doc is None if ds is not None else bool(self.stored.get(doc_id))

    def request_load(self, out: Outbox, doc_id: str) -> Loading:
        """Ask the runtime for ``doc_id`` (once); what needs it waits in the Loading."""
        pending = self.loading.get(doc_id)
        if pending is None:
            pending = self.loading[doc_id] = Loading()
            out.emit(LoadDocument(doc_id))
        return pending

    def loaded(self, out: Outbox, doc_id: str, answer: am.Document | Damaged | None,
               now: float, size: Cost | None = None) -> list[ParkedFrame]:
        """The runtime's answer to LoadDocument (with what the store measured the
        document to cost, when it knows): resume the announcements that waited
        for it; the frames that waited are returned for the engine to replay."""
        pending = self.loading.pop(doc_id, None) or Loading()
        ds = self.docs.get(doc_id)
        if isinstance(answer, am.Document):
            if ds is None:
                ds = self.docs[doc_id] = DocSync(doc_id, answer, sorted(answer.get_heads()), size=size)
            elif ds.doc is None:
                ds.doc, ds.heads = answer, sorted(answer.get_heads())
                ds.size = size if ds.size is None else ds.size
            # (Otherwise it came in by sync or was created meanwhile: the live one stays.)
            self.document(ds)
        else:
            if isinstance(answer, Damaged):
                log.warning("document %s cannot be loaded, treated as absent: %s", doc_id, answer.reason)
            self.stored.pop(doc_id, None)
            if ds is not None and ds.doc is None:
                ds.doc, ds.heads = am.Document(), []
        for link in pending.announce:
            if self.links.get(link.conn) is not link:
                continue
            link.in_flight.pop(doc_id, None)
            if doc_id not in link.queued:
                link.queue.appendleft(doc_id)
                link.queued.add(doc_id)
            self.drain(out, link, now)
        return pending.frames

    def unload(self, doc_id: str) -> bool:
        """Let go of ``doc_id``'s automerge object if every change of it is stored
        and no exchange is under way; True when it is not loaded any more."""
        ds = self.docs.get(doc_id)
        if ds is None or ds.doc is None:
            return True
        if (not ds.has_content or ds.wanted or ds.request_deadline is not None
                or any(pd.their_heads not in (None, ds.heads) or pd.state is PeerState.REQUESTED
                       for pd in ds.peers.values())
                or any(doc_id in self.links[c].in_flight for c in ds.peers)):
            return False
        # Its own heads (a local change not yet noted), the engine's and the store's.
        if sorted(ds.doc.get_heads()) != ds.heads or self.stored.get(doc_id) != ds.heads:
            return False
        ds.doc = None
        return True

    def all_ids(self) -> set[str]:
        """Every document held here, stored or arrived and not yet stored."""
        ids = set(self.stored)
        ids.update(d for d, ds in self.docs.items() if ds.has_content)
        return ids

    def _in_order(self, doc_ids: set[str]) -> list[str]:
        """Documents in the order they are announced: the policy's ``first`` (those
        that decide who reads the others) ahead of the rest, each group by id."""
        first = getattr(self.policy, "first", frozenset())
        return sorted(doc_ids, key=lambda d: (d not in first, d))

    def _may_read(self, link: Link, doc_id: str) -> bool:
        return self.policy.may_read(link.peer_id, doc_id)

    def _may_announce(self, link: Link, doc_id: str) -> bool:
        return self.policy.may_announce(link.peer_id, doc_id) and self._may_read(link, doc_id)

    def _open_links(self) -> list[Link]:
        return [link for link in self.links.values() if link.open]

    # ------------------------------------------------------------ registration

    def _register(self, ds: DocSync, link: Link) -> PeerDoc:
        pd = ds.peers.get(link.conn)
        if pd is None:
            pd = ds.peers[link.conn] = PeerDoc()
            link.docs.add(ds.doc_id)
        return pd

    def _unregister(self, ds: DocSync, link: Link) -> None:
        ds.peers.pop(link.conn, None)
        link.docs.discard(ds.doc_id)
        link.unknown_wants.discard(ds.doc_id)
        link.unknown_claims.discard(ds.doc_id)
        link.in_flight.pop(ds.doc_id, None)

    def _maybe_drop(self, ds: DocSync) -> None:
        """Forget an empty DocSync nobody needs any more (it was never stored)."""
        if not ds.has_content and not ds.peers and not ds.wanted and ds.request_deadline is None:
            self.docs.pop(ds.doc_id, None)

    def drop_link(self, out: Outbox, link: Link) -> None:
        self._ranges.pop(link.conn, None)
        for doc_id in list(link.docs):
            ds = self.docs.get(doc_id)
            if ds is None:
                continue
            self._unregister(ds, link)
            if not ds.has_content:
                self._resolve(out, ds)
            self._maybe_drop(ds)

    # ------------------------------------------------------------ sending

    def _sync_to(self, out: Outbox, ds: DocSync, link: Link, pd: PeerDoc) -> bool:
        """Send ``link`` the next sync message for ``ds``, if automerge has one.
        With nothing on either side there is nothing to say (requests go by _ask)."""
        if not ds.has_content and not pd.their_heads:
            return False
        msg = self.document(ds).generate_sync_message(pd.sync_state)
        if msg is None:
            return False
        data = msg.encode()
        refusal = beyond_input_limits(data, sync_message=True)
        if refusal is not None:
            part = first_part(data, self.document(ds))
            if part is None:
                # Not even one change fits: the peer would refuse it and close the
                # link, again at every reconnect. This document does not sync
                # with that peer.
                log.warning("document %s is not synced with peer %s: %s", ds.doc_id, link.peer_id, refusal)
                self._unregister(ds, link)
                link.refused.add(ds.doc_id)
                return False
            log.info("document %s goes to peer %s in parts: the whole of what it lacks is %s",
                     ds.doc_id, link.peer_id, refusal)
            # automerge counts every change of the message as sent; a fresh state
            # forgets that, so the peer's answer to this part (its heads and what
            # it holds) brings the next.
            pd.sync_state = am.SyncState()
            data = part
        out.send(link.conn, Sync(self.peer_id, link.peer_id, ds.doc_id, data))
        return True

    def _push(self, out: Outbox, ds: DocSync, link: Link, pd: PeerDoc) -> None:
        if not self._may_read(link, ds.doc_id):
            self._unregister(ds, link)
            return
        if pd.state is PeerState.UNAVAILABLE and not self._may_announce(link, ds.doc_id):
            return  # it told us it has none and it is not ours to push unasked
        self._sync_to(out, ds, link, pd)

    def _ask(self, out: Outbox, ds: DocSync, link: Link, now: float) -> None:
        """Ask ``link`` for a document we hold nothing of."""
        pd = self._register(ds, link)
        pd.we_ask()
        # A fresh state: one that already carried this request would stay silent.
        pd.sync_state = am.SyncState()
        msg = self.document(ds).generate_sync_message(pd.sync_state)
        out.send(link.conn, Request(self.peer_id, link.peer_id, ds.doc_id, msg.encode()))
        if ds.request_deadline is None:
            ds.request_deadline = now + REQUEST_TIMEOUT
            self._requesting.add(ds.doc_id)

    def ask_again(self, out: Outbox, link: Link, doc_id: str, now: float) -> None:
        """Ask ``link`` for a document its peer offered when this node's budget of
        new documents had no room (guards.Intake); what it sends is admitted as
        any offer is."""
        if self._holds(doc_id) or not self.policy.may_offer(link.peer_id, doc_id):
            return
        ds = self.get(doc_id, create=True)
        assert ds is not None
        if link.conn in ds.peers:
            return  # already syncing it with that link
        self._ask(out, ds, link, now)

    # ------------------------------------------------------------ changes

    def _note_change(self, out: Outbox, ds: DocSync, before: list[bytes],
                     origin: str, peer_id: str | None, *, loaded_from: bytes | None = None) -> bool:
        """Report (and, from a peer, persist) what changed since ``before``.
        ``loaded_from``: saved bytes the document was just loaded from whole,
        stored as they are."""
        doc = self.document(ds)
        after = sorted(doc.get_heads())
        if after == before:
            return False
        ds.heads = after
        if origin == "remote":
            # Before anything of it is pushed: what arrived may say who reads it (a
            # creation record reaching a node that held the document under a
            # share claim), and what the policy read earlier is stale now.
            changed = getattr(self.policy, "content_changed", None)
            if changed is not None:
                changed(ds.doc_id)
            if before:
                chunks = [c.bytes for c in doc.get_changes(before)]
            else:
                # The whole document arrived (a cold sync): one saved-document chunk
                # is a fraction of the size and cost of one chunk per change, and
                # the store loads it concatenated with later changes all the same.
                chunks = [loaded_from if loaded_from is not None else saved_or_changes(ds.doc_id, doc)]
            out.emit(Persist(ds.doc_id, chunks, list(after)))
        out.emit(DocumentChanged(ds.doc_id, list(after), origin, peer_id))  # type: ignore[arg-type]
        return True

    def _content_changed(self, out: Outbox, ds: DocSync, skip: ConnId | None, now: float) -> None:
        """After ``ds`` got new changes: end its request round, push to every link
        syncing it except ``skip``, and announce it where allowed."""
        if ds.wanted or ds.request_deadline is not None:
            ds.wanted = ds.local_find = False
            ds.request_deadline = None
            self._requesting.discard(ds.doc_id)
            self._wanted.discard(ds.doc_id)
        for conn, pd in list(ds.peers.items()):
            link = self.links[conn]
            link.unknown_wants.discard(ds.doc_id)
            link.unknown_claims.discard(ds.doc_id)
            if pd.state is PeerState.REQUESTED:
                pd.arrived()
            if conn != skip:
                self._push(out, ds, link, pd)
        for link in self._open_links():
            if (link.conn not in ds.peers and link.summary_deadline is None
                    and ds.doc_id not in link.refused and self._may_announce(link, ds.doc_id)):
                self._enqueue(link, ds.doc_id)
                self.drain(out, link, now)

    def local_change(self, out: Outbox, doc_id: str, now: float) -> None:
        ds = self.docs.get(doc_id)
        if ds is None or ds.doc is None:
            log.warning("local change to document %s, which was never opened; ignored", doc_id)
            return
        if self._note_change(out, ds, ds.heads, "local", None):
            self._content_changed(out, ds, None, now)

    def create(self, out: Outbox, doc_id: str, doc: am.Document, now: float) -> None:
        ds = self.docs.get(doc_id)
        if ds is not None and ds.has_content:
            raise ValueError(f"document {doc_id} already exists")
        if ds is None:
            ds = self.docs[doc_id] = DocSync(doc_id, doc, [])
        ds.doc = doc
        if self._note_change(out, ds, [], "local", None):
            self._content_changed(out, ds, None, now)

    def open(self, doc_id: str) -> am.Document | None:
        """The document if it is held and in memory (the runtime loads it otherwise)."""
        ds = self.docs.get(doc_id)
        if ds is None or ds.doc is None or not ds.has_content:
            return None
        return self.document(ds)

    # ------------------------------------------------------------ inbound

    def on_sync(self, out: Outbox, link: Link, msg: Request | Sync, now: float) -> None:
        doc_id = msg.document_id
        their_heads = parse_sync_heads(msg.data)
        readable = is_document_id(doc_id) and self._may_read(link, doc_id)
        # An offer: the peer holds something of a document we hold nothing of (a peer
        # holding nothing is asking). What arrives is kept only once the policy
        # admits it, whether or not its readers were known before.
        offered = (bool(their_heads) and is_document_id(doc_id) and not self._holds(doc_id)
                   and self.policy.may_offer(link.peer_id, doc_id))
        if not readable and not offered:
            self._refuse_id(out, link, doc_id, type(msg).__name__)
            return
        if readable and not offered and not self.policy.may_write(link.peer_id, doc_id) \
                and sync_change_count(msg.data):
            self._refuse_id(out, link, doc_id, "change")
            return
        try:
            sync_msg = am.Message.decode(without_capabilities(msg.data))
        except Exception as err:
            raise ProtocolError(f"document {doc_id}: undecodable sync message: {err}") from None
        ds = self.get(doc_id, create=True)
        assert ds is not None
        self.document(ds)
        if link.conn not in ds.peers and not ds.has_content:
            # Held by nobody here. Asks and claims of heads count apart, so that
            # asks a peer relays for others cannot crowd out its announcements.
            if self._unknown(link, claims=bool(their_heads)) >= MAX_UNKNOWN_WANTS_PER_PEER:
                out.send(link.conn, DocUnavailable(self.peer_id, link.peer_id, doc_id))
                self._maybe_drop(ds)
                return
            (link.unknown_claims if their_heads else link.unknown_wants).add(doc_id)
        pd = self._register(ds, link)
        pd.their_heads = their_heads
        if offered:
            pd.they_offer()
        elif their_heads:
            pd.they_hold()
        elif isinstance(msg, Request) or pd.state is not PeerState.REQUESTED:
            # It holds nothing and asks. (As an answer to our own ask, a request
            # counts as "not here", which breaks request cycles between relays; an
            # empty sync is how a JS relay says "nothing yet" before its
            # doc-unavailable: we keep waiting.)
            pd.they_ask()
        self._apply(out, ds, link, pd, sync_msg, change_hashes(msg.data), now)
        if not ds.has_content and pd.wants:
            self._want(out, ds, now)
        if link.queue and doc_id in getattr(self.policy, "first", frozenset()):
            self.drain(out, link, now)  # announcements may have waited for this one

    def holds_content(self, doc_id: str) -> bool:
        """Whether a DocSync of ``doc_id`` holds content (stored ones not yet
        loaded count as not held here: their frames wait for the load)."""
        ds = self.docs.get(doc_id)
        return ds is not None and ds.has_content

    def _holds(self, doc_id: str) -> bool:
        return self.holds_content(doc_id) or bool(self.stored.get(doc_id))

    def _refuse_id(self, out: Outbox, link: Link, doc_id: str, what: str) -> None:
        """Answer a peer's ``what`` about ``doc_id`` with doc-unavailable, keeping nothing."""
        log.info("peer %s: refused %s for document %s", link.peer_id, what, doc_id)
        ds = self.docs.get(doc_id)
        if ds is not None and link.conn in ds.peers:
            self._unregister(ds, link)
            self._maybe_drop(ds)
        out.send(link.conn, DocUnavailable(self.peer_id, link.peer_id, doc_id))

    def _admitted(self, out: Outbox, ds: DocSync, link: Link) -> bool:
        """A document we held nothing of arrived from a peer who offered it: keep it
        only if the policy admits it; otherwise forget it entirely."""
        doc = self.document(ds)
        if self.policy.admit(link.peer_id, ds.doc_id, doc):
            for pd in ds.peers.values():
                if pd.state is PeerState.OFFERED:
                    pd.admitted()
            return True
        log.warning("peer %s: document %s not admitted; nothing of it is kept",
                    link.peer_id, ds.doc_id)
        ds.doc, ds.heads = am.Document(), []
        for conn in list(ds.peers):
            self._unregister(ds, self.links[conn])
        self._maybe_drop(ds)
        out.send(link.conn, DocUnavailable(self.peer_id, link.peer_id, ds.doc_id))
        return False

    def _kept(self, out: Outbox, ds: DocSync, link: Link, before: list[bytes]) -> bool:
        """Changes a peer sent to a document we hold: kept unless the policy refuses
        them (``accept``), in which case the document goes back to ``before`` and
        the peer is told the document is unavailable to it."""
        accept = getattr(self.policy, "accept", None)
        doc = self.document(ds)
        if accept is None or doc.get_heads() == before or accept(link.peer_id, ds.doc_id, doc):
            return True
        log.warning("peer %s: changes to document %s refused; nothing of them is kept",
                    link.peer_id, ds.doc_id)
        ds.doc = doc.fork_at(before)
        ds.heads = sorted(ds.doc.get_heads())
        self._unregister(ds, link)
        out.send(link.conn, DocUnavailable(self.peer_id, link.peer_id, ds.doc_id))
        return False

    def _unknown(self, link: Link, *, claims: bool) -> int:
        """Documents held by nobody here that this link's peer keeps registered
        (asked for, or claimed heads of), over all its links."""
        return sum(len(other.unknown_claims if claims else other.unknown_wants)
                   for other in self.links.values() if other.identity == link.identity)

    def _apply(self, out: Outbox, ds: DocSync, link: Link, pd: PeerDoc,
               sync_msg: am.Message, sent_hashes: set[bytes] | None, now: float) -> None:
        """Apply a sync message. ``sent_hashes``: the hashes its change chunks were
        sent under (None when it carries a saved document, which automerge checks
        itself)."""
        doc = self.document(ds)
        before = ds.heads
        # Not ds.heads: a local change may be made and not yet reported.
        held = doc.get_heads()
        failed = None
        try:
            doc.receive_sync_message(pd.sync_state, sync_msg)
        except Exception as err:  # noqa: BLE001 - automerge raises plain Exception
            failed = str(err)
        if sent_hashes is None:
            ds.sent_hashes.clear()  # a saved document: automerge checked every hash itself
        else:
            ds.sent_hashes |= sent_hashes
        if sorted(doc.get_heads()) != sorted(held):
            # Changes queued for their dependencies (sent earlier) apply now too.
            applied = {c.hash for c in doc.get_changes(held)}
            rehashed = applied - ds.sent_hashes if sent_hashes is not None else set()
            ds.sent_hashes -= applied
            if rehashed:
                # automerge took changes under other hashes than they were sent
                # with (not encoded as it encodes them): undo them all, or this
                # node and the sender would disagree about them for good.
                ds.doc = doc.fork_at(held)
                raise ProtocolError(f"document {ds.doc_id}: {len(rehashed)} change(s) not encoded as "
                                    "automerge encodes them")
        # Whatever got applied before a failure is real; record and spread it (a
        # document a peer offered only once it is admitted, changes to a document
        # held here only if the policy takes them).
        admitted = not (pd.state is PeerState.OFFERED and not before and doc.get_heads()) \
            or self._admitted(out, ds, link)
        if admitted and before and not self._kept(out, ds, link, before):
            admitted = False
        if admitted and self._note_change(out, ds, before, "remote", link.peer_id):
            self._content_changed(out, ds, link.conn, now)
        if not admitted:
            return
        if failed is not None:
            # Well-formed (it decoded) but automerge will not apply it: an honest
            # peer relaying a document someone wrote badly does this too, so the
            # document is refused on this link and the link stays.
            self._refuse(out, ds, link, f"automerge does not apply its sync message: {failed}")
            return
        if not self._sync_to(out, ds, link, pd) and link.in_flight.pop(ds.doc_id, None) is not None:
            self.drain(out, link, now)

    def _refuse(self, out: Outbox, ds: DocSync, link: Link, why: str) -> None:
        """Stop syncing ``ds`` with ``link`` and tell the peer so."""
        log.warning("peer %s: document %s refused on this link: %s", link.peer_id, ds.doc_id, why)
        self._unregister(ds, link)
        link.refused.add(ds.doc_id)
        out.send(link.conn, DocUnavailable(self.peer_id, link.peer_id, ds.doc_id))
        self._maybe_drop(ds)

    def on_unavailable(self, out: Outbox, link: Link, msg: DocUnavailable, now: float) -> None:
        ds = self.docs.get(msg.document_id)
        if ds is None or link.conn not in ds.peers:
            return
        pd = ds.peers[link.conn]
        settled = link.in_flight.pop(ds.doc_id, None) is not None
        if pd.state is PeerState.REQUESTED or not ds.has_content:
            if not pd.wants:  # one that asked us is owed the document, whatever it holds
                pd.they_have_none()
            self._resolve(out, ds)
        else:
            log.info("peer %s declined document %s", link.peer_id, ds.doc_id)
            self._unregister(ds, link)
            link.refused.add(ds.doc_id)
        if settled:
            self.drain(out, link, now)

    # ------------------------------------------------------------ finding

    def find(self, out: Outbox, doc_id: str, now: float) -> None:
        ds = self.get(doc_id, create=True)
        assert ds is not None
        if ds.has_content:
            out.emit(DocumentChanged(doc_id, list(ds.heads), "local", None))
            return
        ds.wanted = ds.local_find = True
        self._wanted.add(doc_id)
        self._want(out, ds, now)

    def _want(self, out: Outbox, ds: DocSync, now: float) -> None:
        """Someone wants ``ds``, which we hold nothing of: start a request round
        unless one is running (its end answers every want)."""
        if ds.request_deadline is not None:
            self._resolve(out, ds)  # the want may itself have been the last answer
            return
        for link in self._open_links():
            pd = ds.peers.get(link.conn)
            # Skip those who asked us, and those already sending us the content.
            if (pd is None or not (pd.wants or pd.their_heads)) and self._may_read(link, ds.doc_id):
                self._ask(out, ds, link, now)
        self._resolve(out, ds)

    def _resolve(self, out: Outbox, ds: DocSync, *, timed_out: bool = False) -> None:
        """End a request round once no link can still deliver the document."""
        if ds.has_content:
            return
        if not timed_out and any(pd.state is PeerState.REQUESTED or pd.their_heads
                                 for pd in ds.peers.values()):
            return
        ds.request_deadline = None
        self._requesting.discard(ds.doc_id)
        for conn, pd in list(ds.peers.items()):
            if pd.state is PeerState.WANTED:
                pd.we_have_none()
                out.send(conn, DocUnavailable(self.peer_id, self.links[conn].peer_id, ds.doc_id))
            elif not pd.wants and not pd.their_heads:
                # Only asked on someone's behalf, and it has nothing: forget it, so
                # requests forwarded for a peer that left leave nothing behind.
                self._unregister(ds, self.links[conn])
        if ds.local_find:
            ds.local_find = False
            out.emit(DocumentUnavailable(ds.doc_id))
        self._maybe_drop(ds)

    # ------------------------------------------------------------ announcing

    def _enqueue(self, link: Link, doc_id: str) -> None:
        if doc_id not in link.queued and doc_id not in link.docs:
            link.queue.append(doc_id)
            link.queued.add(doc_id)

    def drain(self, out: Outbox, link: Link, now: float) -> None:
        """Start queued announcements while slots are free and the link keeps up."""
        first = getattr(self.policy, "first", frozenset())
        sent_whole = False
        whole_bytes_until = link.backlog + WHOLE_BYTES_PER_CALL
        while (link.queue and len(link.in_flight) < MAX_DOCS_IN_FLIGHT
               and link.backlog <= SEND_BACKLOG_PAUSE_BYTES
               and link.backlog < whole_bytes_until):
            if link.queue[0] not in first and self._behind_on_first(link, first):
                # The peer has not caught up on the documents whose records say who
                # reads the rest; what it is offered now it could not yet admit.
                break
            doc_id = link.queue.popleft()
            link.queued.discard(doc_id)
            if doc_id in link.docs or doc_id in link.refused or not self._may_announce(link, doc_id):
                continue
            ds = self.get(doc_id)
            if ds is None:
                continue
            if ds.doc is None or doc_id in self.loading:
                # Announced once it is loaded; the load holds an in-flight slot.
                link.in_flight[doc_id] = now
                self.request_load(out, doc_id).announce.append(link)
                continue
            sent_whole |= self._announce(out, ds, link, now)
        if sent_whole and not link.drain_awaited:
            # One report covers every whole document sent before it.
            link.drain_awaited = True
            out.emit(AwaitDrain(link.conn))

    def _announce(self, out: Outbox, ds: DocSync, link: Link, now: float) -> bool:
        """Start syncing ``ds`` (loaded) with ``link``; True when it went whole."""
        doc = self.document(ds)
        if not ds.has_content:
            return False
        if ds.doc_id in link.lacking and self._send_whole(out, ds, doc, link):
            # In flight until the runtime reports the frame written out; its
            # bytes count against the backlog until then.
            link.in_flight[ds.doc_id] = now
            link.whole_sent.add(ds.doc_id)
            link.backlog += len(out.effects[-1].data)  # type: ignore[union-attr]
            pd = ds.peers[link.conn]
            if pd.their_heads != ds.heads:
                self._sync_to(out, ds, link, pd)  # it went whole up to a point: the rest by sync
            return True
        if self._sync_to(out, ds, link, self._register(ds, link)):
            link.in_flight[ds.doc_id] = now
        return False

    def _behind_on_first(self, link: Link, first: frozenset[str]) -> bool:
        for doc_id in first:
            ds = self.docs.get(doc_id)
            pd = ds.peers.get(link.conn) if ds is not None else None
            if pd is not None and ds is not None and ds.has_content and pd.their_heads != ds.heads:
                return True
        return False

    def _send_whole(self, out: Outbox, ds: DocSync, doc: am.Document, link: Link) -> bool:
        """Send a peer that holds nothing of ``ds`` the whole saved document, or
        when that is more than a peer takes as one input, the document as it
        stood some way through its history (guards.saved_prefix); False when
        not even that fits (it then syncs in parts).

        Loading a saved document costs the peer a fraction of applying its changes
        one by one, and needs no round trip; from then on the peer holds the
        heads it was sent, which the engine registers for that peer.
        """
        link.lacking.discard(ds.doc_id)
        heads = list(ds.heads)
        # Measured past one input already (as stored, or as it grew since): no
        # need to save it whole to find that out.
        known = ds.size if ds.size is not None and beyond_one_input(ds.size) else None
        if known is not None:
            refusal: str | None = f"measured at {known.bytes} bytes and {known.entries} entries"
        else:
            saved = doc.save()
            # (Its saved form loads back: changes automerge would encode otherwise
            # are refused on arrival, and a peer that cannot load one anyway
            # answers doc-unavailable.)
            refusal = beyond_input_limits(saved, sync_message=False)
        if refusal is not None:
            # (Inflated bytes stand for a measured document's saved size: more,
            # so the prefix guessed from them stays short.)
            cost, size = (known, known.bytes) if known is not None else (weigh_saved(saved), len(saved))
            prefix = saved_prefix(doc, cost, size)
            if prefix is None:
                log.info("document %s is not sent whole to peer %s (it syncs in parts): %s",
                         ds.doc_id, link.peer_id, refusal)
                return False
            saved, heads = prefix
            log.info("document %s goes to peer %s whole as it stood some way through its history, "
                     "the rest by sync: the whole is %s", ds.doc_id, link.peer_id, refusal)
        out.send(link.conn, WholeDoc(self.peer_id, link.peer_id, ds.doc_id, saved))
        self._register(ds, link).their_heads = heads
        return True

    def on_whole_doc(self, out: Outbox, link: Link, msg: WholeDoc, now: float) -> None:
        doc_id = msg.document_id
        readable = link.whole_doc and is_document_id(doc_id) and self._may_read(link, doc_id)
        offered = (link.whole_doc and is_document_id(doc_id) and not self._holds(doc_id)
                   and self.policy.may_offer(link.peer_id, doc_id))
        if (not readable and not offered) or (not offered and not self.policy.may_write(
                link.peer_id, doc_id)):
            self._refuse_id(out, link, doc_id, "a whole document")
            return
        ds = self.get(doc_id, create=True)
        assert ds is not None
        try:
            incoming = am.Document.load(msg.data)
        except Exception as err:  # noqa: BLE001 - automerge raises plain Exception
            self._refuse(out, ds, link, f"the whole document does not load: {err}")
            return
        if offered and not self.policy.admit(link.peer_id, doc_id, incoming):
            self._refuse(out, ds, link, "a whole document it may not offer")
            return
        doc = self.document(ds)
        before = ds.heads
        if ds.has_content:
            doc.merge(incoming)
        else:
            ds.doc = amdoc.writable(incoming, len(msg.data))
        if before and not self._kept(out, ds, link, before):
            return
        pd = self._register(ds, link)
        pd.their_heads = sorted(incoming.get_heads())
        pd.they_hold()
        if self._note_change(out, ds, before, "remote", link.peer_id,
                             loaded_from=None if before else msg.data):
            self._content_changed(out, ds, link.conn, now)
        if ds.heads != pd.their_heads:
            self._sync_to(out, ds, link, pd)  # we held changes it lacks

    def link_opened(self, out: Outbox, link: Link, now: float) -> None:
        for doc_id in list(self._wanted):
            ds = self.docs.get(doc_id)
            if ds is not None and not ds.has_content and self._may_read(link, doc_id):
                self._ask(out, ds, link, now)
        if link.summary:
            held = self._all_heads()
            entries = [(d, heads_digest(h)) for d, h in sorted(held.items())
                       if h and self._may_announce(link, d)]
            if link.ranges:
                # Both speak range summaries: rounds of fingerprints instead of an
                # entry per document.
                self._ranges[link.conn] = (Reconciler(entries), held)
                out.send(link.conn, Ranges(self.peer_id, link.peer_id, 0,
                                           self._ranges[link.conn][0].first()))
            else:
                out.send(link.conn, Summary(self.peer_id, link.peer_id, pack_summary(entries)))
            link.summary_deadline = now + SUMMARY_TIMEOUT
            return
        for doc_id in self._in_order(self.all_ids()):
            if self._may_announce(link, doc_id):
                self._enqueue(link, doc_id)
        self.drain(out, link, now)

    def on_summary(self, out: Outbox, link: Link, msg: Summary, now: float) -> None:
        if not link.summary or link.summary_deadline is None:
            log.info("peer %s: unexpected summary ignored", link.peer_id)
            return
        self._apply_summary(out, link, unpack_summary(msg.data), now)

    def _apply_summary(self, out: Outbox, link: Link, theirs: SummaryEntries | None,
                       now: float) -> None:
        """Register the documents on which we agree; announce the ones where we
        differ or that the peer lacks (``theirs`` None: no summary came, so nothing
        is known to be lacking). Those it has and we lack, it announces."""
        link.summary_deadline = None
        self._ranges.pop(link.conn, None)
        held = self._all_heads()
        for doc_id in self._in_order(set(held)):
            heads = held[doc_id]
            if not heads or doc_id in link.docs or not self._may_read(link, doc_id):
                continue
            listed = theirs.get(summary_key(doc_id), set()) if theirs is not None else set()
            if heads_digest(heads) in listed:
                self._in_step(link, doc_id, heads)
            elif self.policy.may_announce(link.peer_id, doc_id):
                # Without a summary (it never came) we do not know what it lacks.
                if link.whole_doc and theirs is not None and not listed:
                    link.lacking.add(doc_id)
                self._enqueue(link, doc_id)
        self.drain(out, link, now)

    def on_ranges(self, out: Outbox, link: Link, msg: Ranges, now: float) -> None:
        """A round of the peer's range summary (podsync.sync.ranges): answer with the
        next, and settle the documents it settled as the plain summary does."""
        ongoing = self._ranges.get(link.conn)
        if ongoing is None or link.summary_deadline is None:
            log.info("peer %s: unexpected range summary ignored", link.peer_id)
            return
        reconciler, held = ongoing
        reply, settled = reconciler.receive(msg.round, msg.data)
        if reply is not None:
            out.send(link.conn, Ranges(self.peer_id, link.peer_id, reconciler.round, reply))
            link.summary_deadline = now + SUMMARY_TIMEOUT
        for doc_id in settled.in_step:
            # Registered only if it did not change since the summary was made (a
            # change passes through here, so one not in memory did not change).
            ds = self.docs.get(doc_id)
            if doc_id in link.docs or not self._may_read(link, doc_id):
                continue  # (one readable again by the end is announced then)
            if ds is None or ds.heads == held[doc_id]:
                self._in_step(link, doc_id, held[doc_id])
            else:
                settled.differ.append(doc_id)
        for doc_id in settled.differ + settled.lacking:
            if doc_id in link.docs or not self._may_announce(link, doc_id):
                continue
            if link.whole_doc and doc_id in settled.lacking:
                link.lacking.add(doc_id)
            self._enqueue(link, doc_id)
        if reconciler.done:
            del self._ranges[link.conn]
            link.summary_deadline = None
            # Every document the exchange left unsettled with this peer: those that
            # arrived since it began, and those the peer may be told of only now
            # (shared while it ran: policy changes leave a link in its summary
            # alone, so nothing else announces them). As the plain summary does
            # when it is applied.
            for doc_id in self._in_order(self.all_ids()):
                if doc_id not in link.docs and self._may_announce(link, doc_id):
                    self._enqueue(link, doc_id)
        self.drain(out, link, now)

    def _in_step(self, link: Link, doc_id: str, heads: list[bytes]) -> None:
        """The peer holds ``doc_id`` at our ``heads``: later changes go both ways."""
        ds = self.docs.get(doc_id)
        if ds is None:  # held in the store (``heads`` are its heads): nothing to load
            ds = self.docs[doc_id] = DocSync(doc_id, None, list(heads))
        self._register(ds, link).their_heads = list(heads)

    def _all_heads(self) -> dict[str, list[bytes]]:
        """Every held document's heads: the stored ones as the catalog has them,
        then those in memory."""
        heads = dict(self.stored)
        heads.update((d, ds.heads) for d, ds in self.docs.items() if ds.has_content)
        return heads

    # ------------------------------------------------------------ time, policy

    def tick(self, out: Outbox, now: float) -> None:
        self.residency.sweep(now, self.unload)
        for doc_id in list(self._requesting):
            ds = self.docs.get(doc_id)
            if ds is None or ds.request_deadline is None:
                self._requesting.discard(doc_id)
            elif ds.request_deadline <= now:
                log.info("request for document %s timed out", doc_id)
                self._resolve(out, ds, timed_out=True)
        for link in self._open_links():
            if link.summary_deadline is not None and link.summary_deadline <= now:
                log.warning("peer %s sent no summary; announcing documents one by one", link.peer_id)
                self._apply_summary(out, link, None, now)
            stuck = [d for d, started in link.in_flight.items() if started + IN_FLIGHT_TIMEOUT <= now]
            for doc_id in stuck:
                del link.in_flight[doc_id]
            if stuck:
                self.drain(out, link, now)

    def policy_changed(self, out: Outbox, now: float) -> None:
        for ds in list(self.docs.values()):
            for conn in list(ds.peers):
                link = self.links[conn]
                if not self._may_read(link, ds.doc_id):
                    log.info("peer %s may no longer read document %s", link.peer_id, ds.doc_id)
                    self._unregister(ds, link)
            self._maybe_drop(ds)
        ids = self._in_order(self.all_ids())
        for link in self._open_links():
            if link.summary_deadline is not None:
                continue
            for doc_id in ids:
                if doc_id not in link.refused and self._may_announce(link, doc_id):
                    self._enqueue(link, doc_id)
            self.drain(out, link, now)

    # ------------------------------------------------------------ introspection

    def ephemeral_links(self, doc_id: str, skip: ConnId | None) -> Iterator[Link]:
        """Links syncing ``doc_id`` that may get its ephemeral messages now."""
        ds = self.docs.get(doc_id)
        if ds is None:
            return
        for conn, pd in ds.peers.items():
            link = self.links[conn]
            if (conn != skip and pd.state is not PeerState.UNAVAILABLE and link.backlog <= SEND_BACKLOG_PAUSE_BYTES
                    and self._may_read(link, doc_id)):
                yield link

    def peer_states(self, doc_id: str) -> dict[str, bool]:
        ds = self.docs.get(doc_id)
        if ds is None:
            return {}
        return {self.links[conn].peer_id: pd.their_heads == ds.heads and ds.has_content
                for conn, pd in ds.peers.items()}
