"""Heads as the wire carries them: inside sync messages, and in summaries.

A sync message (automerge ``generateSyncMessage``) starts with a type byte, 0x42
for V1 or 0x43 for V2, then the sender's heads: a LEB128 count followed by that
many 32-byte change hashes. Reading them tells us where a peer stands without
decoding the rest.

A podsync summary (protocol/README.md, "Extension") is a sequence of 16-byte
entries: the first 8 of the 16 bytes of a document id, then the first 8 bytes of
the SHA-256 of the document's heads, sorted, concatenated.

Why a prefix of the id is enough: ids are random, so two documents of one pod
share an 8-byte prefix with a chance of about n²/2⁶⁵; and a shared prefix can only
make a document look *different* (its digest is another document's), which costs
one ordinary sync, never a skipped one. Equal digests need equal heads.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable

from podsync.errors import ProtocolError
from podsync.ids import CHANGE_HASH_BYTES, document_id_bytes

SYNC_V1 = 0x42
SYNC_V2 = 0x43
DIGEST_BYTES = 8
SUMMARY_ID_BYTES = 8
SUMMARY_ENTRY_BYTES = SUMMARY_ID_BYTES + DIGEST_BYTES

Summary = dict[bytes, set[bytes]]  # id prefix -> digests of the documents under it


def parse_sync_heads(data: bytes) -> list[bytes]:
    """The sender's heads from a sync message, sorted; ProtocolError if malformed."""
    if not data or data[0] not in (SYNC_V1, SYNC_V2):
        raise ProtocolError("sync data does not start with a sync message type byte")
    pos, end = _hashes(data, 1, "heads")
    return sorted(data[i:i + CHANGE_HASH_BYTES] for i in range(pos, end, CHANGE_HASH_BYTES))


def sync_change_count(data: bytes) -> int:
    """How many changes (or saved-document chunks) a sync message carries.

    The layout after the heads: the hashes the sender needs, then its ``have``
    entries (each a list of hashes and a bloom filter), then the changes, each
    length-prefixed. ProtocolError if the message does not parse that far.
    """
    parse_sync_heads(data)
    _, pos = _hashes(data, 1, "heads")
    _, pos = _hashes(data, pos, "need")
    haves, pos = _leb128(data, pos, "have count")
    for _ in range(haves):
        _, pos = _hashes(data, pos, "have")
        length, pos = _leb128(data, pos, "bloom length")
        pos += length
    count, _ = _leb128(data, pos, "change count")
    return count


def _leb128(data: bytes, pos: int, what: str) -> tuple[int, int]:
    value, shift = 0, 0
    while True:
        if pos >= len(data) or shift > 28:
            raise ProtocolError(f"sync data has a malformed {what}")
        byte = data[pos]
        pos += 1
        value |= (byte & 0x7F) << shift
        shift += 7
        if not byte & 0x80:
            return value, pos


def _hashes(data: bytes, pos: int, what: str) -> tuple[int, int]:
    """(start, end) of a LEB128-counted run of change hashes at ``pos``."""
    count, pos = _leb128(data, pos, f"{what} count")
    end = pos + count * CHANGE_HASH_BYTES
    if end > len(data):
        raise ProtocolError(f"sync data announces {count} {what} but is too short for them")
    return pos, end


def without_capabilities(data: bytes) -> bytes:
    """A sync message without its trailing list of capabilities.

    automerge answers a peer that announces the V2 capability with its whole
    document saved (a V2 message) once it has more than a third of it to send.
    A document holding a change automerge would not have encoded itself (which
    any peer can write) does not load back once saved, so such a message would
    fail at every receiver; without the capability it sends the changes as they
    are (V1), which always apply. ProtocolError if malformed."""
    pos = 1

    def uleb() -> int:
        nonlocal pos
        value = shift = 0
        while True:
            if pos >= len(data) or shift > 63:
                raise ProtocolError("sync data is malformed")
            byte = data[pos]
            pos += 1
            value |= (byte & 0x7F) << shift
            shift += 7
            if not byte & 0x80:
                return value

    def skip(n: int) -> None:
        nonlocal pos
        if pos + n > len(data):
            raise ProtocolError("sync data is shorter than it announces")
        pos += n

    skip(uleb() * CHANGE_HASH_BYTES)  # heads
    skip(uleb() * CHANGE_HASH_BYTES)  # need
    for _ in range(uleb()):  # have: last sync heads, bloom filter
        skip(uleb() * CHANGE_HASH_BYTES)
        skip(uleb())
    for _ in range(uleb()):  # changes
        skip(uleb())
    return data[:pos]


def heads_digest(heads: Iterable[bytes]) -> bytes:
    """8-byte digest of a set of heads (order does not matter)."""
    return hashlib.sha256(b"".join(sorted(heads))).digest()[:DIGEST_BYTES]


def summary_key(doc_id: str) -> bytes:
    """The id prefix a summary lists ``doc_id`` under."""
    return document_id_bytes(doc_id)[:SUMMARY_ID_BYTES]


def pack_summary(entries: Iterable[tuple[str, bytes]]) -> bytes:
    """(document id, digest) pairs to summary bytes."""
    return b"".join(summary_key(doc_id) + digest for doc_id, digest in entries)


def unpack_summary(data: bytes) -> Summary:
    """Summary bytes to {id prefix: digests}; ProtocolError if malformed."""
    if len(data) % SUMMARY_ENTRY_BYTES:
        raise ProtocolError(f"summary of {len(data)} bytes is not whole {SUMMARY_ENTRY_BYTES}-byte entries")
    out: Summary = {}
    for i in range(0, len(data), SUMMARY_ENTRY_BYTES):
        key = data[i:i + SUMMARY_ID_BYTES]
        out.setdefault(key, set()).add(data[i + SUMMARY_ID_BYTES:i + SUMMARY_ENTRY_BYTES])
    return out
