"""What the engine checks before it takes automerge bytes in or sends them out.

In: a peer may make this node take up only so many documents it never held
(PEER_NEW_DOCUMENTS_*, per proven peer, surviving reconnects), and a document
may grow through outside inputs only so far (MAX_DOCUMENT_*). Past either, the
input is answered doc-unavailable and the link stays.

Out: a node never sends what a peer would refuse as one input (MAX_FRAME_BYTES,
MAX_INPUT_*), which would close an honest link again at every reconnect; and it
stores a cold-synced document whole only if its saved form loads back.
"""

from __future__ import annotations

import logging

import automerge.core as am

from podsync.errors import ProtocolError
from podsync.sync.cost import Cost, chunks_cost, sync_message_cost
from podsync.sync.effects import Outbox
from podsync.sync.limits import (
    CHUNK_ENTRY_WEIGHT, MAX_DOCUMENT_BYTES, MAX_DOCUMENT_ENTRIES, MAX_FRAME_BYTES, MAX_INPUT_BYTES,
    MAX_INPUT_ENTRIES, PEER_NEW_DOCUMENTS_BURST, PEER_NEW_DOCUMENTS_PER_SECOND,
)
from podsync.sync.messages import DocUnavailable
from podsync.sync.state import DocSync, Link, TokenBucket

log = logging.getLogger("podsync.sync")

#: Room a whole-document frame needs around the saved bytes: the CBOR map with
#: the type, both peer ids and the document id.
WHOLE_DOC_FRAME_OVERHEAD = 1024


class Intake:
    """Budgets of one engine: new documents per proven peer, growth per document."""

    def __init__(self, peer_id: str) -> None:
        self.peer_id = peer_id
        self._new_docs: dict[str, TokenBucket] = {}

    def may_take_up(self, out: Outbox, link: Link, doc_id: str, ds: DocSync | None, held: bool,
                    now: float) -> bool:
        """A frame offering content of a document this node never held (``held``
        False) takes one of the peer's tokens, once per document and link; with
        none left it is answered doc-unavailable and changes nothing."""
        if held or not link.open or (ds is not None and link.conn in ds.peers):
            return True
        bucket = self._new_docs.get(link.identity)
        if bucket is None:
            bucket = self._new_docs[link.identity] = TokenBucket(
                PEER_NEW_DOCUMENTS_BURST, PEER_NEW_DOCUMENTS_PER_SECOND, now)
        if bucket.take(1, now):
            return True
        log.warning("peer %s: new document %s refused: it offered more than %d new documents "
                    "(%.0f more per second)", link.peer_id, doc_id, PEER_NEW_DOCUMENTS_BURST,
                    PEER_NEW_DOCUMENTS_PER_SECOND)
        out.send(link.conn, DocUnavailable(self.peer_id, link.peer_id, doc_id))
        return False

    def may_grow(self, out: Outbox, link: Link, ds: DocSync | None, doc: am.Document | None,
                 cost: Cost) -> bool:
        """Whether the document may take ``cost`` more without passing
        MAX_DOCUMENT_*. Its own size is measured (saved and weighed) when it
        first takes input in this run unless the repo measured it on loading,
        and again whenever the running total nears the limit."""
        if not cost.entries or ds is None or doc is None:
            return True
        if ds.size is None or not _fits(ds.size, cost):
            ds.size = measure_document(doc)
        if _fits(ds.size, cost):
            ds.size = Cost(ds.size.bytes + cost.bytes, ds.size.entries + cost.entries)
            return True
        log.warning("peer %s: changes to document %s refused: it holds %d column entries and "
                    "%d bytes, and may grow to %d and %d", link.peer_id, ds.doc_id, ds.size.entries,
                    ds.size.bytes, MAX_DOCUMENT_ENTRIES, MAX_DOCUMENT_BYTES)
        out.send(link.conn, DocUnavailable(self.peer_id, link.peer_id, ds.doc_id))
        return False


def _fits(size: Cost, more: Cost) -> bool:
    return (size.entries + more.entries <= MAX_DOCUMENT_ENTRIES
            and size.bytes + more.bytes <= MAX_DOCUMENT_BYTES)


def measure_document(doc: am.Document) -> Cost:
    """What ``doc`` costs, saved and weighed as the store would load it."""
    return chunks_cost(doc.save(), max_bytes=1 << 62, max_entries=1 << 62, chunk_weight=CHUNK_ENTRY_WEIGHT)


def beyond_input_limits(data: bytes, *, sync_message: bool) -> str | None:
    """Why a peer would refuse ``data`` (a sync message, or a saved document) as
    one input, or None. Honest nodes never send what they would refuse."""
    if len(data) > MAX_FRAME_BYTES - WHOLE_DOC_FRAME_OVERHEAD:
        return f"{len(data)} bytes, more than a frame holds"
    weigh = sync_message_cost if sync_message else chunks_cost
    try:
        weigh(data, max_bytes=MAX_INPUT_BYTES, max_entries=MAX_INPUT_ENTRIES, chunk_weight=CHUNK_ENTRY_WEIGHT)
    except ProtocolError as err:
        return str(err)
    return None


def saved_or_changes(doc_id: str, doc: am.Document) -> bytes:
    """The document saved, if that loads back; else its changes as they came.

    automerge applies a change whose encoding is not the one it would write
    itself, but a saved document holding it no longer loads ("mismatching
    heads"); its own bytes always do."""
    saved = doc.save()
    try:
        am.Document.load(saved)
    except Exception:  # noqa: BLE001 - automerge raises plain Exception
        log.warning("document %s does not load back once saved; stored change by change", doc_id)
        return b"".join(c.bytes for c in doc.get_changes([]))
    return saved
