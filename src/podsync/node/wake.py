"""Noticing that the computer slept or moved to another network.

Nothing tells a process that the lid was closed: when it opens, the process
simply runs on, its links dead and its mDNS records expired in the peers'
caches. So the node looks every :data:`WAKE_TICK_SECONDS`: a look that comes
much later than due means it was not running (a stopped process sees the same:
SIGSTOP is how the tests put a node to sleep); a wall clock that moved much
further than the monotonic one means the machine slept (Linux and macOS stop
the monotonic clock during sleep) or the clock was set; a different set of
local addresses means another network. The node then re-announces itself on
mDNS, redials its members without waiting out any back-off, and lets the sync
catch up; no restart.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable

import ifaddr

log = logging.getLogger(__name__)

#: How often the watcher looks: a clock read and an interface listing (well
#: under a millisecond), so a wake is acted on within a couple of seconds.
WAKE_TICK_SECONDS = 2.0
#: A look this much later than due, or a wall clock this far off the monotonic
#: one, counts as a sleep. Longer than a busy event loop ever stalls (a large
#: sync holds it for a second or two on a slow machine); shorter than the time a
#: peer takes to give up on a silent link (net.link.HEARTBEAT_SECONDS and half
#: again for the pong), so any sleep that cost the node its links is noticed.
WAKE_GAP_SECONDS = 6.0


def local_addresses() -> frozenset[str]:
    """Every non-loopback address of this machine."""
    found: set[str] = set()
    for adapter in ifaddr.get_adapters():
        for ip in adapter.ips:
            address = ip.ip[0] if isinstance(ip.ip, tuple) else ip.ip
            if not (address.startswith("127.") or address == "::1"):
                found.add(address)
    return frozenset(found)


class WakeDetector:
    """The decision, without IO: fed one observation per tick, it says why the
    node should act as if it just woke, or None."""

    def __init__(self, mono: float, wall: float, addresses: frozenset[str],
                 tick: float = WAKE_TICK_SECONDS, gap: float = WAKE_GAP_SECONDS) -> None:
        self.tick = tick
        self.gap = gap
        self._mono, self._wall, self._addresses = mono, wall, addresses

    def observe(self, mono: float, wall: float, addresses: frozenset[str]) -> str | None:
        mono_elapsed, wall_elapsed = mono - self._mono, wall - self._wall
        changed = addresses != self._addresses
        self._mono, self._wall, self._addresses = mono, wall, addresses
        if mono_elapsed > self.tick + self.gap:
            return f"the node did not run for {mono_elapsed:.0f} s"
        if abs(wall_elapsed - mono_elapsed) > self.gap:
            return f"the clock jumped {wall_elapsed - mono_elapsed:+.0f} s (the computer slept, or its time was set)"
        if changed:
            return "the network addresses changed"
        return None


class WakeWatch:
    """Runs a :class:`WakeDetector` and calls ``on_wake(reason)`` when it fires."""

    def __init__(self, on_wake: Callable[[str], None], *, tick: float = WAKE_TICK_SECONDS,
                 addresses: Callable[[], frozenset[str]] = local_addresses) -> None:
        self._on_wake = on_wake
        self._tick = tick
        self._addresses = addresses
        self.last_wake: tuple[float, str] | None = None  # unix time, reason

    async def run(self) -> None:
        detector = WakeDetector(time.monotonic(), time.time(), self._addresses(), tick=self._tick)
        while True:
            await asyncio.sleep(self._tick)
            reason = detector.observe(time.monotonic(), time.time(), self._addresses())
            if reason is None:
                continue
            self.last_wake = (time.time(), reason)
            log.info("awake again (%s): announcing on mDNS and redialing members", reason)
            try:
                self._on_wake(reason)
            except Exception:  # noqa: BLE001 - a failing reaction must not end the watching
                log.exception("reacting to a wake failed")
