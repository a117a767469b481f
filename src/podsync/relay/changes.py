"""Putting changes that came through a relay into a document.

The pinned automerge binding has no ``apply_changes``. Its sync message carries
changes, though, and receiving one applies them the way automerge applies any:
a change whose dependencies are not in the document yet waits inside the
document until they arrive. So a bundle's changes are handed over as a sync
message holding nothing else (automerge's sync message format, version 1:
``0x42``, then no heads, no needs, no bloom filters, then the changes).
"""

from __future__ import annotations

import automerge.core as am

_SYNC_V1 = 0x42


def _leb(n: int) -> bytes:
    out = bytearray()
    while True:
        low, n = n & 0x7F, n >> 7
        out.append(low | (0x80 if n else 0))
        if not n:
            return bytes(out)


def changes_message(changes: list[bytes]) -> bytes:
    """An automerge sync message carrying exactly ``changes``."""
    out = bytearray([_SYNC_V1])
    out += _leb(0) + _leb(0) + _leb(0) + _leb(len(changes))
    for change in changes:
        out += _leb(len(change)) + change
    return bytes(out)


def feed_changes(doc: am.Document, changes: list[bytes]) -> None:
    """Apply ``changes`` to ``doc`` (those missing dependencies wait in it);
    raises Exception for bytes that are not automerge changes.

    A document that already holds changes skips chunks it cannot parse without a
    word, so the bytes are parsed on an empty document first, which says."""
    message = changes_message(changes)
    am.Document().receive_sync_message(am.SyncState(), am.Message.decode(message))
    doc.receive_sync_message(am.SyncState(), am.Message.decode(message))


def feed_snapshot(doc: am.Document, saved: bytes) -> None:
    """Merge a saved document into ``doc``; raises Exception if it does not load."""
    doc.merge(am.Document.load(saved))


def holds(doc: am.Document, hashes: list[bytes]) -> bool:
    """Whether ``doc`` holds every change in ``hashes``.

    ``get_changes(have)`` ignores hashes the document lacks, so asked for the
    changes after a hash it lacks, it returns its whole history, including a
    change with no dependencies (its first). After a hash it holds, it returns
    only what came after that change: cheap for recent heads."""
    if not hashes:
        return True
    if not doc.get_heads():
        return False
    current = set(doc.get_heads())
    for change_hash in hashes:
        if change_hash in current:
            continue
        if any(not change.deps for change in doc.get_changes([change_hash])):
            return False
    return True
