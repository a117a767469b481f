"""Who reads which private documents, kept in the store between commands.

A command run without a node that lists a member's feedback threads asks who
reads every private document the node holds; working that out reads each one's
records (a pod of years holds hundreds of threads, thousands of records). What
a document's records establish (its kind, and its readers as its creation
record and the counted records after it make them) depends only on those
records, on the pod document's (who counts, and when) and on this version of
podsync's rules. So it is kept with its **basis**: the counts of writes of the
document's records and of the pod document's that the store held when it was
worked out (every write of records, or of their signature answers, adds one to
its document's count: :meth:`~podsync.records.book.RecordBook.writes`), and the
version. A saved answer whose basis is the store's now was worked out from the
very records the store holds, and is taken as it is; any other is worked out
again from the records, and saved. A command saves what it worked out; a node,
which works out every document's readers from the records as it starts, saves
them once warm, every ten minutes where they changed, and as it stops
(:func:`keep`).

Only what a creation record among the document's stored records makes is kept;
a document without one (another app's, shared through the pod document, or
one whose creation has not arrived) is worked out each time. Whether the
document's history starts at its creation alone is not part of it: that is
looked at as always (:meth:`~podsync.trust.ledger.Ledger.adopt`), from the
count of roots kept with the heads it was made at.
"""

from __future__ import annotations

from collections.abc import Iterable

import msgspec

from podsync.records.book import writes_basis
from podsync.trust.ledger import POD, Ledger, Readers

#: The layout of saved readers; those saved in another are worked out again.
READERS_FORMAT = 1


def establish(ledger: Ledger, doc_ids: Iterable[str]) -> None:
    """Work out the kinds and readers of many documents: from what was saved for
    those whose basis is the store's now, the others from their records (read in
    a few queries), saving what their creation records make."""
    wanted = list(dict.fromkeys(doc_ids))
    store = ledger.book.store
    todo = [d for d in wanted if ledger.unread(d)]
    if store is None or not todo:
        ledger.preload(wanted)
        return
    writes = ledger.book.writes_of([*todo, ledger.pod_id])
    pod_writes = writes[ledger.pod_id]
    saved = store.load_readers(todo)
    rest = []
    for doc_id in todo:
        row = saved.get(doc_id)
        readers = _readers(row[2]) if row is not None else None
        if row is not None and readers is not None and row[0] == _basis(writes[doc_id], pod_writes):
            ledger.adopt(doc_id, row[1], readers)
        else:
            rest.append(doc_id)
    ledger.preload(rest)
    rows = []
    for doc_id in rest:
        found = ledger.by_creation(doc_id)
        book = ledger.book.peek(doc_id)
        if found is None or book is None:
            # No creation record among the stored records: worked out each time
            # (perhaps from the document itself), never kept.
            ledger.kind(doc_id)
            ledger.readers(doc_id)
            continue
        kind, readers = found
        ledger.adopt(doc_id, kind, readers)
        # The count was read with the records (one snapshot): what is kept is
        # what those records make.
        rows.append((doc_id, _basis(book.writes, pod_writes), kind, _encoded(readers)))
    if rows:
        store.save_readers(rows)


def keep(ledger: Ledger, doc_ids: Iterable[str]) -> int:
    """Save what the creation records of those of ``doc_ids`` whose records are in
    memory make, where the store does not hold it already (a node once warm,
    every ten minutes and as it stops: the next command takes it rather than
    reading every private document's records); how many were saved. Nothing is
    loaded for it. Each row holds once this node's writes have landed, which
    they have before it (the store writes in order)."""
    store = ledger.book.store
    if store is None:
        return 0
    pod_writes = ledger.book.writes(ledger.pod_id)
    bases = {}
    for doc_id in doc_ids:
        book = ledger.book.peek(doc_id)
        if book is not None and book.records:
            bases[doc_id] = _basis(book.writes, pod_writes)
    saved = store.load_readers(bases)
    rows = []
    for doc_id, basis in bases.items():
        # What the store holds on these very records is not worked out again.
        made = ledger.by_creation(doc_id) if saved.get(doc_id, (b"",))[0] != basis else None
        if made is not None:
            rows.append((doc_id, basis, made[0], _encoded(made[1])))
    if rows:
        store.save_readers(rows)
    return len(rows)


def _encoded(readers: Readers) -> bytes:
    return msgspec.json.encode(readers if readers == POD else sorted(readers))


def _basis(doc_writes: int, pod_writes: int) -> bytes:
    return writes_basis(READERS_FORMAT, doc_writes, pod_writes)


def _readers(blob: bytes) -> Readers | None:
    """Saved readers as the ledger holds them; None if they do not read back."""
    try:
        value = msgspec.json.decode(blob, type=str | list[str])
    except (msgspec.DecodeError, msgspec.ValidationError):
        return None
    if isinstance(value, str):
        return POD if value == POD else None
    return frozenset(value)
