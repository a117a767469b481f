"""What a program on a member's own computer can do with the node's token: read
what the member reads through the local automerge-repo endpoint, and nothing
more. It cannot write the pod document, a collection or a private document
(their content is signed records, and an app cannot sign — not even with the
member's own device key in hand), and asking for an id the node lacks names
that id to no other node unless signed records say who reads it.
"""

from __future__ import annotations

import logging
from pathlib import Path

import automerge.core as am
import pytest

from podsync.api import ops
from podsync.ids import document_url, new_document_id
from podsync.node import Node
from podsync.pod import needs
from podsync.records.format import Draft
from podsync.repo.repo import KIND_KEY
from podsync.trust import graph
from tests.attacks.conftest import (
    PRIVATE_TEXT, NodeFactory, eventually, feedback_pod, invite, join_via, roster_of, views,
)
from tests.attacks.hostile import HIGH_ACTOR, Insider, LocalApp, forged_document, put_records
from tests.interop.jsdriver import JsPeer


async def small_pod(nodes: NodeFactory, tmp_path: Path) -> tuple[Node, str]:
    """Ada's node, Bo a member, a need on the board; Bo's member id."""
    a = await nodes.start("ada")
    bo = Insider(await join_via(tmp_path, "bo", await invite(a)))
    await ops.run(a.context, "need.add", {"title": "fix the gate", "detail": "", "sensing": "void"})
    return a, bo.member_id


def snapshot(node: Node) -> dict[str, list[bytes]]:
    return {d: sorted(node.repo.get(d).get_heads()) for d in sorted(node.repo.held_ids())}


async def test_a_local_app_cannot_write_the_pod_document_a_collection_or_a_private_document(
        nodes: NodeFactory, tmp_path: Path) -> None:
    """With Ada's token, an app reads the pod document, the needs board and a
    thread Ada gave, then writes into each: a replaced records map, a ``roster``
    map, ``@kind``, and records validly signed with Ada's own device key (a
    removal of Bo, a need) — by sync and as whole documents. Each is refused
    with doc-unavailable; no heads, record or view changes."""
    pod = await feedback_pod(nodes, tmp_path)
    a, m = pod.ada, pod.member
    ada = Insider(a.home)
    before, heads = await views(a), snapshot(a)
    pod_doc, board = a.config.pod_id, a.context.collection(needs.KIND)
    removal = ada.sign(pod_doc, Draft(graph.REMOVE, {"target": m["bo"]},
                                      after=tuple(a.ledger.replay.heads)))
    assert graph.allows(a.ledger.replay, pod_doc, removal) == ""  # it would count if written
    need = ada.sign(board, needs.add_need("written by an app", "", "void"))

    def rewrite(records: list) -> object:
        def write(tx) -> None:  # noqa: ANN001
            tx.put_object(am.ROOT, "records", am.ObjType.Map)
            put_records(tx, records)
            roster = tx.put_object(am.ROOT, "roster", am.ObjType.Map)
            tx.put(roster, m["bo"], am.ScalarType.Str, "removed")
            tx.put(am.ROOT, KIND_KEY, am.ScalarType.Str, "automerge")
        return write

    async with LocalApp(a) as app:
        node_id = await app.handshake(extensions=True)
        for doc_id, records in ((pod_doc, [removal]), (board, [need]), (pod.thread, [need])):
            await app.request(doc_id, node_id)
            await app.follows(a, doc_id)
            app.change(doc_id, rewrite(records))
            await app.push(doc_id, node_id)
            await app.refused(doc_id)
            whole = forged_document(records, rewrite(records), actor=HIGH_ACTOR)
            await app.offer_whole(doc_id, whole, node_id)
            await app.refused(doc_id, 2)
        await app.settled(node_id)
        # It does read what Ada reads: the refusals are about writing.
        assert app.has_content(pod.thread) and PRIVATE_TEXT.encode() in app.wire()
    await a.repo.flush()
    assert snapshot(a) == heads
    assert await views(a) == before
    for doc_id in (pod_doc, board, pod.thread):
        ids = {rid for rid, _, _ in a.store.load_records(doc_id)[0]}
        assert removal.id not in ids and need.id not in ids, doc_id
    assert m["bo"] in {x.member_id for x in roster_of(a).members if x.status == "active"}


@pytest.mark.slow
async def test_a_real_automerge_repo_app_cannot_change_the_pod_document(
        nodes: NodeFactory, tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    """An unmodified automerge-repo app (npm) on the local endpoint finds the pod
    document and the needs board and changes them as any app would; the node
    refuses both changes and keeps its documents as they were."""
    caplog.set_level(logging.INFO, logger="podsync.sync")
    a, bo = await small_pod(nodes, tmp_path)
    before, heads = await views(a), snapshot(a)
    pod_doc, board = a.config.pod_id, a.context.collection(needs.KIND)
    app = await JsPeer.start("client", a.local_ws_url)
    try:
        for doc_id, path, value in ((pod_doc, ["records"], {}),
                                    (pod_doc, ["roster", bo], "removed"),
                                    (board, [KIND_KEY], "automerge")):
            url = document_url(doc_id)
            found = await app.call("find", url=url, timeoutMs=5000)
            assert found["ok"], found
            await app.call("change", url=url, path=path, value=value)
        # The node logs each refusal; wait for both (a change it took would show
        # in the heads compared below).
        await eventually(lambda: {r.getMessage().rsplit(" ", 1)[-1] for r in caplog.records
                                  if "refused change for document" in r.getMessage()}
                         >= {pod_doc, board})
    finally:
        await app.close()
    await a.repo.flush()
    assert snapshot(a) == heads
    assert await views(a) == before


async def test_a_request_for_a_private_id_the_node_lacks_is_forwarded_to_nobody(
        nodes: NodeFactory, tmp_path: Path) -> None:
    """Bo's node does not hold the thread Ada gave about Eve. Bo's local app asks
    for it by id; Eve's and Fay's nodes, linked to Bo's, must not receive a
    request naming it. The control: an id a signed record shares with the pod
    (one Eve brought) is asked of them, so the recording would show it."""
    pod = await feedback_pod(nodes, tmp_path)
    b = pod.bo
    stray, shared = new_document_id(), new_document_id()
    async with pod.eve.peer(b) as eve, pod.fay.peer(b) as fay, LocalApp(b) as app:
        eve_id, fay_id = await eve.handshake(), await fay.handshake()
        await eve.claim(pod.eve, b, eve_id, shared)
        app_target = await app.handshake()
        for doc_id in (pod.thread, stray):
            await app.request(doc_id, app_target)
            await app.refused(doc_id)
        await app.request(shared, app_target)
        for peer in (eve, fay):
            await eventually(lambda p=peer: "request" in p.types_about(shared))
            await peer.settled(eve_id if peer is eve else fay_id)
        await app.refused(shared)
    for peer in (eve, fay):
        assert peer.about(pod.thread) == [] and peer.about(stray) == []
        assert pod.thread.encode() not in peer.wire()
    assert not b.repo.has(pod.thread)
