"""Stored chunks of a document: their rows, their checks, and loading them.

A document is stored as snapshot chunks (``Document.save()``) and incremental
chunks (the bytes of one or more changes). Loading checks each chunk's SHA-256,
then hands snapshots followed by incrementals, in insertion order, to
``Document.load``, which accepts that concatenation; past 64 KiB, changes stored
after a saved document go into it rebuilt instead (podsync.amdoc).
"""

from __future__ import annotations

import hashlib
import sqlite3
from collections.abc import Iterable, Sequence
from typing import Literal

import automerge.core as am
import msgspec

from podsync import amdoc
from podsync.errors import ProtocolError, StoreError
from podsync.sync.cost import CHUNK_DOCUMENT, Cost, InputTooCostly, chunks_cost, split_chunks
from podsync.sync.limits import CHUNK_ENTRY_WEIGHT, MAX_STORED_BYTES, MAX_STORED_ENTRIES

HASH_BYTES = 32  # an automerge change hash is a SHA-256

ChunkKind = Literal["snapshot", "incremental"]
SNAPSHOT: ChunkKind = "snapshot"
INCREMENTAL: ChunkKind = "incremental"


class Chunk(msgspec.Struct, frozen=True):
    id: int
    kind: ChunkKind
    sha256: bytes
    data: bytes

    def verifies(self) -> bool:
        return digest(self.data) == self.sha256


class ChunkError(Exception):
    """The chunks do not make a document; ``str()`` says why, for the damaged column."""


def digest(data: bytes) -> bytes:
    return hashlib.sha256(data).digest()


def encode_heads(heads: Iterable[bytes]) -> bytes:
    """Sorted, de-duplicated 32-byte hashes concatenated, as the heads column holds them."""
    unique = set(heads)
    for h in unique:
        if not isinstance(h, bytes) or len(h) != HASH_BYTES:
            raise StoreError(f"a head is a {HASH_BYTES}-byte change hash, not {h!r}")
    return b"".join(sorted(unique))


def decode_heads(blob: bytes) -> list[bytes]:
    return [blob[i : i + HASH_BYTES] for i in range(0, len(blob), HASH_BYTES)]


def read_chunks(conn: sqlite3.Connection, doc_id: str) -> list[Chunk]:
    rows = conn.execute(
        "SELECT id, kind, sha256, bytes FROM chunks WHERE doc_id=? ORDER BY id", (doc_id,)
    ).fetchall()
    return [Chunk(i, k, s, b) for i, k, s, b in rows]


def insert_chunk(
    conn: sqlite3.Connection, doc_id: str, kind: ChunkKind, sha: bytes, data: bytes
) -> None:
    conn.execute(
        "INSERT INTO chunks(doc_id, kind, sha256, bytes) VALUES (?, ?, ?, ?)",
        (doc_id, kind, sha, data),
    )


def record_measured(conn: sqlite3.Connection, doc_id: str, cost: Cost | None, *,
                    at_heads: bytes | None = None) -> None:
    """Record that the document's stored bytes, at its current heads, cost
    ``cost`` (within the stored limits); None clears the record. With
    ``at_heads``, only if those are still its heads and it is not damaged (the
    bytes were measured outside this transaction)."""
    guard = "" if at_heads is None else " AND heads=? AND damaged IS NULL"
    conn.execute(
        "UPDATE documents SET measured=CASE WHEN ? THEN heads END, measured_bytes=?,"
        " measured_entries=? WHERE doc_id=?" + guard,
        (cost is not None, None if cost is None else cost.bytes,
         None if cost is None else cost.entries, doc_id,
         *(() if at_heads is None else (at_heads,))))


def mark_damaged(conn: sqlite3.Connection, doc_id: str, reason: str) -> None:
    """Record why a document does not load; the first reason recorded stays."""
    conn.execute(
        "UPDATE documents SET damaged=? WHERE doc_id=? AND damaged IS NULL", (reason, doc_id)
    )


def load_order(chunks: Iterable[Chunk]) -> list[Chunk]:
    """Snapshots first, then incrementals; each group in insertion (causal) order."""
    return sorted(chunks, key=lambda c: (c.kind != SNAPSHOT, c.id))


def assemble(chunks: Sequence[Chunk]) -> am.Document:
    """The document the chunks hold, as fast to change as to read; raises
    :class:`ChunkError` naming what is wrong."""
    return assemble_measured(chunks)[0]


def assemble_measured(chunks: Sequence[Chunk]) -> tuple[am.Document, Cost]:
    """The document the chunks hold, and what they cost to load.

    The cost is read from their headers first: past MAX_STORED_BYTES or
    MAX_STORED_ENTRIES they are not loaded at all (a decompression or
    run-length bomb that reached the disk stays there, unread).
    """
    ordered = load_order(chunks)
    for c in ordered:
        if not c.verifies():
            raise ChunkError(f"{c.kind} chunk {c.id} ({len(c.data)} bytes) fails its SHA-256 check")
    data = b"".join(c.data for c in ordered)
    cost = measure(data)  # before automerge sees a byte of it
    return _assemble_ordered(data), cost


#: Below this, a document loads in one call either way as fast (a feedback
#: thread, a small collection).
FEED_MIN_BYTES = 64 * 1024


def _assemble_ordered(data: bytes) -> am.Document:
    """Load measured chunks. Changes stored after a saved document (a snapshot,
    or one stored whole as it arrived) go into it rebuilt rather than through
    ``Document.load``, which applies each to the packed snapshot at a cost that
    grows with it (podsync.amdoc): on a needs board of 1,000 records, 300
    changes load in 19 ms rather than 79; of 16,000, 1,600 in 0.24 s rather
    than 7.7 s."""
    if len(data) < FEED_MIN_BYTES:
        return _load(data)
    try:
        pieces = split_chunks(data)
    except ProtocolError as e:
        raise ChunkError(f"automerge cannot load the stored bytes: {e}") from None
    saved = [chunk for kind, chunk in pieces if kind == CHUNK_DOCUMENT]
    changes = [chunk for kind, chunk in pieces if kind != CHUNK_DOCUMENT]
    if not saved or not changes or sum(len(chunk) for chunk in saved) < FEED_MIN_BYTES:
        return amdoc.writable(_load(data), len(data))
    doc = amdoc.rebuilt(_load(b"".join(saved)))
    try:
        amdoc.feed_changes(doc, changes)
    except (KeyboardInterrupt, SystemExit):
        raise
    except BaseException as e:  # noqa: BLE001 - automerge raises plain Exception, a panic BaseException
        raise ChunkError(f"automerge cannot load the stored bytes: {e}") from None
    return doc


def measure(data: bytes, spent: Cost = Cost()) -> Cost:
    """What a stored document's concatenated chunks cost to load; raises
    :class:`ChunkError` past MAX_STORED_BYTES / MAX_STORED_ENTRIES or when they
    are malformed. ``spent``: what chunks stored with them already cost (a
    chunk's cost does not depend on the chunks around it, so costs add up)."""
    try:
        return chunks_cost(data, max_bytes=MAX_STORED_BYTES - spent.bytes,
                           max_entries=MAX_STORED_ENTRIES - spent.entries,
                           chunk_weight=CHUNK_ENTRY_WEIGHT, what="stored document")
    except InputTooCostly as e:
        raise ChunkError(f"not loaded: {e}") from None
    except ProtocolError as e:  # malformed: automerge would refuse it as well
        raise ChunkError(f"automerge cannot load the stored bytes: {e}") from None


def salvage_chunks(chunks: Sequence[Chunk]) -> tuple[am.Document, list[int]]:
    """The most of the document that loads, and the ids of the chunks left out.

    Chunks that fail their SHA-256 are left out. If the rest still does not
    load, chunks are tried one at a time and kept only if the document loads
    with them. That costs one load per chunk, which is acceptable for a rare,
    explicit repair.
    """
    ordered = load_order(chunks)
    good = [c for c in ordered if c.verifies()]
    dropped = [c.id for c in ordered if not c.verifies()]
    try:
        return _load(b"".join(c.data for c in good)), dropped
    except ChunkError:
        pass
    kept: list[Chunk] = []
    for c in good:
        try:
            _load(b"".join(k.data for k in kept) + c.data)
        except ChunkError:
            dropped.append(c.id)
        else:
            kept.append(c)
    return _load(b"".join(k.data for k in kept)), sorted(dropped)


def _load(data: bytes) -> am.Document:
    try:
        return am.Document.load(data)
    except (KeyboardInterrupt, SystemExit):
        raise
    except BaseException as e:  # noqa: BLE001 - a Rust panic surfaces as BaseException
        raise ChunkError(f"automerge cannot load the stored bytes: {e}") from None
