"""Compaction: folding a document's incremental chunks into one new snapshot.

The writer thread counts the bytes stored per document and chunk kind. Once a
document's incrementals outgrow its snapshot (and a small floor) it waits for
the writer to be idle, so a burst of edits is folded once; once they outgrow it
``OVERDUE_FACTOR`` times over it is compacted right after the next batch even
under steady load, which bounds the work a load has to do. Each compaction is
one transaction: the new snapshot goes in and the chunks it covers go out.
"""

from __future__ import annotations

import logging
import sqlite3

import automerge.core as am
import msgspec

from podsync.errors import NotFound
from podsync.store.chunks import (
    INCREMENTAL,
    SNAPSHOT,
    ChunkError,
    assemble,
    digest,
    encode_heads,
    insert_chunk,
    mark_damaged,
    measure,
    read_chunks,
    record_measured,
)
from podsync.store.writer import Job

log = logging.getLogger(__name__)

# Below this many bytes of changes a load costs tens of microseconds, less than
# rewriting the snapshot every few changes would (automerge-repo compacts as
# soon as incrementals reach the snapshot's size, with tiny snapshots that is
# every other change).
COMPACT_MIN_INCREMENTAL_BYTES = 4096
# Past this multiple of the threshold, compaction stops waiting for an idle
# writer: loads stay within a few times the cost of loading a snapshot.
OVERDUE_FACTOR = 4


class _Sizes(msgspec.Struct):
    snapshot: int
    incremental: int
    retry_above: int = 0  # after a refused compaction, wait until incrementals pass this

    def threshold(self) -> int:
        return max(self.snapshot, COMPACT_MIN_INCREMENTAL_BYTES, self.retry_above)


class Compactor:
    """Decides when documents are compacted and compacts them (writer thread only).

    Implements :class:`podsync.store.writer.Maintenance`. Its byte counts only
    decide *when* to compact; compaction itself reads the chunks it rewrites
    inside its own transaction, so a stale count never costs data.
    """

    def __init__(self) -> None:
        self._sizes: dict[str, _Sizes] = {}
        self._touched: set[str] = set()
        # Dicts used as ordered sets: oldest request first.
        self._waiting: dict[str, None] = {}
        self._overdue: dict[str, None] = {}

    def created(self, doc_id: str, snapshot_bytes: int) -> None:
        self._sizes[doc_id] = _Sizes(snapshot=snapshot_bytes, incremental=0)

    def appended(self, conn: sqlite3.Connection, doc_id: str, nbytes: int) -> None:
        """Count an incremental chunk just inserted (in this transaction)."""
        sizes = self._sizes.get(doc_id)
        if sizes is None:
            self._sizes[doc_id] = self._count(conn, doc_id)  # includes the new chunk
        else:
            sizes.incremental += nbytes
        self._touched.add(doc_id)

    def pending(self) -> bool:
        return bool(self._waiting or self._overdue)

    def next_job(self, idle: bool) -> Job[bool] | None:
        for queue in (self._overdue, self._waiting) if idle else (self._overdue,):
            if queue:
                doc_id = next(iter(queue))
                del queue[doc_id]
                self._waiting.pop(doc_id, None)
                return lambda conn: self.compact(conn, doc_id)
        return None

    def after_batch(self, committed: bool) -> None:
        if not committed:
            self._sizes.clear()  # rolled back: the counts no longer match the file
        else:
            for doc_id in self._touched:
                sizes = self._sizes.get(doc_id)
                if sizes is None or sizes.incremental <= sizes.threshold():
                    continue
                if sizes.incremental > OVERDUE_FACTOR * sizes.threshold():
                    self._overdue[doc_id] = None
                else:
                    self._waiting[doc_id] = None
        self._touched.clear()

    def compact(self, conn: sqlite3.Connection, doc_id: str) -> bool:
        """Fold the document into one snapshot inside the caller's transaction.

        Returns False, changing nothing but a damage record, when there is
        nothing to fold, when the document is damaged (its bytes are kept as
        they are), or when its chunks do not reach its recorded heads (changes
        waiting for missing dependencies, which a rewrite would drop).
        """
        row = conn.execute(
            "SELECT heads, damaged FROM documents WHERE doc_id=?", (doc_id,)
        ).fetchone()
        if row is None:
            raise NotFound(f"document {doc_id} is not in the store")
        heads, damaged = row
        if damaged is not None:
            return False
        chunks = read_chunks(conn, doc_id)
        if len(chunks) <= 1 and all(c.kind == SNAPSHOT for c in chunks):
            return False
        try:
            doc = assemble(chunks)
        except ChunkError as e:
            log.error("document %s is damaged in the store: %s", doc_id, e)
            mark_damaged(conn, doc_id, str(e))
            return False
        if encode_heads(doc.get_heads()) != heads:
            log.warning(
                "document %s: its chunks do not reach its recorded heads; not compacting it "
                "(changes may be waiting for missing dependencies)",
                doc_id,
            )
            sizes = self._sizes.setdefault(doc_id, self._count(conn, doc_id))
            sizes.retry_above = 2 * sizes.incremental
            return False
        snapshot = doc.save()
        try:
            reloaded = am.Document.load(snapshot)
        except Exception as e:  # noqa: BLE001 - automerge raises plain Exception
            reloaded, reason = None, str(e)
        if reloaded is None or encode_heads(reloaded.get_heads()) != heads:
            # A change automerge applied but would not have written itself (a
            # peer's hand-made encoding) makes the saved form unloadable: the
            # chunks as they are stay the truth, and are kept.
            log.error("document %s: its snapshot would not load back (%s); not compacting it", doc_id,
                      reason if reloaded is None else "other heads")
            sizes = self._sizes.setdefault(doc_id, self._count(conn, doc_id))
            sizes.retry_above = 2 * sizes.incremental
            return False
        conn.execute(
            "DELETE FROM chunks WHERE doc_id=? AND id<=?", (doc_id, max(c.id for c in chunks))
        )
        insert_chunk(conn, doc_id, SNAPSHOT, digest(snapshot), snapshot)
        # The chunks were measured to assemble them; the snapshot replaces them.
        try:
            record_measured(conn, doc_id, measure(snapshot))
        except ChunkError:
            record_measured(conn, doc_id, None)
        self._sizes[doc_id] = _Sizes(snapshot=len(snapshot), incremental=0)
        log.debug("document %s compacted: %d chunks into one snapshot", doc_id, len(chunks))
        return True

    @staticmethod
    def _count(conn: sqlite3.Connection, doc_id: str) -> _Sizes:
        totals = dict(
            conn.execute(
                "SELECT kind, sum(length(bytes)) FROM chunks WHERE doc_id=? GROUP BY kind",
                (doc_id,),
            ).fetchall()
        )
        return _Sizes(snapshot=totals.get(SNAPSHOT, 0), incremental=totals.get(INCREMENTAL, 0))
