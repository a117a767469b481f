"""Putting what came through a relay into a document: a saved document merges
in (changes go in by podsync.amdoc.feed_changes), and whether it holds them."""

from __future__ import annotations

import automerge.core as am


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
