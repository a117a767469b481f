"""Dial a peer and keep one link to it up, with backoff and jitter.

A :class:`Dialer` serves one target: a fixed address, or a device reachable at
several addresses (IPv4, IPv6, one per interface) that it tries in the order
given, each round. Whoever owns it can pause it (a link to that peer is up by
another way), resume it, wake it early (a new address is known) and retire it.
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import logging
import random
import ssl
import time
from collections.abc import Awaitable, Callable, Sequence

import aiohttp

from podsync.net.link import HEARTBEAT_SECONDS, Link
from podsync.sync.limits import MAX_FRAME_BYTES

log = logging.getLogger(__name__)

#: First retry delay, and the cap. Like Syncthing we do not retry frenetically: a
#: refused connection usually means the other laptop is asleep or off the Wi-Fi,
#: which takes minutes to change, but the first retries are quick so that a node
#: restarting on the other side is met within a second.
BACKOFF_INITIAL_SECONDS = 0.25
BACKOFF_MAX_SECONDS = 30.0
#: While our own network is down (no route at all), a dial fails at once without
#: a packet leaving the machine, so retrying costs nothing, and the moment the
#: network returns (Wi-Fi reassociates, a cable is plugged back) is exactly when
#: the pod should meet again: keep retrying at this short interval meanwhile.
OFFLINE_RETRY_SECONDS = 1.0
#: How long stop() lets a link that is being closed finish its close handshake.
CLOSE_GRACE_SECONDS = 2.0
#: A link that stayed up this long resets the backoff: the peer was really there.
STABLE_LINK_SECONDS = 10.0
CONNECT_TIMEOUT_SECONDS = 5.0
#: Errors that mean "this machine has no route out", not "the peer is away".
_OFFLINE_ERRNOS = {errno.ENETUNREACH, errno.ENETDOWN, errno.EADDRNOTAVAIL}


class Refused(Exception):
    """Raised by an ``authorize`` callback to hang up, saying why."""


class BackoffIter:
    """Exponential backoff with full jitter (each delay uniform in [cap/2, cap])."""

    def __init__(self, rng: random.Random) -> None:
        self._rng = rng
        self._cap = BACKOFF_INITIAL_SECONDS

    def reset(self) -> None:
        self._cap = BACKOFF_INITIAL_SECONDS

    def next(self) -> float:
        delay = self._rng.uniform(self._cap / 2, self._cap)
        self._cap = min(self._cap * 2, BACKOFF_MAX_SECONDS)
        return delay


Authorize = Callable[[str, ssl.SSLObject | None], str | None]


class Dialer:
    """Keeps one outgoing link alive until stopped or retired.

    ``addresses`` is one ``host:port`` or a callable giving the addresses to try,
    best first; it is asked again every round, so it may change. ``authorize``
    (address, TLS object) runs once the TLS handshake is done and names the
    device the server's certificate proves; returning None or raising
    :class:`Refused` hangs up, and the next address is tried.
    """

    def __init__(self, addresses: str | Callable[[], Sequence[str]], session: aiohttp.ClientSession,
                 serve: Callable[[Link], Awaitable[None]], *, path: str = "/",
                 rng: random.Random | None = None,
                 tls: Callable[[], ssl.SSLContext] | None = None,
                 authorize: Authorize | None = None, name: str | None = None) -> None:
        self._addresses = (lambda: [addresses]) if isinstance(addresses, str) else addresses
        self.name = name or (addresses if isinstance(addresses, str) else "peer")
        self._session = session
        self._serve = serve
        self._path = path
        self._backoff = BackoffIter(rng or random.Random())
        # A fresh TLS context per dial pins the roster as it is now.
        self._tls = tls
        self._authorize = authorize
        #: The address of the current link, else the one tried last.
        self.address: str | None = addresses if isinstance(addresses, str) else None
        self.last_error: str | None = None
        self.connected = False
        self._may_dial = asyncio.Event()
        self._may_dial.set()
        self._wake = asyncio.Event()
        self._retired = False
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        self._task = asyncio.get_running_loop().create_task(self._run(), name=f"dial {self.name}")

    async def stop(self, grace: float = 0.0) -> None:
        """Dial no more; give a link that is closing ``grace`` seconds to finish
        its close handshake, then cut it."""
        self.retire()
        if self._task is None:
            return
        if grace > 0 and self.connected:
            await asyncio.wait([self._task], timeout=grace)
        self._task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self._task

    def pause(self) -> None:
        """Dial no more until :meth:`resume` (a current link stays up)."""
        self._may_dial.clear()

    def resume(self) -> None:
        self._may_dial.set()

    def wake(self) -> None:
        """Something new is known (an address): end the backoff wait, start afresh."""
        self._backoff.reset()
        self._wake.set()

    def retire(self) -> None:
        """Stop once the current link (if any) ends; a link that is up stays up."""
        self._retired = True
        self._may_dial.set()
        self._wake.set()

    @property
    def done(self) -> bool:
        """The dialer ended (or never started)."""
        return self._task is None or self._task.done()

    def url(self, address: str) -> str:
        host, _, port = address.rpartition(":")
        if ":" in host and not host.startswith("["):
            host = f"[{host}]"
        scheme = "wss" if self._tls is not None else "ws"
        return f"{scheme}://{host}:{port}{self._path}"

    async def _run(self) -> None:
        while not self._retired:
            await self._may_dial.wait()
            if self._retired:
                break
            started = time.monotonic()
            try:
                offline = await self._round()
            except Exception:  # noqa: BLE001 - a bug in a callback must not end the dialing
                log.exception("dialing %s failed unexpectedly", self.name)
                offline = False
            if self._retired:
                break
            if time.monotonic() - started > STABLE_LINK_SECONDS:
                self._backoff.reset()
            delay = self._backoff.next()
            await self._nap(min(delay, OFFLINE_RETRY_SECONDS) if offline else delay)

    async def _nap(self, seconds: float) -> None:
        self._wake.clear()
        with contextlib.suppress(asyncio.TimeoutError):
            await asyncio.wait_for(self._wake.wait(), seconds)

    async def _round(self) -> bool:
        """Try each address once; serve the first link made. True when every
        attempt failed because this machine has no network."""
        attempts = offline_failures = 0
        for address in list(self._addresses()):
            if not self._may_dial.is_set() or self._retired:
                return False
            self.address = address
            attempts += 1
            ws, offline = await self._connect(address)
            if ws is None:
                offline_failures += offline
                continue
            try:
                device_id = self._authorize(address, ws.get_extra_info("ssl_object")) \
                    if self._authorize is not None else None
                if self._authorize is not None and device_id is None:
                    raise Refused("the node there is not an active member of this pod")
            except Refused as refusal:
                self.last_error = str(refusal)
                log.info("dial %s: hung up on %s: %s", self.name, address, refusal)
                await ws.close()
                continue
            self.last_error = None
            self.connected = True
            try:
                await self._serve(Link(ws, "dialer", "peer", address, device_id=device_id))
            finally:
                self.connected = False
            return False
        return attempts > 0 and offline_failures == attempts

    async def _connect(self, address: str) -> tuple[aiohttp.ClientWebSocketResponse | None, bool]:
        """The WebSocket, or None and whether the failure means "no network here"."""
        try:
            ws = await asyncio.wait_for(self._session.ws_connect(
                self.url(address), heartbeat=HEARTBEAT_SECONDS, max_msg_size=MAX_FRAME_BYTES,
                ssl=self._tls() if self._tls is not None else True, autoping=True),
                CONNECT_TIMEOUT_SECONDS)
        except (aiohttp.ClientError, OSError, asyncio.TimeoutError, ssl.SSLError, ValueError) as exc:
            # ValueError: an address the URL parser or resolver cannot take.
            self.last_error = str(exc) or type(exc).__name__
            os_error = getattr(exc, "os_error", exc)
            log.debug("dial %s at %s failed: %s", self.name, address, self.last_error)
            return None, getattr(os_error, "errno", None) in _OFFLINE_ERRNOS
        return ws, False
