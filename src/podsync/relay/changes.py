"""Putting changes that came through a relay into a document (see podsync.amdoc
for how changes are applied without the binding's missing ``apply_changes``)."""

from __future__ import annotations

import automerge.core as am

from podsync.amdoc import changes_message, feed_changes

__all__ = ["changes_message", "feed_changes", "feed_snapshot", "holds"]


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
