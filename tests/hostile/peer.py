"""Hostile peers built from podsync's own modules, holding a member's real
certificate, speaking the real protocol to real running nodes.

* :class:`HostilePeer`: a :class:`RawPeer` that also offers podsync's extension
  (so it may send whole documents) and sends any bytes it likes.
* :class:`SilentPeer`: opens a member link over pinned TLS, upgrades it to a
  WebSocket by hand, then sends frames and never reads one byte, as a peer that
  has stopped reading would.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import os
import struct
from typing import Any

import aiohttp
import cbor2

from podsync.trust import tls
from podsync.trust.identity import DeviceIdentity
from tests.trust_e2e.conftest import eventually
from tests.trust_e2e.raw_peer import RawPeer, empty_sync_message

EXTENSION = {"podsync": {"v": 1, "ext": ["summary", "doc"]}}

__all__ = ["EXTENSION", "HostilePeer", "SilentPeer", "empty_sync_message"]


class HostilePeer(RawPeer):
    async def join_with_extension(self) -> str:
        """Join offering the summary and whole-document extensions; the node's id."""
        await self.send({"type": "join", "senderId": self.peer_id, "supportedProtocolVersions": ["1"],
                         "peerMetadata": EXTENSION})
        await eventually(lambda: any(f.get("type") == "peer" for f in self.frames))
        return next(str(f["senderId"]) for f in self.frames if f.get("type") == "peer")

    async def send_raw(self, data: bytes) -> None:
        assert self._ws is not None
        await self._ws.send_bytes(data)

    async def _answer(self, frame: dict[str, Any]) -> None:
        # The node may cut this link at any moment (that is what it does to a
        # hostile peer); an answer that finds it cut is simply not sent.
        with contextlib.suppress(aiohttp.ClientError, ConnectionError):
            await super()._answer(frame)


def _ws_frame(payload: bytes, opcode: int = 0x2) -> bytes:
    """One masked client frame (RFC 6455 section 5.2)."""
    head = bytes([0x80 | opcode])
    n = len(payload)
    if n < 126:
        head += bytes([0x80 | n])
    elif n < 1 << 16:
        head += bytes([0x80 | 126]) + struct.pack("!H", n)
    else:
        head += bytes([0x80 | 127]) + struct.pack("!Q", n)
    mask = os.urandom(4)
    return head + mask + bytes(b ^ mask[i % 4] for i, b in enumerate(payload))


class SilentPeer:
    """A member's link that sends and never reads."""

    def __init__(self, identity: DeviceIdentity, server_cert_der: bytes, address: str) -> None:
        self.peer_id = identity.device_id
        self._ctx = tls.client_context(identity, server_cert_der)
        self._host, _, port = address.rpartition(":")
        self._port = int(port)
        self._writer: asyncio.StreamWriter | None = None

    async def open(self) -> None:
        reader, writer = await asyncio.open_connection(self._host, self._port, ssl=self._ctx)
        key = base64.b64encode(os.urandom(16)).decode()
        writer.write((f"GET / HTTP/1.1\r\nHost: {self._host}:{self._port}\r\nUpgrade: websocket\r\n"
                      f"Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\n"
                      "Sec-WebSocket-Version: 13\r\n\r\n").encode())
        await writer.drain()
        status = await reader.readline()
        assert b" 101 " in status, status
        while (await reader.readline()) not in (b"\r\n", b""):
            pass  # the rest of the upgrade answer; from here on nothing is read
        self._writer = writer

    async def send(self, frame: dict[str, Any]) -> None:
        assert self._writer is not None
        self._writer.write(_ws_frame(cbor2.dumps(frame)))
        await self._writer.drain()

    def close(self) -> None:
        if self._writer is not None:
            self._writer.transport.abort()
