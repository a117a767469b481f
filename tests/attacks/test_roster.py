"""Roster attacks from a member's modified node, over the wire, against Ada's and
Bo's running nodes: every one ends with the roster each honest node derives
exactly as it was, the signed records written back where they were deleted,
and the refused records counted as unverified."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import automerge.core as am

from podsync.api import ops
from podsync.home import Home
from podsync.ids import document_url, new_document_id
from podsync.node import Node
from podsync.records.book import records_object
from podsync.records.format import Draft, Record
from podsync.trust import graph
from tests.attacks.conftest import (
    NodeFactory, eventually, forget_peers, invite, join_via, outsider, refused_everywhere,
    roster_view, same_pod_document,
)
from tests.attacks.hostile import HostilePeer, Insider, put_records, records_of, utcnow


@dataclass
class RosterPod:
    """Ada founded the pod; Bo, Eve, Gus and Fay joined; Ada removed Fay. Ada's
    and Bo's nodes run, linked; Eve and Gus are members with modified nodes."""

    ada: Node
    bo: Node
    eve: Insider
    gus: Insider
    fay: Insider
    removal: Record
    homes: dict[str, Home]

    @property
    def honest(self) -> list[Node]:
        return [self.ada, self.bo]

    @property
    def pod_id(self) -> str:
        return self.ada.config.pod_id

    def rosters(self) -> list[Any]:
        return [roster_view(node) for node in self.honest]


async def roster_pod(nodes: NodeFactory, tmp_path: Path) -> RosterPod:
    a = await nodes.start("ada")
    homes = {name: await join_via(tmp_path, name, await invite(a))
             for name in ("eve", "gus", "fay", "bo")}
    b = await nodes.start("bo", peers=[a.listen_addresses[0]])
    fay = Insider(homes["fay"])
    await ops.run(a.context, "members.remove", {"target": fay.member_id})
    [removal] = [c.record for c in a.ledger.pod_records([graph.REMOVE])]
    await eventually(lambda: same_pod_document(a, b))
    return RosterPod(a, b, Insider(homes["eve"]), Insider(homes["gus"]), fay, removal, homes)


def unverified(node: Node, doc_id: str) -> dict[str, int]:
    """Reasons -> counts of ``doc_id``'s records ``node`` reports as not counting."""
    found = [d for d in node.status()["unverified_records"]["documents"]
             if d["url"] == document_url(doc_id)]
    return found[0]["reasons"] if found else {}


async def push_records(peer: HostilePeer, node: Node, target: str, records: list[Record]) -> None:
    """Write ``records`` into the peer's copy of the pod document and push them;
    wait until the node holds them all."""
    pod_id = node.config.pod_id
    peer.change(pod_id, lambda tx: put_records(tx, records))
    await peer.push(pod_id, target)
    await eventually(lambda: all(r.id in node.ledger.book.known(pod_id).records for r in records))


async def test_overwriting_or_deleting_the_records_map_and_writing_a_roster_map_change_nothing(
        nodes: NodeFactory, tmp_path: Path) -> None:
    """Eve deletes the pod document's ``records`` map and writes a ``roster`` map
    naming only herself (the old, unsigned way), then replaces ``records`` with a
    map of her own. The honest nodes keep the roster and write every record back
    into whatever map the document now shows; a restarted node reads the same."""
    pod = await roster_pod(nodes, tmp_path)
    a, pod_id = pod.ada, pod.pod_id
    before, original = pod.rosters(), set(records_of(a.repo.get(pod_id)))

    def delete_records(tx: Any) -> None:
        tx.delete(am.ROOT, "records")
        roster = tx.put_object(am.ROOT, "roster", am.ObjType.Map)
        member = tx.put_object(roster, pod.eve.member_id, am.ObjType.Map)
        tx.put(member, "status", am.ScalarType.Str, "active")
        tx.put(member, "role", am.ScalarType.Str, "admin")

    def replace_records(tx: Any) -> None:
        obj = tx.put_object(am.ROOT, "records", am.ObjType.Map)
        tx.put(obj, new_document_id(), am.ScalarType.Str, "eve is the only member")

    async with pod.eve.peer(a) as eve:
        node_id = await eve.handshake()
        for attack in (delete_records, replace_records):
            copy = await eve.follows(a, pod_id)
            eve.change(pod_id, attack)
            assert not original <= set(records_of(copy))
            await eve.push(pod_id, node_id)
            # Written back on both nodes, and synced back to Eve herself.
            await eventually(lambda: all(original <= set(records_of(n.repo.get(pod_id)))
                                         for n in pod.honest)
                             and original <= set(records_of(eve.docs[pod_id][0])))
            assert pod.rosters() == before
    assert all(records_object(n.repo.get(pod_id)) is not None for n in pod.honest)
    assert a.repo.get(pod_id).get(am.ROOT, "roster") is not None  # Eve's map is there, unread
    assert not a.ledger.is_legacy()

    await pod.bo.stop()
    bo = await nodes.start("bo")  # alone: the roster from its own store
    assert roster_view(bo) == before[1]
    assert unverified(a, pod_id) == {"malformed": 1}  # Eve's text under a record key


async def test_deleting_a_removal_does_not_bring_the_removed_member_back(
        nodes: NodeFactory, tmp_path: Path) -> None:
    """Eve deletes the record of Fay's removal from the pod document. The honest
    nodes write it back (it is in the document again, on both, and on Eve's copy)
    and Fay stays removed: her certificate gets no link."""
    pod = await roster_pod(nodes, tmp_path)
    a, pod_id, removal = pod.ada, pod.pod_id, pod.removal
    before = pod.rosters()
    async with pod.eve.peer(a) as eve:
        node_id = await eve.handshake()
        copy = await eve.follows(a, pod_id)
        eve.change(pod_id, lambda tx: tx.delete(records_object(tx), removal.id))
        assert removal.id not in records_of(copy)
        await eve.push(pod_id, node_id)
        await eventually(lambda: removal.id in records_of(eve.docs[pod_id][0]))
    for node in pod.honest:
        await eventually(lambda n=node: records_of(n.repo.get(pod_id)).get(removal.id)
                         == removal.sealed)
    assert pod.rosters() == before
    assert all(m.status == "removed" for node in pod.honest
               for m in node.access.roster.members if m.member_id == pod.fay.member_id)
    await refused_everywhere(pod.fay.identity, pod.honest)


async def test_members_added_without_an_invite_do_not_count(nodes: NodeFactory, tmp_path: Path) -> None:
    """Eve admits Mallory's real device three ways without holding any invite's
    secret: naming an invite nobody made, naming none, and naming Ada's real
    unused invite with a proof she made up. Mallory is in no roster, gets no
    link, and the three admissions are listed as not counting."""
    pod = await roster_pod(nodes, tmp_path)
    a, pod_id = pod.ada, pod.pod_id
    await invite(a)  # an unused invite Eve can see (its verifier, never its secret)
    await eventually(lambda: same_pod_document(*pod.honest))
    before = pod.rosters()
    mallory = outsider(tmp_path)
    real_invite = next(i.record.invite_id for i in a.access.roster.invites if i.used_by is None)
    async with pod.eve.peer(a) as eve:
        node_id = await eve.handshake()
        await eve.follows(a, pod_id)
        after = tuple(eve.ledger(pod.eve).replay.heads)
        bodies = [{"invite": "no-such-invite", "proof": b"\0" * 32},
                  {},
                  {"invite": real_invite, "proof": b"\1" * 32}]
        admissions = [pod.eve.sign(pod_id, Draft(graph.ADMIT, {
            **body, "cert": mallory.cert_der, "member": new_document_id(), "name": "Mallory"},
            after=after)) for body in bodies]
        await push_records(eve, a, node_id, admissions)
        await eve.settled(node_id)
    await eventually(lambda: same_pod_document(*pod.honest))
    assert pod.rosters() == before
    assert all("Mallory" not in {m.name for m in n.access.roster.members} for n in pod.honest)
    await refused_everywhere(mallory, pod.honest)
    for node in pod.honest:
        assert sum(unverified(node, pod_id).values()) == 3


async def test_backdated_records_of_a_removed_member_count_for_nothing(
        nodes: NodeFactory, tmp_path: Path) -> None:
    """Ada removes Eve. Eve signs records dated before her removal — a full,
    valid-looking invite and admission of Mallory and a removal of Bo, made as
    if apart from her removal, and a removal of Ada made after it but dated an
    hour before — and Gus, still a member, carries them to Ada's node."""
    pod = await roster_pod(nodes, tmp_path)
    a, pod_id = pod.ada, pod.pod_id
    mallory = outsider(tmp_path)
    async with pod.gus.peer(a) as gus:  # Gus follows the pod document from before the removal
        gus_id = await gus.handshake()
        await gus.follows(a, pod_id)
        apart = tuple(gus.ledger(pod.gus).replay.heads)
        await ops.run(a.context, "members.remove", {"target": pod.eve.member_id})
        await eventually(lambda: same_pod_document(*pod.honest))
        before = pod.rosters()
        removed_at = next(r.at for r in a.access.roster.removals if r.target == pod.eve.member_id)
        await gus.follows(a, pod_id)
        since = tuple(gus.ledger(pod.gus).replay.heads)
        early = removed_at - dt.timedelta(hours=1)
        invited, admitted = pod.eve.admission(mallory.cert_der, after=apart, at=early)
        bo_out = pod.eve.sign(pod_id, Draft(graph.REMOVE, {"target": pod.bo.config.member_id},
                                            after=(admitted.id,)), early + dt.timedelta(minutes=1))
        ada_out = pod.eve.sign(pod_id, Draft(graph.REMOVE, {"target": a.config.member_id},
                                             after=since), early)
        await push_records(gus, a, gus_id, [invited, admitted, bo_out, ada_out])
        await gus.settled(gus_id)
    await eventually(lambda: same_pod_document(*pod.honest))
    assert pod.rosters() == before
    await refused_everywhere(mallory, pod.honest)
    assert sum(unverified(a, pod_id).values()) >= 4


async def test_a_removed_device_signing_through_a_node_that_has_not_heard_is_undone_on_merge(
        nodes: NodeFactory, tmp_path: Path) -> None:
    """Ada removes Eve while Dee's node is apart. Eve, still trusted there, writes
    through it: she admits Mallory (a real invite and proof) and removes Bo, and
    Dee's node believes it. Once Dee's node reaches Ada's, every node derives the
    same roster: Eve removed, Bo active, Mallory nowhere."""
    pod = await roster_pod(nodes, tmp_path)
    a, pod_id = pod.ada, pod.pod_id
    forget_peers(await join_via(tmp_path, "dee", await invite(a)))
    dee = await nodes.start("dee", peers=[a.listen_addresses[0]])
    await eventually(lambda: same_pod_document(a, dee))
    await dee.stop()
    dee = await nodes.start("dee")  # apart from here on
    await ops.run(a.context, "members.remove", {"target": pod.eve.member_id})
    await eventually(lambda: same_pod_document(*pod.honest))
    before = pod.rosters()
    mallory = outsider(tmp_path)
    async with pod.eve.peer(dee) as eve:
        eve_id = await eve.handshake()
        await eve.follows(dee, pod_id)
        heads = tuple(eve.ledger(pod.eve).replay.heads)
        invited, admitted = pod.eve.admission(mallory.cert_der, after=heads, at=utcnow())
        bo_out = pod.eve.sign(pod_id, Draft(graph.REMOVE, {"target": pod.bo.config.member_id},
                                            after=(admitted.id,)), prev=admitted.id)
        await push_records(eve, dee, eve_id, [invited, admitted, bo_out])
        # Dee's node, not knowing, takes it all (so the attack is real).
        names = {m.name: m.status for m in dee.access.roster.members}
        assert names["Mallory"] == "active" and names["Bo"] == "removed"

        dee.dial(a.listen_addresses[0])
        await eventually(lambda: same_pod_document(a, dee) and same_pod_document(*pod.honest))
        await eventually(lambda: eve.closed)  # Dee's node has heard: Eve's link is dropped
    assert pod.rosters() == before and roster_view(dee) == before[0]
    await refused_everywhere(mallory, [*pod.honest, dee])
    await refused_everywhere(pod.eve.identity, [*pod.honest, dee])


async def test_records_replayed_from_another_pod_count_for_nothing(
        nodes: NodeFactory, tmp_path: Path) -> None:
    """Records of another pod: Zed's pod's real ones (its founding record, an
    invite), and one Eve made in a pod she founded with her own device key,
    removing Bo. Eve writes them into this pod's document."""
    pod = await roster_pod(nodes, tmp_path)
    a, pod_id = pod.ada, pod.pod_id
    zed = await nodes.start("zed", own_pod=True)
    await invite(zed)
    foreign = list(zed.ledger.book.known(zed.config.pod_id).records.values())
    assert len(foreign) == 2  # its founding record and the invite
    before = pod.rosters()
    async with pod.eve.peer(a) as eve:
        node_id = await eve.handshake()
        await eve.follows(a, pod_id)
        heads = tuple(eve.ledger(pod.eve).replay.heads)
        other_pod = zed.config.pod_id
        elsewhere = pod.eve.sign(pod_id, Draft(graph.REMOVE, {"target": pod.bo.config.member_id},
                                               after=heads), pod=other_pod)
        in_zeds = pod.eve.sign(other_pod, Draft(graph.REMOVE, {"target": pod.bo.config.member_id},
                                                after=heads), pod=other_pod)
        await push_records(eve, a, node_id, [*foreign, elsewhere, in_zeds])
        await eve.settled(node_id)
    await eventually(lambda: same_pod_document(*pod.honest))
    assert pod.rosters() == before
    assert sum(unverified(a, pod_id).values()) == len(foreign) + 2
