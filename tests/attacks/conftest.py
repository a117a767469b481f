"""Real nodes of a real pod, and what the attacks compare: every honest node's
derived views, and every byte an honest node wrote to a hostile socket."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp
import msgspec
import pytest

from podsync.api import ops
from podsync.cli.init import initialise
from podsync.home import Home
from podsync.node import Node
from podsync.pod import stewards
from podsync.records.format import Draft
from podsync.sync.heads import parse_sync_heads, summary_key, unpack_summary
from podsync.sync.messages import SUMMARY_TYPE
from podsync.trust.identity import DeviceIdentity
from podsync.trust.ledger import POD
from tests.attacks.hostile import HostilePeer, Insider, records_of
from tests.trust_e2e.raw_peer import RawPeer
from tests.trust_e2e.conftest import (  # noqa: F401 - ``nodes``: the fixture, used here too
    NodeFactory, active_names, eventually, forget_peers, invite, join_via, nodes, roster_of,
)

__all__ = ["FeedbackPod", "NodeFactory", "PRIVATE_TEXT", "active_names", "assert_nothing_of",
           "eventually", "feedback_pod", "forget_peers", "invite", "join_via", "outsider",
           "refused_everywhere", "roster_of", "roster_view", "same_pod_document", "secrets_of", "synced", "views"]

#: The private words of the feedback thread every attack here is after.
PRIVATE_TEXT = "eve-interrupts-everyone-and-takes-the-credit"

#: Operations whose results are the honest views an attack must not change.
VIEW_OPS = ("members.list", "need.list", "agreement.list", "decision.list", "capacity.list",
            "mobilizing.list", "team.list", "feedback.threads", "feedback.received")


def roster_view(node: Node) -> Any:
    return msgspec.to_builtins(roster_of(node))


async def views(node: Node) -> dict[str, Any]:
    """Everything ``node`` derives that an attack could want to change: its roster,
    who reads each document it holds, and what every practice's operations show."""
    out: dict[str, Any] = {"roster": roster_view(node)}
    readers = {}
    for doc_id in sorted(node.repo.held_ids()):
        who = node.access.readers_of(doc_id)
        readers[doc_id] = "pod" if who == POD else sorted(who)
    out["readers"] = readers
    out["kinds"] = {doc_id: node.ledger.kind(doc_id) for doc_id in readers}
    for name in VIEW_OPS:
        # As the API sends it (a listing may be JSON the node keeps ready).
        out[name] = msgspec.json.decode(ops.to_json(await ops.run(node.context, name, {})))
    return out


def secrets_of(node: Node, doc_id: str) -> list[bytes]:
    """What must never reach a non-reader of ``doc_id``: every change hash, every
    record id and every record's bytes, as ``node`` holds them."""
    doc = node.repo.get(doc_id)
    out = [c.hash for c in doc.get_changes([])]
    for rid, sealed in records_of(doc).items():
        out += [rid.encode(), bytes.fromhex(rid), sealed]
    assert out
    return out


def assert_nothing_of(peer: HostilePeer, doc_id: str, secrets: list[bytes],
                      texts: tuple[str, ...] = (PRIVATE_TEXT,), *, name_ok: bool = False) -> None:
    """No byte of ``doc_id`` in what the node wrote to ``peer``: its id only in
    answers to what the peer itself sent under that id — doc-unavailable, or a
    sync saying the node holds nothing of it (``name_ok``: anywhere) — no
    secret, no text."""
    for raw, frame in zip(peer.raw, peer.frames):
        if frame.get("type") == SUMMARY_TYPE:  # names documents by a prefix of their id
            assert summary_key(doc_id) not in unpack_summary(frame["data"]), "a summary lists it"
        if name_ok or frame.get("type") == "doc-unavailable" or (
                frame.get("type") == "sync" and parse_sync_heads(frame["data"]) == []):
            continue
        assert doc_id.encode() not in raw, f"a {frame.get('type')} frame names {doc_id}"
    wire = peer.wire()
    for text in texts:
        assert text.encode() not in wire, f"{text!r} reached the hostile socket"
    leaked = [s for s in secrets if s in wire]
    assert leaked == [], f"{len(leaked)} change hashes or records of {doc_id} reached it"


def outsider(tmp_path: Path, name: str = "mallory") -> DeviceIdentity:
    """A real device nobody invited (its home founds a pod of its own)."""
    identity, _ = initialise(Home(tmp_path / name), name.capitalize())
    return identity


async def refused_everywhere(identity: DeviceIdentity, members: list[Node]) -> None:
    """``identity``'s certificate does not get a link to any of ``members``."""
    for node in members:
        with pytest.raises((aiohttp.ClientError, OSError)) as caught:
            async with RawPeer(identity, node.identity.cert_der, node.listen_addresses[0]):
                pass
        assert not isinstance(caught.value, aiohttp.WSServerHandshakeError)


def same_pod_document(*members: Node) -> bool:
    heads = {tuple(sorted(n.repo.get(n.config.pod_id).get_heads())) for n in members}
    return len(heads) == 1


@dataclass
class FeedbackPod:
    """Ada (giver) gave feedback about Eve (the leader) to Bo (Eve's steward);
    Fay is a bystander. Ada's node runs; Bo's runs unlinked to Ada until
    :meth:`link_steward`; Eve and Fay are homes whose keys the attacks use."""

    ada: Node
    bo: Node
    eve: Insider
    fay: Insider
    thread: str
    member: dict[str, str]
    homes: dict[str, Home]

    async def link_steward(self, *, same_heads: bool = True) -> None:
        """Bo's node reaches Ada's: the real thread comes to the steward (with
        ``same_heads``, until both hold exactly the same thread)."""
        self.bo.dial(self.ada.listen_addresses[0])
        await eventually(lambda: self.bo.repo.has(self.thread))
        if same_heads:
            await eventually(lambda: sorted(self.bo.repo.get(self.thread).get_heads())
                             == sorted(self.ada.repo.get(self.thread).get_heads()))


async def synced(a: Node, b: Node) -> None:
    """Wait until ``b`` holds every document ``a`` holds, as ``a`` holds it."""
    await eventually(lambda: all(b.repo.has(d) and sorted(b.repo.get(d).get_heads())
                                 == sorted(a.repo.get(d).get_heads()) for d in a.repo.held_ids()))


async def appoint(node: Node, *, leader: Insider, steward: Insider) -> None:
    """A steward by consent, as the pod records one: ``node``'s member proposes; the
    steward affirms and the leader consents, each signing with their own device
    key (their records reach ``node`` as if their nodes had sent them)."""
    nomination = (await ops.run(node.context, "steward.propose", {
        "leader": leader.member_id, "steward": steward.member_id})).id
    for who, decide in ((steward, stewards.affirm_role), (leader, stewards.consent_to_steward)):
        pod = node.ledger.pod_records()
        draft = decide(pod, nomination, who.member_id, "")
        draft = Draft(draft.type, draft.body, draft.item, tuple(node.ledger.replay.heads))
        await node.ledger.store_records(node.config.pod_id, [who.sign(node.config.pod_id, draft)])
    assert steward.member_id in stewards.stewards_of(node.ledger.pod_records(), leader.member_id)


async def feedback_pod(nodes: NodeFactory, tmp_path: Path) -> FeedbackPod:
    a = await nodes.start("ada")
    homes: dict[str, Home] = {}
    for name in ("eve", "fay", "bo"):
        homes[name] = await join_via(tmp_path, name, await invite(a))
    # Bo's node takes the pod's documents from Ada's, then stays apart from it.
    b = await nodes.start("bo", peers=[a.listen_addresses[0]])
    await synced(a, b)
    await b.stop()
    for home in homes.values():
        forget_peers(home)
    eve, fay = Insider(homes["eve"]), Insider(homes["fay"])
    member = {"ada": a.config.member_id, "bo": Insider(homes["bo"]).member_id,
              "eve": eve.member_id, "fay": fay.member_id}
    await appoint(a, leader=eve, steward=Insider(homes["bo"]))
    thread = (await ops.run(a.context, "feedback.give",
                            {"leader": member["eve"], "text": PRIVATE_TEXT})).thread_id
    assert a.access.readers_of(thread) == frozenset({member["ada"], member["bo"]})
    b = await nodes.start("bo")
    assert not b.repo.has(thread) and b.repo.engine.peers() == []
    return FeedbackPod(a, b, eve, fay, thread, member, homes)
