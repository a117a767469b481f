"""A frame from a peer, decoded and weighed before the engine acts on it.

:func:`measure` is pure and may run off the event loop (a runtime measures big
frames on a worker thread); :meth:`SyncEngine.receive_measured` then acts on the
result, closing the link with the logged reason if the frame was malformed or
would cost more than one input may (MAX_INPUT_BYTES, MAX_INPUT_ENTRIES).
"""

from __future__ import annotations


import msgspec

from podsync.errors import ProtocolError
from podsync.sync.cost import Cost, chunks_cost, sync_message_cost
from podsync.sync.limits import CHUNK_ENTRY_WEIGHT, MAX_INPUT_BYTES, MAX_INPUT_ENTRIES
from podsync.sync.messages import Message, Request, Sync, WholeDoc, decode


class Measured(msgspec.Struct, frozen=True):
    """One frame: its message (None if it was refused), what applying it costs,
    and why it was refused."""

    size: int
    message: Message | None
    cost: Cost
    error: ProtocolError | None = None


def message_cost(msg: Message) -> Cost:
    """What automerge will spend on ``msg``'s bytes; InputTooCostly past the limits."""
    if isinstance(msg, (Sync, Request)):
        return sync_message_cost(msg.data, max_bytes=MAX_INPUT_BYTES, max_entries=MAX_INPUT_ENTRIES,
                                 chunk_weight=CHUNK_ENTRY_WEIGHT,
                                 what=f"sync message for document {msg.document_id}")
    if isinstance(msg, WholeDoc):
        return chunks_cost(msg.data, max_bytes=MAX_INPUT_BYTES, max_entries=MAX_INPUT_ENTRIES,
                           chunk_weight=CHUNK_ENTRY_WEIGHT, what=f"whole document {msg.document_id}")
    return Cost()


def measure(frame: bytes) -> Measured:
    """Decode ``frame`` and weigh its automerge bytes; never raises for bad input."""
    try:
        msg = decode(frame)
        return Measured(len(frame), msg, message_cost(msg))
    except ProtocolError as err:
        return Measured(len(frame), None, Cost(), err)
