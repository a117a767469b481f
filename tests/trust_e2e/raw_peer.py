"""A hand-driven automerge-repo peer over a real member link.

It holds a member's certificate, opens its own TLS WebSocket to a node and sends
exactly the frames a test writes (as a modified or curious client could),
keeping every frame the node sends back, raw and decoded. Like a real peer it
answers every ``sync`` frame, so a node willing to send a document's changes
gets the chance to (the first sync message carries only heads).
"""

from __future__ import annotations

import asyncio
import contextlib
from typing import Any

import aiohttp
import automerge.core as am
import cbor2

from podsync.trust import tls
from podsync.trust.identity import DeviceIdentity
from tests.trust_e2e.conftest import eventually


def empty_sync_message() -> bytes:
    """What automerge-repo sends in a ``request`` for a document it lacks."""
    message = am.Document().generate_sync_message(am.SyncState())
    assert message is not None
    return bytes(message.encode())


class RawPeer:
    def __init__(self, identity: DeviceIdentity, server_cert_der: bytes, address: str) -> None:
        self.identity = identity
        self.peer_id = identity.device_id
        self._ctx = tls.client_context(identity, server_cert_der)
        self._url = f"wss://{address}/"
        self.raw: list[bytes] = []
        self.frames: list[dict[str, Any]] = []
        self.closed = False
        #: What this peer has received of each document, by following the sync.
        self.docs: dict[str, tuple[am.Document, am.SyncState]] = {}
        self._session: aiohttp.ClientSession | None = None
        self._ws: aiohttp.ClientWebSocketResponse | None = None
        self._reader: asyncio.Task[None] | None = None

    async def __aenter__(self) -> RawPeer:
        self._session = aiohttp.ClientSession()
        self._ws = await self._session.ws_connect(self._url, ssl=self._ctx, autoping=True)
        self._reader = asyncio.ensure_future(self._read())
        return self

    async def __aexit__(self, *exc: object) -> None:
        if self._ws is not None:
            await self._ws.close()
        if self._reader is not None:
            self._reader.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._reader
        if self._session is not None:
            await self._session.close()

    async def _read(self) -> None:
        assert self._ws is not None
        async for msg in self._ws:
            if msg.type == aiohttp.WSMsgType.BINARY:
                self.raw.append(bytes(msg.data))
                frame = cbor2.loads(msg.data)
                self.frames.append(frame)
                if frame.get("type") in ("sync", "request"):
                    await self._answer(frame)
        self.closed = True

    async def _answer(self, frame: dict[str, Any]) -> None:
        doc_id = str(frame["documentId"])
        doc, state = self.docs.setdefault(doc_id, (am.Document(), am.SyncState()))
        doc.receive_sync_message(state, am.Message.decode(frame["data"]))
        reply = doc.generate_sync_message(state)
        if reply is not None:
            await self.send({"type": "sync", "senderId": self.peer_id,
                             "targetId": frame["senderId"], "documentId": doc_id,
                             "data": bytes(reply.encode())})

    def has_content(self, doc_id: str) -> bool:
        found = self.docs.get(doc_id)
        return found is not None and bool(found[0].get_heads())

    async def send(self, frame: dict[str, Any]) -> None:
        assert self._ws is not None
        await self._ws.send_bytes(cbor2.dumps(frame))

    async def join(self, sender_id: str | None = None) -> None:
        await self.send({"type": "join", "senderId": sender_id or self.peer_id,
                         "supportedProtocolVersions": ["1"], "peerMetadata": {}})

    async def handshake(self) -> str:
        """Join and wait for the node's ``peer`` answer; the node's peer id."""
        await self.join()
        await eventually(lambda: any(f.get("type") == "peer" for f in self.frames))
        return next(str(f["senderId"]) for f in self.frames if f.get("type") == "peer")

    async def request(self, doc_id: str, target: str) -> None:
        await self.send({"type": "request", "senderId": self.peer_id, "targetId": target,
                         "documentId": doc_id, "data": empty_sync_message()})

    def about(self, doc_id: str) -> list[dict[str, Any]]:
        return [f for f in self.frames if f.get("documentId") == doc_id]
