"""One WebSocket link to a peer, and the table of all links.

A link is a thin executor: frames read from the socket go to the engine
(``SyncEngine.receive``) and the engine's ``Send``/``Close`` effects come back to
the link. Each link has one writer task so frames leave in the order the engine
produced them. The bytes waiting in its queue are reported to the engine
(``SyncEngine.send_backlog``) when they cross the engine's pause mark either way:
the engine then holds back new announcements to that peer, or closes it as too
slow, so one peer that stops reading cannot make the node hoard memory.
"""

from __future__ import annotations

import asyncio
import itertools
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Literal

import aiohttp
from aiohttp import web

from podsync.sync import Close, Effect, Send
from podsync.sync.limits import SEND_BACKLOG_PAUSE_BYTES

log = logging.getLogger(__name__)

#: Ping interval; aiohttp closes the link when a pong does not come back within
#: half of it. automerge-repo's server pings every 5 s, so JS peers expect this.
HEARTBEAT_SECONDS = 5.0

WebSocket = web.WebSocketResponse | aiohttp.ClientWebSocketResponse
Role = Literal["dialer", "acceptor"]
Endpoint = Literal["peer", "local"]
_conn_ids = itertools.count(1)


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
    #: Called with this link when its backlog crosses the engine's pause mark.
    on_backlog: Callable[["Link"], None] | None = None
    _paused: bool = False
    _queue: asyncio.Queue[bytes | None] = field(default_factory=asyncio.Queue)

    def send(self, data: bytes) -> None:
        if self.close_reason is not None:
            return
        self.bytes_out += len(data)
        self.queued_bytes += len(data)
        self._queue.put_nowait(data)
        self._check_backlog()

    def _check_backlog(self) -> None:
        paused = self.queued_bytes > SEND_BACKLOG_PAUSE_BYTES
        if paused != self._paused:
            self._paused = paused
            if self.on_backlog is not None:
                self.on_backlog(self)

    def close(self, reason: str) -> None:
        if self.close_reason is None:
            self.close_reason = reason
            self._queue.put_nowait(None)

    async def write_loop(self) -> None:
        while True:
            data = await self._queue.get()
            if data is None:
                break
            try:
                await self.ws.send_bytes(data)
            except (ConnectionError, RuntimeError, aiohttp.ClientError) as exc:
                self.close(f"write failed: {exc}")
                break
            self.queued_bytes -= len(data)
            self._check_backlog()
        await self.ws.close()


class LinkTable:
    """Every open link, keyed by the engine's connection id."""

    def __init__(self, receive: Callable[[int, bytes], None],
                 connect: Callable[[Link], None], disconnect: Callable[[int], None],
                 backlog: Callable[[Link], None] | None = None) -> None:
        self._receive = receive
        self._backlog = backlog
        self._connect = connect
        self._disconnect = disconnect
        self.links: dict[int, Link] = {}

    def execute(self, effect: Effect) -> None:
        """Carry out a transport effect from the engine."""
        if isinstance(effect, Send):
            link = self.links.get(effect.conn)
            if link is not None:
                link.send(effect.data)
        elif isinstance(effect, Close):
            link = self.links.get(effect.conn)
            if link is not None:
                log.warning("closing link %s (%s): %s", effect.conn, link.address, effect.reason)
                link.close(effect.reason)

    async def serve(self, link: Link) -> None:
        """Run ``link`` until either side closes it."""
        self.links[link.conn] = link
        link.on_backlog = self._backlog
        writer = asyncio.get_running_loop().create_task(link.write_loop())
        try:
            self._connect(link)
            async for msg in link.ws:
                if link.close_reason is not None:
                    break
                if msg.type == aiohttp.WSMsgType.BINARY:
                    link.bytes_in += len(msg.data)
                    self._receive(link.conn, msg.data)
                elif msg.type == aiohttp.WSMsgType.TEXT:
                    link.close("peer sent a text frame; the protocol uses binary frames only")
                elif msg.type == aiohttp.WSMsgType.ERROR:
                    link.close(f"socket error: {link.ws.exception()}")
        finally:
            link.close(link.close_reason or "closed by peer")
            self.links.pop(link.conn, None)
            self._disconnect(link.conn)
            await writer

    def close_all(self, reason: str) -> None:
        for link in list(self.links.values()):
            link.close(reason)
