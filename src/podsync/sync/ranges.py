"""Range summaries: finding the documents two peers hold differently in a few
small rounds (protocol/README.md §7, feature ``"ranges"``).

Each side lists the documents it may announce to the other as entries of 16
bytes, as the plain summary does: the first 8 bytes of the document id and 8
bytes of digest of its heads (:mod:`podsync.sync.heads`). Rather than sending
them all, the two sides walk a tree of id prefixes together: a node of the tree
is the entries whose id starts with some nibbles, and its *report* is how many
entries it holds and a fingerprint of them (the first 8 bytes of SHA-256 over
its entries, sorted, concatenated).

Both sides send the reports of the same nodes in each round, then decide the
next round's nodes from both sides' reports, alike:

- the same count and fingerprint: every document there is in step;
- either side holds nothing there: the other side's documents there are
  lacking on this side (the side that holds them sends them);
- otherwise, when either side holds at most LEAF_ENTRIES there (or the node
  is as deep as ids go), the next round lists the node's entries in full, and
  each side settles its documents against the other's list as the plain
  summary does; else the next round reports the node's 16 children.

With N documents of which k changed this takes about log16(N / LEAF_ENTRIES) + 2
rounds and some 300 bytes per changed document each way, instead of 16 bytes
per document: a reconnect of 2,000 documents with 10 changed sends about 3 KB
each way rather than 32 KB. Reconnecting with nothing changed is one round of
a dozen bytes.

A round's data is the reports of its nodes, in order: for a node reported by
fingerprint, its count (LEB128) and, when not zero, the 8-byte fingerprint; for
a node listed in full, its count and that many 16-byte entries. Anything else
(a short or over-long round, a round out of turn, more entries than MAX_ENTRIES)
is a protocol error. The work a peer can cause is bounded by this side's own
documents: a node is looked into further only where this side holds some.
"""

from __future__ import annotations

import hashlib
from bisect import bisect_left
from collections.abc import Iterable

import msgspec

from podsync.errors import ProtocolError
from podsync.sync.heads import DIGEST_BYTES, SUMMARY_ID_BYTES, summary_key

#: A node holding at most this many entries (on the larger side) is listed in
#: full: 16 entries are 256 bytes, about what another round of 16 fingerprints costs.
LEAF_ENTRIES = 16
#: Levels of the tree: one nibble each, as many as the 8 id bytes hold.
MAX_DEPTH = SUMMARY_ID_BYTES * 2
#: Entries a peer may claim in one round: four times the largest pod podsync
#: holds is far past any honest count, and 16 MB of entries fits a frame.
MAX_ENTRIES = 1 << 20
FINGERPRINT_BYTES = 8
ENTRY_BYTES = SUMMARY_ID_BYTES + DIGEST_BYTES
_KEY_BITS = SUMMARY_ID_BYTES * 8

#: How the next round reports a node.
BY_FINGERPRINT = 0
IN_FULL = 1


class Node(msgspec.Struct, frozen=True):
    """The entries whose id key starts with ``prefix`` (its first ``depth`` nibbles)."""

    depth: int
    prefix: int
    mode: int

    def bounds(self) -> tuple[int, int]:
        shift = _KEY_BITS - 4 * self.depth
        return self.prefix << shift, (self.prefix + 1) << shift

    def children(self) -> list[Node]:
        return [Node(self.depth + 1, (self.prefix << 4) | i, BY_FINGERPRINT) for i in range(16)]


class Settled(msgspec.Struct):
    """What one round settled about this side's documents."""

    in_step: list[str] = msgspec.field(default_factory=list)  # the peer holds the same heads
    differ: list[str] = msgspec.field(default_factory=list)  # the peer holds other heads
    lacking: list[str] = msgspec.field(default_factory=list)  # the peer holds nothing of it


class _Report(msgspec.Struct, frozen=True):
    count: int
    fingerprint: bytes = b""
    entries: tuple[bytes, ...] = ()


class Reconciler:
    """One side of a range summary exchange over one link."""

    def __init__(self, documents: Iterable[tuple[str, bytes]]) -> None:
        """``documents``: (document id, heads digest) of every document this side
        may announce to the peer."""
        items = sorted((int.from_bytes(summary_key(doc_id), "big"), digest, doc_id)
                       for doc_id, digest in documents)
        self._keys = [k for k, _, _ in items]
        self._entries = [k.to_bytes(SUMMARY_ID_BYTES, "big") + d for k, d, _ in items]
        self._ids = [doc_id for _, _, doc_id in items]
        self.round = 0
        self._frontier = [Node(0, 0, BY_FINGERPRINT)]
        self._mine = [self._report(n) for n in self._frontier]
        self.done = False

    def first(self) -> bytes:
        """Round 0's data: the report of the whole set."""
        return _encode(self._frontier, self._mine)

    def receive(self, round_no: int, data: bytes) -> tuple[bytes | None, Settled]:
        """The peer's round ``round_no``: the next round's data to send (None when
        the exchange is over) and what it settled."""
        if self.done or round_no != self.round:
            raise ProtocolError(f"range summary round {round_no} out of turn "
                                f"(expected {self.round if not self.done else 'none'})")
        theirs = _decode(self._frontier, data)
        settled = Settled()
        following: list[Node] = []
        for node, mine, their in zip(self._frontier, self._mine, theirs):
            lo, hi = self._span(node)
            if node.mode == IN_FULL:
                self._settle_against(lo, hi, their.entries, settled)
            elif mine.count == 0:
                continue
            elif their.count == 0:
                settled.lacking += self._ids[lo:hi]
            elif (mine.count, mine.fingerprint) == (their.count, their.fingerprint):
                settled.in_step += self._ids[lo:hi]
            elif max(mine.count, their.count) <= LEAF_ENTRIES or node.depth >= MAX_DEPTH:
                following.append(Node(node.depth, node.prefix, IN_FULL))
            else:
                following += node.children()
        self.round += 1
        self._frontier = following
        if not following:
            self.done = True
            return None, settled
        self._mine = [self._report(n) for n in following]
        return _encode(following, self._mine), settled

    def _span(self, node: Node) -> tuple[int, int]:
        start, end = node.bounds()
        return bisect_left(self._keys, start), bisect_left(self._keys, end)

    def _report(self, node: Node) -> _Report:
        lo, hi = self._span(node)
        entries = self._entries[lo:hi]
        if node.mode == IN_FULL:
            return _Report(hi - lo, entries=tuple(entries))
        if hi == lo:
            return _Report(0)
        return _Report(hi - lo, hashlib.sha256(b"".join(entries)).digest()[:FINGERPRINT_BYTES])

    def _settle_against(self, lo: int, hi: int, theirs: tuple[bytes, ...],
                        settled: Settled) -> None:
        listed: dict[bytes, set[bytes]] = {}
        for entry in theirs:
            listed.setdefault(entry[:SUMMARY_ID_BYTES], set()).add(entry[SUMMARY_ID_BYTES:])
        for entry, doc_id in zip(self._entries[lo:hi], self._ids[lo:hi]):
            digests = listed.get(entry[:SUMMARY_ID_BYTES])
            if digests is None:
                settled.lacking.append(doc_id)
            elif entry[SUMMARY_ID_BYTES:] in digests:
                settled.in_step.append(doc_id)
            else:
                settled.differ.append(doc_id)


def _encode(frontier: list[Node], reports: list[_Report]) -> bytes:
    out = bytearray()
    for node, report in zip(frontier, reports):
        out += _leb128(report.count)
        if node.mode == IN_FULL:
            out += b"".join(report.entries)
        elif report.count:
            out += report.fingerprint
    return bytes(out)


def _decode(frontier: list[Node], data: bytes) -> list[_Report]:
    reports = []
    pos = 0
    total = 0
    for node in frontier:
        count, pos = _read_leb128(data, pos)
        total += count
        if total > MAX_ENTRIES:
            raise ProtocolError(f"range summary claims over {MAX_ENTRIES} entries")
        if node.mode == IN_FULL:
            end = pos + count * ENTRY_BYTES
            if end > len(data):
                raise ProtocolError("range summary lists fewer entries than it counts")
            reports.append(_Report(count, entries=tuple(
                data[i:i + ENTRY_BYTES] for i in range(pos, end, ENTRY_BYTES))))
            pos = end
        elif count:
            end = pos + FINGERPRINT_BYTES
            if end > len(data):
                raise ProtocolError("range summary ends inside a fingerprint")
            reports.append(_Report(count, data[pos:end]))
            pos = end
        else:
            reports.append(_Report(0))
    if pos != len(data):
        raise ProtocolError(f"range summary round has {len(data) - pos} bytes after its reports")
    return reports


def _leb128(value: int) -> bytes:
    out = bytearray()
    while True:
        byte = value & 0x7F
        value >>= 7
        if value:
            out.append(byte | 0x80)
        else:
            out.append(byte)
            return bytes(out)


def _read_leb128(data: bytes, pos: int) -> tuple[int, int]:
    value, shift = 0, 0
    while True:
        if pos >= len(data) or shift > 28:
            raise ProtocolError("range summary has a malformed count")
        byte = data[pos]
        pos += 1
        value |= (byte & 0x7F) << shift
        shift += 7
        if not byte & 0x80:
            return value, pos
