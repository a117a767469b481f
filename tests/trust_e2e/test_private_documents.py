"""A member who is not a reader of a private document gets nothing of it, even
asking by id with hand-made protocol frames over a real member link."""

from __future__ import annotations

from pathlib import Path

import automerge.core as am

from podsync.config import load_config
from podsync.home import Home
from podsync.node import Node
from podsync.api import ops
from podsync.records.book import records_object
from podsync.pod import stewards
from podsync.records.format import Draft, Record, build_payload, parse
from podsync.records.verify import Signer
from podsync.repo.values import put_value
from podsync.trust.identity import load_identity, load_signing_key
from podsync.trust.ledger import parse_own
from tests.trust_e2e.conftest import NodeFactory, eventually, invite, join_via
from tests.trust_e2e.raw_peer import RawPeer

PRIVATE_TEXT = "bo-talks-over-everyone-in-meetings"
PUBLIC_TEXT = "bring-snacks"


async def pod_with_a_thread(nodes: NodeFactory, tmp_path: Path) -> tuple[Node, dict[str, Path], str, str]:
    """Ada gives feedback about Eve (the leader) to Bo (Eve's steward); Fay is
    an uninvolved member. Only Ada's node runs; the others are members' homes."""
    a = await nodes.start("ada")
    homes = {name: (await join_via(tmp_path, name, await invite(a))).root
             for name in ("bo", "eve", "fay")}
    member = {name: load_member(path) for name, path in homes.items()}
    # Bo stewards Eve: Ada proposes it; Bo and Eve say yes, each signing with their
    # own device's key (their nodes do not run here).
    nomination = (await ops.run(a.context, "steward.propose", {
        "leader": member["eve"], "steward": member["bo"]})).id
    records = a.ledger.pod_records(stewards.STEWARD_TYPES)
    await a.ledger.store_records(a.config.pod_id, [signed_by(
        a, homes["bo"], stewards.affirm_role(records, nomination, member["bo"]))])
    records = a.ledger.pod_records(stewards.STEWARD_TYPES)
    await a.ledger.store_records(a.config.pod_id, [signed_by(
        a, homes["eve"], stewards.consent_to_steward(records, nomination, member["eve"]))])
    assert stewards.stewards_of(a.ledger.pod_records(), member["eve"]) == [member["bo"]]
    thread = (await ops.run(a.context, "feedback.give", {"leader": member["eve"],
                                                        "text": PRIVATE_TEXT})).thread_id
    public = await a.repo.create("test", lambda tx: put_value(tx, am.ROOT, "note", PUBLIC_TEXT))
    await a.ledger.share(public, "pod", a.context.now())
    assert a.access.readers_of(thread) == frozenset({a.config.member_id, member["bo"]})
    return a, homes, thread, public


def records_in(doc: am.Document) -> list[Record]:
    obj = records_object(doc)
    out = []
    for key in doc.keys(obj) if obj is not None else []:
        found = doc.get(obj, key)
        record = parse(key, found[0][1]) if found is not None else None
        if isinstance(record, Record):
            out.append(record)
    return out


def load_member(root: Path) -> str:
    return load_config(Home(root)).member_id


def signed_by(node: Node, root: Path, draft: Draft) -> Record:
    """``draft`` for the pod document, signed by the device of the home at ``root``."""
    home = Home(root)
    signer = Signer(load_signing_key(home), load_identity(home).device_id)
    draft = Draft(draft.type, draft.body, draft.item, tuple(node.ledger.replay.heads))
    payload = build_payload(draft, pod=node.config.pod_id, scope=node.config.pod_id,
                            by=signer.device_id, at=node.context.now(), prev=None)
    return parse_own(payload, signer.sign(payload))


async def test_a_non_reader_asking_by_id_gets_doc_unavailable_and_no_content(
        nodes: NodeFactory, tmp_path: Path) -> None:
    a, homes, thread, public = await pod_with_a_thread(nodes, tmp_path)
    thread_heads = a.repo.get(thread).get_heads()
    for name in ("eve", "fay"):  # the leader the feedback is about, and a bystander
        identity = load_identity(Home(homes[name]))
        async with RawPeer(identity, a.identity.cert_der, a.listen_addresses[0]) as curious:
            node_id = await curious.handshake()
            assert node_id == a.identity.device_id
            await curious.request(thread, node_id)
            await eventually(lambda: any(f["type"] == "doc-unavailable" for f in curious.about(thread)))
            # The link still works: a pod-wide document asked for after it arrives.
            await curious.request(public, node_id)
            await eventually(lambda: curious.has_content(public))

            assert [f["type"] for f in curious.about(thread)] == ["doc-unavailable"], name
            assert not curious.has_content(thread)
            wire = b"".join(curious.raw)
            assert PRIVATE_TEXT.encode() not in wire
            assert not any(head in wire for head in thread_heads)
            assert PUBLIC_TEXT.encode() in wire  # the scan does see content that was sent


async def test_a_reader_asking_the_same_way_gets_the_thread(nodes: NodeFactory, tmp_path: Path) -> None:
    """The control: the steward's identity and the same frames get the content."""
    a, homes, thread, _public = await pod_with_a_thread(nodes, tmp_path)
    identity = load_identity(Home(homes["bo"]))
    async with RawPeer(identity, a.identity.cert_der, a.listen_addresses[0]) as steward:
        node_id = await steward.handshake()
        await steward.request(thread, node_id)
        await eventually(lambda: steward.has_content(thread))
        copy = steward.docs[thread][0]
        assert sorted(copy.get_heads()) == sorted(a.repo.get(thread).get_heads())
        [creation] = [r for r in records_in(copy) if r.type == "doc.create"]
        assert creation.body["text"] == PRIVATE_TEXT
        assert "doc-unavailable" not in [f["type"] for f in steward.about(thread)]
        # The same byte scan as above finds the text when it is sent.
        assert PRIVATE_TEXT.encode() in b"".join(steward.raw)


async def test_a_member_link_claiming_another_device_id_is_closed(
        nodes: NodeFactory, tmp_path: Path) -> None:
    a, homes, thread, _public = await pod_with_a_thread(nodes, tmp_path)
    eve = load_identity(Home(homes["eve"]))
    bo = load_identity(Home(homes["bo"]))  # Bo is a reader; Eve pretends to be Bo
    async with RawPeer(eve, a.identity.cert_der, a.listen_addresses[0]) as impostor:
        await impostor.join(sender_id=bo.device_id)
        await eventually(lambda: impostor.closed)
    assert not any(f.get("type") == "peer" for f in impostor.frames)
    assert not any("documentId" in f for f in impostor.frames)


async def test_a_non_reader_cannot_write_into_a_private_document_either(
        nodes: NodeFactory, tmp_path: Path) -> None:
    a, homes, thread, public = await pod_with_a_thread(nodes, tmp_path)
    before = sorted(a.repo.get(thread).get_heads())
    forged = am.Document()
    with forged.transaction() as tx:
        put_value(tx, am.ROOT, "records", {"junk": "fay was here"})
    message = forged.generate_sync_message(am.SyncState())
    assert message is not None
    async with RawPeer(load_identity(Home(homes["fay"])), a.identity.cert_der,
                       a.listen_addresses[0]) as writer:
        node_id = await writer.handshake()
        await writer.send({"type": "sync", "senderId": writer.peer_id, "targetId": node_id,
                           "documentId": thread, "data": bytes(message.encode())})
        await eventually(lambda: any(f["type"] == "doc-unavailable" for f in writer.about(thread)))
        # Keep sending the forged changes in answer to whatever comes back.
        for _ in range(3):
            reply = forged.generate_sync_message(am.SyncState())
            assert reply is not None
            await writer.send({"type": "sync", "senderId": writer.peer_id, "targetId": node_id,
                               "documentId": thread, "data": bytes(reply.encode())})
        await writer.request(public, node_id)  # a later frame, answered in order
        await eventually(lambda: writer.has_content(public))
    assert sorted(a.repo.get(thread).get_heads()) == before
    assert a.access.readers_of(thread) == frozenset({a.config.member_id, load_member(homes["bo"])})
