"""Automerge bytes that are small on the wire and huge once loaded, as a hostile
peer would make them.

* :func:`deflate_bomb`: a real saved document (made by automerge itself) holding
  one long repetitive string, whose columns automerge compresses about 1,000 to 1.
* :func:`run_length_bomb`: a change chunk encoded by hand whose columns declare,
  in a few bytes each, a run of ``ops`` conflicting puts on one key. automerge
  applies every one of them (a million take about 1.7 s here).
"""

from __future__ import annotations

import functools
import hashlib
import os
import subprocess
import sys
from pathlib import Path

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


_MAKE_DEFLATE_BOMB = """
import sys, automerge.core as am
doc = am.Document()
with doc.transaction() as tx:
    tx.put(am.ROOT, "s", am.ScalarType.Str, "a" * int(sys.argv[1]))
sys.stdout.buffer.write(doc.save())
"""


@functools.cache
def deflate_bomb(inflated: int) -> bytes:
    """A saved document holding a string of ``inflated`` bytes of "a".

    Made by automerge in a child process, so that making it leaves this
    process's memory (which the tests measure) untouched."""
    made = subprocess.run([sys.executable, "-c", _MAKE_DEFLATE_BOMB, str(inflated)],
                          capture_output=True, check=True)
    return made.stdout


def sync_message(chunks: list[bytes], heads: list[bytes] = ()) -> bytes:  # type: ignore[assignment]
    """A V1 sync message carrying ``chunks`` as its changes."""
    out = bytes([SYNC_V1]) + uleb(len(heads)) + b"".join(sorted(heads)) + uleb(0) + uleb(0)
    return out + uleb(len(chunks)) + b"".join(uleb(len(c)) + c for c in chunks)


def reset_peak_rss() -> None:
    """Start measuring this process's peak memory afresh (Linux: clear_refs 5)."""
    with open("/proc/self/clear_refs", "w") as f:
        f.write("5")


def peak_rss_mib() -> float:
    """This process's peak resident memory since the last reset, in MiB."""
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    raise AssertionError("no VmHWM in /proc/self/status")


def rss_mib() -> float:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    raise AssertionError("no VmRSS in /proc/self/status")


_MAKE_LIST_CHANGE = """
import sys, automerge.core as am
doc = am.Document()
with doc.transaction() as tx:
    items = tx.put_object(am.ROOT, "items-" + sys.argv[2], am.ObjType.List)
    for i in range(int(sys.argv[1])):
        tx.insert(items, i, am.ScalarType.Null, None)
sys.stdout.buffer.write(doc.get_changes([])[0].bytes)
"""


def list_change(ops: int, tag: str) -> bytes:
    """A change made by automerge itself inserting ``ops`` nulls into a new list
    (its own encoding, so it saves and loads back), made in a child process."""
    made = subprocess.run([sys.executable, "-c", _MAKE_LIST_CHANGE, str(ops), tag],
                          capture_output=True, check=True)
    return made.stdout


def plant(home: Path, data: bytes, kind: str) -> str:
    """Store ``data`` as a new document of ``kind`` in the home at ``home``, as
    a node that took it in would have; its id."""
    from podsync.home import Home  # noqa: PLC0415
    from podsync.ids import new_document_id  # noqa: PLC0415
    from podsync.store import DocumentStore  # noqa: PLC0415
    doc_id = new_document_id()
    with DocumentStore(Home(home).db_path) as store:
        store.append_changes(doc_id, [data], [os.urandom(32)], kind=kind)
    return doc_id
