"""Removal: the removed device's links drop as the roster syncs, it is refused
on reconnect, and no member needs to be the founder to invite or remove."""

from __future__ import annotations

import json
from pathlib import Path

import aiohttp
import automerge.core as am
import pytest

from podsync.api import ops
from podsync.home import Home
from podsync.node import Node
from podsync.repo.values import put_value
from podsync.trust import roster as roster_mod
from podsync.trust.identity import load_identity
from tests.trust_e2e.conftest import (
    LinkSpy,
    NodeFactory,
    active_names,
    eventually,
    forget_peers,
    invite,
    join_via,
    podsync_cli,
    roster_of,
)
from tests.trust_e2e.raw_peer import RawPeer


def links_to(node: Node, device_id: str) -> list[object]:
    return [link for link in node._links.links.values() if link.device_id == device_id]


def linked(node: Node, other: Node) -> bool:
    return any(p.peer_id == other.identity.device_id for p in node.repo.engine.peers())


async def three_linked(nodes: NodeFactory, tmp_path: Path) -> tuple[Node, Node, Node]:
    """A founds the pod; B and C join through A; C links to both A and B."""
    a = await nodes.start("ada")
    await join_via(tmp_path, "bo", await invite(a))
    b = await nodes.start("bo", peers=[a.listen_addresses[0]])
    await join_via(tmp_path, "cy", await invite(a))
    c = await nodes.start("cy", peers=[a.listen_addresses[0], b.listen_addresses[0]])
    await eventually(lambda: linked(c, a) and linked(c, b) and linked(a, b))
    return a, b, c


async def assert_refused_everywhere(removed: Node, members: list[Node]) -> None:
    """Fresh attempts with the removed device's certificate fail in the TLS
    handshake, and no member's node opens a link for it."""
    spies = [LinkSpy(node) for node in members]
    for node in members:
        with pytest.raises((aiohttp.ClientError, OSError)) as caught:
            async with RawPeer(removed.identity, node.identity.cert_der, node.listen_addresses[0]):
                pass
        assert not isinstance(caught.value, aiohttp.WSServerHandshakeError)
    for spy in spies:
        assert [link for link in spy.links if link.device_id == removed.identity.device_id] == []
    assert removed.repo.engine.peers() == []


async def test_a_removed_device_is_dropped_by_every_member_and_refused_on_reconnect(
        nodes: NodeFactory, tmp_path: Path) -> None:
    a, b, c = await three_linked(nodes, tmp_path)
    c_device = c.identity.device_id
    assert links_to(a, c_device) and links_to(b, c_device)

    await ops.run(a.context, "members.remove", {"target": c_device})
    # A drops its link at once (its close handshake may take a moment); B when
    # the roster change reaches it over A's link.
    assert all(link.close_reason for link in links_to(a, c_device))  # type: ignore[attr-defined]
    await eventually(lambda: links_to(a, c_device) == [])
    await eventually(lambda: not roster_mod.is_active_device(roster_of(b), c_device))
    await eventually(lambda: links_to(b, c_device) == [])
    await eventually(lambda: not linked(c, a) and not linked(c, b))

    await assert_refused_everywhere(c, [a, b])
    # C's own node keeps trying; what it reports is a refusal, never a link.
    await eventually(lambda: all(p.get("last_error") for p in c.status()["peers"]
                                 if not p["connected"]) and c.status()["peers"] != [])
    assert not any(p["connected"] for p in c.status()["peers"])

    # What the pod writes from now on never reaches C.
    after = await a.repo.create("test", lambda tx: put_value(tx, am.ROOT, "note", "after"))
    await a.ledger.share(after, "pod", a.context.now())
    await eventually(lambda: b.repo.has(after))
    assert not c.repo.has(after)
    assert not links_to(a, c_device) and not links_to(b, c_device)


@pytest.mark.slow
async def test_any_member_invites_and_removes_through_the_cli(nodes: NodeFactory, tmp_path: Path) -> None:
    """No admin: B (not the founder) invites D and removes C, with the real CLI
    talking to B's running node."""
    a, b, c = await three_linked(nodes, tmp_path)
    made = await podsync_cli(b.home, "invite", "--json")
    assert made.returncode == 0, made.stderr
    code = json.loads(made.stdout)["code"]
    await join_via(tmp_path, "dee", code)  # through B, the code's only address
    d = await nodes.start("dee")
    await eventually(lambda: linked(d, b) and "Dee" in active_names(a))
    [dee] = [m for m in roster_of(a).members if m.name == "Dee"]
    assert dee.added_by == b.config.member_id

    removed = await podsync_cli(b.home, "remove", c.config.member_id)
    assert removed.returncode == 0, removed.stderr
    assert "cannot be recalled" in removed.stderr + removed.stdout
    await eventually(lambda: "Cy" not in active_names(a) and "Cy" not in active_names(d))
    [cy] = [m for m in roster_of(a).members if m.name == "Cy"]
    assert cy.status == "removed" and cy.removed_by == b.config.member_id
    await eventually(lambda: not links_to(a, c.identity.device_id)
                     and not links_to(b, c.identity.device_id))
    await assert_refused_everywhere(c, [a, b, d])

    listed = await podsync_cli(b.home, "members", "--json")
    assert listed.returncode == 0, listed.stderr
    statuses = {m["name"]: m["status"] for m in json.loads(listed.stdout)}
    assert statuses == {"Ada": "active", "Bo": "active", "Cy": "removed", "Dee": "active"}


async def test_what_a_member_removed_while_away_admits_afterwards_counts_nowhere(
        nodes: NodeFactory, tmp_path: Path) -> None:
    """Cy's laptop is away when Ada removes Cy. Not knowing, Cy invites Mallory,
    and Dee's node (which has not heard of the removal either) takes Mallory's
    admission to the rest of the pod. Once the removal and the admission meet,
    every node refuses Mallory."""
    a = await nodes.start("ada")
    await join_via(tmp_path, "cy", await invite(a))
    await join_via(tmp_path, "dee", await invite(a))
    cy_first = await nodes.start("cy", peers=[a.listen_addresses[0]])
    await eventually(lambda: "Dee" in active_names(cy_first))  # Cy knows Dee
    await cy_first.stop()
    for name in ("cy", "dee"):
        forget_peers(Home(tmp_path / name))

    cy_member = next(m.member_id for m in roster_of(a).members if m.name == "Cy")
    await ops.run(a.context, "members.remove", {"target": cy_member})

    cy = await nodes.start("cy")  # away: does not know it was removed
    await join_via(tmp_path, "mallory", await invite(cy))
    assert "Mallory" in active_names(cy)
    dee = await nodes.start("dee", peers=[cy.listen_addresses[0]])
    await eventually(lambda: "Mallory" in active_names(dee))  # Dee does not know either
    await cy.stop()
    await dee.stop()

    dee = await nodes.start("dee", peers=[a.listen_addresses[0]])
    await eventually(lambda: len({tuple(sorted(n.repo.get(n.config.pod_id).get_heads()))
                                  for n in (a, dee)}) == 1)
    for node in (a, dee):
        assert active_names(node) == {"Ada", "Dee"}
        assert all(state.withdrawn for state in roster_of(node).invites
                   if state.record.created_by == cy_member)
    mallory = load_identity(Home(tmp_path / "mallory"))
    assert roster_mod.device(roster_of(a), mallory.device_id) is None
    for node in (a, dee):
        with pytest.raises((aiohttp.ClientError, OSError)) as caught:
            async with RawPeer(mallory, node.identity.cert_der, node.listen_addresses[0]):
                pass
        assert not isinstance(caught.value, aiohttp.WSServerHandshakeError)
