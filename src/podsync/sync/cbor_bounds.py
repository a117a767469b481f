"""Bounding a frame's CBOR before cbor2 builds it.

cbor2 makes a Python object for every item it decodes, so a frame of a few
megabytes made of tiny items (nulls in an array, a map of small integers) turns
into tens of megabytes of objects. :func:`check` walks the item headers of one
CBOR data item without building anything (RFC 8949 section 3) and refuses a
frame that holds more than MAX_CBOR_ITEMS items or nests deeper than
MAX_CBOR_DEPTH; byte and text strings are skipped by their length, so a frame's
big ``data`` field costs nothing here. Well-formedness beyond the headers is
left to cbor2.
"""

from __future__ import annotations

from podsync.errors import ProtocolError
from podsync.sync.limits import MAX_CBOR_DEPTH, MAX_CBOR_ITEMS

_BREAK = 0xFF


def check(frame: bytes, *, max_items: int = MAX_CBOR_ITEMS, max_depth: int = MAX_CBOR_DEPTH) -> None:
    """ProtocolError unless ``frame`` is one CBOR item within the limits."""
    items = 0
    pos = 0
    end = len(frame)
    # Each open container: how many items it still expects (-1: indefinite).
    stack: list[int] = []

    def argument(info: int) -> int:
        nonlocal pos
        if info < 24:
            return info
        size = {24: 1, 25: 2, 26: 4, 27: 8}.get(info)
        if size is None or pos + size > end:
            raise ProtocolError("frame is not valid CBOR: malformed item header")
        value = int.from_bytes(frame[pos:pos + size], "big")
        pos += size
        return value

    while True:
        if pos >= end:
            raise ProtocolError("frame is not valid CBOR: it ends inside an item")
        initial = frame[pos]
        pos += 1
        if initial == _BREAK:
            if not stack or stack[-1] != -1:
                raise ProtocolError("frame is not valid CBOR: unexpected break")
            stack.pop()
        else:
            items += 1
            if items > max_items:
                raise ProtocolError(f"frame holds more than {max_items} CBOR items")
            major, info = initial >> 5, initial & 0x1F
            if major in (2, 3):  # byte or text string
                if info == 31:  # indefinite: chunks until a break
                    stack.append(-1)
                else:
                    length = argument(info)
                    if length > end - pos:
                        raise ProtocolError("frame is not valid CBOR: a string runs past its end")
                    pos += length
            elif major in (4, 5):  # array, map
                if info == 31:
                    count = -1
                else:
                    count = argument(info) * (2 if major == 5 else 1)
                    if count > end - pos:  # every item takes at least one byte
                        raise ProtocolError("frame is not valid CBOR: a container runs past its end")
                if len(stack) >= max_depth:
                    raise ProtocolError(f"frame nests CBOR deeper than {max_depth}")
                if count != 0:
                    stack.append(count)
                    continue
            elif major == 6:  # tag: the tagged item follows, counted on its own
                argument(info)
                continue
            elif major == 7:
                if info in (24, 25, 26, 27):
                    argument(info)
                elif info > 27:
                    raise ProtocolError("frame is not valid CBOR: reserved simple value")
            else:  # unsigned or negative integer
                argument(info)
        # One item is complete: close the containers it completes.
        while stack:
            if stack[-1] == -1:
                break
            stack[-1] -= 1
            if stack[-1]:
                break
            stack.pop()
        if not stack:
            return
