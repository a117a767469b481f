"""Two costs of the pinned automerge binding, and how podsync steps around them.

* A document loaded from a large saved snapshot takes every later change
  slowly: each put or applied change searches op structures the load left
  packed (about 1 ms at 10,000 records and 8-20 ms at 40,000), while one rebuilt
  by merging it into an empty document takes them in 0.03 ms. Rebuilding costs
  about 2.5 times the load, once; below REBUILD_MIN_BYTES (about 3,000 records)
  writes cost under 0.25 ms either way.
* Loading a snapshot with change chunks after it applies those changes to the
  packed snapshot one by one: 3-5 ms a change after a 3 MB snapshot of half a
  three-year needs board (its other 16,000 changes took 45 s). Loaded alone,
  rebuilt and then given the changes, the same took under a second. The store
  loads so (podsync.store.chunks).

The binding has no ``apply_changes``; its sync message carries changes, and
receiving one applies them the way automerge applies any (a change whose
dependencies are not in the document yet waits inside it until they arrive). So
changes are handed over as a sync message holding nothing else (automerge's
sync message format, version 1: ``0x42``, then no heads, no needs, no bloom
filters, then the changes).
"""

from __future__ import annotations

import automerge.core as am

from podsync.sync.cost import SyncMessageParts

#: Saved bytes above which a loaded document is rebuilt (see above).
REBUILD_MIN_BYTES = 1024 * 1024

#: A sync message's start with no heads, no needs and no bloom filters
#: (automerge's format, version 1: ``0x42``, then three empty lists).
_NOTHING_BUT_CHANGES = bytes([0x42, 0, 0, 0])


def changes_message(changes: list[bytes]) -> bytes:
    """An automerge sync message carrying exactly ``changes``."""
    return SyncMessageParts(_NOTHING_BUT_CHANGES, changes, b"").encode()


def feed_changes(doc: am.Document, changes: list[bytes]) -> None:
    """Apply ``changes`` to ``doc`` (those missing dependencies wait in it);
    raises Exception for bytes that are not automerge changes.

    A document skips chunks it cannot parse without a word once it holds
    changes or has one waiting, so each change is parsed on an empty document of
    its own first, which says (about 7 µs a change)."""
    for change in changes:
        am.Document().receive_sync_message(am.SyncState(), am.Message.decode(changes_message([change])))
    doc.receive_sync_message(am.SyncState(), am.Message.decode(changes_message(changes)))


def rebuilt(doc: am.Document) -> am.Document:
    """``doc`` merged into an empty document: as fast to change as to read."""
    out = am.Document()
    out.merge(doc)
    return out


def writable(doc: am.Document, saved_bytes: int) -> am.Document:
    """``doc``, loaded from ``saved_bytes`` of snapshot, as fast to change as it
    is to read: rebuilt when the snapshot was large."""
    return doc if saved_bytes < REBUILD_MIN_BYTES else rebuilt(doc)
