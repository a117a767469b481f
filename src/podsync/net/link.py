"""One WebSocket link to a peer, and the table of all links.

A link is a thin executor: frames read from the socket go to the engine
(``SyncEngine.receive``) and the engine's ``Send``/``Close`` effects come back to
the link. Each link has one writer task so frames leave in the order the engine
produced them, and a bounded queue so one slow peer cannot make the node hoard
memory.
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

log = logging.getLogger(__name__)

#: Frames waiting to be written to one peer before we give up on it. A healthy
#: peer on a LAN drains thousands of frames a second; the engine keeps at most a
#: few hundred documents in flight per peer, each with one outstanding message,
#: so a queue this long means the peer has stopped reading.
MAX_QUEUED_FRAMES = 4096
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
    _queue: asyncio.Queue[bytes | None] = field(default_factory=asyncio.Queue)

    def send(self, data: bytes) -> None:
        if self.close_reason is not None:
            return
        if self._queue.qsize() >= MAX_QUEUED_FRAMES:
            self.close(f"peer is not reading ({MAX_QUEUED_FRAMES} frames queued)")
            return
        self.bytes_out += len(data)
        self._queue.put_nowait(data)

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
        await self.ws.close()


class LinkTable:
    """Every open link, keyed by the engine's connection id."""

    def __init__(self, receive: Callable[[int, bytes], None],
                 connect: Callable[[Link], None], disconnect: Callable[[int], None]) -> None:
        self._receive = receive
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
