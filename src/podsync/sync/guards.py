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
from collections import OrderedDict

import automerge.core as am

from podsync.errors import ProtocolError
from podsync.sync.cost import (
    Cost, carries_document, chunks_cost, chunks_within, sync_message_cost, sync_message_parts,
)
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
        # Per proven peer, documents it offered past its budget, oldest first:
        # asked for again as the budget refills (at most a burst's worth kept).
        self._deferred: dict[str, OrderedDict[str, None]] = {}

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
            deferred = self._deferred.get(link.identity)
            if deferred is not None:
                deferred.pop(doc_id, None)  # offered again and taken: not asked for later
            return True
        log.warning("peer %s: new document %s refused for now: it offered more than %d new "
                    "documents (%.0f more per second; asked for again then)", link.peer_id, doc_id,
                    PEER_NEW_DOCUMENTS_BURST, PEER_NEW_DOCUMENTS_PER_SECOND)
        out.send(link.conn, DocUnavailable(self.peer_id, link.peer_id, doc_id))
        deferred = self._deferred.setdefault(link.identity, OrderedDict())
        deferred[doc_id] = None
        if len(deferred) > PEER_NEW_DOCUMENTS_BURST:
            deferred.popitem(last=False)  # its next reconnect offers it again
        return False

    def due(self, links: list[Link], now: float) -> list[tuple[Link, str]]:
        """Documents refused by the budget that may be asked for now, each with
        the open link of its peer to ask; each takes one token as it is asked,
        so what the answer brings counts as asked for, not offered."""
        asks: list[tuple[Link, str]] = []
        for link in links:
            deferred = self._deferred.get(link.identity)
            if not deferred or not link.open:
                continue
            bucket = self._new_docs[link.identity]
            while deferred and bucket.take(1, now):
                asks.append((link, deferred.popitem(last=False)[0]))
            if not deferred:
                del self._deferred[link.identity]
        return asks

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

    @staticmethod
    def first_input(ds: DocSync | None, held: bool, cost: Cost) -> None:
        """A document that held nothing took its first input: that input's cost
        starts its running size (it weighs the changes, which is more than the
        document they make, so the limit comes no later), instead of the
        document being saved and weighed at its next input."""
        if not held and ds is not None and ds.has_content and ds.size is None:
            ds.size = cost


def _fits(size: Cost, more: Cost) -> bool:
    return (size.entries + more.entries <= MAX_DOCUMENT_ENTRIES
            and size.bytes + more.bytes <= MAX_DOCUMENT_BYTES)


def measure_document(doc: am.Document) -> Cost:
    """What ``doc`` costs, saved and weighed as the store would load it."""
    return weigh_saved(doc.save())


def weigh_saved(data: bytes) -> Cost:
    """What the saved document ``data`` costs to load, however much that is."""
    return chunks_cost(data, max_bytes=1 << 62, max_entries=1 << 62, chunk_weight=CHUNK_ENTRY_WEIGHT)


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


def beyond_one_input(cost: Cost) -> bool:
    """Whether a document measured at ``cost`` is past what a peer takes as one
    input. The store's measure of a document is what it weighs saved once it is
    compacted, and no less before (changes weigh more than the document they
    make), as is the engine's running size; so a document measured past it goes
    as a saved prefix without being saved whole first (one whose changes were
    not compacted yet might have fitted whole: its rest then travels by sync).
    One measured within it may still be past it saved (a frame's bytes), which
    saving it says."""
    return cost.bytes > MAX_INPUT_BYTES or cost.entries > MAX_INPUT_ENTRIES


def first_part(data: bytes, doc: am.Document) -> bytes | None:
    """For a sync message ``data`` from ``doc`` that is more than a peer takes
    as one input: the same message carrying only as many of its changes, from
    the first, as the peer takes; None when not even its first change fits.

    automerge lists a message's changes in history order (after the few the
    peer asked for by hash), each after those it depends on, so a part's
    changes depend on earlier parts and on what the peer holds (a change whose
    dependencies are still to come waits in the peer's document until they
    arrive); the peer's answer to a part tells the sender what it still lacks.
    A message carrying the saved document (sent to a peer holding nothing) is
    cut into the document's changes instead."""
    parts = sync_message_parts(data)
    chunks = parts.chunks
    if any(carries_document(chunk) for chunk in chunks):
        chunks = [bytes(change.bytes) for change in doc.get_changes([])]
    fixed = len(parts.head) + len(parts.tail) + 2 * _LEB_MAX
    count = chunks_within(chunks, max_bytes=MAX_INPUT_BYTES - fixed, max_entries=MAX_INPUT_ENTRIES,
                          chunk_weight=CHUNK_ENTRY_WEIGHT)
    wire = fixed + WHOLE_DOC_FRAME_OVERHEAD
    for i, chunk in enumerate(chunks[:count]):
        wire += len(chunk) + _LEB_MAX
        if wire > MAX_FRAME_BYTES:
            count = i
            break
    if not count:
        return None
    # Within what the peer weighs (sync_message_cost: the head, the count, each
    # chunk as chunks_within weighed it, the tail; ``fixed`` holds the rest).
    return parts.encode(chunks[:count])


def saved_prefix(doc: am.Document, cost: Cost, size: int) -> tuple[bytes, list[bytes]] | None:
    """For a document that is more than a peer takes as one input, costing
    ``cost`` and ``size`` bytes saved (estimates that are not less will do):
    the document as it stood after as many of its first changes as make a saved
    document the peer takes (its bytes and heads), or None.

    A peer holding nothing loads a saved document for a fraction of what
    applying its changes costs (a needs board's first three quarters: 4.4 MB
    and 395,000 column entries saved, against 12 MB and 960,000 as changes);
    the rest follows by sync. The cut is guessed from how far past the limits
    the whole is (a little short of it), and tried smaller if the guess does
    not fit."""
    share = min(MAX_INPUT_BYTES / max(cost.bytes, 1), MAX_INPUT_ENTRIES / max(cost.entries, 1),
                (MAX_FRAME_BYTES - WHOLE_DOC_FRAME_OVERHEAD) / max(size, 1))
    changes = doc.get_changes([])
    # Saved size grows about in step with the changes kept (a needs board's
    # first three quarters saved to three quarters of its bytes and entries).
    count = int(len(changes) * share * 0.95)
    for _ in range(4):
        if count < 1:
            return None
        # automerge lists changes after those they depend on: a prefix is whole.
        prefix = changes[:count]
        depended = {dep for change in prefix for dep in change.deps}
        heads = sorted(change.hash for change in prefix if change.hash not in depended)
        saved = doc.fork_at(heads).save()
        if beyond_input_limits(saved, sync_message=False) is None:
            return saved, heads
        count = int(count * 0.9)
    return None


#: The most bytes a LEB128 length prefix takes for any length a frame holds.
_LEB_MAX = 4


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
