"""The practices' consent rules across real nodes cut off from each other, then
meeting again: two sides of a discernment confirming different outcomes, a
revision and an affirmation of the old version, a steward nomination and a
removal."""

from __future__ import annotations

from podsync.addresses import ADDRESS_BOOK_NAME
from podsync.node import Node
from tests.node.conftest import NodeFactory
from tests.practices.helpers import (
    by_id, call, holds_collections, steward_by_consent, until,
)


async def _alone(nodes: NodeFactory, node: Node) -> Node:
    """Stop ``node`` and start it again on a new port, dialing nobody: the others
    keep dialing the port it left, so it stays apart until told to link."""
    await node.stop()
    nodes.nodes.remove(node)
    (node.home.root / ADDRESS_BOOK_NAME).unlink(missing_ok=True)
    again = await nodes.start(node.home.root.name)
    assert not [p for p in again.status()["peers"] if p["connected"]]
    return again


def _apart(*nodes: Node) -> bool:
    return not any(p["connected"] for n in nodes for p in n.status()["peers"])


async def test_two_sides_confirming_different_outcomes_need_reconciliation(
        nodes: NodeFactory) -> None:
    a = await nodes.start("ada")
    b = await nodes.start("bo", peers=[a.listen_addresses[0]])
    c = await nodes.start("cy", peers=[a.listen_addresses[0], b.listen_addresses[0]])
    for node in (b, c):
        await holds_collections(node)
    bo = b.config.member_id
    need = (await call(a, "need.add", title="Cook every night"))["id"]
    await until(b, "need.get", lambda n: n, id=need)
    await call(b, "need.take", id=need)
    await until(a, "need.get", lambda n: n["state"] == "held", id=need)
    ask = (await call(a, "mobilizing.ask", member=bo, need_id=need))["id"]
    await until(c, "mobilizing.get", lambda x: x, ask_id=ask)
    await call(c, "mobilizing.view", ask_id=ask, around="I can cook twice a week")
    await until(b, "mobilizing.get", lambda x: len(x["participants"]) == 3, ask_id=ask)
    keep = (await call(b, "mobilizing.propose", ask_id=ask, outcome="continue"))["proposals"][0]["id"]
    for node in (a, c):
        await until(node, "mobilizing.get", lambda x: x["proposals"], ask_id=ask)

    c = await _alone(nodes, c)
    # Cy's side: she confirms Bo's "continue". Ada's and Bo's side: they discern a release.
    assert (await call(c, "mobilizing.confirm", ask_id=ask, proposal_id=keep))["outcome"][
        "outcome"] == "continue"
    release = (await call(a, "mobilizing.propose", ask_id=ask, outcome="release"))["proposals"]
    release_id = next(p["id"] for p in release if p["outcome"] == "release")
    await until(b, "mobilizing.get", lambda x: len(x["proposals"]) == 2, ask_id=ask)
    await call(b, "mobilizing.confirm", ask_id=ask, proposal_id=release_id)
    await until(a, "need.get", lambda n: n["state"] == "open", id=need)  # Bo's node let go
    assert _apart(c)

    c.dial(a.listen_addresses[0])
    for node in (a, b, c):
        seen = await until(node, "mobilizing.get", lambda x: x["needs_reconciliation"],
                           ask_id=ask)
        assert sorted(x["fields"]["outcome"] for x in seen["candidates"]) == \
            ["continue", "release"]
        assert seen["outcome"] is None
    choice = next(x["id"] for x in seen["candidates"] if x["fields"]["outcome"] == "continue")
    settled = await call(c, "mobilizing.settle", ask_id=ask, choice=choice)
    assert (settled["needs_reconciliation"], settled["outcome"]["outcome"]) == (False, "continue")
    for node in (a, b):
        await until(node, "mobilizing.get", lambda x: not x["needs_reconciliation"]
                    and x["outcome"]["outcome"] == "continue", ask_id=ask)


async def test_a_revision_and_an_affirmation_of_the_old_version_made_apart(
        nodes: NodeFactory) -> None:
    a = await nodes.start("ada")
    b = await nodes.start("bo", peers=[a.listen_addresses[0]])
    await holds_collections(b)
    ada, bo = a.config.member_id, b.config.member_id
    agreement = (await call(a, "agreement.propose", what="Bins out on Sunday evening",
                            parties=[ada, bo]))["id"]
    await call(a, "agreement.affirm", id=agreement)
    await until(b, "agreement.get", lambda x: x["parties"][0]["affirmed"], id=agreement)

    a = await _alone(nodes, a)
    revised = await call(a, "agreement.revise", id=agreement, what="Bins out on Monday morning")
    assert (revised["state"], revised["version"]) == ("proposed", 2)
    assert (await call(b, "agreement.affirm", id=agreement))["state"] == "active"
    assert _apart(a, b)

    a.dial(b.listen_addresses[0])
    for node in (a, b):
        seen = await until(node, "agreement.get", lambda x: x["needs_reconciliation"],
                           id=agreement)
        assert sorted((x["state"], x["fields"]["what"]) for x in seen["candidates"]) == \
            [("active", "Bins out on Sunday evening"), ("proposed", "Bins out on Monday morning")]
    monday = next(x["id"] for x in seen["candidates"] if x["state"] == "proposed")
    settled = await call(b, "agreement.settle", id=agreement, choice=monday)
    assert (settled["state"], settled["what"]) == ("proposed", "Bins out on Monday morning")
    await call(b, "agreement.affirm", id=agreement)
    await until(a, "agreement.get", lambda x: x["parties"][1]["affirmed"], id=agreement)
    assert (await call(a, "agreement.affirm", id=agreement))["state"] == "active"


async def test_a_steward_nomination_and_a_removal_made_apart(nodes: NodeFactory) -> None:
    a = await nodes.start("ana")
    lee = await nodes.start("lee", peers=[a.listen_addresses[0]])
    sam = await nodes.start("sam", peers=[a.listen_addresses[0], lee.listen_addresses[0]])
    for node in (lee, sam):
        await holds_collections(node)
    await until(a, "members.list", lambda ms: len(ms) == 3)
    first = await steward_by_consent(a, lee, sam)
    leader, ana, sam_id = lee.config.member_id, a.config.member_id, sam.config.member_id

    a = await _alone(nodes, a)
    # Ana's side: she proposes herself as Lee's steward too. Lee's side: Lee ends Sam's role.
    second = (await call(a, "steward.propose", leader=leader, steward=ana))["id"]
    await call(a, "steward.affirm", id=second, note="I have the time this year")
    ended = await call(lee, "steward.remove", id=first, note="Sam asked for a break")
    assert (ended["state"], ended["ending"], ended["ended_by"]) == ("ended", "removed", leader)
    assert await call(a, "feedback.stewards", leader=leader) == [sam_id]
    assert _apart(a)

    a.dial(lee.listen_addresses[0])
    a.dial(sam.listen_addresses[0])
    for node in (a, lee, sam):
        listed = await until(node, "steward.list", lambda ns: len(ns) == 2 and by_id(ns, first)[
            "state"] == "ended")
        assert by_id(listed, second)["state"] == "proposed"
        assert await call(node, "feedback.stewards", leader=leader) == []
    # Nobody listens for Lee until Lee consents to the new nomination.
    await until(lee, "steward.list", lambda ns: by_id(ns, second)["affirmed_at"])
    await call(lee, "steward.consent", id=second)
    for node in (a, lee, sam):
        await until(node, "feedback.stewards", lambda s: s == [ana], leader=leader)
