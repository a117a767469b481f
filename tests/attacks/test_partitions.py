"""Concurrent membership records across partitioned real nodes.

Four members' nodes split in two: Ada's and Cy's on one side, Bo's and Dee's on
the other, each side unable to reach the other. Records made on both sides
meet when Cy's node reaches Dee's. Every node still in the pod ends with the
same roster, the one protocol/records.md §3 prescribes: two members removing
each other while apart are both removed (no seniority decides), and an
admission made by a member removed meanwhile does not count. A removed
member's node is refused by every node that has heard, so it keeps its own
last view; that is the point of removing it.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from podsync.api import ops
from podsync.node import Node
from tests.attacks.conftest import (
    NodeFactory, active_names, eventually, forget_peers, invite, join_via, refused_everywhere,
    roster_view, same_pod_document,
)
from tests.attacks.hostile import Insider


@dataclass
class Split:
    ada: Node
    bo: Node
    cy: Node
    dee: Node

    async def heal(self) -> None:
        """Cy's node reaches Dee's: the two sides' records meet."""
        self.cy.dial(self.dee.listen_addresses[0])


def linked(node: Node, other: Node) -> bool:
    return any(p.peer_id == other.identity.device_id for p in node.repo.engine.peers())


async def split_pod(nodes: NodeFactory, tmp_path: Path) -> Split:
    a = await nodes.start("ada")
    homes = {name: await join_via(tmp_path, name, await invite(a)) for name in ("bo", "cy", "dee")}
    first = [await nodes.start(name, peers=[a.listen_addresses[0]]) for name in ("bo", "cy", "dee")]
    await eventually(lambda: same_pod_document(a, *first)
                     and all(active_names(n) == {"Ada", "Bo", "Cy", "Dee"} for n in first))
    for node in first[0], first[2]:
        await node.stop()
    for name in ("bo", "dee"):
        forget_peers(homes[name])
    cy = first[1]
    # New ports: nobody on Ada's side can reach Bo's or Dee's node any more.
    bo = await nodes.start("bo")
    dee = await nodes.start("dee", peers=[bo.listen_addresses[0]])
    await eventually(lambda: linked(dee, bo) and linked(cy, a))
    assert not linked(cy, dee) and not linked(a, bo) and not linked(a, dee)
    return Split(a, bo, cy, dee)


async def test_two_members_removing_each_other_while_apart_are_both_removed_everywhere(
        nodes: NodeFactory, tmp_path: Path) -> None:
    pod = await split_pod(nodes, tmp_path)
    ada, bo = pod.ada.config.member_id, pod.bo.config.member_id
    await ops.run(pod.ada.context, "members.remove", {"target": bo})
    await ops.run(pod.bo.context, "members.remove", {"target": ada})
    await eventually(lambda: active_names(pod.cy) == {"Ada", "Cy", "Dee"}
                     and active_names(pod.dee) == {"Bo", "Cy", "Dee"})

    await pod.heal()
    await eventually(lambda: same_pod_document(pod.cy, pod.dee)
                     and active_names(pod.cy) == active_names(pod.dee) == {"Cy", "Dee"})
    assert roster_view(pod.cy) == roster_view(pod.dee)
    removed = {m.member_id: m.removed_by for m in pod.cy.access.roster.members
               if m.status == "removed"}
    assert removed == {ada: bo, bo: ada}  # both removals stand
    for gone in (pod.ada, pod.bo):
        await eventually(lambda g=gone: not linked(pod.cy, g) and not linked(pod.dee, g))
        await refused_everywhere(gone.identity, [pod.cy, pod.dee])


async def test_an_admission_made_while_its_admitter_was_being_removed_does_not_count(
        nodes: NodeFactory, tmp_path: Path) -> None:
    pod = await split_pod(nodes, tmp_path)
    await ops.run(pod.bo.context, "members.remove", {"target": pod.ada.config.member_id})
    await eventually(lambda: "Ada" not in active_names(pod.dee))
    # Ada, not knowing, invites Xia, who joins through Ada's node; Cy's learns of it.
    xia = Insider(await join_via(tmp_path, "xia", await invite(pod.ada)))
    await eventually(lambda: "Xia" in active_names(pod.cy))
    xia_node = await nodes.start("xia", peers=[pod.ada.listen_addresses[0]])
    await eventually(lambda: linked(xia_node, pod.ada))

    await pod.heal()
    members = [pod.bo, pod.cy, pod.dee]
    await eventually(lambda: same_pod_document(*members)
                     and all(active_names(n) == {"Bo", "Cy", "Dee"} for n in members))
    assert roster_view(pod.bo) == roster_view(pod.cy) == roster_view(pod.dee)
    assert all(m.name != "Xia" for m in pod.cy.access.roster.members)
    assert all(d.device_id != xia.device_id for d in pod.cy.access.roster.devices)
    await refused_everywhere(xia.identity, members)
    await refused_everywhere(pod.ada.identity, members)
