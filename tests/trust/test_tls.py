"""TLS links pinned to the roster, over real loopback sockets."""

from __future__ import annotations

import asyncio
import datetime as dt
import hashlib
import ssl
from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
import automerge.core as am
import pytest
from aiohttp import web

from podsync import ids
from podsync.home import Home
from podsync.trust import invite as inv
from podsync.trust import roster as rs
from podsync.trust import tls
from podsync.trust.identity import DeviceIdentity, create_identity, load_signing_key
from tests.pod.helpers import Pod

T0 = dt.datetime(2026, 11, 23, 9, 0, tzinfo=dt.timezone.utc)
# Only to keep a broken test from hanging; nothing here measures time.
GUARD_SECONDS = 10
MEMBER_GREETING = b"pod data\n"
JOIN_GREETING = b"join only\n"


def _identity(root: Path, name: str) -> DeviceIdentity:
    home = Home(root / name)
    home.ensure_dirs()
    return create_identity(home)


class Node:
    """A pod of two devices (server ``a`` and member ``b``) and a TLS server on ``a``;
    the roster is made of real signed records (tests/pod/helpers.Pod)."""

    def __init__(self, root: Path) -> None:
        self.a = _identity(root, "a")
        self.b = _identity(root, "b")
        self.stranger = _identity(root, "stranger")
        self.pod = Pod(("ada",), devices={"ada": (load_signing_key(Home(root / "a")),
                                                   self.a.cert_der)})
        self.pod_id = self.pod.pod_id
        self.founder = self.pod.id["ada"]
        self.b_member = self.admit(self.b)
        self.accepted: list[tls.PeerCheck] = []
        self.links: list[ssl.SSLObject] = []  # server side of every accepted link
        self.server: asyncio.Server | None = None

    def roster(self) -> rs.Roster:
        roster = self.pod.ledger.roster
        assert roster is not None
        return roster

    def admit(self, device: DeviceIdentity) -> str:
        """Admit ``device`` as a new member; its member id."""
        return str(self.pod.admit_device(device.cert_der, "ada", T0).body["member"])

    def remove(self, target: str) -> None:
        self.pod.remove(target, "ada", T0 + dt.timedelta(hours=1))

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        link = writer.get_extra_info("ssl_object")
        check = tls.classify_peer(link, self.roster())
        self.links.append(link)
        self.accepted.append(check)
        # What the runtime does: pod data only to members, join-only to strangers.
        writer.write(MEMBER_GREETING if check.status == "member" else JOIN_GREETING)
        await writer.drain()
        await reader.read()  # hold the link open until the client closes it
        writer.close()

    async def start(self) -> int:
        ctx = tls.server_context(self.a, lambda: rs.active_device_certs(self.roster()))
        self.server = await asyncio.start_server(self.handle, "127.0.0.1", 0, ssl=ctx)
        return self.server.sockets[0].getsockname()[1]


@pytest.fixture
async def node(tmp_path: Path) -> AsyncIterator[Node]:
    n = Node(tmp_path)
    yield n
    if n.server is not None:
        n.server.close()
        await n.server.wait_closed()


async def _talk(port: int, ctx: ssl.SSLContext) -> tuple[bytes, ssl.SSLObject]:
    """Connect, read what the server says first, return it and the client's TLS object."""
    reader, writer = await asyncio.wait_for(
        asyncio.open_connection("127.0.0.1", port, ssl=ctx), GUARD_SECONDS)
    try:
        data = await asyncio.wait_for(reader.readline(), GUARD_SECONDS)
        return data, writer.get_extra_info("ssl_object")
    finally:
        writer.close()


async def _refused(port: int, ctx: ssl.SSLContext) -> bytes:
    """Bytes a client received from a server that refused it at the handshake.

    In TLS 1.3 the client finishes its side of the handshake before the server
    has checked the client's certificate, so the refusal reaches the client as an
    alert or a closed connection on its first read."""
    try:
        data, _ = await _talk(port, ctx)
    except (ssl.SSLError, ConnectionResetError):
        return b""
    return data


async def test_roster_device_is_accepted_and_identified(node: Node) -> None:
    port = await node.start()
    data, client_side = await _talk(port, tls.client_context(node.b, node.a.cert_der))
    assert data == MEMBER_GREETING
    assert client_side.version() == "TLSv1.3"
    assert node.accepted == [tls.PeerCheck(status="member", device_id=node.b.device_id,
                                           member_id=node.b_member)]
    # The client sees whom it reached, by the certificate presented.
    assert tls.peer_device_id(client_side) == node.a.device_id
    server_check = tls.classify_peer(client_side, node.roster())
    assert (server_check.status, server_check.member_id) == ("member", node.founder)


async def test_client_may_trust_any_roster_device(node: Node) -> None:
    port = await node.start()
    ctx = tls.client_context(node.b, None, lambda: rs.active_device_certs(node.roster()))
    data, _ = await _talk(port, ctx)
    assert data == MEMBER_GREETING


async def test_unknown_certificate_is_refused_in_the_handshake(node: Node) -> None:
    port = await node.start()
    data = await _refused(port, tls.client_context(node.stranger, node.a.cert_der))
    # Refused in the handshake: the server's application never saw the connection,
    # so it sent the stranger nothing, not even the join-only greeting.
    assert data == b""
    assert node.accepted == []


async def test_no_certificate_reaches_join_only(node: Node) -> None:
    port = await node.start()
    data, client_side = await _talk(port, tls.join_client_context())
    assert node.accepted == [tls.PeerCheck(status="unknown", device_id=None)]
    assert data == JOIN_GREETING
    # The newcomer checks the server against the invite's pin.
    assert tls.peer_matches_pin(client_side, hashlib.sha256(node.a.cert_der).digest())
    assert not tls.peer_matches_pin(client_side, hashlib.sha256(node.b.cert_der).digest())


async def test_removal_takes_effect_on_a_running_server(node: Node) -> None:
    port = await node.start()
    ctx = tls.client_context(node.b, node.a.cert_der)
    data, _ = await _talk(port, ctx)
    assert data == MEMBER_GREETING
    # A link still open when the roster changes is re-checked against it.
    reader, writer = await asyncio.open_connection("127.0.0.1", port, ssl=ctx)
    assert await reader.readline() == MEMBER_GREETING
    node.remove(node.b_member)
    check = tls.classify_peer(node.links[-1], node.roster())
    assert (check.status, check.device_id) == ("removed", node.b.device_id)
    writer.close()
    # A new handshake from the removed device fails, though the server context
    # was built while it was a member.
    before = len(node.accepted)
    assert await _refused(port, ctx) == b""
    assert len(node.accepted) == before


async def test_device_admitted_after_start_is_accepted(node: Node) -> None:
    port = await node.start()
    ctx = tls.client_context(node.stranger, node.a.cert_der)
    assert await _refused(port, ctx) == b""
    node.admit(node.stranger)
    data, _ = await _talk(port, ctx)
    assert data == MEMBER_GREETING
    assert node.accepted[-1].device_id == node.stranger.device_id


async def test_client_refuses_a_server_with_the_wrong_certificate(node: Node) -> None:
    port = await node.start()
    # b expects the stranger's certificate at this address; a answers.
    with pytest.raises(ssl.SSLCertVerificationError):
        await _talk(port, tls.client_context(node.b, node.stranger.cert_der))


def test_every_context_is_tls_13_only(node: Node) -> None:
    contexts = [tls.server_context(node.a, lambda: []), tls.join_client_context(),
                tls.client_context(node.b, node.a.cert_der)]
    assert all(c.minimum_version == ssl.TLSVersion.TLSv1_3 for c in contexts)


async def test_server_refuses_tls_12(node: Node) -> None:
    port = await node.start()
    old = tls.client_context(node.b, node.a.cert_der)
    old.minimum_version = ssl.TLSVersion.TLSv1_2
    old.maximum_version = ssl.TLSVersion.TLSv1_2
    # The server aborts the handshake ("unsupported protocol"); asyncio's server
    # drops the socket, which the client sees as a reset.
    with pytest.raises((ssl.SSLError, ConnectionResetError)):
        await _talk(port, old)
    assert node.accepted == []
    # The same client allowed TLS 1.3 gets in: the version was the only obstacle.
    old.maximum_version = ssl.TLSVersion.TLSv1_3
    data, _ = await _talk(port, old)
    assert data == MEMBER_GREETING


async def test_client_refuses_a_tls_12_server(node: Node) -> None:
    legacy = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    legacy.maximum_version = ssl.TLSVersion.TLSv1_2
    legacy.load_cert_chain(node.a.cert_path, node.a.key_path)
    served: list[bool] = []

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        served.append(True)
        writer.close()

    server = await asyncio.start_server(handle, "127.0.0.1", 0, ssl=legacy)
    try:
        port = server.sockets[0].getsockname()[1]
        # The client offers only TLS 1.3, so the legacy server cannot agree a
        # version and aborts; either way no link exists.
        with pytest.raises((ssl.SSLError, ConnectionResetError)):
            await _talk(port, tls.client_context(node.b, node.a.cert_der))
        assert served == []
    finally:
        server.close()
        await server.wait_closed()


async def test_joiner_with_aiohttp_sends_nothing_to_a_server_off_the_pin(node: Node) -> None:
    requests: list[str] = []

    async def join(request: web.Request) -> web.Response:
        requests.append(request.path)
        check = tls.classify_peer(request.transport.get_extra_info("ssl_object"), node.roster())
        return web.Response(text=check.status)

    app = web.Application()
    app.router.add_post("/join", join)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0, ssl_context=tls.server_context(
        node.a, lambda: rs.active_device_certs(node.roster())))
    await site.start()
    port = runner.addresses[0][1]
    url = f"https://127.0.0.1:{port}/join"
    try:
        async with aiohttp.ClientSession() as session:
            right = aiohttp.Fingerprint(hashlib.sha256(node.a.cert_der).digest())
            async with session.post(url, data=b"proof", ssl=right) as response:
                assert await response.text() == "unknown"
            assert requests == ["/join"]
            wrong = aiohttp.Fingerprint(hashlib.sha256(node.stranger.cert_der).digest())
            with pytest.raises(aiohttp.ServerFingerprintMismatch):
                await session.post(url, data=b"proof", ssl=wrong)
            assert requests == ["/join"]  # the second request never reached the server
    finally:
        await runner.cleanup()
