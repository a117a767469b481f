"""Export: every item, its state and its history, readable without podsync."""

from __future__ import annotations

import json

from podsync.pod import feedback as f
from podsync.pod import needs as n
from podsync.pod import statements as st
from podsync.pod.export import Contents, export_json, export_markdown
from podsync.records.format import Draft
from podsync.trust.ledger import FOREIGN_KIND, POD_KIND
from tests.pod.helpers import Pod, at
from tests.pod.test_feedback import create, document

# Views of practices whose modules build them from their own records; here they
# are given as data in the shape their listing operations return, since what is
# under test is how the export lays them out.
TEAM = {"id": "team1", "name": "Kitchen Crew", "created_by": "ana", "created_at": "t",
        "members": ["ana"]}
AGREEMENT = {"id": "agr1", "created_by": "ana", "created_at": "t", "state": "active",
             "version": 1, "what": "Sweep Fridays", "review_on": None, "renewed_at": None,
             "parties": [{"member": "bo", "affirmed": True, "affirmed_at": "t", "note": "easy",
                          "no_longer": None}],
             "anchors": [], "versions": [], "revision": None, "reminders": [], "notes": [],
             "needs_reconciliation": False, "candidates": [], "history": []}
DECISION = {"id": "dec1", "title": "Paint shed", "proposal": "Paint it green", "decider": "bo",
            "created_at": "t", "deadline": "t", "state": "gathering_advice", "asked": [],
            "advice": [{"id": "a1", "by": "ana", "at": "t", "stance": "concern",
                        "text": "green clashes", "asked": False, "integration": None}],
            "decision": None, "decided_at": None, "review_on": None, "basis": None,
            "withdrawn_note": None, "links": [{"kind": "need", "ref": "need1"}],
            "deadline_moves": [], "notes": [],
            "needs_reconciliation": False, "candidates": [], "history": []}
CHECKIN = {"id": "chk1", "member": "bo", "at": "t", "level": "stretched", "note": "busy month"}
ASK = {"id": "ask1", "asker": "ana", "member": "bo", "about": "held", "need": "need1",
       "question": "how is it going?", "created_at": "t", "state": "discerned",
       "participants": ["ana", "bo"],
       "views": [{"id": "v1", "by": "bo", "at": "t", "purpose": "", "within": "tired",
                  "around": "", "void": "", "over": ""}],
       "proposals": [{"id": "p1", "by": "ana", "at": "t", "outcome": "release", "note": "",
                      "title": "", "need": None, "confirmed_by": ["ana", "bo"]}],
       "outcome": {"id": "p1", "by": "ana", "at": "t", "outcome": "release", "note": "",
                   "title": "", "need": None, "confirmed_by": ["ana", "bo"]},
       "followed": None, "notes": [], "needs_reconciliation": False, "candidates": [],
       "history": []}
ALLIES = {"id": "al1", "allies": ["ana", "bo"], "focus": "watering shoots", "every_days": 7,
          "state": "active", "created_at": "t", "since": "t", "last_met": None, "met_note": "",
          "due_at": "t2", "due": False, "stopped_note": None, "needs_reconciliation": False,
          "candidates": [], "history": []}
NOMINATION = {"id": "nom1", "leader": "lee", "steward": "sam", "proposed_by": "ana",
              "proposed_at": "t", "note": "", "state": "active", "affirmed_at": "t",
              "affirm_note": "", "consented_at": "t", "consent_note": "", "ended_by": None,
              "ended_at": None, "ending": None, "ending_note": ""}
TEAM_ITEM = {"id": "item1", "team": "team1", "title": "Deep-clean the oven", "detail": "",
             "origin": "member", "created_by": "ana", "created_at": "t", "state": "open",
             "addressed_note": None, "notes": [], "needs_reconciliation": False,
             "candidates": [], "history": []}
LOAD = {"member": "bo", "capacity": "stretched", "capacity_note": "busy month",
        "checked_in_at": "t", "needs": [{"id": "need1", "title": "Mend the fence"}],
        "agreements": [{"id": "agr1", "title": "Sweep Fridays"}], "strained": []}


def build() -> tuple[Contents, Pod, dict[str, str]]:
    """A real pod's needs board and feedback (signed records), and views of the rest."""
    pod = Pod(("ana", "bo", "gil", "lee", "sam"))
    ids = pod.id
    board = pod.collections[n.KIND]
    need = pod.do(board, n.add_need("Mend the fence"), "ana", at()).id
    pod.do(board, n.hold_need(pod.item(board, need, n.ADD), ids["bo"]), "bo", at(1))
    thread = create(pod, f.give_feedback(ids["gil"], ids["lee"], [ids["sam"]], "raw words"),
                    "gil", at())
    pid = pod.do(thread, f.propose_route(document(pod, thread), ids["sam"], "leader",
                                         "Please let people finish"), "sam", at(1)).id
    pod.do(thread, f.answer_route(document(pod, thread), ids["gil"], pid, True), "gil", at(2))
    statement = create(pod, st.statement_opening(f.plan_route(document(pod, thread), ids["sam"],
                                                              pid)), "sam", at(2))
    pod.do(thread, f.record_route(document(pod, thread), ids["sam"], pid, statement), "sam", at(3))

    out = Contents()
    out.document(pod.pod_id, POD_KIND)
    out.roster = pod.ledger.roster
    out.add("teams", pod.pod_id, [TEAM])
    out.stewards[ids["lee"]] = [ids["sam"]]
    out.document(board, n.KIND)
    out.add("needs", board, n.needs(pod.items(board, n.ADD), at(2)))
    for section, view in (("agreements", AGREEMENT), ("decisions", DECISION),
                          ("checkins", CHECKIN), ("mobilizing_asks", ASK),
                          ("team_items", TEAM_ITEM), ("allies", ALLIES),
                          ("steward_nominations", NOMINATION)):
        out.add(section, section, [view])
    out.loads = [LOAD]
    out.document(thread, f.THREAD_KIND)
    out.add("feedback_threads", thread, [f.thread(document(pod, thread))])
    out.document(statement, f.STATEMENT_KIND)
    out.add("feedback_statements", statement,
            [st.statement(document(pod, statement, f.STATEMENT_KIND))])
    out.feedback_summary = st.Summary(1, [st.RouteSummary("leader", 1, 3, 3)])
    out.document("foreign", FOREIGN_KIND)
    out.add_other("foreign", FOREIGN_KIND, {"todo": "made by another app", "raw": b"\x00\x01"})
    return out, pod, {"need": need, "thread": thread, "statement": statement, "proposal": pid}


def test_json_export_contains_every_item_with_state_and_history() -> None:
    contents, pod, ids = build()
    out = json.loads(json.dumps(export_json(contents, at(2))))  # plain JSON all the way
    assert (out["format"], out["version"]) == ("podsync-export", 1)
    assert [x["id"] for x in out["documents"]] == sorted(contents.documents)
    assert {m["member_id"] for m in out["roster"]["members"]} == set(pod.id.values())
    assert out["teams"] == [{"document": pod.pod_id, **TEAM}]
    assert out["stewards"] == {pod.id["lee"]: [pod.id["sam"]]}
    (need,) = out["needs"]
    assert (need["id"], need["state"], need["document"]) == \
        (ids["need"], "held", pod.collections[n.KIND])
    assert [(e["op"], e["by"]) for e in need["history"]] == [("hold", pod.id["bo"])]
    assert out["agreements"][0]["parties"][0]["note"] == "easy"
    assert out["loads"] == [LOAD]
    (thread,) = out["feedback_threads"]
    assert (thread["document"], thread["giver"], thread["state"]) == \
        (ids["thread"], pod.id["gil"], "routed")
    assert [m["text"] for m in thread["messages"]] == ["raw words"]
    assert thread["routed"]["target_doc"] == ids["statement"]
    assert [e["op"] for e in thread["history"]] == ["propose", "answer", "route"]
    (statement,) = out["feedback_statements"]
    assert (statement["document"], statement["statement"], statement["public"]) == \
        (ids["statement"], "Please let people finish", False)
    assert out["mobilizing_asks"][0]["outcome"]["outcome"] == "release"
    assert out["allies"][0]["focus"] == "watering shoots"
    assert out["steward_nominations"][0]["state"] == "active"
    assert out["feedback_summary"]["routes"][0] == \
        {"route": "leader", "count": 1, "median_days": 3, "longest_days": 3}
    assert out["other"] == [{"document": "foreign", "kind": "automerge",
                             "content": {"todo": "made by another app", "raw": "AAE="}}]


def test_markdown_export_names_every_item() -> None:
    contents, pod, ids = build()
    md = export_markdown(contents, at(2))
    for text in ("Kitchen Crew", "Mend the fence — held", "Sweep Fridays — active",
                 "Paint shed — gathering_advice", "green clashes", "bo: stretched",
                 "Deep-clean the oven", "Please let people finish", "raw words", "foreign",
                 "for Lee: Sam", "bo: within my capacity — easy",
                 f"- id: {ids['thread']}",
                 "Feedback from Gil for Lee — routed",
                 "bo: within tired", "release by ana (confirmed by ana, bo)",
                 "allies ana and bo every 7 days: watering shoots — active",
                 "sam for lee, proposed by ana t — active", "leader: 1 (median 3 days",
                 "links: need need1",
                 *ids.values()):
        assert text in md, text
    # People read names: no member id is left in it.
    assert [m for m in pod.id.values() if m in md] == []


def test_hostile_bodies_export_as_plain_json_and_markdown() -> None:
    """Whatever a signed record's body holds reaches the export as JSON (bytes as
    base64), and the Markdown still renders."""
    pod = Pod(("ana", "bo"))
    board = pod.collections[n.KIND]
    need = pod.do(board, Draft(n.ADD, {"title": b"\xff", "detail": {"x": [1, None]}}), "bo").id
    pod.do(board, Draft("note", {"text": b"\x00", "extra": {"deep": [b"\x01"]}}, item=need), "bo",
           at(1))
    out = Contents()
    out.document(board, n.KIND)
    out.add("needs", board, n.needs(pod.items(board, n.ADD), at(2)))
    data = json.loads(json.dumps(export_json(out, at(2))))
    (got,) = data["needs"]
    assert (got["title"], got["detail"]) == ("", "")
    assert got["history"][0]["args"] == {"text": "AA==", "extra": {"deep": ["AQ=="]}}
    assert f"- id: {need}" in export_markdown(out, at(2))


def test_export_of_nothing_is_an_empty_but_valid_export() -> None:
    out = export_json(Contents(), at())
    assert out["documents"] == [] and out["needs"] == [] and out["loads"] == []
    assert out["roster"] is None and out["other"] == []
    assert export_markdown(Contents(), at()).startswith("# Pod export")
