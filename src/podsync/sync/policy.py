"""What the engine needs from the repo: the sharing rules."""

from __future__ import annotations

from typing import Protocol

import automerge.core as am


class SharePolicy(Protocol):
    #: Documents announced before all others on a new link (a policy may leave it
    #: out): the ones whose content decides who may read the rest, so a peer
    #: learns the rules before what they govern.
    first: frozenset[str]

    def may_announce(self, peer_id: str, doc_id: str) -> bool:
        """Push this document to that peer without being asked."""

    def may_read(self, peer_id: str, doc_id: str) -> bool:
        """That peer may receive anything of this document (content, ephemeral
        messages, or merely its id in a summary)."""

    def may_write(self, peer_id: str, doc_id: str) -> bool:
        """Changes to this document from that peer (who may read it) are taken."""

    def may_offer(self, peer_id: str, doc_id: str) -> bool:
        """That peer may send us this document although ``may_read`` refuses it:
        we hold nothing of it, so who reads it is not known here yet. What
        arrives is kept only if :meth:`admit` accepts it."""

    def admit(self, peer_id: str, doc_id: str, doc: am.Document) -> bool:
        """Keep ``doc``, a document we held nothing of, offered by that peer.
        Refused, it is dropped: nothing is stored or passed on."""

    # Optional: ``content_changed(doc_id)``, called when a peer's changes reached a
    # document, before the engine decides whom to push them to (a policy that
    # caches who reads what forgets that document's answers there).


class AllowAll:
    """Everyone may read and write everything and is offered everything."""

    def may_announce(self, peer_id: str, doc_id: str) -> bool:
        return True

    def may_read(self, peer_id: str, doc_id: str) -> bool:
        return True

    def may_write(self, peer_id: str, doc_id: str) -> bool:
        return True

    def may_offer(self, peer_id: str, doc_id: str) -> bool:
        return True

    def admit(self, peer_id: str, doc_id: str, doc: am.Document) -> bool:
        return True
