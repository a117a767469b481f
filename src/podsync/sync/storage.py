"""Storage as requests: what the engine asks of the store, and how a runtime answers.

The engine never reads storage inside one of its calls. It emits ListHeld (once,
before its first piece of work) and LoadDocument (when a frame, an announcement
or the runtime needs a document that is stored and not in memory); the runtime
answers with ``SyncEngine.held_listed`` and ``SyncEngine.document_loaded``, at
once or later. Meanwhile the work that needed the answer waits in a Loading
record (a document's parked frames and announcements), as samod's document
actors buffer sync messages while they load.

What the engine learns it keeps: the heads of every stored document (the
catalog), kept current by ``SyncEngine.stored`` as the runtime's writes land. So
summaries, announcements and "do we hold this?" never ask the store again.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Protocol

import automerge.core as am

from podsync.errors import DamagedDocument
from podsync.sync.cost import Cost
from podsync.sync.effects import Damaged, Effect, ListHeld, LoadDocument, StorageRequest
from podsync.sync.messages import Message
from podsync.sync.state import Link

if TYPE_CHECKING:
    from podsync.sync.engine import SyncEngine


class DocumentSource(Protocol):
    """Stored documents, as a runtime reads them to answer the engine's requests."""

    def load(self, doc_id: str) -> am.Document | None:
        """The stored document, or None when it is not stored here. May raise
        :class:`podsync.errors.DamagedDocument`."""

    def all_heads(self) -> Mapping[str, list[bytes]]:
        """Every stored document's heads (a document whose heads are empty is
        stored but holds nothing)."""

    def measured(self, doc_id: str) -> Cost | None:
        """What the stored document was measured to cost, if known (None: not
        measured at what is stored now)."""


#: A frame that arrived for a document being loaded, kept to be handled once it is.
ParkedFrame = tuple[Link, Message, Cost]


@dataclass(eq=False)
class Loading:
    """A document being loaded, and the work waiting for it, in arrival order."""

    frames: list[ParkedFrame] = field(default_factory=list)
    announce: list[Link] = field(default_factory=list)  # links to announce it to


def answer(engine: SyncEngine, source: DocumentSource, request: StorageRequest,
           now: float) -> list[Effect]:
    """Answer one storage request from ``source``; the engine's effects that follow."""
    if isinstance(request, ListHeld):
        return engine.held_listed(source.all_heads(), now)
    try:
        doc: am.Document | Damaged | None = source.load(request.doc_id)
    except DamagedDocument as err:
        doc = Damaged(str(err))
    size = source.measured(request.doc_id) if isinstance(doc, am.Document) else None
    return engine.document_loaded(request.doc_id, doc, now, size=size)


def is_storage_request(effect: Effect) -> bool:
    return isinstance(effect, (ListHeld, LoadDocument))
