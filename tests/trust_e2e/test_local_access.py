"""Another user of the same computer: the local API and the local apps'
WebSocket want the node's token, and the home is readable by its owner only."""

from __future__ import annotations

import stat
from pathlib import Path

import aiohttp
import pytest

from podsync.errors import UsageError
from podsync.net.server import token_cookie_name
from podsync.node import Node, NodeOptions
from podsync.trust import tls
from tests.trust_e2e.conftest import NodeFactory, invite, join_via, roster_of

#: (method, path) of every local endpoint; ops cover a read and a write.
ENDPOINTS = [
    ("GET", "/api/status"),
    ("GET", "/api/openapi.json"),
    ("GET", "/api/events"),
    ("POST", "/api/ops/members.list"),
    ("POST", "/api/ops/invite.create"),
    ("POST", "/api/ops/members.remove"),
    ("GET", "/"),
    ("GET", "/feedback"),
    ("GET", "/ui/static/app.css"),
    ("GET", "/ui/qr.svg"),
]


def secrets_of(node: Node) -> list[str]:
    roster = roster_of(node)
    found = [info.doc_id for info in node.store.list_documents()]
    found += [m.member_id for m in roster.members] + [m.name for m in roster.members]
    found += [d.device_id for d in roster.devices] + [node.token, roster.pod_name]
    assert all(len(secret) >= 8 for secret in found)
    return found


def bad_credentials(token: str, other_token: str) -> dict[str, tuple[str, dict[str, str]]]:
    """Ways to come without the right token: (query string, headers)."""
    cookie = token_cookie_name(token)
    return {
        "none": ("", {}),
        "empty": ("?token=", {}),
        "wrong query": ("?token=wrong", {}),
        "wrong bearer": ("", {"Authorization": "Bearer wrong"}),
        "another node's token": (f"?token={other_token}", {}),
        "basic auth": ("", {"Authorization": "Basic " + other_token}),
        "wrong cookie": ("", {"Cookie": f"{cookie}=wrong"}),
        "another node's cookie": ("", {"Cookie": f"{token_cookie_name(other_token)}={other_token}"}),
        # A web page elsewhere that somehow had the browser send the UI's cookie.
        "cookie from another origin": ("", {"Cookie": f"{cookie}={token}",
                                            "Origin": "http://evil.example"}),
    }


async def test_every_local_endpoint_refuses_a_missing_or_wrong_token(
        nodes: NodeFactory, tmp_path: Path) -> None:
    # Long names: a short one could turn up by chance inside a random id.
    a = await nodes.start("adelaide")
    other = await nodes.start("zenobia", own_pod=True)
    invites_before = len(roster_of(a).invites)
    body = b'{"target": "%s"}' % a.config.member_id.encode()
    async with aiohttp.ClientSession() as session:
        for what, (query, headers) in bad_credentials(a.token, other.token).items():
            for method, path in ENDPOINTS:
                url = f"http://{a.api_address}{path}{query}"
                async with session.request(method, url, headers=headers, data=body) as resp:
                    text = await resp.read()
                    assert resp.status == 401, (what, path, resp.status)
                    for secret in secrets_of(a):
                        assert secret.encode() not in text, (what, path, secret)
            with pytest.raises(aiohttp.WSServerHandshakeError) as caught:
                await session.ws_connect(f"ws://{a.api_address}/automerge{query}", headers=headers)
            assert caught.value.status == 401, what

        # Nothing was done on the refused requests' behalf.
        assert len(roster_of(a).invites) == invites_before
        assert all(m.status == "active" for m in roster_of(a).members)

        # The right token opens them (so the refusals above are the token's doing);
        # the event stream is left out here because it stays open.
        auth = {"Authorization": f"Bearer {a.token}"}
        for method, path in [e for e in ENDPOINTS[:4] if e[1] != "/api/events"]:
            async with session.request(method, f"http://{a.api_address}{path}", headers=auth,
                                       data=b"{}" if method == "POST" else None) as resp:
                assert resp.status == 200, path
        cookie = {"Cookie": f"{token_cookie_name(a.token)}={a.token}"}
        for path in ("/", "/feedback", "/ui/static/app.css"):
            async with session.get(f"http://{a.api_address}{path}", headers=cookie) as resp:
                assert resp.status == 200, path
        ws = await session.ws_connect(f"ws://{a.api_address}/automerge?token={a.token}")
        await ws.close()


async def test_the_api_is_not_served_on_the_peer_port_nor_off_loopback(
        nodes: NodeFactory, tmp_path: Path) -> None:
    a = await nodes.start("ada")
    async with aiohttp.ClientSession() as session:
        for path in ("/api/status", "/api/openapi.json", "/automerge"):
            url = f"https://{a.listen_addresses[0]}{path}?token={a.token}"
            async with session.get(url, ssl=tls.join_client_context()) as resp:
                assert resp.status == 404, path
    node = Node(a.home, NodeOptions(listen="127.0.0.1:0", api="0.0.0.0:0", discovery=False))
    with pytest.raises(UsageError, match="loopback"):
        await node.start()


def loose_modes(root: Path) -> list[str]:
    """Files and directories under ``root`` that anyone but the owner may use."""
    loose = []
    for path in [root, *root.rglob("*")]:
        mode = stat.S_IMODE(path.stat().st_mode)
        if mode & 0o077:
            loose.append(f"{path.relative_to(root)}: {oct(mode)}")
    return loose


async def test_homes_are_owner_only_while_the_node_runs(nodes: NodeFactory, tmp_path: Path) -> None:
    a = await nodes.start("ada")
    await join_via(tmp_path, "bo", await invite(a))
    b = await nodes.start("bo")
    for node in (a, b):
        names = {p.name for p in node.home.root.rglob("*")}
        assert {"device.key", "pod.secret", "token", "node.json", "podsync.db", "relay.db"} <= names
        assert loose_modes(node.home.root) == [], node.home.root
