"""Export round trip: everything a member may read in the pod is in their export."""

from __future__ import annotations

import datetime as dt
import json

from tests.node.conftest import NodeFactory
from tests.practices.helpers import by_id, call, holds_collections, steward_by_consent, until

#: Whether an item is in the archive (said by every listing); the export holds
#: items archived or not, each as the API shows it.
LISTING_ONLY_FIELDS = ("archived",)


def _without(record: dict, *keys: str) -> dict:
    return {k: v for k, v in record.items() if k not in keys}


async def test_the_json_export_holds_every_record_a_member_may_read(nodes: NodeFactory) -> None:
    steward = await nodes.start("sam")
    leader = await nodes.start("lee", peers=[steward.listen_addresses[0]])
    giver = await nodes.start("gil", peers=[steward.listen_addresses[0], leader.listen_addresses[0]])
    for node in (steward, leader, giver):
        await holds_collections(node)
    await until(giver, "members.list", lambda ms: len(ms) == 3)
    sam, lee, gil = (n.config.member_id for n in (steward, leader, giver))

    need = (await call(giver, "need.add", title="Mend the fence", detail="north side"))["id"]
    await call(giver, "need.take", id=need, point_of_contact=True)
    await call(giver, "need.note", id=need, text="posts are rotten")
    agreement = (await call(giver, "agreement.propose", what="Gil mends the fence by May",
                            parties=[gil], anchors=[{"kind": "principle", "ref": "care"}],
                            review_on=(dt.date.today() + dt.timedelta(days=30)).isoformat()))["id"]
    await call(giver, "agreement.affirm", id=agreement, note="I have the weekend")
    decision = (await call(giver, "decision.start", title="New fence posts", proposal="Oak posts",
                           deadline=(dt.datetime.now(dt.timezone.utc)
                                     + dt.timedelta(days=3)).isoformat()))["id"]
    checkin = (await call(giver, "capacity.set", level="spacious"))["id"]
    await until(steward, "need.list", lambda ns: by_id(ns, need))
    ask = (await call(steward, "mobilizing.ask", member=gil, need_id=need))["id"]
    team = (await call(giver, "team.add", name="Grounds", members=[gil, sam]))["id"]
    item = (await call(giver, "team.item_add", team_id=team, title="Order posts"))["id"]
    nomination = await steward_by_consent(giver, leader, steward)
    thread = (await call(giver, "feedback.give", leader=lee, text="raw words"))["thread_id"]
    await until(steward, "feedback.threads", lambda ts: by_id(ts, thread, "thread_id"))
    proposal = (await call(steward, "feedback.propose_route", thread_id=thread, route="leader",
                           statement="clear words"))["proposal_id"]
    await until(giver, "feedback.thread", lambda t: t["proposals"], thread_id=thread)
    await call(giver, "feedback.consent", thread_id=thread, proposal_id=proposal, consent=True,
               named=True)
    await until(steward, "feedback.thread", lambda t: t["proposals"][0]["consent"], thread_id=thread)
    statement = (await call(steward, "feedback.route", thread_id=thread,
                            proposal_id=proposal))["target_doc"]
    await until(giver, "feedback.statement", lambda s: s, statement_id=statement)
    await until(giver, "mobilizing.list", lambda xs: by_id(xs, ask))
    # The steward's outcome travels in the pod document, apart from the statement.
    await until(giver, "feedback.summary", lambda s: s["total"] == 1)

    # Every document the node holds as it exports (stored, or arrived and still
    # being written: peers keep syncing meanwhile).
    held_before = giver.repo.held_ids()
    exported = await call(giver, "pod.export", format="json")
    held_after = giver.repo.held_ids()
    assert exported["format"] == "json"
    data = json.loads(json.dumps(exported["content"]))
    listed = {d["id"] for d in data["documents"]}
    assert held_before <= listed <= held_after
    held = listed
    assert {thread, statement} <= held
    for section, name, key in (("needs", "need.list", "id"), ("agreements", "agreement.list", "id"),
                               ("decisions", "decision.list", "id"),
                               ("mobilizing_asks", "mobilizing.list", "id"),
                               ("teams", "team.list", "id"), ("team_items", "team.items", "id")):
        listed = await call(giver, name)
        assert listed, section
        for record in listed:
            found = by_id(data[section], record[key], key)
            assert found is not None, (section, record[key])
            assert _without(found, "document") == _without(record, *LISTING_ONLY_FIELDS), section
    for section, item_id in (("needs", need), ("agreements", agreement), ("decisions", decision),
                             ("mobilizing_asks", ask), ("teams", team), ("team_items", item)):
        assert by_id(data[section], item_id), (section, item_id)
    assert {c["id"] for c in data["checkins"]} == {checkin}
    assert data["stewards"] == {lee: [sam]}
    assert [(n["id"], n["state"]) for n in data["steward_nominations"]] == [(nomination, "active")]
    assert data["feedback_summary"]["total"] == 1
    [exported_thread] = data["feedback_threads"]
    assert exported_thread["document"] == thread and exported_thread["messages"][0]["text"] == "raw words"
    [exported_statement] = data["feedback_statements"]
    assert exported_statement["document"] == statement
    assert exported_statement["statement"] == "clear words"
    assert {m["member_id"] for m in data["roster"]["members"]} == {sam, lee, gil}
    assert by_id(data["loads"], gil, "member")["needs"] == [{"id": need, "title": "Mend the fence"}]

    markdown = (await call(giver, "pod.export", format="markdown"))["content"]
    for words in ("Mend the fence", "Gil mends the fence by May", "New fence posts", "Order posts",
                  "clear words", "raw words", "posts are rotten"):
        assert words in markdown

    # The leader's export holds the statement delivered to them, never the thread.
    await until(leader, "feedback.received", lambda ss: by_id(ss, statement, "statement_id"))
    theirs = (await call(leader, "pod.export", format="json"))["content"]
    assert thread not in {d["id"] for d in theirs["documents"]}
    assert theirs["feedback_threads"] == []
    assert [s["document"] for s in theirs["feedback_statements"]] == [statement]
