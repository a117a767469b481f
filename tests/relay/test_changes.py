"""Changes that came through a relay, put into a document the way automerge
takes any: in any order, twice, or not at all when they are not changes."""

from __future__ import annotations

import automerge.core as am
import pytest

from podsync.amdoc import feed_changes
from podsync.relay.changes import feed_snapshot, holds


def history(n: int) -> tuple[am.Document, list[bytes]]:
    doc = am.Document()
    for i in range(n):
        with doc.transaction() as tx:
            tx.put(am.ROOT, f"k{i}", am.ScalarType.Int, i)
    return doc, [c.bytes for c in doc.get_changes([])]


def test_changes_apply_in_any_order_and_twice_changes_nothing() -> None:
    source, changes = history(5)
    doc = am.Document()
    feed_changes(doc, changes[3:])  # their dependencies are not here yet: they wait
    assert doc.keys(am.ROOT) == [] and not holds(doc, source.get_heads())
    feed_changes(doc, changes[:3])
    assert sorted(doc.keys(am.ROOT)) == [f"k{i}" for i in range(5)]
    assert doc.get_heads() == source.get_heads() and holds(doc, source.get_heads())
    feed_changes(doc, changes)
    assert doc.get_heads() == source.get_heads()


def test_a_snapshot_merges_into_what_is_here() -> None:
    source, changes = history(4)
    doc = am.Document()
    feed_changes(doc, changes[:2])
    feed_snapshot(doc, source.save())
    assert doc.get_heads() == source.get_heads()
    with pytest.raises(Exception):
        feed_snapshot(doc, b"not a document")


@pytest.mark.parametrize("junk", [b"garbage", b"\x85\x6f\x4a\x83" + b"\x00" * 20])
def test_bytes_that_are_not_changes_raise(junk: bytes) -> None:
    doc, _ = history(1)
    with pytest.raises(Exception):
        feed_changes(doc, [junk])


def test_a_damaged_change_among_others_raises_and_applies_nothing() -> None:
    """automerge, given a waiting change first, skips a later one whose checksum
    is wrong without a word; each is checked on its own first."""
    source, changes = history(4)
    bad = bytearray(changes[3])
    bad[4] ^= 0xFF  # the checksum, which only automerge checks
    doc = am.Document()
    with pytest.raises(Exception, match="checksum"):
        feed_changes(doc, [changes[2], bytes(bad)])
    assert doc.get_heads() == []


def test_holds_tells_held_from_missing_changes() -> None:
    source, changes = history(6)
    hashes = [c.hash for c in source.get_changes([])]
    doc = am.Document()
    assert holds(doc, []) and not holds(doc, hashes[:1])
    feed_changes(doc, changes[:3])
    assert holds(doc, hashes[:3]) and holds(doc, hashes[:1])
    assert not holds(doc, hashes[3:4]) and not holds(doc, [b"\x07" * 32])
