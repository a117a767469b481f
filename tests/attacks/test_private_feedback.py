"""The leader a feedback thread is about goes after it with a modified node:
Eve's real certificate and device key, the real protocol over pinned TLS,
against Ada's (the giver's) and Bo's (the steward's) running nodes.

Every test ends on what the honest nodes wrote to Eve's socket (no byte of the
thread: its text, its change hashes, its records, its id other than in answers
to Eve's own asks) and on what they derive (readers, kinds, every practice's
views through the operations), and checks that nothing Eve made up was kept.
"""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path
from typing import Any

import asyncio

import automerge.core as am
import cbor2

from podsync.api import ops
from podsync.api.context import offline_context
from podsync.home import Home
from podsync.ids import document_url
from podsync.node import Node
from podsync.pod import needs
from podsync.pod.feedback import STATEMENT_KIND, THREAD_KIND, creation_draft
from podsync.records.format import Draft, Record
from podsync.repo.repo import KIND_KEY
from podsync.trust import saved
from podsync.trust.ledger import READERS_CHANGE, Ledger
from tests.attacks.conftest import (
    PRIVATE_TEXT, FeedbackPod, NodeFactory, assert_nothing_of, eventually, feedback_pod,
    secrets_of, views,
)
from tests.attacks.hostile import HIGH_ACTOR, HostilePeer, forged_document, put_records, records_of


#: An ephemeral message the thread's readers send each other (a cursor, presence).
PRESENCE = "ada-is-typing-in-the-thread"


def drain(queue: asyncio.Queue) -> list:  # noqa: ANN001 - repo change events
    out = []
    while not queue.empty():
        out.append(queue.get_nowait())
    return out


def kind_key(kind: str):  # noqa: ANN201 - a transaction callback
    return lambda tx: tx.put(am.ROOT, KIND_KEY, am.ScalarType.Str, kind)


def eve_named_a_reader(pod: FeedbackPod) -> list[Record]:
    """What Eve writes to make herself a reader: a creation record of her own for a
    thread naming her, and a reader change adding her to the real one."""
    m = pod.member
    create = pod.eve.sign("", creation_draft(THREAD_KIND, [m["eve"], m["ada"], m["bo"]],
                                             {"leader": m["fay"], "text": "eve reads this"}))
    change = pod.eve.sign(pod.thread, Draft(READERS_CHANGE, {"readers": [m["eve"]]},
                                            item=create.id))
    return [create, change]


def stewardship_map(pod: FeedbackPod):  # noqa: ANN201 - a transaction callback
    """The pre-signed-records way of saying who reads a thread: a ``thread`` map."""
    def write(tx) -> None:  # noqa: ANN001
        obj = tx.put_object(am.ROOT, "thread", am.ObjType.Map)
        tx.put(obj, "leader", am.ScalarType.Str, pod.member["fay"])
        tx.put(obj, "stewards", am.ScalarType.Str, pod.member["eve"])
        tx.put(obj, "readers", am.ScalarType.Str, "pod")
        tx.put(am.ROOT, KIND_KEY, am.ScalarType.Str, "need")
    return write


async def thread_views(pod: FeedbackPod) -> tuple[object, object]:
    args = {"thread_id": pod.thread}
    return (await ops.run(pod.ada.context, "feedback.thread", args),
            await ops.run(pod.bo.context, "feedback.thread", args))


def assert_thread_intact(pod: FeedbackPod) -> None:
    for node in (pod.ada, pod.bo):
        assert node.access.readers_of(pod.thread) == frozenset({pod.member["ada"],
                                                                pod.member["bo"]})
        assert node.ledger.kind(pod.thread) == THREAD_KIND


async def test_a_forged_need_offered_as_the_thread_is_not_kept_and_the_thread_never_reaches_the_leader(
        nodes: NodeFactory, tmp_path: Path) -> None:
    """Variant 1: before the steward's node holds the thread, Eve sends it a
    document under the thread's id claiming to be a need (``@kind``, and a
    creation record of kind ``needs`` naming her and Bo as readers), by sync and
    as a whole document. Then the real thread reaches Bo from Ada."""
    pod = await feedback_pod(nodes, tmp_path)
    a, b, m = pod.ada, pod.bo, pod.member
    secrets = secrets_of(a, pod.thread)
    ada_before, bo_before = await views(a), await views(b)
    need_claim = pod.eve.sign("", creation_draft(needs.KIND, [m["eve"], m["bo"], m["ada"]],
                                                 {"title": "a need"}))
    forged = forged_document([need_claim], kind_key("need"), actor=HIGH_ACTOR)

    async with pod.eve.peer(b) as eve:
        node_id = await eve.handshake(extensions=True)
        await eve.offer_refused(pod.thread, forged, node_id)
        await eve.request(pod.thread, node_id)
        await eve.refused(pod.thread, 3)
        await b.repo.flush()
        assert not b.repo.has(pod.thread) and not b.store.has(pod.thread)
        assert b.store.load_records(pod.thread)[0] == []
        assert await views(b) == bo_before

        await pod.link_steward()
        # Now that Bo holds it: ask again, and offer the forgery again both ways.
        await eve.request(pod.thread, node_id)
        await eve.offer_refused(pod.thread, forged, node_id)
        await eve.settled(node_id)

    assert_nothing_of(eve, pod.thread, secrets)
    # Bo holds exactly Ada's thread: nothing of the forgery was merged in.
    assert sorted(b.repo.get(pod.thread).get_heads()) == sorted(a.repo.get(pod.thread).get_heads())
    assert need_claim.id not in records_of(b.repo.get(pod.thread))
    assert_thread_intact(pod)
    ada_view, bo_view = await thread_views(pod)
    assert bo_view == ada_view and ada_view["messages"][0]["text"] == PRIVATE_TEXT
    assert await views(a) == ada_before


async def test_a_winning_records_map_naming_the_leader_is_refused_by_the_givers_node(
        nodes: NodeFactory, tmp_path: Path) -> None:
    """Variant 2, at the node that holds the thread: Eve pushes changes meant to
    win the merge (the highest actor id) — a records map with a creation record
    and a reader change naming her, and a ``thread`` map listing her as steward."""
    pod = await feedback_pod(nodes, tmp_path)
    a = pod.ada
    secrets = secrets_of(a, pod.thread)
    heads, before = sorted(a.repo.get(pod.thread).get_heads()), await views(a)
    forged = forged_document(eve_named_a_reader(pod), stewardship_map(pod), actor=HIGH_ACTOR)
    async with pod.eve.peer(a) as eve:
        node_id = await eve.handshake(extensions=True)
        await eve.offer_refused(pod.thread, forged, node_id)
        await eve.settled(node_id)
    assert_nothing_of(eve, pod.thread, secrets)
    assert sorted(a.repo.get(pod.thread).get_heads()) == heads
    assert await views(a) == before


async def plant_by_share_claim(pod: FeedbackPod, eve_bo: HostilePeer, bo_id: str) -> am.Document:
    """Eve, who knows the thread's id, claims it as a document of hers shared with
    the pod (a ``doc.share`` record) on Bo's node, which does not hold the thread
    and so cannot tell; then she sends Bo her own content under that id: a
    records map written to win the merge, naming her a reader and a steward."""
    await eve_bo.claim(pod.eve, pod.bo, bo_id, pod.thread)
    assert pod.bo.access.readers_of(pod.thread) == "pod"  # as far as Bo's node can tell
    planted = forged_document(eve_named_a_reader(pod), stewardship_map(pod), actor=HIGH_ACTOR)
    await eve_bo.offer(pod.thread, planted, bo_id)
    await eventually(lambda: pod.bo.repo.has(pod.thread))
    return planted


async def test_a_records_map_planted_under_a_share_claim_never_opens_the_thread_to_the_leader(
        nodes: NodeFactory, tmp_path: Path) -> None:
    """Variant 2, with the two histories meeting: Eve's map (written to win a merge
    and name her a steward), planted on Bo's node under a share claim, meets the
    real thread when Bo's node links to Ada's. Neither node takes the other's
    history (the thread's starts at its creation record; Eve's does not), Ada's
    node keeps deriving the thread's readers from its creation record, and
    neither node ever sends Eve a byte of the thread."""
    pod = await feedback_pod(nodes, tmp_path)
    a, b = pod.ada, pod.bo
    secrets = secrets_of(a, pod.thread)
    original = set(records_of(a.repo.get(pod.thread)))
    ada_view = await ops.run(a.context, "feedback.thread", {"thread_id": pod.thread})
    ada_before = await views(a)
    async with pod.eve.peer(b) as eve_bo, pod.eve.peer(a) as eve_ada:
        bo_id, ada_id = await eve_bo.handshake(), await eve_ada.handshake()
        await plant_by_share_claim(pod, eve_bo, bo_id)
        await pod.link_steward(same_heads=False)
        url = document_url(pod.thread)
        await eventually(lambda: url in b.status()["contested_documents"])
        assert original == set(records_of(a.repo.get(pod.thread)))
        # Eve goes on asking both nodes for it.
        for peer, target in ((eve_bo, bo_id), (eve_ada, ada_id)):
            await peer.request(pod.thread, target)
            await peer.settled(target)
    for peer in (eve_bo, eve_ada):
        # The id is Eve's own choice here (Bo synced her content under it before the
        # thread arrived); what must never reach her is anything of the thread.
        assert_nothing_of(peer, pod.thread, secrets, name_ok=True)
    assert a.access.readers_of(pod.thread) == frozenset({pod.member["ada"], pod.member["bo"]})
    assert a.ledger.kind(pod.thread) == THREAD_KIND
    assert await ops.run(a.context, "feedback.thread", {"thread_id": pod.thread}) == ada_view
    after = await views(a)
    assert after["roster"] == ada_before["roster"]
    for name in ("feedback.threads", "need.list", "agreement.list", "decision.list"):
        assert after[name] == ada_before[name], name


async def test_a_share_claim_on_a_threads_id_never_gets_the_claimants_changes_to_its_readers(
        nodes: NodeFactory, tmp_path: Path) -> None:
    """As above: Eve claims the thread's id with ``doc.share`` on Bo's node before
    the thread reaches it, and Bo's node keeps her content as her shared document.
    When the two meet, neither node takes the other's history: the thread's
    history starts at its creation record, and Eve's does not. Eve's changes never
    reach the giver's copy, the thread's text never reaches Bo's copy of Eve's
    content, and both nodes report the document as contested (the price: Bo does
    not get this thread on this device; his other threads are unaffected)."""
    pod = await feedback_pod(nodes, tmp_path)
    a, bo = pod.ada, pod.bo
    secrets = secrets_of(a, pod.thread)
    async with pod.eve.peer(bo) as eve_bo:
        bo_id = await eve_bo.handshake()
        planted = await plant_by_share_claim(pod, eve_bo, bo_id)
        await pod.link_steward(same_heads=False)
        url = document_url(pod.thread)
        await eventually(lambda: url in bo.status()["contested_documents"]
                         and url in a.status()["contested_documents"])
    eve_changes = {c.hash for c in planted.get_changes([])}
    held = {c.hash for c in a.repo.get(pod.thread).get_changes([])}
    assert not eve_changes & held, "the leader's changes are in the giver's copy of the thread"
    assert not held - eve_changes & {c.hash for c in bo.repo.get(pod.thread).get_changes([])}
    assert a.access.readers_of(pod.thread) == frozenset({pod.member["ada"], pod.member["bo"]})
    assert_nothing_of(eve_bo, pod.thread, secrets, name_ok=True)


async def test_forged_reader_records_change_no_readers(nodes: NodeFactory, tmp_path: Path) -> None:
    """Reader records Eve signs herself: a reader change in the thread (refused at
    the door: she may not write it), and in the pod document, which she may
    write, a record naming herself her own steward. Ada's next feedback about
    Eve still goes to Bo alone."""
    pod = await feedback_pod(nodes, tmp_path)
    a, m = pod.ada, pod.member
    secrets = secrets_of(a, pod.thread)
    heads = sorted(a.repo.get(pod.thread).get_heads())
    async with pod.eve.peer(a) as eve:
        node_id = await eve.handshake()
        pod_doc = a.config.pod_id
        await eve.follows(a, pod_doc)
        [_, change] = eve_named_a_reader(pod)
        await eve.offer(pod.thread, forged_document([change]), node_id)
        await eve.refused(pod.thread)

        after = tuple(eve.ledger(pod.eve).replay.heads)
        own = pod.eve.sign(pod_doc, Draft("steward.name", {"leader": m["eve"],
                                                          "steward": m["eve"]}, after=after))
        eve.change(pod_doc, lambda tx: put_records(tx, [own]))
        await eve.push(pod_doc, node_id)
        await eventually(lambda: any(c.record.id == own.id for c in a.ledger.pod_records()))
        assert await ops.run(a.context, "feedback.stewards", {"leader": m["eve"]}) == [m["bo"]]

        second = (await ops.run(a.context, "feedback.give", {
            "leader": m["eve"], "text": "and again in the budget meeting"})).thread_id
        assert a.access.readers_of(second) == frozenset({m["ada"], m["bo"]})
        await eve.request(second, node_id)
        await eve.settled(node_id)
    assert_nothing_of(eve, pod.thread, secrets)
    assert_nothing_of(eve, second, secrets_of(a, second), texts=("budget meeting",))
    assert sorted(a.repo.get(pod.thread).get_heads()) == heads
    assert a.access.readers_of(pod.thread) == frozenset({m["ada"], m["bo"]})


async def test_a_forged_kind_changes_no_documents_kind_or_readers(
        nodes: NodeFactory, tmp_path: Path) -> None:
    """``@kind`` written by Eve into documents she may write (the pod document and
    the needs board, claiming to be a feedback thread and a statement) and into
    the thread (refused): every kind, every reader set and every view stays."""
    pod = await feedback_pod(nodes, tmp_path)
    a = pod.ada
    secrets = secrets_of(a, pod.thread)
    before = await views(a)
    board, pod_doc = a.context.collection(needs.KIND), a.config.pod_id
    async with pod.eve.peer(a) as eve:
        node_id = await eve.handshake()
        for doc_id, kind in ((board, THREAD_KIND), (pod_doc, STATEMENT_KIND)):
            await eve.follows(a, doc_id)
            eve.change(doc_id, kind_key(kind))
            eve.change(doc_id, lambda tx: tx.put(am.ROOT, "readers", am.ScalarType.Str,
                                                 pod.member["eve"]))
            await eve.push(doc_id, node_id)
            await eventually(lambda d=doc_id: eve.heads(d) == sorted(a.repo.get(d).get_heads()))
            assert a.repo.get(doc_id).get(am.ROOT, KIND_KEY)[0][1] == kind  # it was taken
        await eve.offer(pod.thread, forged_document([], kind_key("need"), actor=HIGH_ACTOR), node_id)
        await eve.refused(pod.thread)
        await eve.settled(node_id)
    assert_nothing_of(eve, pod.thread, secrets)
    assert await views(a) == before
    assert a.repo.kind_of(board) == needs.KIND and a.repo.kind_of(pod.thread) == THREAD_KIND


async def test_a_thread_planted_before_the_real_one_is_refused_and_the_real_one_arrives_intact(
        nodes: NodeFactory, tmp_path: Path) -> None:
    """Eve and Fay plant documents on Bo's node under the thread's id before the
    thread gets there, holding a *genuine* creation record naming them and Bo
    (a thread Eve really could open, about Fay) — only the record whose hash is
    the id creates it, so nothing is kept, and the real thread arrives intact."""
    pod = await feedback_pod(nodes, tmp_path)
    a, b, m = pod.ada, pod.bo, pod.member
    secrets = secrets_of(a, pod.thread)
    genuine = pod.eve.sign("", creation_draft(THREAD_KIND, [m["eve"], m["bo"], m["fay"]],
                                              {"leader": m["ada"], "text": "planted"}))
    reply = pod.eve.sign(pod.thread, Draft("message", {"text": "planted reply"}, item=genuine.id))
    planted = forged_document([genuine, reply], actor=HIGH_ACTOR)
    async with pod.eve.peer(b) as eve, pod.fay.peer(b) as fay:
        eve_target, fay_target = await eve.handshake(extensions=True), await fay.handshake()
        await eve.offer_refused(pod.thread, planted, eve_target)
        await fay.offer(pod.thread, forged_document([genuine, reply]), fay_target)
        await fay.refused(pod.thread)
        await b.repo.flush()
        assert not b.repo.has(pod.thread) and not b.store.has(pod.thread)

        await pod.link_steward()
        for peer, target in ((eve, eve_target), (fay, fay_target)):
            await peer.request(pod.thread, target)
            await peer.settled(target)
    for peer in (eve, fay):
        assert_nothing_of(peer, pod.thread, secrets)
    assert sorted(b.repo.get(pod.thread).get_heads()) == sorted(a.repo.get(pod.thread).get_heads())
    assert set(records_of(b.repo.get(pod.thread))) == set(records_of(a.repo.get(pod.thread)))
    assert_thread_intact(pod)
    ada_view, bo_view = await thread_views(pod)
    assert ada_view == bo_view and [n["text"] for n in ada_view["messages"]] == [PRIVATE_TEXT]


async def test_a_non_reader_pushing_changes_to_a_private_document_is_refused(
        nodes: NodeFactory, tmp_path: Path) -> None:
    """Eve (the leader) and Fay (a bystander) push hand-made changes into the
    thread where it is held — signed replies and routing records of their own
    and a stray key — by sync and as whole documents, to Ada's and Bo's nodes."""
    pod = await feedback_pod(nodes, tmp_path)
    a, b = pod.ada, pod.bo
    await pod.link_steward()
    secrets = secrets_of(a, pod.thread)
    heads = sorted(a.repo.get(pod.thread).get_heads())
    before = {node.config.member_name: await views(node) for node in (a, b)}
    creation = next(r for r in a.ledger.book.known(pod.thread).records.values() if r.item is None)
    queues = {node.config.member_name: node.repo.subscribe() for node in (a, b)}
    heard: dict[str, list[bytes | None]] = {name: [] for name in queues}

    def ephemeral_at(node: Node) -> list[bytes | None]:
        name = node.config.member_name
        heard[name] += [e.data for e in drain(queues[name]) if e.origin == "ephemeral"]
        return heard[name]

    for insider in (pod.eve, pod.fay):
        records = [insider.sign(pod.thread, Draft(op, body, item=creation.id)) for op, body in (
            ("message", {"text": "let me in"}),
            ("propose", {"route": "dissolved", "statement": ""}))]
        junk = forged_document(records, lambda tx: tx.put(am.ROOT, "note", am.ScalarType.Str,
                                                          "written by a non-reader"))
        for node in (a, b):
            async with insider.peer(node) as peer:
                target = await peer.handshake(extensions=True)
                await peer.offer_refused(pod.thread, junk, target)
                # Ephemeral messages about the thread, both ways, go nowhere.
                await peer.send({"type": "ephemeral", "senderId": peer.peer_id,
                                 "targetId": target, "documentId": pod.thread, "count": 1,
                                 "sessionId": "s", "data": cbor2.dumps("from a non-reader")})
                seen = len(ephemeral_at(node))
                (b if node is a else a).repo.broadcast(pod.thread, cbor2.dumps(PRESENCE))
                await eventually(lambda n=node, k=seen: len(ephemeral_at(n)) > k)
                await peer.settled(target)
            assert_nothing_of(peer, pod.thread, secrets, texts=(PRIVATE_TEXT, PRESENCE))
    # Each node heard the other's presence twice, and never the non-readers' messages.
    assert heard == {"Ada": [cbor2.dumps(PRESENCE)] * 2, "Bo": [cbor2.dumps(PRESENCE)] * 2}
    for node in (a, b):
        await node.repo.flush()
        assert sorted(node.repo.get(pod.thread).get_heads()) == heads
        rows = node.store.load_records(pod.thread).rows
        assert {rid for rid, _, _ in rows} == set(records_of(a.repo.get(pod.thread)))
        assert await views(node) == before[node.config.member_name]


async def offline_threads(home: Home, thread: str) -> tuple[list[str], Any, bool]:
    """As ``podsync feedback threads`` with no node running: the threads listed,
    who reads ``thread``, and whether the thread's records were read to work
    that out (rather than taken as kept in the store)."""
    read: list[bool] = []
    real = saved.establish

    def establish(ledger: Ledger, doc_ids: Any) -> None:
        real(ledger, doc_ids)
        read.append(ledger.book.peek(thread) is not None)

    saved.establish = establish
    try:
        async with offline_context(home) as ctx:
            listed = ops.to_json(await ops.run(ctx, "feedback.threads", {}))
            readers = ctx.ledger.readers(thread)
    finally:
        saved.establish = real
    return [t["thread_id"] for t in json.loads(listed)], readers, read == [True]


async def test_readers_kept_in_the_store_are_worked_out_again_once_records_arrive(
        nodes: NodeFactory, tmp_path: Path) -> None:
    """Who reads Ada's thread is kept in her store (podsync.trust.saved) by her
    node as it stops, with the counts of writes of the thread's and the pod
    document's records it was worked out from, and commands take it. Her node
    runs again and Eve, the thread's leader, pushes records she may write to the
    pod document (naming herself her own steward; claiming the thread's id as a
    document she shares with the pod) and asks for the thread: nothing of it
    reaches her. Had Ada's node been killed before it could keep anything again,
    the next command would find what was kept before the records arrived: it
    does not take it, reads the thread's records again and finds Ada and Bo."""
    pod = await feedback_pod(nodes, tmp_path)
    a, m = pod.ada, pod.member
    secrets, home = secrets_of(a, pod.thread), a.home
    readers = frozenset({m["ada"], m["bo"]})
    await a.stop()
    nodes.nodes.remove(a)
    assert await offline_threads(home, pod.thread) == ([pod.thread], readers, False)
    before = kept_row(home, pod.thread)

    a = await nodes.start("ada")
    async with pod.eve.peer(a) as eve:
        node_id = await eve.handshake()
        pod_doc = a.config.pod_id
        await eve.follows(a, pod_doc)
        own = pod.eve.sign(pod_doc, Draft("steward.name", {"leader": m["eve"], "steward": m["eve"]},
                                          after=tuple(eve.ledger(pod.eve).replay.heads)))
        eve.change(pod_doc, lambda tx: put_records(tx, [own]))
        await eve.push(pod_doc, node_id)
        await eventually(lambda: any(c.record.id == own.id for c in a.ledger.pod_records()))
        await eve.claim(pod.eve, a, node_id, pod.thread)
        await eve.request(pod.thread, node_id)
        await eve.refused(pod.thread)
        await eve.settled(node_id)
    assert_nothing_of(eve, pod.thread, secrets)
    assert a.access.readers_of(pod.thread) == readers
    await a.stop()
    nodes.nodes.remove(a)
    after = kept_row(home, pod.thread)
    assert after[0] != before[0] and after[1:] == before[1:]  # kept again, on the new records
    assert await offline_threads(home, pod.thread) == ([pod.thread], readers, False)

    with sqlite3.connect(home.db_path) as conn:  # as a node killed before keeping it leaves it
        conn.execute("UPDATE document_readers SET basis = ? WHERE doc_id = ?",
                     (before[0], pod.thread))
    assert await offline_threads(home, pod.thread) == ([pod.thread], readers, True)
    assert await offline_threads(home, pod.thread) == ([pod.thread], readers, False)


def kept_row(home: Home, doc_id: str) -> tuple[bytes, str, bytes]:
    """What the store keeps of who reads ``doc_id``: (basis, kind, readers)."""
    with sqlite3.connect(home.db_path) as conn:
        basis, kind, readers = conn.execute(
            "SELECT basis, kind, readers FROM document_readers WHERE doc_id = ?",
            (doc_id,)).fetchone()
    return bytes(basis), kind, bytes(readers)
