"""Dial a peer address and keep the link up, with backoff and jitter."""

from __future__ import annotations

import asyncio
import logging
import random
import ssl
import time
from collections.abc import Awaitable, Callable

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
#: A link that stayed up this long resets the backoff: the peer was really there.
STABLE_LINK_SECONDS = 10.0
CONNECT_TIMEOUT_SECONDS = 5.0


class BackoffIter:
    """Exponential backoff with full jitter (each delay uniform in [0, cap])."""

    def __init__(self, rng: random.Random) -> None:
        self._rng = rng
        self._cap = BACKOFF_INITIAL_SECONDS

    def reset(self) -> None:
        self._cap = BACKOFF_INITIAL_SECONDS

    def next(self) -> float:
        delay = self._rng.uniform(self._cap / 2, self._cap)
        self._cap = min(self._cap * 2, BACKOFF_MAX_SECONDS)
        return delay


class Dialer:
    """Keeps one outgoing link to ``address`` (``host:port``) alive until stopped."""

    def __init__(self, address: str, session: aiohttp.ClientSession,
                 serve: Callable[[Link], Awaitable[None]], *, path: str = "/",
                 found_by: str = "manual", rng: random.Random | None = None,
                 tls: Callable[[], ssl.SSLContext] | None = None,
                 authorize: Callable[[ssl.SSLObject | None], str | None] | None = None) -> None:
        self.address = address
        self.found_by = found_by
        self._session = session
        self._serve = serve
        self._path = path
        self._backoff = BackoffIter(rng or random.Random())
        # A fresh TLS context per dial pins the roster as it is now; ``authorize``
        # then names the device the server's certificate proves (None: hang up).
        self._tls = tls
        self._authorize = authorize
        self.last_error: str | None = None
        self.connected = False
        self.device_id: str | None = None
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        self._task = asyncio.get_running_loop().create_task(self._run(), name=f"dial {self.address}")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            try:
                await self._task
            except asyncio.CancelledError:
                pass

    def url(self) -> str:
        host, _, port = self.address.rpartition(":")
        if ":" in host and not host.startswith("["):
            host = f"[{host}]"
        scheme = "wss" if self._tls is not None else "ws"
        return f"{scheme}://{host}:{port}{self._path}"

    async def _run(self) -> None:
        while True:
            started = time.monotonic()
            try:
                ws = await asyncio.wait_for(self._session.ws_connect(
                    self.url(), heartbeat=HEARTBEAT_SECONDS, max_msg_size=MAX_FRAME_BYTES,
                    ssl=self._tls() if self._tls is not None else True, autoping=True),
                    CONNECT_TIMEOUT_SECONDS)
            except (aiohttp.ClientError, OSError, asyncio.TimeoutError, ssl.SSLError) as exc:
                self.last_error = str(exc) or type(exc).__name__
                log.debug("dial %s failed: %s", self.address, self.last_error)
            else:
                device_id = None
                if self._authorize is not None:
                    device_id = self._authorize(ws.get_extra_info("ssl_object"))
                if self._authorize is not None and device_id is None:
                    self.last_error = "the node there is not an active member of this pod"
                    await ws.close()
                else:
                    self.last_error = None
                    self.connected = True
                    self.device_id = device_id
                    try:
                        await self._serve(Link(ws, "dialer", "peer", self.address, device_id=device_id))
                    finally:
                        self.connected = False
                if time.monotonic() - started > STABLE_LINK_SECONDS:
                    self._backoff.reset()
            await asyncio.sleep(self._backoff.next())
