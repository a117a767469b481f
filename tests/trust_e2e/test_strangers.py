"""A stranger on the network gets nothing: no link, no document bytes, no ids.

The stranger dials a real node through a byte-recording proxy and logs its own
TLS secrets, so the test can decrypt everything the node sent it, exactly as the
stranger could.
"""

from __future__ import annotations

import secrets
from pathlib import Path
from typing import Any

import aiohttp
import automerge.core as am
import msgspec
import pytest

from podsync import ids
from podsync.home import Home
from podsync.node import Node
from podsync.repo.values import put_value
from podsync.trust import tls
from podsync.trust.identity import DeviceIdentity, create_identity, load_identity
from podsync.trust.join import JOIN_PATH, JoinRequest
from tests.trust_e2e.conftest import LinkSpy, NodeFactory, eventually, invite, join_via, roster_of
from tests.trust_e2e.tls_wire import (
    ALERT,
    APPLICATION_DATA,
    HANDSHAKE,
    Recording,
    application_data,
    decrypt,
    recording_proxy,
)

MARKER = "the-pod-s-private-shopping-list"


def fresh_identity(root: Path, name: str) -> DeviceIdentity:
    """A device nobody in the pod has heard of, with its own self-signed certificate."""
    home = Home(root / name)
    home.ensure_dirs()
    return create_identity(home)


def keylogged(ctx: Any, path: Path) -> Any:
    ctx.keylog_filename = str(path)
    return ctx


async def pod_with_content(nodes: NodeFactory) -> tuple[Node, Node, str]:
    # Long names: a short one could turn up by chance inside a random id.
    a = await nodes.start("adelaide")
    b = await nodes.start("bonaventure", peers=[a.listen_addresses[0]])
    doc = await a.repo.create("test", lambda tx: put_value(tx, am.ROOT, "items", {"x": MARKER}))
    await a.ledger.share(doc, "pod", a.context.now())
    await eventually(lambda: b.repo.has(doc))
    return a, b, doc


def pod_secrets(node: Node) -> list[str]:
    """Everything an outsider must not learn: every document id, member id, name."""
    roster = roster_of(node)
    found = [info.doc_id for info in node.store.list_documents()]
    found += [m.member_id for m in roster.members] + [m.name for m in roster.members]
    found += [node.config.pod_id, roster.pod_name, MARKER]
    assert node.config.pod_id in found and len(found) > 6
    assert all(len(secret) >= 8 for secret in found)
    return found


def assert_reveals_none(data: bytes, secrets_: list[str]) -> None:
    for secret in secrets_:
        assert secret.encode() not in data, f"{secret!r} was disclosed"


async def finished(proxy: Any) -> list[Recording]:
    """Every connection the client made (aiohttp retries a GET the server hung up on)."""
    await eventually(lambda: proxy.connections and all(c.finished for c in proxy.connections))
    return list(proxy.connections)


async def test_a_stranger_with_its_own_certificate_gets_no_link_and_no_data(
        nodes: NodeFactory, tmp_path: Path) -> None:
    a, _b, _doc = await pod_with_content(nodes)
    stranger = fresh_identity(tmp_path, "stranger")
    spy = LinkSpy(a)
    keylog = tmp_path / "stranger-keys.log"
    # The stranger trusts the node (it got the certificate from any handshake)
    # and presents its own: the node must refuse it inside the handshake.
    ctx = keylogged(tls.client_context(stranger, a.identity.cert_der), keylog)
    async with recording_proxy(a.listen_addresses[0]) as proxy:
        async with aiohttp.ClientSession() as session:
            with pytest.raises((aiohttp.ClientError, OSError)) as caught:
                await session.ws_connect(f"wss://{proxy.address}/", ssl=ctx)
            assert not isinstance(caught.value, aiohttp.WSServerHandshakeError), \
                "the node answered HTTP to a certificate it does not trust"
        wires = await finished(proxy)

    for wire in wires:
        # The stranger finished its side of the handshake and asked for the link...
        assert application_data(decrypt(wire, keylog, "CLIENT")).startswith(b"GET / HTTP/1.1")
        # ...and the node sent nothing after its half of the handshake but, at
        # most, an alert: no byte of application data to decrypt.
        sent = decrypt(wire, keylog)
        kinds = {kind for kind, _ in sent}
        assert kinds <= {HANDSHAKE, ALERT}, kinds
        assert application_data(sent) == b""
        assert_reveals_none(bytes(wire.to_client), pod_secrets(a))
    assert spy.links == [] and spy.engine_connects == []
    assert stranger.device_id not in {p.peer_id for p in a.repo.engine.peers()}


async def test_the_recorder_does_see_data_a_member_is_sent(nodes: NodeFactory, tmp_path: Path) -> None:
    """The same proxy and decryption, with a member's certificate: the node does
    answer, so the stranger tests above could have seen data had any been sent."""
    a, _b, _doc = await pod_with_content(nodes)
    eve_home = await join_via(tmp_path, "evangeline", await invite(a))
    eve = load_identity(eve_home)
    keylog = tmp_path / "eve-keys.log"
    ctx = keylogged(tls.client_context(eve, a.identity.cert_der), keylog)
    async with recording_proxy(a.listen_addresses[0]) as proxy:
        async with aiohttp.ClientSession() as session:
            ws = await session.ws_connect(f"wss://{proxy.address}/", ssl=ctx)
            await ws.close()
        [wire] = await finished(proxy)
    sent = decrypt(wire, keylog)
    assert application_data(sent).startswith(b"HTTP/1.1 101")
    assert APPLICATION_DATA in {kind for kind, _ in sent}


async def test_a_stranger_without_a_certificate_is_refused_at_the_upgrade_with_an_empty_403(
        nodes: NodeFactory, tmp_path: Path) -> None:
    a, _b, _doc = await pod_with_content(nodes)
    spy = LinkSpy(a)
    keylog = tmp_path / "anon-keys.log"
    ctx = keylogged(tls.join_client_context(), keylog)
    async with recording_proxy(a.listen_addresses[0]) as proxy:
        async with aiohttp.ClientSession() as session:
            with pytest.raises(aiohttp.WSServerHandshakeError) as caught:
                await session.ws_connect(f"wss://{proxy.address}/", ssl=ctx)
        assert caught.value.status == 403
        [wire] = await finished(proxy)

    # The handshake completed (join-only mode), so this is all it could read.
    plain = application_data(decrypt(wire, keylog))
    head, _, body = plain.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 403")
    assert b"content-length: 0" in head.lower() and body == b""
    assert_reveals_none(plain, pod_secrets(a))
    assert spy.links == [] and spy.engine_connects == []


async def test_the_join_endpoint_tells_a_stranger_nothing_about_the_pod(
        nodes: NodeFactory, tmp_path: Path) -> None:
    a, _b, _doc = await pod_with_content(nodes)
    stranger = fresh_identity(tmp_path, "stranger")
    url = f"https://{a.listen_addresses[0]}"

    def request(pod_id: str) -> bytes:
        return msgspec.json.encode(JoinRequest(
            pod_id=pod_id, invite_id=secrets.token_hex(16), member_id=ids.new_document_id(),
            name="Mallory", cert=stranger.cert_der, proof=secrets.token_bytes(32)))

    guesses = {
        "garbage": (b"{}", pod_secrets(a)),
        "another pod": (request(ids.new_document_id()), pod_secrets(a)),
        # Even someone who already knows the pod id learns nothing more from a guess.
        "an invented invite": (request(a.config.pod_id),
                               [s for s in pod_secrets(a) if s != a.config.pod_id]),
    }
    async with aiohttp.ClientSession() as session:
        async with session.get(f"{url}/", ssl=tls.join_client_context()) as resp:
            assert resp.status == 403 and await resp.read() == b""
        for what, (body, hidden) in guesses.items():
            async with session.post(f"{url}{JOIN_PATH}", data=body, ssl=tls.join_client_context(),
                                    headers={"Content-Type": "application/json"}) as resp:
                answer = await resp.read()
                assert resp.status >= 400, what
                assert_reveals_none(answer, hidden)
    assert [m.name for m in roster_of(a).members if m.name == "Mallory"] == []
