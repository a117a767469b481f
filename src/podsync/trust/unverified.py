"""How many of each document's records do not count, and why, for every document
at once: what ``podsync status`` shows when no node runs.

Counting them means reading every record of the pod (tens of thousands after a
few years). So the counts are kept in the store with the counts of writes of the
document's records and of the pod document's they were made at
(:meth:`podsync.records.book.RecordBook.writes`), as derived views are
(:mod:`podsync.api.views`): a document whose counts were made from exactly the
records the store holds now is not read again.
"""

from __future__ import annotations

from collections.abc import Iterable

import msgspec

from podsync.records.book import writes_basis
from podsync.trust.ledger import Ledger

#: The layout of saved counts; counts saved in another are made again.
REASONS_FORMAT = 1


_decode_reasons = msgspec.msgpack.Decoder(dict[str, int]).decode


def everywhere(ledger: Ledger, doc_ids: Iterable[str]) -> dict[str, dict[str, int]]:
    """Document id -> reason -> how many of its records do not count, for each of
    ``doc_ids`` (as the store holds their records: read what is behind first),
    saving in the store the counts it had to make."""
    wanted = list(dict.fromkeys(doc_ids))
    store = ledger.book.store
    if store is None:
        return {d: ledger.reasons(d, ledger.book.known(d)) for d in wanted}
    saved = store.load_reasons()
    writes = ledger.book.writes_of(wanted)
    pod_writes = ledger.book.writes(ledger.pod_id)
    out: dict[str, dict[str, int]] = {}
    missing: dict[str, bytes] = {}
    for doc_id in wanted:
        basis = writes_basis(REASONS_FORMAT, writes[doc_id], pod_writes)
        found = _read(saved.get(doc_id))
        if found is not None and found[0] == basis:
            out[doc_id] = found[1]
        else:
            missing[doc_id] = basis
    ledger.book.preload(missing)
    rows = []
    for doc_id, basis in missing.items():
        out[doc_id] = ledger.reasons(doc_id, ledger.book.known(doc_id))
        rows.append((doc_id, basis, msgspec.msgpack.encode(out[doc_id])))
    if rows:
        store.save_reasons(rows)
    return out


def _read(row: tuple[bytes, bytes] | None) -> tuple[bytes, dict[str, int]] | None:
    """A saved row (its basis as saved), or None when it does not read back (then
    it is counted again)."""
    if row is None:
        return None
    try:
        return row[0], _decode_reasons(row[1])
    except (msgspec.DecodeError, msgspec.ValidationError):
        return None
