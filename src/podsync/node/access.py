"""Who may see what, for a running node: the roster and each document's readers.

Links from other nodes are TLS with the peer's certificate pinned to the roster;
the link remembers the device id its certificate proves. A peer's automerge-repo
``senderId`` must be that device id, the device must be active in the roster, and
its member must be a reader of the document. The member's own local apps (the
token-protected loopback endpoint) read what the member reads. Documents made by
other automerge-repo apps carry no readers and are shared with the whole pod.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from podsync.pod.access import POD, PRIVATE_KINDS, readers
from podsync.repo import Repo
from podsync.trust import roster as roster_mod

log = logging.getLogger(__name__)

Readers = str | frozenset[str]


class PodAccess:
    def __init__(self, repo: Repo, pod_id: str, member_id: str) -> None:
        self.repo = repo
        self.pod_id = pod_id
        self.member_id = member_id
        self.roster: roster_mod.Roster | None = None
        self._certs: list[bytes] = []
        self._readers: dict[str, Readers] = {}
        self.refresh_roster()

    def refresh_roster(self) -> bool:
        """Re-read the roster from the pod document; True when active devices changed."""
        try:
            doc = self.repo.get(self.pod_id)
        except Exception:  # noqa: BLE001 - a missing or damaged pod doc means nobody is trusted
            log.error("the pod document %s cannot be read: no peer is trusted", self.pod_id)
            doc = None
        roster = roster_mod.view(doc) if doc is not None else None
        before = set(self._certs)
        self.roster = roster
        self._certs = roster_mod.active_device_certs(roster) if roster is not None else []
        return set(self._certs) != before

    def active_certs(self) -> list[bytes]:
        """Trust anchors for TLS, kept current (called at every handshake)."""
        return self._certs

    def is_active_device(self, device_id: str) -> bool:
        return self.roster is not None and roster_mod.is_active_device(self.roster, device_id)

    def member_of(self, device_id: str) -> str | None:
        if self.roster is None or not roster_mod.is_active_device(self.roster, device_id):
            return None
        return roster_mod.member_of_device(self.roster, device_id)

    def forget_readers(self, doc_id: str) -> bool:
        """Drop the cached readers of ``doc_id``; True when they changed."""
        before = self._readers.pop(doc_id, None)
        return before is not None and before != self.readers_of(doc_id)

    def readers_of(self, doc_id: str) -> Readers:
        cached = self._readers.get(doc_id)
        if cached is not None:
            return cached
        kind = self.repo.kind_of(doc_id)
        if kind not in PRIVATE_KINDS:
            # Pod-wide by kind: no need to load the document (a reconnect asks
            # this for every document the node holds). A document not held here
            # has no known kind yet: answer, but remember nothing, since it may
            # turn out private when it arrives.
            if self.repo.has(doc_id):
                self._readers[doc_id] = POD
            return POD
        # The engine's live copy, not the store: a document created a moment ago is
        # announced before its first write is committed, and must not count as
        # "not held" (which would share it with the whole pod) in between.
        doc = self.repo.engine.open(doc_id)
        if doc is None:
            # Not held here: only a request can be about it, and forwarding a
            # request reveals no more than the id the asker already knows.
            return POD
        found = readers(kind, doc)
        result: Readers = POD if found is None else found
        self._readers[doc_id] = result
        return result

    def member_may_read(self, member_id: str | None, doc_id: str) -> bool:
        if member_id is None:
            return False
        who = self.readers_of(doc_id)
        return who == POD or member_id in who


class NodePolicy:
    """The sync engine's share policy for one node (see module docstring)."""

    def __init__(self, link_of_peer: Callable[[str], tuple[str, str | None] | None]) -> None:
        #: Set once the repo (which the access object reads) exists.
        self.access: PodAccess | None = None
        # peer id -> (endpoint, TLS-proven device id) of its live link, if any
        self._link_of_peer = link_of_peer

    def _member(self, peer_id: str) -> str | None:
        if self.access is None:
            return None
        link = self._link_of_peer(peer_id)
        if link is None:
            return None
        endpoint, device_id = link
        if endpoint == "local":
            return self.access.member_id
        if device_id != peer_id:
            return None  # a member claiming another device's id gets nothing
        return self.access.member_of(device_id)

    def may_read(self, peer_id: str, doc_id: str) -> bool:
        return self.access is not None and self.access.member_may_read(self._member(peer_id), doc_id)

    def may_announce(self, peer_id: str, doc_id: str) -> bool:
        link = self._link_of_peer(peer_id)
        return link is not None and link[0] == "peer" and self.may_read(peer_id, doc_id)
