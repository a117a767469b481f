"""One WebSocket link to a peer, and the table of all links.

A link is a thin executor: frames read from the socket go to the engine and the
engine's ``Send``/``Close``/``AwaitDrain`` effects come back to the link. Each
link has one writer task so frames leave in the order the engine produced them.

What a link takes in is bounded before the engine sees it (see
:mod:`podsync.net.intake`): each frame is decoded and weighed (on a worker
thread when it is big), and a peer past its budget of bytes or column entries is
not read from until the budget refills.

What a link sends is watched too: the bytes waiting in its queue are reported to
the engine (``SyncEngine.send_backlog``) when they cross the engine's pause mark
either way and when they pass the limit, and when frames the engine asked about
(``AwaitDrain``) have been written. Past the limit the engine closes the link;
a writer stuck on a peer that stopped reading is then aborted, so one peer that
never reads cannot make the node hoard memory.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Literal

import aiohttp
from aiohttp import web

from podsync.net.intake import IntakeBudget, measure_frame
from podsync.sync import AwaitDrain, Close, Effect, Send
from podsync.sync.intake import Measured
from podsync.sync.limits import SEND_BACKLOG_LIMIT_BYTES, SEND_BACKLOG_PAUSE_BYTES

log = logging.getLogger(__name__)

#: Ping interval; aiohttp closes the link when a pong does not come back within
#: half of it. automerge-repo's server pings every 5 s, so JS peers expect this.
HEARTBEAT_SECONDS = 5.0

#: A link being closed while a frame is still being written gets this long to
#: finish it (and its close handshake) before the connection is cut.
STUCK_WRITE_SECONDS = 2.0

WebSocket = web.WebSocketResponse | aiohttp.ClientWebSocketResponse
Role = Literal["dialer", "acceptor"]
Endpoint = Literal["peer", "local"]
_conn_ids = itertools.count(1)
LOCAL_BUDGET = "(local apps)"
#: Queued after the frames an ``AwaitDrain`` is about; the writer reports on reaching it.
_DRAIN_MARK = object()


def _backlog_level(queued: int) -> int:
    return 2 if queued > SEND_BACKLOG_LIMIT_BYTES else 1 if queued > SEND_BACKLOG_PAUSE_BYTES else 0


@dataclass
class Link:
    """A live WebSocket to one peer."""

    ws: WebSocket
    role: Role
    endpoint: Endpoint
    address: str
    conn: int = field(default_factory=lambda: next(_conn_ids))
    opened_at: float = field(default_factory=time.time)
    #: The device id the peer's TLS certificate proves (peer links only).
    device_id: str | None = None
    close_reason: str | None = None
    bytes_in: int = 0
    bytes_out: int = 0
    queued_bytes: int = 0
    #: Called with this link when its backlog crosses the engine's marks, and
    #: when frames an ``AwaitDrain`` was about have been written.
    on_backlog: Callable[["Link"], None] | None = None
    #: The budget this link's frames are paid from (its peer's; see LinkTable).
    budget: IntakeBudget = field(default_factory=IntakeBudget)
    _level: int = 0
    _writer: asyncio.Task[None] | None = None
    _writing: bool = False
    _queue: asyncio.Queue[Any] = field(default_factory=asyncio.Queue)

    def send(self, data: bytes) -> None:
        if self.close_reason is not None:
            return
        self.bytes_out += len(data)
        self.queued_bytes += len(data)
        self._queue.put_nowait(data)
        self._check_backlog()

    def await_drain(self) -> None:
        if self.close_reason is None:
            self._queue.put_nowait(_DRAIN_MARK)

    def _check_backlog(self) -> None:
        level = _backlog_level(self.queued_bytes)
        if level != self._level:
            self._level = level
            self._report()

    def _report(self) -> None:
        if self.on_backlog is not None and self.close_reason is None:
            self.on_backlog(self)

    def close(self, reason: str) -> None:
        if self.close_reason is not None:
            return
        self.close_reason = reason
        self._queue.put_nowait(None)
        if self.queued_bytes > SEND_BACKLOG_PAUSE_BYTES:
            # The writer waits on a peer that does not read; nothing queued will
            # ever reach it, so cut the connection rather than wait forever.
            self.abort()
        elif self._writing:
            asyncio.get_running_loop().call_later(STUCK_WRITE_SECONDS, self._abort_if_writing)

    def _abort_if_writing(self) -> None:
        if self._writing:
            self.abort()

    def abort(self) -> None:
        # aiohttp has no public way to drop a WebSocket at once (close() first
        # waits to send its close frame); its writer holds the transport.
        transport = getattr(getattr(self.ws, "_writer", None), "transport", None)
        if transport is not None:
            transport.abort()
        if self._writer is not None and self._writer is not asyncio.current_task():
            self._writer.cancel()

    async def write_loop(self) -> None:
        try:
            while True:
                data = await self._queue.get()
                if data is None:
                    break
                if data is _DRAIN_MARK:
                    self._report()
                    continue
                self._writing = True
                try:
                    await self.ws.send_bytes(data)
                except (ConnectionError, RuntimeError, aiohttp.ClientError) as exc:
                    self.close(f"write failed: {exc}")
                    break
                finally:
                    self._writing = False
                self.queued_bytes -= len(data)
                self._check_backlog()
        except asyncio.CancelledError:
            return
        with contextlib.suppress(ConnectionError, RuntimeError, aiohttp.ClientError):
            await self.ws.close()


class LinkTable:
    """Every open link, keyed by the engine's connection id."""

    def __init__(self, receive: Callable[[int, Measured], None],
                 connect: Callable[[Link], None], disconnect: Callable[[int], None],
                 backlog: Callable[[Link], None] | None = None) -> None:
        self._receive = receive
        self._backlog = backlog
        self._connect = connect
        self._disconnect = disconnect
        self.links: dict[int, Link] = {}
        # Budgets per proven device, kept across its reconnects; the member's
        # local apps (no certificate) share one.
        self.budgets: dict[str, IntakeBudget] = {}

    def execute(self, effect: Effect) -> None:
        """Carry out a transport effect from the engine."""
        link = self.links.get(getattr(effect, "conn", -1))
        if link is None:
            return
        if isinstance(effect, Send):
            link.send(effect.data)
        elif isinstance(effect, AwaitDrain):
            link.await_drain()
        elif isinstance(effect, Close):
            log.warning("closing link %s (%s): %s", effect.conn, link.address, effect.reason)
            link.close(effect.reason)

    async def serve(self, link: Link) -> None:
        """Run ``link`` until either side closes it."""
        self.links[link.conn] = link
        link.on_backlog = self._backlog
        link.budget = self.budgets.setdefault(link.device_id or LOCAL_BUDGET, link.budget)
        link._writer = asyncio.get_running_loop().create_task(link.write_loop())
        try:
            self._connect(link)
            await self._read(link)
        except (aiohttp.ClientError, ConnectionError) as exc:
            # The peer vanished mid-read (aiohttp answers pings from inside
            # receive, and that write fails once the transport is closing).
            link.close(f"connection lost: {exc}")
        finally:
            link.close(link.close_reason or "closed by peer")
            self.links.pop(link.conn, None)
            self._disconnect(link.conn)
            await link._writer

    async def _read(self, link: Link) -> None:
        async for msg in link.ws:
            if link.close_reason is not None:
                break
            if msg.type == aiohttp.WSMsgType.BINARY:
                link.bytes_in += len(msg.data)
                await link.budget.spend_bytes(len(msg.data))
                measured = await measure_frame(msg.data)
                await link.budget.spend_entries(measured)
                if link.close_reason is not None:
                    break
                self._receive(link.conn, measured)
            elif msg.type == aiohttp.WSMsgType.TEXT:
                link.close("peer sent a text frame; the protocol uses binary frames only")
            elif msg.type == aiohttp.WSMsgType.ERROR:
                link.close(f"socket error: {link.ws.exception()}")

    def close_all(self, reason: str) -> None:
        for link in list(self.links.values()):
            link.close(reason)
