"""What a link may take in: frames weighed off the loop, and per-peer budgets.

Every frame is decoded and its automerge bytes weighed (:func:`podsync.sync.
intake.measure`) before the engine acts on it. That walk is pure Python and
costs about as much as the frame is long, so a frame over INLINE_MEASURE_BYTES is
weighed on a worker thread (which yields the GIL to the event loop every few
milliseconds); one thread does it for every link, so at most one big frame at a
time is being inflated for weighing.

The peer pays for each frame out of two token buckets: its bytes before it is
weighed, its column entries before the engine applies it
(PEER_BYTES_PER_SECOND, PEER_ENTRIES_PER_SECOND, each with a burst of one full
input). A peer that has spent its budget waits, unread, until it
refills: TCP pushes back on it, and the event loop stays free for everyone else.
"""

from __future__ import annotations

import asyncio
import time
from concurrent.futures import ThreadPoolExecutor

from podsync.sync.intake import Measured, measure
from podsync.sync.limits import (
    INLINE_MEASURE_BYTES, MAX_FRAME_BYTES, MAX_INPUT_ENTRIES, PEER_BYTES_PER_SECOND,
    PEER_ENTRIES_PER_SECOND,
)

_measurer = ThreadPoolExecutor(max_workers=1, thread_name_prefix="podsync-measure")


async def measure_frame(frame: bytes) -> Measured:
    """:func:`measure`, on the worker thread when ``frame`` is big."""
    if len(frame) <= INLINE_MEASURE_BYTES:
        return measure(frame)
    return await asyncio.get_running_loop().run_in_executor(_measurer, measure, frame)


class Bucket:
    """``burst`` tokens refilled at ``rate`` a second; spending waits for them."""

    def __init__(self, burst: float, rate: float) -> None:
        self.burst = burst
        self.rate = rate
        self.tokens = burst
        self.at = time.monotonic()

    def _refill(self) -> None:
        now = time.monotonic()
        self.tokens = min(self.burst, self.tokens + (now - self.at) * self.rate)
        self.at = now

    async def spend(self, amount: float) -> float:
        """Take ``amount`` (at most a full burst), waiting until it is there;
        the seconds waited."""
        amount = min(amount, self.burst)
        self._refill()
        waited = 0.0
        if self.tokens < amount:
            waited = (amount - self.tokens) / self.rate
            await asyncio.sleep(waited)
            self._refill()
        self.tokens -= amount
        return waited


class IntakeBudget:
    """One link's budgets of bytes and column entries."""

    def __init__(self) -> None:
        self.bytes = Bucket(MAX_FRAME_BYTES, PEER_BYTES_PER_SECOND)
        self.entries = Bucket(MAX_INPUT_ENTRIES, PEER_ENTRIES_PER_SECOND)
        #: Seconds this link has waited for its budget (for status and tests).
        self.waited = 0.0

    async def spend_bytes(self, size: int) -> None:
        """Before a frame is weighed: weighing costs about as much as its size."""
        self.waited += await self.bytes.spend(size)

    async def spend_entries(self, frame: Measured) -> None:
        """Before the engine applies it."""
        if frame.cost.entries:
            self.waited += await self.entries.spend(frame.cost.entries)
