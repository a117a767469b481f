"""Feedback pathways: private threads, consent before routing, one outcome."""

from __future__ import annotations

import pytest

from podsync.errors import InvalidInput, NotFound, NotPermitted, TransitionRefused
from podsync.pod import feedback as f
from podsync.pod import needs as n
from podsync.pod import readers
from podsync.pod import teams as t
from podsync.repo.values import to_python
from podsync.ids import new_document_id
from tests.pod.helpers import at, merged, new_doc, new_pod_doc, refused, run

DOC = new_document_id()
RAW = "Lee keeps cutting people off in meetings and it is infuriating"


@pytest.fixture
def pod():
    doc = new_pod_doc()
    run(doc, t.name_steward, "ana", at(), "lee", "sam")
    run(doc, t.name_steward, "ana", at(), "lee", "tia")
    return doc


@pytest.fixture
def thread(pod):
    return new_doc(lambda tx: f.give_feedback(tx, "gil", at(1), "lee",
                                              t.stewards_of(pod, "lee"), RAW))


def consented(doc, route: str = "void", **kw) -> str:
    kw.setdefault("statement", "In meetings, people are often interrupted before finishing")
    if route in ("team", "void"):
        kw.setdefault("title", "Interruptions in meetings")
    pid = run(doc, f.propose_route, "sam", at(2), route, **kw)
    run(doc, f.answer_route, "gil", at(3), pid, True, "yes, that is it")
    return pid


def test_thread_readers_are_giver_and_stewards_never_the_leader(thread) -> None:
    assert readers(f.THREAD_KIND, thread) == frozenset({"gil", "sam", "tia"})
    got = f.thread(thread)
    assert (got.giver, got.leader, got.stewards, got.state) == \
        ("gil", "lee", ["sam", "tia"], "open")
    assert [m.text for m in got.messages] == [RAW]


def test_opening_a_thread_checks_the_pathway() -> None:
    empty = new_doc(lambda tx: None)
    refused(empty, InvalidInput, f.give_feedback, "lee", at(), "lee", ["sam"], "me")
    refused(empty, InvalidInput, f.give_feedback, "gil", at(), "lee", ["sam", "lee"], "x")
    refused(empty, TransitionRefused, f.give_feedback, "gil", at(), "lee", [], "x")
    refused(empty, TransitionRefused, f.give_feedback, "sam", at(), "lee", ["sam"], "x")
    assert readers(f.THREAD_KIND, empty) == frozenset()  # fails closed


def test_a_giver_who_is_also_a_steward_is_heard_by_the_others(pod) -> None:
    doc = new_doc(lambda tx: f.give_feedback(tx, "sam", at(), "lee", ["sam", "tia"], RAW))
    assert f.thread(doc).stewards == ["tia"]
    pid = run(doc, f.propose_route, "tia", at(1), "dissolved")
    refused(doc, NotPermitted, f.propose_route, "sam", at(1), "dissolved")
    run(doc, f.answer_route, "sam", at(2), pid, True)


def test_only_giver_and_stewards_talk_and_only_stewards_propose(thread) -> None:
    run(thread, f.reply, "sam", at(2), "What happened, concretely?")
    run(thread, f.reply, "gil", at(2), "In Tuesday's meeting, twice")
    refused(thread, NotPermitted, f.reply, "lee", at(2), "let me see")
    refused(thread, NotPermitted, f.reply, "zed", at(2), "hi")
    refused(thread, NotPermitted, f.propose_route, "gil", at(2), "dissolved")
    refused(thread, InvalidInput, f.propose_route, "sam", at(2), "void", "s")  # no title
    refused(thread, InvalidInput, f.propose_route, "sam", at(2), "team", "s", "t")  # no team
    refused(thread, InvalidInput, f.propose_route, "sam", at(2), "leader", "")
    refused(thread, InvalidInput, f.propose_route, "sam", at(2), "void", "s", "t", public=True)
    refused(thread, InvalidInput, f.propose_route, "sam", at(2), "gossip", "s")
    assert len(f.thread(thread).messages) == 3


def test_nothing_is_routed_without_the_givers_consent(thread) -> None:
    pid = run(thread, f.propose_route, "sam", at(2), "void", "People are interrupted",
              "Interruptions")
    with pytest.raises(TransitionRefused):
        f.plan_route(thread, "sam", pid)
    refused(thread, TransitionRefused, f.record_route, "sam", at(3), pid, DOC)
    refused(thread, NotPermitted, f.answer_route, "sam", at(3), pid, True)  # not the giver
    refused(thread, NotFound, f.answer_route, "gil", at(3), "nope", True)
    run(thread, f.answer_route, "gil", at(3), pid, True)
    run(thread, f.answer_route, "gil", at(4), pid, False, "on second thought, no")
    with pytest.raises(TransitionRefused):
        f.plan_route(thread, "sam", pid)
    assert f.thread(thread).proposals[0].consent is False
    with pytest.raises(NotPermitted):
        f.plan_route(thread, "lee", pid)


def test_void_route_puts_only_the_statement_on_the_needs_board_once(thread) -> None:
    pid = consented(thread, "void")
    plan = f.plan_route(thread, "sam", pid)
    board = new_doc(n.init_needs)
    need_id = run(board, f.write_route_item, plan, "sam", at(4))
    assert run(board, f.write_route_item, plan, "sam", at(5)) == need_id  # a retry: same need
    run(thread, f.record_route, "sam", at(4), pid, DOC)
    (need,) = n.needs(board, at(5))
    assert (need.id, need.sensing, need.title) == (need_id, "void", "Interruptions in meetings")
    assert RAW not in str(to_python(board)) and "gil" not in str(to_python(board))
    got = f.thread(thread)
    assert got.state == "routed" and got.routed.target_item == need_id
    refused(thread, TransitionRefused, f.record_route, "sam", at(5), pid, DOC)
    refused(thread, TransitionRefused, f.propose_route, "tia", at(5), "dissolved")
    run(thread, f.reply, "gil", at(6), "thank you")  # talking goes on, privately


def test_team_route_becomes_an_item_for_that_team(thread) -> None:
    pid = consented(thread, "team", team_id="team1")
    plan = f.plan_route(thread, "gil", pid)
    items = new_doc(t.init_team_items)
    item = run(items, f.write_route_item, plan, "gil", at(4))
    run(thread, f.record_route, "gil", at(4), pid, DOC)
    got = t.team_item(items, item)
    assert (got.team, got.origin, got.detail) == \
        ("team1", "feedback", "In meetings, people are often interrupted before finishing")


def test_leader_route_delivers_a_statement_the_leader_answers(thread) -> None:
    pid = consented(thread, "leader")
    plan = f.plan_route(thread, "tia", pid)
    doc = new_doc(lambda tx: f.init_statement(tx, plan, "tia", at(4)))
    run(thread, f.record_route, "tia", at(4), pid, DOC)
    assert readers(f.STATEMENT_KIND, doc) == frozenset({"gil", "lee", "sam", "tia"})
    refused(doc, NotPermitted, f.respond_to_statement, "sam", at(5), "I'll answer for him")
    run(doc, f.respond_to_statement, "lee", at(5), "Thank you; I will wait my turn.")
    got = f.statement(doc)
    assert got.statement == plan.statement and not got.public
    assert [r.text for r in got.responses] == ["Thank you; I will wait my turn."]
    assert RAW not in str(to_python(doc))
    with pytest.raises(InvalidInput):
        run(new_doc(lambda tx: None), f.write_route_item, plan, "tia", at(4))


def test_a_public_statement_is_read_by_the_whole_pod(thread) -> None:
    plan = f.plan_route(thread, "sam", consented(thread, "leader", public=True))
    doc = new_doc(lambda tx: f.init_statement(tx, plan, "sam", at(4)))
    assert readers(f.STATEMENT_KIND, doc) == "pod"


def test_dissolved_forwards_nothing(thread) -> None:
    pid = consented(thread, "dissolved", statement="")
    refused(thread, InvalidInput, f.record_route, "sam", at(4), pid, DOC)
    run(thread, f.record_route, "sam", at(4), pid)
    got = f.thread(thread)
    assert (got.routed.route, got.routed.target_doc) == ("dissolved", None)


def test_two_routings_made_apart_show_as_needing_reconciliation(thread) -> None:
    first = consented(thread, "dissolved", statement="")
    second = consented(thread, "void")
    other = thread.fork()
    run(thread, f.record_route, "sam", at(4), first)
    run(other, f.record_route, "tia", at(4), second, DOC)
    merged(thread, other)
    got = f.thread(thread)
    assert got.needs_reconciliation and got.routed is None
    refused(thread, NotPermitted, f.settle_thread, "lee", at(5), first)
    run(thread, f.settle_thread, "gil", at(5), got.candidates[0].id)
    settled = f.thread(thread)
    assert not settled.needs_reconciliation
    assert settled.routed.proposal == got.candidates[0].fields["proposal"]


def test_one_proposal_routed_into_two_documents_apart_is_two_outcomes(thread) -> None:
    pid = consented(thread, "leader")
    other = thread.fork()
    run(thread, f.record_route, "sam", at(4), pid, new_document_id())
    run(other, f.record_route, "tia", at(4), pid, new_document_id())
    merged(thread, other)
    got = f.thread(thread)
    assert got.needs_reconciliation and len(got.candidates) == 2


def test_a_void_routed_twice_apart_lands_on_one_need(thread) -> None:
    pid = consented(thread, "void")
    board = new_doc(n.init_needs)
    other_board, other_thread = board.fork(), thread.fork()
    run(board, f.write_route_item, f.plan_route(thread, "sam", pid), "sam", at(4))
    run(thread, f.record_route, "sam", at(4), pid, DOC)
    run(other_board, f.write_route_item, f.plan_route(other_thread, "tia", pid), "tia", at(4))
    run(other_thread, f.record_route, "tia", at(4), pid, DOC)
    merged(board, other_board)
    merged(thread, other_thread)
    assert len(n.needs(board, at(5))) == 1
    assert f.thread(thread).state == "routed" and not f.thread(thread).needs_reconciliation
