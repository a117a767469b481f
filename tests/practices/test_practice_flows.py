"""Each practice through the operations, across two real nodes of one pod."""

from __future__ import annotations

import datetime as dt

import pytest

from podsync.errors import NotFound, NotPermitted, TransitionRefused
from tests.node.conftest import NodeFactory
from tests.practices.helpers import by_id, call, holds_collections, until


def _soon(days: int) -> str:
    return (dt.datetime.now(dt.timezone.utc) + dt.timedelta(days=days)).isoformat()


async def test_advice_process_asks_listens_integrates_and_decides(nodes: NodeFactory) -> None:
    a = await nodes.start("ada")
    b = await nodes.start("bo", peers=[a.listen_addresses[0]])
    await holds_collections(b)
    bo = b.config.member_id
    decision = (await call(a, "decision.start", title="Buy a cargo bike",
                           proposal="The pod buys a shared cargo bike", deadline=_soon(7)))["id"]
    await call(a, "decision.ask", id=decision, member=bo, reason="affected", note="you cycle most")
    with pytest.raises(TransitionRefused, match="waiting for"):
        await call(a, "decision.decide", id=decision, text="We buy it")
    await until(b, "decision.get", lambda d: d["asked"], id=decision)
    with pytest.raises(NotPermitted):
        await call(b, "decision.decide", id=decision, text="We do not")
    advised = await call(b, "decision.advise", id=decision, stance="concern",
                         text="Where would it be stored?")
    await until(a, "decision.get", lambda d: d["advice"], id=decision)
    with pytest.raises(TransitionRefused, match="integrated"):
        await call(a, "decision.decide", id=decision, text="We buy it")
    await call(a, "decision.integrate", id=decision, advice_id=advised["advice_id"],
               integrated=True, why="It goes in the shed; I cleared a corner")
    review_on = (dt.date.today() + dt.timedelta(days=90)).isoformat()
    decided = await call(a, "decision.decide", id=decision, text="We buy it; stored in the shed",
                         review_on=review_on)
    assert decided["state"] == "decided" and decided["review_on"] == review_on
    seen = await until(b, "decision.get", lambda d: d["state"] == "decided", id=decision)
    [advice] = seen["advice"]
    assert advice["asked"] and advice["integration"]["integrated"] is True
    assert seen["asked"][0]["answered"] and seen["asked"][0]["reason"] == "affected"
    assert seen["basis"] == {"kind": "advice", "advice": [advised["advice_id"]], "reason": ""}


async def test_capacity_check_ins_load_and_what_a_low_check_in_brings_up(
        nodes: NodeFactory) -> None:
    a = await nodes.start("ada")
    b = await nodes.start("bo", peers=[a.listen_addresses[0]])
    await holds_collections(b)
    ada, bo = a.config.member_id, b.config.member_id
    need = (await call(a, "need.add", title="Sort the tool library"))["id"]
    await until(b, "need.list", lambda ns: by_id(ns, need))
    await call(b, "need.take", id=need)
    await call(b, "capacity.set", level="baseline")
    await call(b, "capacity.set", level="stretched", note="exams this month")
    load = await until(a, "capacity.list", lambda rows: (by_id(rows, bo, "member") or {})
                       .get("current") and by_id(rows, bo, "member")["current"]["level"] == "stretched"
                       and by_id(rows, bo, "member")["load"]["needs"])
    row = by_id(load, bo, "member")
    assert row["name"] == "Bo" and [n["id"] for n in row["load"]["needs"]] == [need]
    assert [c["level"] for c in row["history"]] == ["baseline", "stretched"]
    assert by_id(load, ada, "member")["current"] is None

    agreement = (await call(a, "agreement.propose", what="Bo sorts tools on Sundays",
                            parties=[bo]))["id"]
    await until(b, "agreement.list", lambda xs: by_id(xs, agreement))
    await call(b, "agreement.affirm", id=agreement)
    checked = await call(b, "capacity.set", level="depleted", note="exams and a cold")
    assert [(x["kind"], x["id"], x["question"]) for x in checked["review"]] == \
        [("agreement", agreement, "Still within my capacity?"),
         ("need", need, "Still within my capacity?")]
    assert (await call(b, "capacity.set", level="baseline"))["review"] == []
    await call(b, "agreement.strain", id=agreement, note="not this month")
    row = by_id(await until(a, "capacity.list", lambda rows: by_id(rows, bo, "member")["strained"]),
                bo, "member")
    assert [x["id"] for x in row["strained"]] == [agreement] and row["load"]["agreements"] == []


async def test_discernment_held_together_and_carried_out_by_the_members_node(
        nodes: NodeFactory) -> None:
    a = await nodes.start("ada")
    b = await nodes.start("bo", peers=[a.listen_addresses[0]])
    await holds_collections(b)
    ada, bo = a.config.member_id, b.config.member_id
    need = (await call(a, "need.add", title="Sort the tool library"))["id"]
    await until(b, "need.list", lambda ns: by_id(ns, need))
    await call(b, "need.take", id=need)
    await until(a, "need.get", lambda n: n["state"] == "held", id=need)
    ask = (await call(a, "mobilizing.ask", member=bo, need_id=need,
                      question="Are you mobilizing on this, with exams on?"))["id"]
    assert (await call(a, "mobilizing.get", ask_id=ask))["about"] == "held"
    await until(b, "mobilizing.awaiting", lambda xs: [x["ask"] for x in xs] == [ask])
    await call(b, "mobilizing.view", ask_id=ask, within="little: exams", void="the tools pile up")
    await call(a, "mobilizing.view", ask_id=ask, around="I have Saturdays free")
    await until(b, "mobilizing.get", lambda x: len(x["views"]) == 2, ask_id=ask)
    proposal = (await call(b, "mobilizing.propose", ask_id=ask, outcome="release",
                           note="until June"))["proposals"][0]["id"]
    assert (await call(b, "mobilizing.get", ask_id=ask))["state"] == "open"
    with pytest.raises(NotFound):
        await call(a, "mobilizing.confirm", ask_id=ask, proposal_id="f" * 32)
    await until(a, "mobilizing.get", lambda x: x["proposals"], ask_id=ask)
    # Ada confirms on her node; only Bo may let go of his need: his node does, by itself.
    confirmed = await call(a, "mobilizing.confirm", ask_id=ask, proposal_id=proposal)
    assert (confirmed["state"], confirmed["outcome"]["outcome"]) == ("discerned", "release")
    for node in (a, b):
        released = await until(node, "need.get", lambda n: n["state"] == "open", id=need)
        assert [e["by"] for e in released["history"] if e["op"] == "release"] == [bo]
        followed = await until(node, "mobilizing.get", lambda x: x["followed"], ask_id=ask)
        assert followed["followed"]["done"] == "released"

    # Asked about a pattern, Bo proposes to ask for support: confirmed, his node opens the need.
    pattern = (await call(a, "mobilizing.ask", member=bo, question="Do you rest?"))["id"]
    assert (await call(a, "mobilizing.get", ask_id=pattern))["about"] == "pattern"
    await until(b, "mobilizing.get", lambda x: x, ask_id=pattern)
    support = (await call(b, "mobilizing.propose", ask_id=pattern, outcome="ask_for_support",
                          title="Someone cooks for Bo on exam days"))["proposals"][0]["id"]
    await until(a, "mobilizing.get", lambda x: x["proposals"], ask_id=pattern)
    await call(a, "mobilizing.confirm", ask_id=pattern, proposal_id=support)
    opened = await until(a, "need.list", lambda ns: [
        n for n in ns if n["title"] == "Someone cooks for Bo on exam days"])
    assert [n["created_by"] for n in opened if n["title"].startswith("Someone")] == [bo]
    assert ada != bo


async def test_teams_and_their_items(nodes: NodeFactory) -> None:
    a = await nodes.start("ada")
    b = await nodes.start("bo", peers=[a.listen_addresses[0]])
    await holds_collections(b)
    bo = b.config.member_id
    team = (await call(a, "team.add", name="Garden", members=[a.config.member_id]))["id"]
    invited = await call(a, "team.join", team_id=team, member=bo)
    assert (invited["members"], invited["invited"]) == ([a.config.member_id], [bo])
    await until(b, "team.list", lambda ts: by_id(ts, team) and by_id(ts, team)["invited"])
    joined = await call(b, "team.accept", team_id=team)
    assert sorted(joined["members"]) == sorted([a.config.member_id, bo])
    item = (await call(a, "team.item_add", team_id=team, title="Compost is overflowing"))["id"]
    items = await until(b, "team.items", lambda xs: by_id(xs, item), team_id=team)
    assert by_id(items, item)["origin"] == "member"
    addressed = await call(b, "team.item_address", id=item, note="Built a second bin")
    assert addressed["state"] == "addressed"
    left = await call(b, "team.leave", team_id=team, member=bo)
    assert left["members"] == [a.config.member_id]
    with pytest.raises(NotFound):
        await call(b, "team.items", team_id="no-such-team")


async def test_only_active_members_act_or_are_named(nodes: NodeFactory) -> None:
    a = await nodes.start("ada")
    b = await nodes.start("bo", peers=[a.listen_addresses[0]])
    await holds_collections(b)
    ada, bo = a.config.member_id, b.config.member_id
    need = (await call(a, "need.add", title="Fix the gate"))["id"]
    await until(b, "need.list", lambda ns: by_id(ns, need))
    # Bo leaves the pod from his own node: from then on it refuses to act for him.
    await call(b, "members.remove", target=bo)
    with pytest.raises(NotPermitted, match="removed"):
        await call(b, "need.take", id=need)
    with pytest.raises(NotPermitted, match="removed"):
        await call(b, "need.add", title="After leaving")
    await until(a, "members.list", lambda ms: by_id(ms, bo, "member_id")["status"] == "removed")
    with pytest.raises(NotFound, match="no active member"):
        await call(a, "agreement.propose", what="x", parties=[ada, bo])
    with pytest.raises(NotFound, match="no active member"):
        await call(a, "mobilizing.ask", member=bo, need_id=need)
    assert [(n["title"], n["holders"]) for n in await call(a, "need.list")] == [("Fix the gate", [])]
