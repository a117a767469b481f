"""Two real nodes edit the same need and agreement while apart, then meet again.

Every edit survives the merge; different state changes made while apart show the
item as needing reconciliation with each candidate, and a member settles it.
"""

from __future__ import annotations

import pytest

from podsync.errors import TransitionRefused
from podsync.node import Node
from tests.node.conftest import NodeFactory
from tests.practices.helpers import by_id, call, holds_collections, until


async def _apart(nodes: NodeFactory, node: Node) -> Node:
    """Stop ``node`` and start it again on a new port, dialing nobody.

    Used on the founder: it has no remembered peers, and the other node keeps
    dialing the port it left, so the two stay apart until told to link.
    """
    await node.stop()
    nodes.nodes.remove(node)
    return await nodes.start(node.home.root.name)


def _notes(item: dict) -> set[str]:
    return {n["text"] for n in item["notes"]}


async def test_edits_made_apart_all_survive_and_conflicts_are_settled(nodes: NodeFactory) -> None:
    a = await nodes.start("ada")
    b = await nodes.start("bo", peers=[a.listen_addresses[0]])
    await holds_collections(b)
    ada, bo = a.config.member_id, b.config.member_id
    need = (await call(a, "need.add", title="Fix the gate"))["id"]
    shared = (await call(a, "need.add", title="Cook on Friday"))["id"]
    agreement = (await call(a, "agreement.propose", what="Bins out on Sunday evening",
                            parties=[ada, bo], anchors=[{"kind": "need", "ref": need}]))["id"]
    await call(a, "agreement.affirm", id=agreement, note="fits my week")
    await until(b, "agreement.list", lambda xs: by_id(xs, agreement))
    await call(b, "agreement.affirm", id=agreement)
    await until(a, "agreement.get", lambda x: x["state"] == "active", id=agreement)
    await until(b, "need.list", lambda ns: by_id(ns, shared))

    a = await _apart(nodes, a)
    await call(a, "need.let_be", id=need, reason="the landlord fixes it")
    await call(a, "need.note", id=need, text="ada: asked the landlord")
    await call(a, "need.take", id=shared)
    await call(a, "agreement.pause", id=agreement, note="away for a month")
    await call(a, "agreement.note", id=agreement, text="ada: paused while travelling")
    ada_need = (await call(a, "need.add", title="Ada's new need"))["id"]

    await call(b, "need.take", id=need, point_of_contact=True)
    await call(b, "need.note", id=need, text="bo: I have the tools")
    await call(b, "need.take", id=shared)
    await call(b, "agreement.strain", id=agreement, note="we moved the bins")
    await call(b, "agreement.remind", id=agreement)
    bo_need = (await call(b, "need.add", title="Bo's new need"))["id"]

    assert not [p for p in a.status()["peers"] if p["connected"]]
    a.dial(b.listen_addresses[0])
    for node in (a, b):
        board = await until(node, "need.list", lambda ns: by_id(ns, ada_need) and by_id(ns, bo_need)
                            and by_id(ns, need)["needs_reconciliation"]
                            and len(by_id(ns, shared)["holders"]) == 2)
        conflicted = by_id(board, need)
        assert sorted(c["state"] for c in conflicted["candidates"]) == ["held", "let_be"]
        assert _notes(conflicted) == {"ada: asked the landlord", "bo: I have the tools"}
        assert {e["op"] for e in conflicted["history"]} == {"let_be", "note", "hold"}
        agreed = by_id(board, shared)
        assert not agreed["needs_reconciliation"] and agreed["state"] == "held"
        assert {h["member"] for h in agreed["holders"]} == {ada, bo}
        current = await until(node, "agreement.get", lambda x: x["needs_reconciliation"]
                              and x["reminders"] == [bo], id=agreement)
        assert sorted(c["state"] for c in current["candidates"]) == ["paused", "renegotiating"]
        assert _notes(current) == {"ada: paused while travelling"}

    with pytest.raises(TransitionRefused):
        await call(a, "need.reopen", id=need)
    with pytest.raises(TransitionRefused):
        await call(b, "agreement.resume", id=agreement)

    settled = await call(a, "need.settle", id=need, choice="held")
    assert settled["state"] == "held" and not settled["needs_reconciliation"]
    assert settled["holders"][0]["member"] == bo and settled["point_of_contact"] == bo
    choice = next(c["id"] for c in current["candidates"] if c["state"] == "paused")
    assert (await call(b, "agreement.settle", id=agreement, choice=choice))["state"] == "paused"
    for node in (a, b):
        await until(node, "need.get", lambda x: x["state"] == "held"
                    and not x["needs_reconciliation"], id=need)
        await until(node, "agreement.get", lambda x: x["state"] == "paused"
                    and not x["needs_reconciliation"], id=agreement)
    resumed = await call(a, "agreement.resume", id=agreement)
    assert resumed["state"] == "active"
    await until(b, "agreement.get", lambda x: x["state"] == "active", id=agreement)
