"""What the engine needs from the repo: stored documents and the sharing rules."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Protocol

import automerge.core as am


class DocumentSource(Protocol):
    """The documents stored on this node; the repo implements it over the store."""

    def load(self, doc_id: str) -> am.Document | None:
        """The stored document, or None when it is not stored here. May raise
        :class:`podsync.errors.DamagedDocument`, which the engine treats as None."""

    def heads(self, doc_id: str) -> list[bytes] | None:
        """The stored heads without loading the document (cheap); None if not stored."""

    def document_ids(self) -> Iterable[str]:
        """Every stored document."""


class SharePolicy(Protocol):
    def may_announce(self, peer_id: str, doc_id: str) -> bool:
        """Push this document to that peer without being asked."""

    def may_read(self, peer_id: str, doc_id: str) -> bool:
        """That peer may receive anything of this document (content, ephemeral
        messages, or merely its id in a summary)."""


class AllowAll:
    """Everyone may read everything and is offered everything."""

    def may_announce(self, peer_id: str, doc_id: str) -> bool:
        return True

    def may_read(self, peer_id: str, doc_id: str) -> bool:
        return True
