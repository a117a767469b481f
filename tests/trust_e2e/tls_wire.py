"""What really crossed the wire: a byte-recording TCP proxy and a TLS 1.3 reader.

The proxy sits between a client and a node and keeps every byte each way. The
reader decrypts the server's side of a recorded TLS 1.3 connection with the
secrets the *client* logged (``SSLContext.keylog_filename``): an attacker can
always decrypt what was sent to itself, so whatever the reader finds is exactly
what the node disclosed to that client, record by record, including whether any
application data was sent at all (TLS 1.3 hides the real content type inside the
encryption, so counting outer record types cannot tell).
"""

from __future__ import annotations

import asyncio
import contextlib
import struct
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM, ChaCha20Poly1305
from cryptography.hazmat.primitives.kdf.hkdf import HKDFExpand

# TLS record content types (RFC 8446 §5.1).
CHANGE_CIPHER_SPEC = 20
ALERT = 21
HANDSHAKE = 22
APPLICATION_DATA = 23

_SUITES = {  # cipher suite -> (hash, key length, AEAD)
    0x1301: (hashes.SHA256(), 16, AESGCM),
    0x1302: (hashes.SHA384(), 32, AESGCM),
    0x1303: (hashes.SHA256(), 32, ChaCha20Poly1305),
}


@dataclass
class Recording:
    """Bytes of one proxied connection, each direction in order."""

    to_server: bytearray = field(default_factory=bytearray)
    to_client: bytearray = field(default_factory=bytearray)
    finished: bool = False  # both directions closed: nothing more will be recorded


class RecordingProxy:
    """Forwards every connection to ``target`` and records its bytes."""

    def __init__(self, target: str) -> None:
        host, _, port = target.rpartition(":")
        self._target = (host, int(port))
        self.connections: list[Recording] = []
        self.address = ""
        self._server: asyncio.Server | None = None
        self._tasks: set[asyncio.Task[None]] = set()

    async def start(self) -> None:
        self._server = await asyncio.start_server(self._handle, "127.0.0.1", 0)
        self.address = "127.0.0.1:%d" % self._server.sockets[0].getsockname()[1]

    async def stop(self) -> None:
        if self._server is not None:
            self._server.close()
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        record = Recording()
        self.connections.append(record)
        up_reader, up_writer = await asyncio.open_connection(*self._target)

        async def pump(src: asyncio.StreamReader, dst: asyncio.StreamWriter, into: bytearray) -> None:
            try:
                while data := await src.read(65536):
                    into += data
                    dst.write(data)
                    await dst.drain()
            except (ConnectionError, OSError):
                pass
            finally:
                with contextlib.suppress(Exception):
                    dst.close()

        tasks = [asyncio.ensure_future(pump(reader, up_writer, record.to_server)),
                 asyncio.ensure_future(pump(up_reader, writer, record.to_client))]
        self._tasks.update(tasks)
        await asyncio.gather(*tasks, return_exceptions=True)
        self._tasks.difference_update(tasks)
        record.finished = True


@contextlib.asynccontextmanager
async def recording_proxy(target: str) -> AsyncIterator[RecordingProxy]:
    proxy = RecordingProxy(target)
    await proxy.start()
    try:
        yield proxy
    finally:
        await proxy.stop()


def records(stream: bytes) -> list[tuple[int, bytes, bytes]]:
    """The TLS records in ``stream``: (outer type, 5-byte header, payload)."""
    out = []
    at = 0
    while at + 5 <= len(stream):
        kind, _version, length = struct.unpack("!BHH", stream[at:at + 5])
        if at + 5 + length > len(stream):
            break  # cut off by the connection closing
        out.append((kind, stream[at:at + 5], stream[at + 5:at + 5 + length]))
        at += 5 + length
    return out


def _keylog(path: Path, client_random: bytes) -> dict[str, bytes]:
    """The secrets one connection logged (a keylog file holds every connection's)."""
    secrets: dict[str, bytes] = {}
    for line in path.read_text().splitlines():
        parts = line.split()
        if len(parts) == 3 and bytes.fromhex(parts[1]) == client_random:
            secrets[parts[0]] = bytes.fromhex(parts[2])
    return secrets


def _client_random(client_stream: bytes) -> bytes:
    for kind, _, payload in records(client_stream):
        if kind == HANDSHAKE and payload[:1] == b"\x01":  # ClientHello
            return payload[4 + 2:4 + 2 + 32]
    raise AssertionError("no ClientHello in the recorded client bytes")


def _expand_label(hash_alg: hashes.HashAlgorithm, secret: bytes, label: bytes, length: int) -> bytes:
    full = b"tls13 " + label
    info = struct.pack("!H", length) + bytes([len(full)]) + full + b"\x00"
    return HKDFExpand(hash_alg, length, info).derive(secret)


def _cipher_suite(server_stream: bytes) -> int:
    for kind, _, payload in records(server_stream):
        if kind == HANDSHAKE and payload[:1] == b"\x02":  # ServerHello
            session_id_len = payload[4 + 2 + 32]
            at = 4 + 2 + 32 + 1 + session_id_len
            return struct.unpack("!H", payload[at:at + 2])[0]
    raise AssertionError("no ServerHello in the recorded server bytes")


class _Keys:
    def __init__(self, suite: int, secret: bytes) -> None:
        hash_alg, key_len, aead = _SUITES[suite]
        self.aead = aead(_expand_label(hash_alg, secret, b"key", key_len))
        self.iv = _expand_label(hash_alg, secret, b"iv", 12)
        self.seq = 0

    def open(self, header: bytes, payload: bytes) -> bytes:
        nonce = bytes(a ^ b for a, b in zip(self.iv, self.seq.to_bytes(12, "big")))
        plain = self.aead.decrypt(nonce, payload, header)
        self.seq += 1
        return plain


def decrypt(recording: Recording, keylog: Path, side: str = "SERVER") -> list[tuple[int, bytes]]:
    """Every record ``side`` ("SERVER" or "CLIENT") sent, decrypted: (inner
    content type, content).

    Plaintext records (hellos, a bare alert) are returned as they are; the
    compatibility ChangeCipherSpec is skipped. Raises if a record decrypts under
    neither the handshake nor the application keys, so nothing goes unread.
    """
    suite = _cipher_suite(bytes(recording.to_client))
    secrets = _keylog(keylog, _client_random(bytes(recording.to_server)))
    stages = [_Keys(suite, secrets[f"{side}_{name}"]) for name in
              ("HANDSHAKE_TRAFFIC_SECRET", "TRAFFIC_SECRET_0") if f"{side}_{name}" in secrets]
    stream = bytes(recording.to_client if side == "SERVER" else recording.to_server)
    out: list[tuple[int, bytes]] = []
    for kind, header, payload in records(stream):
        if kind == CHANGE_CIPHER_SPEC:
            continue
        if kind != APPLICATION_DATA:
            out.append((kind, payload))
            continue
        while True:
            if not stages:
                raise AssertionError("a server record decrypts under no key the client logged")
            try:
                plain = stages[0].open(header, payload)
                break
            except Exception:  # noqa: BLE001 - wrong key stage: move on to the next one
                stages.pop(0)
        inner = plain.rstrip(b"\x00")
        out.append((inner[-1], inner[:-1]))
    return out


def application_data(decrypted: list[tuple[int, bytes]]) -> bytes:
    return b"".join(content for kind, content in decrypted if kind == APPLICATION_DATA)
