"""Forged practice events, pushed over the wire by Eve's modified node into the
documents she may write (the agreements and decisions boards, and a feedback
thread she stewards): an affirmation, advice, a consent and a decision in
another member's name (records naming their device as signer, under Eve's
signature), and the same events signed by Eve in her own name where the
practice does not let her make them. Every view on Ada's and Bo's nodes stays
as it was (through the operations), and the forgeries in another's name are
listed under ``unverified_records`` by ``podsync status --json``.
"""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any

import msgspec
import pytest

from podsync.api import ops
from podsync.ids import document_url
from podsync.node import Node
from podsync.pod import agreements, decisions, feedback
from podsync.pod.events import Item, items_from
from podsync.records.format import Draft, Record
from podsync.trust.ledger import CREATE
from tests.attacks.conftest import NodeFactory, appoint, eventually, invite, join_via, synced
from tests.attacks.hostile import HostilePeer, Insider, put_records, utcnow
from tests.trust_e2e.conftest import podsync_cli


def heads(item: Item) -> tuple[str, ...]:
    """What a state event made now follows (the item's latest records)."""
    referenced = {p for e in item.events for p in e.after}
    return tuple(e.id for e in item.events if e.id not in referenced) or (item.id,)


async def practice_views(node: Node, ids: dict[str, str]) -> dict[str, Any]:
    """What the operations show of the three items, minus their raw history
    (which lists every counted record, the ignored ones too)."""
    return without_history({
        "agreement": await ops.run(node.context, "agreement.get", {"id": ids["agreement"]}),
        "decision": await ops.run(node.context, "decision.get", {"id": ids["decision"]}),
        "thread": await ops.run(node.context, "feedback.thread", {"thread_id": ids["thread"]}),
        "lists": [await ops.run(node.context, name, {}) for name in
                  ("agreement.list", "decision.list", "need.list", "team.list")],
    })


def without_history(value: Any) -> Any:
    if isinstance(value, msgspec.Raw):  # a listing, as the API sends it
        value = msgspec.json.decode(value)
    if isinstance(value, dict):
        return {k: without_history(v) for k, v in value.items() if k != "history"}
    if isinstance(value, list):
        return [without_history(v) for v in value]
    return value


def item_of(peer: HostilePeer, insider: Insider, doc_id: str, item_id: str, create: str) -> Item:
    """The item as the modified node's own copy holds it."""
    led = peer.ledger(insider)
    if create == CREATE:
        found = feedback.document_item(led.counted(doc_id), doc_id, feedback.THREAD_KIND)
        assert found is not None
        return found
    return items_from(led.counted(doc_id), create)[item_id]


@pytest.mark.slow
async def test_forged_practice_events_change_no_view_and_forgeries_are_listed(
        nodes: NodeFactory, tmp_path: Path) -> None:
    a = await nodes.start("ada")
    eve = Insider(await join_via(tmp_path, "eve", await invite(a)))
    fay = Insider(await join_via(tmp_path, "fay", await invite(a)))
    bo_home = await join_via(tmp_path, "bo", await invite(a))
    b = await nodes.start("bo", peers=[a.listen_addresses[0]])
    member = {"ada": a.config.member_id, "bo": b.config.member_id, "eve": eve.member_id}
    device = {"ada": a.identity.device_id, "bo": b.identity.device_id}

    # Honest items: an agreement between Ada and Bo, Ada's decision on which Bo
    # was asked and advised, and Ada's feedback about Fay to stewards Eve and Bo,
    # with Bo's proposal awaiting Ada's consent.
    ids = {"agreement": (await ops.run(a.context, "agreement.propose", {
        "what": "we rotate the dishes", "parties": [member["ada"], member["bo"]]})).id}
    ids["decision"] = (await ops.run(a.context, "decision.start", {
        "title": "new boiler", "proposal": "buy the heat pump",
        "deadline": (utcnow() + dt.timedelta(days=2)).isoformat()})).id
    await ops.run(a.context, "decision.ask", {"id": ids["decision"], "member": member["bo"],
                                             "reason": "affected"})
    for steward in (eve, Insider(bo_home)):
        await appoint(a, leader=fay, steward=steward)
    ids["thread"] = (await ops.run(a.context, "feedback.give", {
        "leader": fay.member_id, "text": "fay never answers the door"})).thread_id
    await synced(a, b)
    advice = (await ops.run(b.context, "decision.advise", {
        "id": ids["decision"], "stance": "concern", "text": "too loud"}))["advice_id"]
    proposal = (await ops.run(b.context, "feedback.propose_route", {
        "thread_id": ids["thread"], "route": "dissolved"})).proposal_id
    await synced(b, a)
    before = {n.config.member_name: await practice_views(n, ids) for n in (a, b)}
    assert before["Ada"] == before["Bo"]

    agreements_doc = a.context.collection(agreements.KIND)
    decisions_doc = a.context.collection(decisions.KIND)
    forged: dict[str, list[Record]] = {}  # document -> records in another's name
    rules: dict[str, list[Record]] = {}  # document -> records in Eve's name, not hers to make
    async with eve.peer(a) as peer:
        node_id = await peer.handshake()
        for doc_id in (a.config.pod_id, agreements_doc, decisions_doc, ids["thread"]):
            await peer.request(doc_id, node_id)
            await peer.follows(a, doc_id)

        agreement = item_of(peer, eve, agreements_doc, ids["agreement"], agreements.PROPOSE)
        affirm = agreements.affirm_agreement(agreement, member["bo"], "within my capacity")
        forged[agreements_doc] = [eve.sign(agreements_doc, affirm, by=device["bo"])]
        rules[agreements_doc] = [eve.sign(agreements_doc, affirm)]  # Eve is no party

        decision = item_of(peer, eve, decisions_doc, ids["decision"], decisions.OPEN)
        decide = Draft("decide", {"text": "we buy the gas boiler", "review_on": None},
                       item=decision.id, after=heads(decision))
        forged[decisions_doc] = [
            eve.sign(decisions_doc, decisions.give_advice(decision, member["bo"], "support",
                                                          "changed my mind, go"),
                     by=device["bo"]),
            eve.sign(decisions_doc, decide, by=device["ada"])]
        rules[decisions_doc] = [
            eve.sign(decisions_doc, Draft("integrate", {"advice": advice, "integrated": True,
                                                        "why": "it is quiet enough"},
                                          item=decision.id, after=heads(decision))),
            eve.sign(decisions_doc, decide)]  # only the decider decides

        thread = item_of(peer, eve, ids["thread"], ids["thread"], CREATE)
        consent = feedback.answer_route(thread, member["ada"], proposal, True)
        forged[ids["thread"]] = [eve.sign(ids["thread"], consent, by=device["ada"])]
        route = Draft("route", {"proposal": proposal, "route": "dissolved", "target_doc": None,
                                "target_item": None}, item=thread.id, after=heads(thread))
        rules[ids["thread"]] = [eve.sign(ids["thread"], consent),  # only the giver consents
                                eve.sign(ids["thread"], route)]  # and nothing goes without it

        for doc_id in forged:
            records = forged[doc_id] + rules[doc_id]
            peer.change(doc_id, lambda tx, r=records: put_records(tx, r))
            await peer.push(doc_id, node_id)
        await peer.settled(node_id)
    everything = [r for doc_id in forged for r in forged[doc_id] + rules[doc_id]]
    for node in (a, b):
        await eventually(lambda n=node: all(
            r.id in n.ledger.book.known(r.scope).records for r in everything))
        for doc_id, records in forged.items():
            assert all(n.ledger.book.known(doc_id).signed[r.id] is False for n in (node,)
                       for r in records)
        assert await practice_views(node, ids) == before[node.config.member_name]

    # The views in plain words, on both nodes.
    view = before["Ada"]
    assert [p["affirmed"] for p in view["agreement"]["parties"]] == [False, False]
    assert view["decision"]["state"] == "gathering_advice" and view["decision"]["decision"] is None
    assert [x["stance"] for x in view["decision"]["advice"]] == ["concern"]
    assert view["decision"]["advice"][0]["integration"] is None
    assert view["thread"]["proposals"][0]["consent"] is None and view["thread"]["routed"] is None

    # `podsync status --json`, the real command against Ada's running node.
    status = await podsync_cli(a.home, "status", "--json")
    assert status.returncode == 0, status.stderr
    listed = {d["url"]: d for d in json.loads(status.stdout)["unverified_records"]["documents"]}
    for doc_id, records in forged.items():
        entry = listed[document_url(doc_id)]
        assert entry["reasons"].get("bad-signature") == len(records), entry
    assert json.loads(status.stdout)["unverified_records"]["total"] == sum(map(len, forged.values()))


async def test_a_forgery_in_a_members_name_is_never_vouched_for_by_their_own_node(
        nodes: NodeFactory, tmp_path: Path) -> None:
    """Records carry their signer's previous record as ``prev``, and a valid
    signature on the latest vouches for the chain it reaches (so a fresh node
    checks few signatures). Eve plants records naming Bo's device as signer and
    dated ahead — Bo's affirmation of an agreement, Bo's removal of Ada — where
    Bo's node will look for its own latest record. Bo's node, restarted, then
    writes in both documents (an agreement; an invite and Cy's admission), and
    Cy's new node checks every signature from cold: the forgeries count nowhere."""
    a = await nodes.start("ada")
    eve = Insider(await join_via(tmp_path, "eve", await invite(a)))
    bo_home = await join_via(tmp_path, "bo", await invite(a))
    b = await nodes.start("bo", peers=[a.listen_addresses[0]])
    bo_member, bo_device = b.config.member_id, b.identity.device_id
    agreement = (await ops.run(a.context, "agreement.propose", {
        "what": "we rotate the dishes", "parties": [a.config.member_id, bo_member]})).id
    pod_id, board = a.config.pod_id, a.context.collection(agreements.KIND)
    await synced(a, b)
    ahead = utcnow() + dt.timedelta(days=30)
    async with eve.peer(a) as peer:
        node_id = await peer.handshake()
        for doc_id in (pod_id, board):
            await peer.follows(a, doc_id)
        item = item_of(peer, eve, board, agreement, agreements.PROPOSE)
        affirm = eve.sign(board, agreements.affirm_agreement(item, bo_member, "fine"), ahead,
                          by=bo_device)
        removal = eve.sign(pod_id, Draft("member.remove", {"target": a.config.member_id},
                                         after=tuple(peer.ledger(eve).replay.heads)),
                           ahead, by=bo_device)
        for doc_id, record in ((board, affirm), (pod_id, removal)):
            peer.change(doc_id, lambda tx, r=record: put_records(tx, [r]))
            await peer.push(doc_id, node_id)
        await peer.settled(node_id)
        assert affirm.id in a.ledger.book.known(board).records
        assert removal.id in a.ledger.book.known(pod_id).records
    await eventually(lambda: affirm.id in b.ledger.book.known(board).records
                     and removal.id in b.ledger.book.known(pod_id).records)

    await b.stop()
    b = await nodes.start("bo", peers=[a.listen_addresses[0]])  # forgets its own latest records
    own = (await ops.run(b.context, "agreement.propose", {
        "what": "we share the car", "parties": [a.config.member_id, bo_member]})).id
    await join_via(tmp_path, "cy", await invite(b))  # Bo's invite, Bo's admission
    written = [b.ledger.book.known(board).records[own],
               *[c.record for c in b.ledger.pod_records() if c.record.by == bo_device]]
    assert all(r.prev not in (affirm.id, removal.id) for r in written)

    c = await nodes.start("cy", peers=[a.listen_addresses[0]])
    # Cy's node read the pod document Bo's node admitted it with, all from cold.
    assert {m.name for m in c.access.roster.members if m.status == "active"} \
        == {"Ada", "Bo", "Eve", "Cy"}
    await synced(a, c)
    for node in (a, b, c):
        assert node.ledger.book.known(board).signed[affirm.id] is False
        assert node.ledger.book.known(pod_id).signed[removal.id] is False
        assert {m.name for m in node.access.roster.members if m.status == "active"} \
            == {"Ada", "Bo", "Eve", "Cy"}
        view = await ops.run(node.context, "agreement.get", {"id": agreement})
        assert [p["affirmed"] for p in view["parties"]] == [False, False]
