"""Export: every item, its state and its history, readable without podsync."""

from __future__ import annotations

import json

import automerge.core as am

from podsync.pod import agreements as ag
from podsync.pod import capacity as c
from podsync.pod import decisions as d
from podsync.pod import export_json, export_markdown
from podsync.pod import feedback as f
from podsync.pod import needs as n
from podsync.pod import teams as t
from tests.pod.helpers import at, new_doc, new_pod_doc, run


def build_pod() -> tuple[dict[str, am.Document], dict[str, str]]:
    pod = new_pod_doc()
    team = run(pod, t.create_team, "ana", at(), "Kitchen Crew", ["ana"])
    run(pod, t.name_steward, "ana", at(), "lee", "sam")
    needs_doc = new_doc(n.init_needs)
    need = run(needs_doc, n.add_need, "ana", at(), "Mend the fence")
    run(needs_doc, n.hold_need, need, "bo", at(1))
    agreements_doc = new_doc(ag.init_agreements)
    agreement = run(agreements_doc, ag.propose_agreement, "ana", at(), "Sweep Fridays", ["bo"])
    run(agreements_doc, ag.affirm_agreement, agreement, "bo", at(1), "easy")
    decisions_doc = new_doc(d.init_decisions)
    decision = run(decisions_doc, d.open_decision, "bo", at(), "Paint shed", "Paint it green",
                   at(3))
    run(decisions_doc, d.give_advice, decision, "ana", at(1), "concern", "green clashes")
    capacity_doc = new_doc(c.init_capacity)
    run(capacity_doc, c.check_in, "bo", at(1), "stretched", "busy month")
    ask = run(capacity_doc, c.ask_mobilizing, "ana", at(1), "bo", need, "how is it going?")
    items_doc = new_doc(t.init_team_items)
    item = run(items_doc, t.add_team_item, "ana", at(), team, "Deep-clean the oven")
    thread = new_doc(lambda tx: f.give_feedback(tx, "gil", at(), "lee", ["sam"], "raw words"))
    pid = run(thread, f.propose_route, "sam", at(1), "leader", "Please let people finish")
    run(thread, f.answer_route, "gil", at(2), pid, True)
    statement = new_doc(lambda tx: f.init_statement(tx, f.plan_route(thread, "sam", pid),
                                                    "sam", at(2)))
    foreign = am.Document()
    with foreign.transaction() as tx:
        tx.put(am.ROOT, "todo", am.ScalarType.Str, "made by another app")
    docs = {"pod": pod, "needs": needs_doc, "agreements": agreements_doc,
            "decisions": decisions_doc, "capacity": capacity_doc, "items": items_doc,
            "thread": thread, "statement": statement, "foreign": foreign}
    ids = {"team": team, "need": need, "agreement": agreement, "decision": decision,
           "ask": ask, "item": item}
    return docs, ids


def test_json_export_contains_every_item_with_state_and_history() -> None:
    docs, ids = build_pod()
    out = json.loads(json.dumps(export_json(docs, at(2))))  # plain JSON all the way
    assert (out["format"], out["version"]) == ("podsync-export", 1)
    assert {x["id"] for x in out["documents"]} == set(docs)
    assert [x["id"] for x in out["teams"]] == [ids["team"]]
    assert out["stewards"] == {"lee": ["sam"]}
    (need,) = out["needs"]
    assert (need["id"], need["state"], need["document"]) == (ids["need"], "held", "needs")
    assert [e["op"] for e in need["history"]] == ["hold"]
    (agreement,) = out["agreements"]
    assert (agreement["id"], agreement["state"], agreement["parties"][0]["note"]) == \
        (ids["agreement"], "active", "easy")
    (decision,) = out["decisions"]
    assert decision["id"] == ids["decision"] and decision["advice"][0]["text"] == "green clashes"
    assert out["checkins"][0]["level"] == "stretched"
    assert out["mobilizing_asks"][0]["id"] == ids["ask"]
    assert [(x["member"], len(x["needs"]), len(x["agreements"])) for x in out["loads"]] == \
        [("bo", 1, 1)]
    assert out["team_items"][0]["id"] == ids["item"]
    assert out["feedback_statements"][0]["statement"] == "Please let people finish"
    assert out["feedback_threads"][0]["messages"][0]["text"] == "raw words"
    assert out["other"] == [{"document": "foreign", "kind": "automerge",
                             "content": {"todo": "made by another app"}}]


def test_markdown_export_names_every_item() -> None:
    docs, ids = build_pod()
    md = export_markdown(docs, at(2))
    for text in ("Kitchen Crew", "Mend the fence — held", "Sweep Fridays — active",
                 "Paint shed — gathering_advice", "green clashes", "bo: stretched",
                 "Deep-clean the oven", "Please let people finish", "raw words", "foreign",
                 "for lee: sam", "bo: within my capacity — easy", *ids.values()):
        assert text in md, text


def test_export_of_nothing_is_an_empty_but_valid_export() -> None:
    out = export_json({}, at())
    assert out["documents"] == [] and out["needs"] == [] and out["loads"] == []
    assert export_markdown({}, at()).startswith("# Pod export")
