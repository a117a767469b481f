"""Automerge bytes that are small on the wire and huge once loaded, as a hostile
peer would make them.

* :func:`deflate_bomb`: a real saved document (made by automerge itself) holding
  one long repetitive string, whose columns automerge compresses about 1,000 to 1.
* :func:`run_length_bomb`: a change chunk encoded by hand whose columns declare,
  in a few bytes each, a run of ``ops`` conflicting puts on one key. automerge
  applies every one of them (a million take about 1.7 s here).
"""

from __future__ import annotations

import hashlib
import os

import automerge.core as am

MAGIC = b"\x85\x6f\x4a\x83"
SYNC_V1 = 0x42


def uleb(n: int) -> bytes:
    out = bytearray()
    while True:
        byte, n = n & 0x7F, n >> 7
        if n:
            out.append(byte | 0x80)
        else:
            out.append(byte)
            return bytes(out)


def sleb(n: int) -> bytes:
    out = bytearray()
    while True:
        byte, n = n & 0x7F, n >> 7
        if (n == 0 and not byte & 0x40) or (n == -1 and byte & 0x40):
            out.append(byte)
            return bytes(out)
        out.append(byte | 0x80)


def chunk(kind: int, body: bytes) -> bytes:
    """A chunk with a valid checksum (automerge checks it)."""
    digest = hashlib.sha256(bytes([kind]) + uleb(len(body)) + body).digest()
    return MAGIC + digest[:4] + bytes([kind]) + uleb(len(body)) + body


def change_chunk(columns: list[tuple[int, bytes]], *, actor: bytes | None = None,
                 seq: int = 1, start_op: int = 1, deps: list[bytes] = ()) -> bytes:  # type: ignore[assignment]
    """A change chunk with the given op columns: (column specification, data)."""
    actor = actor or os.urandom(16)
    body = uleb(len(deps)) + b"".join(deps) + uleb(len(actor)) + actor + uleb(seq) + uleb(start_op)
    body += sleb(0) + uleb(0) + uleb(0)  # time, message, other actors
    body += uleb(len(columns)) + b"".join(uleb(spec) + uleb(len(data)) for spec, data in columns)
    body += b"".join(data for _, data in columns)
    return chunk(1, body)


def run_length_bomb(ops: int) -> bytes:
    """``ops`` puts of null on the root key "k", none replacing another, in ~90 bytes."""
    null_run = b"\x00" + uleb(ops)
    return change_chunk([
        (0x01, null_run),  # object actor: the root
        (0x02, null_run),  # object counter
        (0x11, null_run),  # key actor: a map key, not a list element
        (0x13, null_run),  # key counter (delta)
        (0x15, sleb(ops) + b"\x01k"),  # key string: "k", ops times
        (0x34, uleb(ops)),  # insert: false, ops times
        (0x42, sleb(ops) + b"\x01"),  # action: set, ops times
        (0x56, sleb(ops) + b"\x00"),  # value metadata: null, ops times
        (0x70, sleb(ops) + b"\x00"),  # predecessors: none, ops times
    ])


def deflate_bomb(inflated: int) -> bytes:
    """A saved document holding a string of ``inflated`` bytes of "a"."""
    doc = am.Document()
    with doc.transaction() as tx:
        tx.put(am.ROOT, "s", am.ScalarType.Str, "a" * inflated)
    return bytes(doc.save())


def sync_message(chunks: list[bytes], heads: list[bytes] = ()) -> bytes:  # type: ignore[assignment]
    """A V1 sync message carrying ``chunks`` as its changes."""
    out = bytes([SYNC_V1]) + uleb(len(heads)) + b"".join(sorted(heads)) + uleb(0) + uleb(0)
    return out + uleb(len(chunks)) + b"".join(uleb(len(c)) + c for c in chunks)
