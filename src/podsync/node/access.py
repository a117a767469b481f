"""Who may see and change what, for a running node: the sync engine's policy.

Links from other nodes are TLS with the peer's certificate pinned to the roster;
the link remembers the device id its certificate proves. A peer's automerge-repo
``senderId`` must be that device id, the device must be active in the roster, and
its member must be a reader of the document (:class:`~podsync.trust.ledger.Ledger`
decides, from signed records only). The member's own local apps (the
token-protected loopback endpoint) read what the member reads, may write only
documents of other apps (never the pod document, a collection or a private
document, whose content is signed records), and a document they create is the
member's alone until the member shares it.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable

import automerge.core as am

from podsync.trust import roster as roster_mod
from podsync.trust.ledger import FOREIGN_KIND, NOBODY, POD, Ledger, Readers

log = logging.getLogger(__name__)


class PodAccess:
    """The roster and readers for the node, as its ledger derives them."""

    def __init__(self, ledger: Ledger) -> None:
        self.ledger = ledger
        self.member_id = ledger.member_id
        self._certs: list[bytes] = []
        self.refresh_roster()

    @property
    def roster(self) -> roster_mod.Roster | None:
        return self.ledger.roster

    def refresh_roster(self) -> bool:
        """Re-read the roster; True when the active devices changed."""
        self.ledger.refresh_pod()
        return self._update_certs()

    def _update_certs(self) -> bool:
        roster = self.ledger.roster
        before = set(self._certs)
        self._certs = roster_mod.active_device_certs(roster) if roster is not None else []
        return set(self._certs) != before

    def roster_changed(self) -> bool:
        """After the ledger replayed the pod document: True when active devices changed."""
        return self._update_certs()

    def active_certs(self) -> list[bytes]:
        """Trust anchors for TLS, kept current (called at every handshake)."""
        return self._certs

    def is_active_device(self, device_id: str) -> bool:
        return self.ledger.active_device_member(device_id) is not None

    def member_of(self, device_id: str) -> str | None:
        return self.ledger.active_device_member(device_id)

    def readers_of(self, doc_id: str) -> Readers:
        return self.ledger.readers(doc_id)

    def member_may_read(self, member_id: str | None, doc_id: str) -> bool:
        return self.ledger.may_read(member_id, doc_id)


class NodePolicy:
    """The sync engine's share policy for one node (see module docstring)."""

    def __init__(self, link_of_peer: Callable[[str], tuple[str, str | None] | None],
                 holds: Callable[[str], bool] = lambda doc_id: False) -> None:
        #: Set once the repo (which the access object reads) exists.
        self.access: PodAccess | None = None
        # peer id -> (endpoint, TLS-proven device id) of its live link, if any
        self._link_of_peer = link_of_peer
        self._holds = holds
        #: Claims of documents local apps created, being written (kept referenced).
        self._claims: set[asyncio.Task[None]] = set()
        #: The pod document goes first on every link: its records say who reads the rest.
        self.first: frozenset[str] = frozenset()
        #: Documents whose changes were refused for grafting history onto a private
        #: document (see accept()): reported by the node's status.
        self.contested: set[str] = set()

    def _link(self, peer_id: str) -> tuple[str, str | None] | None:
        return self._link_of_peer(peer_id) if self.access is not None else None

    def _member(self, peer_id: str) -> str | None:
        link = self._link(peer_id)
        if link is None or self.access is None:
            return None
        endpoint, device_id = link
        if endpoint == "local":
            return self.access.member_id
        if device_id != peer_id:
            return None  # a member claiming another device's id gets nothing
        return self.access.member_of(device_id)

    def may_read(self, peer_id: str, doc_id: str) -> bool:
        if self.access is None:
            return False
        link = self._link(peer_id)
        if link is not None and link[0] == "local" and self._unknown(doc_id):
            # The member's own app asking for a document no record here names: it
            # may ask, and only the member's other local apps may be asked for it
            # (no record lets a member's node read it).
            return True
        return self.access.member_may_read(self._member(peer_id), doc_id)

    def _unknown(self, doc_id: str) -> bool:
        assert self.access is not None
        ledger = self.access.ledger
        return ledger.kind(doc_id) is None and not self._holds(doc_id)

    def may_announce(self, peer_id: str, doc_id: str) -> bool:
        link = self._link(peer_id)
        return link is not None and link[0] == "peer" and self.may_read(peer_id, doc_id)

    def may_write(self, peer_id: str, doc_id: str) -> bool:
        link = self._link(peer_id)
        if link is None or self.access is None:
            return False
        if link[0] == "local":
            # Local apps cannot sign: what podsync keeps as signed records is theirs to
            # read, not to write.
            return self.access.ledger.kind(doc_id) in (None, FOREIGN_KIND)
        return self.may_read(peer_id, doc_id)

    def may_offer(self, peer_id: str, doc_id: str) -> bool:
        link = self._link(peer_id)
        if link is None or self.access is None:
            return False
        if link[0] == "local":
            return self.access.ledger.kind(doc_id) in (None, FOREIGN_KIND)
        return self._member(peer_id) is not None

    def admit(self, peer_id: str, doc_id: str, doc: am.Document) -> bool:
        link = self._link(peer_id)
        if link is None or self.access is None:
            return False
        ledger = self.access.ledger
        if link[0] == "local":
            if ledger.kind(doc_id) not in (None, FOREIGN_KIND):
                return False  # one of the pod's own documents: local apps only read them
            if ledger.kind(doc_id) == FOREIGN_KIND and not ledger.may_read(ledger.member_id, doc_id):
                return False  # another member's document this member may not read
            # A document a local app made: this member's alone until they share it.
            self._claim(doc_id)
            return True
        member = self._member(peer_id)
        readers = ledger.readers(doc_id)
        if readers == NOBODY:
            readers = ledger.candidate(doc_id, doc)
        if readers == NOBODY or member is None:
            log.warning("peer %s offered document %s, whose readers its records do not "
                        "establish; refused", peer_id, doc_id)
            return False
        if readers != POD and (member not in readers or ledger.member_id not in readers):
            log.warning("peer %s offered document %s, which its records do not let both of "
                        "us read; refused", peer_id, doc_id)
            return False
        ledger.admit_candidate(doc_id, doc)
        return True

    def accept(self, peer_id: str, doc_id: str, doc: am.Document) -> bool:
        """Changes a peer sent to a document this node holds (it may read and write
        it): a private document never takes history that does not descend from its
        creation (content someone planted under its id elsewhere)."""
        if self.access is None:
            return False
        if not self.access.ledger.would_graft(doc_id, doc):
            return True
        log.warning("document %s: this node holds content under that id which does not "
                    "descend from the document's creation record; it keeps it apart and "
                    "serves the document to nobody", doc_id)
        self.contested.add(doc_id)
        return False

    def content_changed(self, doc_id: str) -> None:
        if self.access is not None:
            self.access.ledger.forget_access(doc_id)

    def _claim(self, doc_id: str) -> None:
        assert self.access is not None
        write = self.access.ledger.claim(doc_id)
        if write is None:
            return
        task = asyncio.get_running_loop().create_task(write)
        self._claims.add(task)
        task.add_done_callback(self._claim_done)

    def _claim_done(self, task: asyncio.Task[None]) -> None:
        self._claims.discard(task)
        if not task.cancelled() and task.exception() is not None:
            log.error("could not record a local app's new document: %s", task.exception())

    async def settle(self) -> None:
        """Wait for claims being written (before the node stops)."""
        while self._claims:
            await asyncio.gather(*list(self._claims), return_exceptions=True)
