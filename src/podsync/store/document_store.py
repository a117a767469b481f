"""DocumentStore: automerge documents as SQLite chunks, written by group commit.

Durability point: when :meth:`DocumentStore.append_changes` (or
:meth:`DocumentStore.create_document`) returns, or the awaitable of
:meth:`DocumentStore.append_changes_async` resolves, the transaction holding the
chunk has committed with ``synchronous=FULL`` in WAL mode, i.e. the write-ahead
log holding it has been fsync'd. A crash (power loss, SIGKILL) after that point
cannot lose the change; a crash before it loses the whole call, never part of it.
"""

from __future__ import annotations

import asyncio
import logging
import queue
import sqlite3
import threading
import time
from collections.abc import Iterable, Iterator
from concurrent.futures import Future
from contextlib import contextmanager
from pathlib import Path
from typing import Any, NamedTuple

import automerge.core as am
import msgspec

from podsync.errors import DamagedDocument, NotFound, StoreError
from podsync.store import schema
from podsync.store.chunks import (
    INCREMENTAL,
    SNAPSHOT,
    Chunk,
    ChunkError,
    assemble,
    assemble_measured,
    decode_heads,
    digest,
    encode_heads,
    insert_chunk,
    load_order,
    mark_damaged,
    measure,
    read_chunks,
    record_measured,
    salvage_chunks,
)
from podsync.store.compaction import Compactor
from podsync.sync.cost import Cost
from podsync.store.writer import GroupCommitWriter

log = logging.getLogger(__name__)

UNKNOWN_KIND = "unknown"
# SQLite allows 32766 bound parameters per statement; stay well below it.
_IDS_PER_QUERY = 500
#: Records written per INSERT statement. The writer's thread gives up Python's
#: lock while SQLite runs each statement, and waits for it after: one row per
#: statement, a newcomer's 40,000 records took 1.7 s to write beside a busy event
#: loop (0.15 s alone); in statements of this many, a few hundred waits in all.
_RECORDS_PER_INSERT = 1000
#: The meta key under which documents to delete at the next open are listed.
DELETE_LATER_KEY = "delete_later"


class DocumentInfo(msgspec.Struct, frozen=True):
    doc_id: str
    kind: str
    heads: list[bytes]
    damaged: str | None  # why its stored bytes do not load; None when sound


class StoredRecords(NamedTuple):
    """A document's records as the store holds them."""

    rows: list[tuple[str, bytes, bool | None]]  # id, sealed bytes, signature answer
    heads: list[bytes] | None  # the heads they were last read at (None: never read)
    unreadable: dict[str, tuple[str, str]]  # key -> reason, detail, at that reading
    #: How many writes of this document's records the store holds (as read with them).
    writes: int = 0


def _unreadable(blob: bytes | None) -> dict[str, tuple[str, str]]:
    """What a scan row says could not be read; a damaged value says nothing."""
    if blob is None:
        return {}
    try:
        return msgspec.json.decode(blob, type=dict[str, tuple[str, str]])
    except (msgspec.DecodeError, msgspec.ValidationError):
        log.warning("the store's note of unreadable records is damaged; it is read again "
                    "when the document next changes")
        return {}


class LoadedDocuments(msgspec.Struct, frozen=True):
    documents: dict[str, am.Document]
    damaged: dict[str, str]  # doc_id -> reason; these are absent from ``documents``
    sizes: dict[str, Cost]  # doc_id -> what its stored chunks cost to load


class Salvaged(msgspec.Struct, frozen=True):
    document: am.Document
    left_out: list[int]  # ids of the chunks that failed their check or would not load


class DocumentStore:
    """Crash-safe store of automerge documents in one SQLite file.

    Durability point: when ``append_changes``/``create_document`` return, or the
    awaitable of ``append_changes_async`` resolves, the transaction holding the
    chunk has committed with ``synchronous=FULL`` in WAL mode, i.e. fsync'd.

    Concurrent writers are batched: one writer thread owns the write connection
    and commits everything queued in one transaction (one fsync). Jobs commit in
    submission order, so submitting a document's changes in causal order (under
    the lock that guards the in-memory document) keeps them in causal order on
    disk. Reads use a pool of read-only connections and see every commit that
    has returned. One ``DocumentStore`` per file: a second writer (process) works
    but waits on SQLite's lock.
    """

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        conn, self.storage_id = schema.open_writer(self.path)
        self._state_lock = threading.Lock()
        self._closed = False
        self._idle_readers: queue.SimpleQueue[sqlite3.Connection] = queue.SimpleQueue()
        self._compactor = Compactor()  # used on the writer thread only
        self._writer = GroupCommitWriter(conn, self._compactor)

    # -- writing ---------------------------------------------------------------

    def create_document(self, doc_id: str, kind: str, doc: am.Document) -> None:
        """Store ``doc`` as a new document (one snapshot); durable on return."""
        _check_id(doc_id)
        data = doc.save()
        heads = encode_heads(doc.get_heads())
        sha = digest(data)

        def job(conn: sqlite3.Connection) -> None:
            if conn.execute("SELECT 1 FROM documents WHERE doc_id=?", (doc_id,)).fetchone():
                raise StoreError(f"document {doc_id} is already in the store")
            now = time.time()
            conn.execute(
                "INSERT INTO documents(doc_id, kind, heads, damaged, created, updated)"
                " VALUES (?, ?, ?, NULL, ?, ?)",
                (doc_id, kind, heads, now, now),
            )
            insert_chunk(conn, doc_id, SNAPSHOT, sha, data)
            self._compactor.created(doc_id, len(data))

        self._writer.submit(job).result()

    def submit_changes(
        self, doc_id: str, changes: list[bytes], heads: list[bytes], kind: str | None = None,
        *, measure: bool = False,
    ) -> Future[None]:
        """Queue changes for the next group commit; the future resolves once durable.

        Lets a caller submit under its document lock (fixing the commit order)
        and wait outside it. Creates the document row if absent, with ``kind``
        or ``"unknown"``; a given ``kind`` replaces the stored one.

        The document then counts as not measured (see :meth:`unmeasured`), except
        with ``measure`` when its stored bytes were measured before this write
        (or it has none): the changes are measured here, on the writer thread,
        and added to that; a document still within the stored limits is recorded
        as measured at ``heads``.
        """
        _check_id(doc_id)
        data = b"".join(changes)
        sha = digest(data) if data else b""
        heads_blob = encode_heads(heads)

        def job(conn: sqlite3.Connection) -> None:
            now = time.time()
            spent = _measured_so_far(conn, doc_id) if measure and data else None
            conn.execute(
                "INSERT INTO documents(doc_id, kind, heads, damaged, created, updated)"
                " VALUES (:id, :new_kind, :heads, NULL, :now, :now)"
                " ON CONFLICT(doc_id) DO UPDATE SET heads=:heads, updated=:now,"
                " kind=coalesce(:kind, kind), measured=NULL",
                {
                    "id": doc_id,
                    "new_kind": kind or UNKNOWN_KIND,
                    "kind": kind,
                    "heads": heads_blob,
                    "now": now,
                },
            )
            if not data:
                return
            insert_chunk(conn, doc_id, INCREMENTAL, sha, data)
            if spent is not None:
                record_measured(conn, doc_id, _measured_with(doc_id, data, spent))
            self._compactor.appended(conn, doc_id, len(data))

        return self._writer.submit(job)

    def append_changes(
        self, doc_id: str, changes: list[bytes], heads: list[bytes], kind: str | None = None
    ) -> None:
        """Store ``changes`` (then ``heads`` as the document's heads); durable on return."""
        self.submit_changes(doc_id, changes, heads, kind).result()

    async def append_changes_async(
        self, doc_id: str, changes: list[bytes], heads: list[bytes], kind: str | None = None
    ) -> None:
        """As :meth:`append_changes`, awaiting without blocking the event loop.

        The changes are queued when the coroutine first runs: at the ``await``,
        or at the task's first step if it is wrapped in a task. A caller that
        needs its appends queued in call order (causal order) uses
        :meth:`submit_changes` and ``asyncio.wrap_future``.

        Cancelling the awaiting task does not withdraw the write: a change that
        is in memory must reach the disk, or later changes would lack their
        dependency there.
        """
        future = self.submit_changes(doc_id, changes, heads, kind)
        await asyncio.shield(asyncio.wrap_future(future))

    def set_kind(self, doc_id: str, kind: str) -> None:
        def job(conn: sqlite3.Connection) -> None:
            cur = conn.execute("UPDATE documents SET kind=? WHERE doc_id=?", (kind, doc_id))
            if cur.rowcount == 0:
                raise NotFound(f"document {doc_id} is not in the store")

        self._writer.submit(job).result()

    def compact(self, doc_id: str) -> bool:
        """Replace the document's chunks by one snapshot; False if nothing was done.

        Nothing is done when there is nothing to merge, when the document is
        damaged (its bytes are kept as they are), or when its chunks do not
        reach its recorded heads (which would mean changes waiting for missing
        dependencies; rewriting would drop them).
        """
        return self._writer.submit(lambda conn: self._compactor.compact(conn, doc_id)).result()

    def submit_records(self, doc_id: str, rows: list[tuple[str, bytes, bool | None]],
                       heads: list[bytes] | None = None,
                       unreadable: dict[str, tuple[str, str]] | None = None) -> Future[None]:
        """Queue records read from ``doc_id`` (id, bytes, signature check) and, when
        given, the heads they were read at with what could not be read as a record
        there (key -> reason, detail); resolves once durable. Rows already stored
        keep their bytes; a check answer replaces an unknown one."""
        heads_blob = encode_heads(heads) if heads is not None else None
        unreadable_blob = msgspec.json.encode(unreadable) if unreadable else None

        # In key order: SQLite fills its pages in order rather than all over the tree.
        values = sorted(((doc_id, rid, sealed, None if ok is None else int(ok))
                         for rid, sealed, ok in rows), key=lambda row: row[1])

        def job(conn: sqlite3.Connection) -> None:
            for i in range(0, len(values), _RECORDS_PER_INSERT):
                part = values[i : i + _RECORDS_PER_INSERT]
                conn.execute(
                    "INSERT INTO records(doc_id, record_id, sealed, checked) VALUES "
                    + ",".join(["(?, ?, ?, ?)"] * len(part))
                    + " ON CONFLICT(doc_id, record_id) DO UPDATE SET"
                    " checked=coalesce(excluded.checked, checked)",
                    [value for row in part for value in row])
            conn.execute("INSERT INTO record_writes(doc_id, count) VALUES (?, 1)"
                         " ON CONFLICT(doc_id) DO UPDATE SET count = count + 1", (doc_id,))
            if heads_blob is not None:
                conn.execute("INSERT INTO record_scans(doc_id, heads, unreadable) VALUES (?, ?, ?)"
                             " ON CONFLICT(doc_id) DO UPDATE SET heads=excluded.heads,"
                             " unreadable=excluded.unreadable",
                             (doc_id, heads_blob, unreadable_blob))

        return self._writer.submit(job)

    def load_records(self, doc_id: str) -> StoredRecords:
        """Every record stored for ``doc_id``, the heads they were last read at and
        what could not be read as a record then."""
        return self.load_records_many([doc_id])[doc_id]

    def load_records_many(self, doc_ids: Iterable[str]) -> dict[str, StoredRecords]:
        """As :meth:`load_records` for many documents, in few queries."""
        wanted = list(dict.fromkeys(doc_ids))
        out: dict[str, StoredRecords] = {doc_id: StoredRecords([], None, {}) for doc_id in wanted}
        with self._reader() as conn:
            conn.execute("BEGIN")
            try:
                for part, marks in _id_parts(wanted):
                    for doc_id, rid, sealed, ok in conn.execute(
                            "SELECT doc_id, record_id, sealed, checked FROM records"
                            f" WHERE doc_id IN ({marks})", part):
                        out[doc_id].rows.append((rid, sealed, None if ok is None else bool(ok)))
                    for doc_id, heads, unreadable in conn.execute(
                            "SELECT doc_id, heads, unreadable FROM record_scans"
                            f" WHERE doc_id IN ({marks})", part):
                        out[doc_id] = out[doc_id]._replace(heads=decode_heads(heads),
                                                           unreadable=_unreadable(unreadable))
                    for doc_id, count in conn.execute(
                            f"SELECT doc_id, count FROM record_writes WHERE doc_id IN ({marks})",
                            part):
                        out[doc_id] = out[doc_id]._replace(writes=int(count))
            finally:
                conn.execute("COMMIT")
        return out

    def load_records_by_id(self, doc_id: str,
                           record_ids: Iterable[str]) -> list[tuple[str, bytes, bool | None]]:
        """The stored records of ``doc_id`` among ``record_ids`` (id, bytes, answer)."""
        out: list[tuple[str, bytes, bool | None]] = []
        with self._reader() as conn:
            for part, marks in _id_parts(record_ids):
                out += [(rid, sealed, None if ok is None else bool(ok)) for rid, sealed, ok in
                        conn.execute("SELECT record_id, sealed, checked FROM records"
                                     f" WHERE doc_id = ? AND record_id IN ({marks})",
                                     [doc_id, *part])]
        return out

    def record_writes(self, doc_ids: Iterable[str]) -> dict[str, int]:
        """How many writes of each document's records the store holds (0: none)."""
        wanted = list(dict.fromkeys(doc_ids))
        out = dict.fromkeys(wanted, 0)
        with self._reader() as conn:
            for part, marks in _id_parts(wanted):
                for doc_id, count in conn.execute(
                        f"SELECT doc_id, count FROM record_writes WHERE doc_id IN ({marks})", part):
                    out[doc_id] = int(count)
        return out

    def save_views(self, doc_id: str, kind: str, basis: bytes,
                   rows: list[tuple[str, float | None, bytes]], removed: list[str], *,
                   replace: bool = False) -> Future[None]:
        """Queue views of ``kind`` in ``doc_id``: ``rows`` (item id, when it went quiet
        in unix seconds or None, entry) written over any of the same items,
        ``removed`` items deleted (every other item's, when ``replace``), and the
        basis of the whole set; one transaction, resolves once durable."""

        def job(conn: sqlite3.Connection) -> None:
            if replace:
                conn.execute("DELETE FROM views WHERE doc_id = ? AND kind = ?", (doc_id, kind))
            elif removed:
                conn.executemany("DELETE FROM views WHERE doc_id = ? AND kind = ? AND item_id = ?",
                                 [(doc_id, kind, item_id) for item_id in removed])
            conn.executemany(
                "INSERT INTO views(doc_id, kind, item_id, quiet, entry) VALUES (?, ?, ?, ?, ?)"
                " ON CONFLICT(doc_id, kind, item_id) DO UPDATE SET quiet=excluded.quiet,"
                " entry=excluded.entry",
                [(doc_id, kind, item_id, quiet, entry) for item_id, quiet, entry in sorted(rows)])
            conn.execute("INSERT INTO view_sets(doc_id, kind, basis) VALUES (?, ?, ?)"
                         " ON CONFLICT(doc_id, kind) DO UPDATE SET basis=excluded.basis",
                         (doc_id, kind, basis))

        return self._writer.submit(job)

    def views_basis(self, doc_id: str, kind: str) -> bytes | None:
        """The basis of the views of ``kind`` in ``doc_id`` last saved, if any."""
        with self._reader() as conn:
            row = conn.execute("SELECT basis FROM view_sets WHERE doc_id = ? AND kind = ?",
                               (doc_id, kind)).fetchone()
        return bytes(row[0]) if row is not None else None

    def load_views(self, doc_id: str, kind: str, *,
                   quiet_after: float | None = None) -> list[tuple[str, bytes]]:
        """The saved views of ``kind`` in ``doc_id`` (item id, entry): all of them, or
        with ``quiet_after`` those of items still open or quiet only since then."""
        query = "SELECT item_id, entry FROM views WHERE doc_id = ? AND kind = ?"
        params: list[object] = [doc_id, kind]
        if quiet_after is not None:
            query += " AND (quiet IS NULL OR quiet > ?)"
            params.append(quiet_after)
        with self._reader() as conn:
            return [(item_id, bytes(entry)) for item_id, entry in conn.execute(query, params)]

    def save_reasons(self, rows: list[tuple[str, bytes, bytes]]) -> Future[None]:
        """Queue (document id, basis, reasons) rows, each replacing the document's."""

        def job(conn: sqlite3.Connection) -> None:
            conn.executemany("INSERT INTO record_reasons(doc_id, basis, reasons) VALUES (?, ?, ?)"
                             " ON CONFLICT(doc_id) DO UPDATE SET basis=excluded.basis,"
                             " reasons=excluded.reasons", sorted(rows))

        return self._writer.submit(job)

    def load_reasons(self) -> dict[str, tuple[bytes, bytes]]:
        """Every document's saved (basis, reasons)."""
        with self._reader() as conn:
            return {doc_id: (bytes(basis), bytes(reasons)) for doc_id, basis, reasons
                    in conn.execute("SELECT doc_id, basis, reasons FROM record_reasons")}

    def save_roots(self, rows: list[tuple[str, list[bytes], int]]) -> Future[None]:
        """Queue (document id, heads, how many changes without parents its history
        has at those heads) rows, each replacing the document's."""
        values = sorted((doc_id, encode_heads(heads), roots) for doc_id, heads, roots in rows)

        def job(conn: sqlite3.Connection) -> None:
            conn.executemany("INSERT INTO document_roots(doc_id, heads, roots) VALUES (?, ?, ?)"
                             " ON CONFLICT(doc_id) DO UPDATE SET heads=excluded.heads,"
                             " roots=excluded.roots", values)

        return self._writer.submit(job)

    def load_roots(self) -> dict[str, tuple[list[bytes], int]]:
        """Every document's saved (heads, changes without parents at those heads)."""
        with self._reader() as conn:
            return {doc_id: (decode_heads(heads), int(roots)) for doc_id, heads, roots
                    in conn.execute("SELECT doc_id, heads, roots FROM document_roots")}

    def save_readers(self, rows: list[tuple[str, bytes, str, bytes]]) -> Future[None]:
        """Queue (document id, basis, kind, readers) rows, each replacing the document's."""

        def job(conn: sqlite3.Connection) -> None:
            conn.executemany("INSERT INTO document_readers(doc_id, basis, kind, readers)"
                             " VALUES (?, ?, ?, ?) ON CONFLICT(doc_id) DO UPDATE SET"
                             " basis=excluded.basis, kind=excluded.kind,"
                             " readers=excluded.readers", sorted(rows))

        return self._writer.submit(job)

    def load_readers(self, doc_ids: Iterable[str]) -> dict[str, tuple[bytes, str, bytes]]:
        """The saved (basis, kind, readers) of those of ``doc_ids`` that have them."""
        out: dict[str, tuple[bytes, str, bytes]] = {}
        with self._reader() as conn:
            for part, marks in _id_parts(doc_ids):
                for doc_id, basis, kind, readers in conn.execute(
                        "SELECT doc_id, basis, kind, readers FROM document_readers"
                        f" WHERE doc_id IN ({marks})", part):
                    out[doc_id] = (bytes(basis), str(kind), bytes(readers))
        return out

    def save_document_views(self, what: str,
                            rows: list[tuple[str, bytes, bytes]]) -> Future[None]:
        """Queue (document id, basis, view) rows of views ``what``, each replacing
        the document's."""

        def job(conn: sqlite3.Connection) -> None:
            conn.executemany("INSERT INTO document_views(doc_id, what, basis, view)"
                             " VALUES (?, ?, ?, ?) ON CONFLICT(doc_id, what) DO UPDATE SET"
                             " basis=excluded.basis, view=excluded.view",
                             [(doc_id, what, basis, view) for doc_id, basis, view in sorted(rows)])

        return self._writer.submit(job)

    def load_document_views(self, what: str,
                            doc_ids: Iterable[str]) -> dict[str, tuple[bytes, bytes]]:
        """The saved (basis, view) of views ``what`` of those of ``doc_ids`` that have one."""
        out: dict[str, tuple[bytes, bytes]] = {}
        with self._reader() as conn:
            for part, marks in _id_parts(doc_ids):
                for doc_id, basis, view in conn.execute(
                        "SELECT doc_id, basis, view FROM document_views"
                        f" WHERE what = ? AND doc_id IN ({marks})", [what, *part]):
                    out[doc_id] = (bytes(basis), bytes(view))
        return out

    def records_behind(self) -> list[str]:
        """Documents (sound ones) whose stored heads are not the heads their records
        were last read at."""
        with self._reader() as conn:
            rows = conn.execute(
                "SELECT d.doc_id FROM documents d LEFT JOIN record_scans s ON s.doc_id = d.doc_id"
                " WHERE d.damaged IS NULL AND (s.heads IS NULL OR s.heads != d.heads)"
                " ORDER BY d.doc_id").fetchall()
        return [doc_id for (doc_id,) in rows]

    def unreadable_records(self) -> dict[str, dict[str, tuple[str, str]]]:
        """Every document's entries that could not be read as records at its last
        reading (what a status counts without loading the documents)."""
        with self._reader() as conn:
            rows = conn.execute("SELECT doc_id, unreadable FROM record_scans"
                                " WHERE unreadable IS NOT NULL").fetchall()
        return {doc_id: found for doc_id, blob in rows if (found := _unreadable(blob))}

    # -- reading ---------------------------------------------------------------

    def load(self, doc_id: str) -> am.Document:
        """The stored document; NotFound if absent, DamagedDocument if its bytes do not load."""
        with self._reader() as conn:
            conn.execute("BEGIN")
            try:
                row = conn.execute(
                    "SELECT heads, damaged FROM documents WHERE doc_id=?", (doc_id,)
                ).fetchone()
                chunks = read_chunks(conn, doc_id) if row else []
            finally:
                conn.execute("COMMIT")
        if row is None:
            raise NotFound(f"document {doc_id} is not in the store")
        heads, damaged = row
        if damaged is not None:
            raise DamagedDocument(doc_id, damaged)
        try:
            doc = assemble(chunks)
        except ChunkError as e:
            self._record_damage({doc_id: str(e)})
            raise DamagedDocument(doc_id, str(e)) from None
        _warn_if_short(doc_id, doc, heads)
        return doc

    def load_all(self, doc_ids: Iterable[str] | None = None) -> LoadedDocuments:
        """Every stored document (or those of ``doc_ids`` that exist), in few queries.

        Each is measured before it loads: damaged documents and those past the
        stored limits are reported in ``damaged`` (and recorded as damaged);
        every other document loads, and is recorded as measured at its heads.
        """
        with self._reader() as conn:
            conn.execute("BEGIN")
            try:
                rows, chunk_rows = _select_many(conn, doc_ids)
            finally:
                conn.execute("COMMIT")
        chunks: dict[str, list[Chunk]] = {}
        for chunk_id, doc_id, kind, sha, data in chunk_rows:
            chunks.setdefault(doc_id, []).append(Chunk(chunk_id, kind, sha, data))
        documents: dict[str, am.Document] = {}
        damaged: dict[str, str] = {}
        newly_damaged: dict[str, str] = {}
        newly_measured: dict[str, tuple[bytes, Cost]] = {}
        sizes: dict[str, Cost] = {}
        for doc_id, heads, reason, measured in rows:
            if reason is not None:
                damaged[doc_id] = reason
                continue
            try:
                doc, sizes[doc_id] = assemble_measured(chunks.get(doc_id, []))
            except ChunkError as e:
                damaged[doc_id] = newly_damaged[doc_id] = str(e)
                continue
            _warn_if_short(doc_id, doc, heads)
            documents[doc_id] = doc
            if measured != heads:
                newly_measured[doc_id] = (heads, sizes[doc_id])
        if newly_damaged:
            self._record_damage(newly_damaged)
        if newly_measured:
            self._record_measured(newly_measured)
        return LoadedDocuments(documents, damaged, sizes)

    def unmeasured(self) -> list[str]:
        """Sound documents not measured at their current stored bytes: never
        measured, or written since by something that did not measure them."""
        with self._reader() as conn:
            rows = conn.execute(
                "SELECT doc_id FROM documents WHERE damaged IS NULL"
                " AND (measured IS NULL OR measured != heads) ORDER BY doc_id").fetchall()
        return [doc_id for (doc_id,) in rows]

    def salvage(self, doc_id: str) -> Salvaged:
        """The most of a (damaged) document that loads. The document stays damaged."""
        with self._reader() as conn:
            chunks = read_chunks(conn, doc_id)
            if not chunks and not self._exists(conn, doc_id):
                raise NotFound(f"document {doc_id} is not in the store")
        document, left_out = salvage_chunks(chunks)
        return Salvaged(document, left_out)

    def stored_bytes(self, doc_id: str) -> tuple[bytes, int]:
        """The document's chunks exactly as stored, in load order, concatenated
        (what ``Document.load`` would be given), and how many there are. Never
        loads them: this is how a quarantined document is exported."""
        with self._reader() as conn:
            chunks = read_chunks(conn, doc_id)
            if not chunks and not self._exists(conn, doc_id):
                raise NotFound(f"document {doc_id} is not in the store")
        return b"".join(c.data for c in load_order(chunks)), len(chunks)

    def measured(self, doc_id: str) -> Cost | None:
        """What the stored document costs as last measured, if nothing was
        stored since; None if not known."""
        with self._reader() as conn:
            return _measured_so_far(conn, doc_id)

    def sizes(self, doc_ids: Iterable[str]) -> dict[str, int]:
        """Bytes stored for each of ``doc_ids`` that is stored (chunks' lengths,
        not read)."""
        out: dict[str, int] = {}
        with self._reader() as conn:
            for part, marks in _id_parts(doc_ids):
                out.update(conn.execute(
                    "SELECT doc_id, sum(length(bytes)) FROM chunks"
                    f" WHERE doc_id IN ({marks}) GROUP BY doc_id", part))
        return out

    def heads(self, doc_id: str) -> list[bytes] | None:
        with self._reader() as conn:
            row = conn.execute("SELECT heads FROM documents WHERE doc_id=?", (doc_id,)).fetchone()
        return None if row is None else decode_heads(row[0])

    def kind(self, doc_id: str) -> str | None:
        """The stored kind of ``doc_id`` without loading it; None if not stored."""
        with self._reader() as conn:
            row = conn.execute("SELECT kind FROM documents WHERE doc_id=?", (doc_id,)).fetchone()
        return None if row is None else str(row[0])

    def has(self, doc_id: str) -> bool:
        with self._reader() as conn:
            return self._exists(conn, doc_id)

    def list_documents(self) -> list[DocumentInfo]:
        return self._infos("")

    def damaged_documents(self) -> list[DocumentInfo]:
        return self._infos(" WHERE damaged IS NOT NULL")

    # -- deleting ----------------------------------------------------------------

    def delete_later(self, doc_ids: Iterable[str]) -> None:
        """Note documents nobody will read again, to be deleted by the next
        :meth:`delete_noted` (a store's owner calls it when it opens the store,
        before anything has read them). Durable on return."""
        ids = {d for d in doc_ids if d}
        if not ids:
            return

        def job(conn: sqlite3.Connection) -> None:
            noted = set(_noted(conn)) | ids
            conn.execute("INSERT OR REPLACE INTO meta(key, value) VALUES (?, ?)",
                         (DELETE_LATER_KEY, msgspec.json.encode(sorted(noted)).decode()))

        self._writer.submit(job).result()

    def delete_noted(self) -> list[str]:
        """Delete every document :meth:`delete_later` noted, with all that is
        stored for it; the ids deleted. Durable on return."""

        def job(conn: sqlite3.Connection) -> list[str]:
            noted = _noted(conn)
            # record_writes stays: its count only grows, so views saved before can
            # never look current for records stored after.
            for table in ("chunks", "sync_state", "records", "record_scans", "views",
                          "view_sets", "record_reasons", "document_roots", "document_readers",
                          "document_views", "documents"):
                conn.executemany(f"DELETE FROM {table} WHERE doc_id=?",  # noqa: S608
                                 [(doc_id,) for doc_id in noted])
            conn.execute("DELETE FROM meta WHERE key=?", (DELETE_LATER_KEY,))
            return noted

        return self._writer.submit(job).result()

    # -- lifecycle -------------------------------------------------------------

    @property
    def closed(self) -> bool:
        return self._closed

    def close(self) -> None:
        """Commit every write already submitted, then close all connections."""
        with self._state_lock:
            if self._closed:
                return
            self._closed = True
        self._writer.close()
        while True:
            try:
                self._idle_readers.get_nowait().close()
            except queue.Empty:
                break

    def __enter__(self) -> DocumentStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- internals -------------------------------------------------------------

    @contextmanager
    def _reader(self) -> Iterator[sqlite3.Connection]:
        if self._closed:
            raise StoreError("the document store is closed")
        try:
            conn = self._idle_readers.get_nowait()
        except queue.Empty:
            conn = schema.open_reader(self.path)
        try:
            yield conn
        finally:
            with self._state_lock:
                if self._closed:
                    conn.close()
                else:
                    self._idle_readers.put(conn)

    @staticmethod
    def _exists(conn: sqlite3.Connection, doc_id: str) -> bool:
        row = conn.execute("SELECT 1 FROM documents WHERE doc_id=?", (doc_id,)).fetchone()
        return row is not None

    def _infos(self, where: str) -> list[DocumentInfo]:
        with self._reader() as conn:
            rows = conn.execute(
                f"SELECT doc_id, kind, heads, damaged FROM documents{where} ORDER BY doc_id"
            ).fetchall()
        return [DocumentInfo(d, k, decode_heads(h), r) for d, k, h, r in rows]

    def _record_measured(self, measured: dict[str, tuple[bytes, Cost]]) -> None:
        def job(conn: sqlite3.Connection) -> None:
            # Only where nothing was written since the bytes measured were read.
            for doc_id, (heads, cost) in measured.items():
                record_measured(conn, doc_id, cost, at_heads=heads)

        self._writer.submit(job).result()

    def _record_damage(self, reasons: dict[str, str]) -> None:
        for doc_id, reason in reasons.items():
            log.error("document %s is damaged in the store: %s", doc_id, reason)

        def job(conn: sqlite3.Connection) -> None:
            for doc_id, reason in reasons.items():
                mark_damaged(conn, doc_id, reason)

        self._writer.submit(job).result()


def _noted(conn: sqlite3.Connection) -> list[str]:
    """The documents noted for deletion; a note that is not a list of ids (the
    file was edited) notes nothing, and is said so."""
    row = conn.execute("SELECT value FROM meta WHERE key=?", (DELETE_LATER_KEY,)).fetchone()
    if row is None:
        return []
    try:
        noted = msgspec.json.decode(row[0], type=list[str])
    except msgspec.DecodeError as e:  # ValidationError (not a list of strings) included
        log.warning("the store's list of documents to delete is unreadable (%s); nothing deleted", e)
        return []
    return sorted({d for d in noted if d})


def _check_id(doc_id: str) -> None:
    if not isinstance(doc_id, str) or not doc_id:
        raise StoreError(f"a document id is a non-empty string, not {doc_id!r}")


def _measured_so_far(conn: sqlite3.Connection, doc_id: str) -> Cost | None:
    """What the document's stored bytes cost as last measured, if nothing was
    stored since (nothing stored yet costs nothing); None if not known."""
    if conn.execute("SELECT 1 FROM chunks WHERE doc_id=? LIMIT 1", (doc_id,)).fetchone() is None:
        return Cost()
    row = conn.execute(
        "SELECT measured_bytes, measured_entries FROM documents WHERE doc_id=?"
        " AND damaged IS NULL AND measured = heads", (doc_id,)).fetchone()
    return None if row is None or None in row else Cost(row[0], row[1])


def _measured_with(doc_id: str, data: bytes, spent: Cost) -> Cost | None:
    """What the document costs with ``data`` added to what was ``spent``; None
    past the stored limits (the next start measures it, and sets it aside)."""
    try:
        more = measure(data, spent)
    except ChunkError as e:
        log.warning("document %s is left to be measured at the next start: %s", doc_id, e)
        return None
    return Cost(spent.bytes + more.bytes, spent.entries + more.entries)


def _id_parts(ids: Iterable[str]) -> Iterator[tuple[list[str], str]]:
    """``ids`` (each once, in order) in parts small enough for one query's
    ``IN (...)``, each with its ``?`` marks."""
    wanted = list(dict.fromkeys(ids))
    for i in range(0, len(wanted), _IDS_PER_QUERY):
        part = wanted[i : i + _IDS_PER_QUERY]
        yield part, ",".join("?" * len(part))


def _select_many(
    conn: sqlite3.Connection, doc_ids: Iterable[str] | None
) -> tuple[list[tuple[Any, ...]], list[tuple[Any, ...]]]:
    """Document rows (doc_id, heads, damaged, measured) and chunk rows (id, doc_id,
    kind, sha256, bytes)."""
    doc_cols = "SELECT doc_id, heads, damaged, measured FROM documents"
    chunk_cols = "SELECT id, doc_id, kind, sha256, bytes FROM chunks"
    if doc_ids is None:
        return (
            conn.execute(doc_cols).fetchall(),
            conn.execute(f"{chunk_cols} ORDER BY doc_id, id").fetchall(),
        )
    rows: list[tuple[Any, ...]] = []
    chunk_rows: list[tuple[Any, ...]] = []
    for part, marks in _id_parts(doc_ids):
        rows += conn.execute(f"{doc_cols} WHERE doc_id IN ({marks})", part).fetchall()
        chunk_rows += conn.execute(
            f"{chunk_cols} WHERE doc_id IN ({marks}) ORDER BY doc_id, id", part
        ).fetchall()
    return rows, chunk_rows


def _warn_if_short(doc_id: str, doc: am.Document, heads: bytes) -> None:
    if encode_heads(doc.get_heads()) != heads:
        log.warning("document %s: stored chunks do not reach its recorded heads", doc_id)
