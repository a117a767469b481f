"""What automerge bytes from outside would cost to load, read from their headers.

A saved document or a change can be tiny on the wire and huge once automerge
has it: columns may be DEFLATE-compressed (about 1,000 to 1), and every column
is run-length encoded, so a few bytes can declare a run of a billion
operations. ``automerge.core`` decompresses and decodes whatever it is given,
holding the GIL, so the node must know the cost *before* handing bytes over.

This module walks the automerge binary format (chunk headers, column metadata,
and each column's runs) without building anything, and adds up two figures:

* ``bytes``: what the input occupies once inflated: chunk bytes, decompressed
  columns, and every repetition of a run-length-encoded string;
* ``entries``: how many values automerge decodes from the columns (operations,
  changes and their fields; a run of a million counts a million).

It stops as soon as either figure passes its budget, so measuring a bomb costs
no more than measuring an honest input of the budget's size. Anything that is
not well-formed automerge raises :class:`~podsync.errors.ProtocolError`;
automerge itself would refuse it too.

Formats: https://automerge.org/automerge-binary-format-spec/ (chunks, columns)
and automerge-rs ``sync.rs`` (sync messages, V1 and V2).
"""

from __future__ import annotations

import hashlib
import re
import zlib

import msgspec

from podsync.errors import ProtocolError

MAGIC = b"\x85\x6f\x4a\x83"
CHUNK_DOCUMENT = 0
CHUNK_CHANGE = 1
CHUNK_COMPRESSED_CHANGE = 2
HASH_BYTES = 32

# Column types: the low three bits of a column specification; bit 3 is DEFLATE.
_GROUP, _ACTOR, _ULEB, _DELTA, _BOOLEAN, _STRING, _VALUE_META, _VALUE_RAW = range(8)
_DEFLATE_BIT = 0b1000

# A LEB128 value is at most ten bytes (64 bits); these skip runs of them in C.
_LEB = rb"[\x80-\xff]{0,9}[\x00-\x7f]"
_SKIP = [(n, re.compile(rb"(?:%s){%d}" % (_LEB, n))) for n in (4096, 64, 1)]


class Cost(msgspec.Struct, frozen=True):
    """What an input costs automerge: inflated bytes and decoded column entries."""

    bytes: int = 0
    entries: int = 0


class InputTooCostly(ProtocolError):
    """The input would inflate past a limit; it is refused unread."""


class _Meter:
    """Running totals against the budget; raises the moment one is passed."""

    def __init__(self, max_bytes: int, max_entries: int, chunk_weight: int, what: str) -> None:
        self.max_bytes = max_bytes
        self.max_entries = max_entries
        self.chunk_weight = chunk_weight
        self.what = what
        self.bytes = 0
        self.entries = 0

    def add_bytes(self, n: int) -> None:
        self.bytes += n
        if self.bytes > self.max_bytes:
            raise InputTooCostly(f"{self.what} inflates past {self.max_bytes} bytes")

    def add_entries(self, n: int) -> None:
        self.entries += n
        if self.entries > self.max_entries:
            raise InputTooCostly(f"{self.what} holds more than {self.max_entries} column entries")

    def room(self) -> int:
        return self.max_bytes - self.bytes

    def cost(self) -> Cost:
        return Cost(self.bytes, self.entries)


class _Reader:
    def __init__(self, data: bytes, what: str) -> None:
        self.data = data
        self.pos = 0
        self.what = what

    def bad(self, why: str) -> ProtocolError:
        return ProtocolError(f"{self.what}: {why}")

    def at_end(self) -> bool:
        return self.pos >= len(self.data)

    def uleb(self) -> int:
        return self._leb(signed=False)

    def sleb(self) -> int:
        return self._leb(signed=True)

    def _leb(self, signed: bool) -> int:
        value = shift = 0
        data, pos = self.data, self.pos
        while True:
            if pos >= len(data) or shift > 63:
                raise self.bad("malformed LEB128 number")
            byte = data[pos]
            pos += 1
            value |= (byte & 0x7F) << shift
            shift += 7
            if not byte & 0x80:
                self.pos = pos
                return value - (1 << shift) if signed and byte & 0x40 else value

    def take(self, n: int) -> bytes:
        if n < 0 or self.pos + n > len(self.data):
            raise self.bad(f"{n} bytes announced, {len(self.data) - self.pos} left")
        out = self.data[self.pos:self.pos + n]
        self.pos += n
        return out

    def skip(self, n: int) -> None:
        if n < 0 or self.pos + n > len(self.data):
            raise self.bad(f"{n} bytes announced, {len(self.data) - self.pos} left")
        self.pos += n

    def skip_lebs(self, count: int) -> None:
        """Skip ``count`` LEB128 numbers (in C, a few thousand at a time)."""
        for size, pattern in _SKIP:
            while count >= size:
                found = pattern.match(self.data, self.pos)
                if found is None:
                    raise self.bad("malformed LEB128 run")
                self.pos = found.end()
                count -= size

    def hashes(self) -> None:
        self.skip(self.uleb() * HASH_BYTES)


# ---------------------------------------------------------------- columns


def _leb_end(data: bytes, pos: int) -> int:
    """Where the LEB128 number starting at ``pos`` ends (IndexError past the data)."""
    start = pos
    while data[pos] & 0x80:
        pos += 1
        if pos - start > 9:
            raise ProtocolError("malformed LEB128 number")
    return pos + 1


def _uleb_at(data: bytes, pos: int) -> tuple[int, int]:
    byte = data[pos]
    if byte < 0x80:  # most numbers in a column fit one byte
        return byte, pos + 1
    value = shift = 0
    end = _leb_end(data, pos)
    for i in range(pos, end):
        value |= (data[i] & 0x7F) << shift
        shift += 7
    return value, end


def _sleb_at(data: bytes, pos: int) -> tuple[int, int]:
    byte = data[pos]
    if byte < 0x80:
        return (byte - 0x80 if byte & 0x40 else byte), pos + 1
    value, end = _uleb_at(data, pos)
    bits = 7 * (end - pos)
    return (value - (1 << bits) if data[end - 1] & 0x40 else value), end


def _column(spec: int, data: bytes, meter: _Meter, what: str) -> None:
    """Count the values of one column (and the bytes of repeated strings).

    Run-length encoding: a signed count n, then one value repeated n times
    (n > 0), -n literal values (n < 0), or an unsigned count of nulls (n = 0).
    Booleans: alternating run lengths. Raw value bytes were counted with their
    chunk; the metadata column says how they split."""
    kind = spec & 0b111
    if kind == _VALUE_RAW:
        return
    left = meter.max_entries - meter.entries  # stop as soon as the budget is gone
    entries = extra = 0
    pos, end = 0, len(data)
    try:
        if kind == _BOOLEAN:
            while pos < end and entries <= left:
                run, pos = _uleb_at(data, pos)
                entries += run
        else:
            strings = kind == _STRING
            while pos < end and entries <= left:
                run, pos = _sleb_at(data, pos)
                if run > 0:
                    entries += run
                    if strings:
                        length, pos = _uleb_at(data, pos)
                        pos += length
                        extra += (run - 1) * length
                    else:
                        pos = _leb_end(data, pos)
                elif run < 0:
                    entries -= run
                    if strings:
                        for _ in range(-run):
                            length, pos = _uleb_at(data, pos)
                            pos += length
                    elif -run == 1:
                        pos = _leb_end(data, pos)
                    else:
                        column = _Reader(data, what)
                        column.pos = pos
                        column.skip_lebs(-run)
                        pos = column.pos
                else:
                    nulls, pos = _uleb_at(data, pos)
                    entries += nulls
    except IndexError:
        raise ProtocolError(f"{what}: a column ends inside a value") from None
    if pos > end:
        raise ProtocolError(f"{what}: a column ends inside a string")
    meter.add_entries(entries)
    meter.add_bytes(extra)


def _columns(r: _Reader) -> list[tuple[int, int]]:
    """Column metadata: (specification, length) pairs."""
    count = r.uleb()
    if count > len(r.data) - r.pos:  # every pair takes at least two bytes
        raise r.bad(f"{count} columns announced in {len(r.data) - r.pos} bytes")
    return [(r.uleb(), r.uleb()) for _ in range(count)]


def _column_data(r: _Reader, layout: list[tuple[int, int]], meter: _Meter, *,
                 deflate_allowed: bool) -> None:
    for spec, length in layout:
        raw = r.take(length)
        if spec & _DEFLATE_BIT:
            if not deflate_allowed:
                raise r.bad("a change's columns may not be compressed")
            raw = _inflate(raw, meter, r.what)
        _column(spec, raw, meter, r.what)


def _inflate(data: bytes, meter: _Meter, what: str) -> bytes:
    """Raw DEFLATE, never producing more than the budget has room for."""
    room = meter.room()
    inflater = zlib.decompressobj(-zlib.MAX_WBITS)
    try:
        out = inflater.decompress(data, room + 1)
    except zlib.error as err:
        raise ProtocolError(f"{what}: bad DEFLATE data: {err}") from None
    meter.add_bytes(len(out))
    if not inflater.eof:
        raise ProtocolError(f"{what}: truncated DEFLATE data")
    return out


# ---------------------------------------------------------------- chunks


def _document(r: _Reader, meter: _Meter) -> None:
    for _ in range(r.uleb()):  # actors
        r.skip(r.uleb())
    heads = r.uleb()
    r.skip(heads * HASH_BYTES)
    change_layout = _columns(r)
    op_layout = _columns(r)
    _column_data(r, change_layout, meter, deflate_allowed=True)
    _column_data(r, op_layout, meter, deflate_allowed=True)
    if not r.at_end():  # head indices; absent in documents of older JS versions
        r.skip_lebs(heads)
    if not r.at_end():
        raise r.bad("bytes left after a document chunk")


def _change(r: _Reader, meter: _Meter) -> None:
    r.hashes()  # dependencies
    r.skip(r.uleb())  # actor
    r.uleb()  # seq
    r.uleb()  # start op
    r.sleb()  # time
    r.skip(r.uleb())  # message
    for _ in range(r.uleb()):  # other actors
        r.skip(r.uleb())
    _column_data(r, _columns(r), meter, deflate_allowed=False)
    # The rest is "extra bytes", kept as they are.


def _chunks(data: bytes, meter: _Meter, what: str) -> int:
    """Walk a concatenation of chunks; the number of chunks."""
    r = _Reader(data, what)
    count = 0
    while not r.at_end():
        if r.take(4) != MAGIC:
            raise r.bad("not an automerge chunk (bad magic bytes)")
        r.skip(4)  # checksum: automerge checks it
        kind = r.take(1)[0]
        body = r.take(r.uleb())
        meter.add_bytes(len(body))
        meter.add_entries(meter.chunk_weight)
        if kind == CHUNK_DOCUMENT:
            _document(_Reader(body, what), meter)
        elif kind == CHUNK_CHANGE:
            _change(_Reader(body, what), meter)
        elif kind == CHUNK_COMPRESSED_CHANGE:
            _change(_Reader(_inflate(body, meter, what), what), meter)
        else:
            raise r.bad(f"unknown chunk type {kind}")
        count += 1
    return count


def split_chunks(data: bytes) -> list[tuple[int, bytes]]:
    """The chunks of a concatenation, each as (chunk type, its whole bytes);
    ProtocolError if it is not one."""
    r = _Reader(bytes(data), "chunks")
    out: list[tuple[int, bytes]] = []
    while not r.at_end():
        start = r.pos
        if r.take(4) != MAGIC:
            raise r.bad("not an automerge chunk (bad magic bytes)")
        r.skip(4)
        kind = r.take(1)[0]
        r.skip(r.uleb())
        out.append((kind, r.data[start:r.pos]))
    return out


# ---------------------------------------------------------------- entry points


def chunks_cost(data: bytes, *, max_bytes: int, max_entries: int, chunk_weight: int = 0,
                what: str = "document") -> Cost:
    """Cost of loading ``data`` (saved documents and changes, concatenated) with
    ``Document.load``, each chunk counted as ``chunk_weight`` entries besides its
    columns; InputTooCostly past a budget, ProtocolError if malformed."""
    meter = _Meter(max_bytes, max_entries, chunk_weight, what)
    _chunks(bytes(data), meter, what)
    return meter.cost()


def sync_message_cost(data: bytes, *, max_bytes: int, max_entries: int, chunk_weight: int = 0,
                      what: str = "sync message") -> Cost:
    """Cost of ``receive_sync_message`` for an encoded sync message: its bloom
    filters and hash lists as they are, and every chunk it carries."""
    meter = _Meter(max_bytes, max_entries, chunk_weight, what)
    r = _Reader(bytes(data), what)
    if r.at_end() or r.take(1)[0] not in (0x42, 0x43):
        raise r.bad("not a sync message")
    r.hashes()  # heads
    r.hashes()  # need
    for _ in range(r.uleb()):  # have: last sync heads and a bloom filter each
        r.hashes()
        r.skip(r.uleb())
    count = r.uleb()
    meter.add_bytes(r.pos)  # the chunks count their own bytes
    for _ in range(count):
        _chunks(r.take(r.uleb()), meter, what)
    # Optional trailing capabilities: one byte each, skipped unread.
    meter.add_bytes(len(r.data) - r.pos)
    return meter.cost()


# ---------------------------------------------------------------- sync message parts


class SyncMessageParts(msgspec.Struct, frozen=True):
    """An encoded sync message cut where its changes begin and end: ``head`` is
    its type byte, heads, needs and bloom filters; ``chunks`` what it carries;
    ``tail`` any capabilities after them."""

    head: bytes
    chunks: list[bytes]
    tail: bytes

    def encode(self, chunks: list[bytes] | None = None) -> bytes:
        """The message again, carrying ``chunks`` instead of its own if given."""
        carried = self.chunks if chunks is None else chunks
        out = bytearray(self.head)
        out += _uleb(len(carried))
        for chunk in carried:
            out += _uleb(len(chunk)) + chunk
        out += self.tail
        return bytes(out)


def sync_message_parts(data: bytes) -> SyncMessageParts:
    """Cut a well-formed sync message (one this node generated, or one already
    weighed) into its parts; ProtocolError if it is not one."""
    r = _Reader(bytes(data), "sync message")
    if r.at_end() or r.take(1)[0] not in (0x42, 0x43):
        raise r.bad("not a sync message")
    r.hashes()
    r.hashes()
    for _ in range(r.uleb()):
        r.hashes()
        r.skip(r.uleb())
    head = r.data[:r.pos]
    chunks = [r.take(r.uleb()) for _ in range(r.uleb())]
    return SyncMessageParts(head, chunks, r.data[r.pos:])


def carries_document(chunk: bytes) -> bool:
    """Whether a chunk a sync message carries is (or holds) a saved document
    rather than changes: False at bytes that are not a chunk, ProtocolError
    at one cut short."""
    r = _Reader(bytes(chunk), "sync message")
    while not r.at_end():
        if r.take(4) != MAGIC:
            return False
        r.skip(4)
        kind = r.take(1)[0]
        if kind == CHUNK_DOCUMENT:
            return True
        r.skip(r.uleb())
    return False


def chunks_within(chunks: list[bytes], *, max_bytes: int, max_entries: int, chunk_weight: int = 0) -> int:
    """How many of ``chunks``, from the first, cost at most the budget together
    (walked once, up to the first that does not fit)."""
    meter = _Meter(max_bytes, max_entries, chunk_weight, "sync message")
    for i, chunk in enumerate(chunks):
        try:
            _chunks(chunk, meter, "sync message")
        except InputTooCostly:
            return i
    return len(chunks)


# ---------------------------------------------------------------- change hashes


def change_hashes(sync_data: bytes) -> set[bytes] | None:
    """The hashes of the change chunks a (well-formed) sync message carries, as
    their senders computed them; None if it carries a saved document too.

    automerge re-encodes every change it applies. A change that was not encoded
    as automerge encodes it comes out with another hash than the one it was sent
    under, and peers then disagree about it for good; comparing these hashes with
    the changes a document gained tells such a change apart."""
    r = _Reader(bytes(sync_data), "sync message")
    r.take(1)
    r.hashes()
    r.hashes()
    for _ in range(r.uleb()):
        r.hashes()
        r.skip(r.uleb())
    out: set[bytes] = set()
    for _ in range(r.uleb()):
        chunks = _Reader(r.take(r.uleb()), "sync message")
        while not chunks.at_end():
            chunks.skip(8)  # magic, checksum
            kind = chunks.take(1)[0]
            body = chunks.take(chunks.uleb())
            if kind == CHUNK_COMPRESSED_CHANGE:
                body = zlib.decompress(body, -zlib.MAX_WBITS)  # bounded: it was weighed on arrival
            elif kind != CHUNK_CHANGE:
                return None
            out.add(hashlib.sha256(bytes([CHUNK_CHANGE]) + _uleb(len(body)) + body).digest())
    return out


def _uleb(n: int) -> bytes:
    out = bytearray()
    while True:
        byte, n = n & 0x7F, n >> 7
        out.append(byte | 0x80 if n else byte)
        if not n:
            return bytes(out)
