"""The needs board: lifecycle, neglect, and needs changed on two nodes apart."""

from __future__ import annotations

import pytest

from podsync.errors import InvalidInput, NotFound, NotPermitted, TransitionRefused
from podsync.pod import needs as n
from tests.pod.helpers import at, merged, new_doc, refused, run


@pytest.fixture
def board():
    doc = new_doc(n.init_needs)
    need_id = run(doc, n.add_need, "ana", at(), "Fix the gutter", "It overflows", "neglected")
    return doc, need_id


def test_a_named_need_is_open_with_its_creation_fields(board) -> None:
    doc, nid = board
    got = n.need(doc, nid, at(1))
    assert (got.title, got.detail, got.sensing, got.created_by, got.state) == \
        ("Fix the gutter", "It overflows", "neglected", "ana", "open")
    assert got.holders == [] and got.history == []


def test_anyone_takes_it_on_co_holds_and_names_a_point_of_contact(board) -> None:
    doc, nid = board
    run(doc, n.hold_need, nid, "bo", at(1))
    run(doc, n.hold_need, nid, "cy", at(2), point_of_contact=True)
    got = n.need(doc, nid, at(3))
    assert got.state == "held"
    assert [(h.member, h.point_of_contact) for h in got.holders] == [("bo", False), ("cy", True)]
    run(doc, n.set_point_of_contact, nid, "cy", at(3), "bo")
    assert [h.point_of_contact for h in n.need(doc, nid, at(3)).holders] == [True, False]


def test_releasing_the_last_holder_opens_it_again(board) -> None:
    doc, nid = board
    run(doc, n.hold_need, nid, "bo", at(1))
    run(doc, n.hold_need, nid, "cy", at(1))
    run(doc, n.release_need, nid, "bo", at(2))
    assert n.need(doc, nid, at(2)).state == "held"
    run(doc, n.release_need, nid, "cy", at(3), "moving away")
    got = n.need(doc, nid, at(3))
    assert (got.state, got.holders, got.since) == ("open", [], at(3).isoformat())


def test_attended_then_reopened(board) -> None:
    doc, nid = board
    run(doc, n.hold_need, nid, "bo", at(1))
    run(doc, n.attend_need, nid, "bo", at(2), "cleared and fixed")
    got = n.need(doc, nid, at(2))
    assert (got.state, got.reason) == ("attended", "cleared and fixed")
    run(doc, n.reopen_need, nid, "ana", at(30), "overflowing again")
    assert n.need(doc, nid, at(30)).state == "open"


def test_an_open_need_can_be_let_be_with_a_reason(board) -> None:
    doc, nid = board
    refused(doc, InvalidInput, n.let_need_be, nid, "ana", at(1), "  ")
    run(doc, n.let_need_be, nid, "ana", at(1), "we leave this void on purpose for now")
    got = n.need(doc, nid, at(1))
    assert (got.state, got.reason) == ("let_be", "we leave this void on purpose for now")


def test_refused_transitions_change_nothing(board) -> None:
    doc, nid = board
    refused(doc, TransitionRefused, n.release_need, nid, "bo", at(1))  # not a holder
    refused(doc, TransitionRefused, n.attend_need, nid, "bo", at(1))  # open, not held
    refused(doc, TransitionRefused, n.reopen_need, nid, "bo", at(1))  # already open
    run(doc, n.hold_need, nid, "bo", at(1))
    refused(doc, TransitionRefused, n.hold_need, nid, "bo", at(2))  # holds it already
    refused(doc, NotPermitted, n.attend_need, nid, "cy", at(2))  # take it on first
    refused(doc, TransitionRefused, n.let_need_be, nid, "cy", at(2), "why")  # held
    refused(doc, NotPermitted, n.set_point_of_contact, nid, "cy", at(2), "bo")
    refused(doc, TransitionRefused, n.set_point_of_contact, nid, "bo", at(2), "cy")
    refused(doc, NotFound, n.hold_need, "nope", "bo", at(2))
    refused(doc, InvalidInput, n.hold_need, nid, "has space", at(2))
    refused(doc, InvalidInput, n.add_need, "ana", at(), "")
    refused(doc, InvalidInput, n.add_need, "ana", at(), "t", sensing="urgent")
    refused(doc, InvalidInput, n.add_need, "ana", at().replace(tzinfo=None), "t")
    refused(doc, TransitionRefused, n.add_need, "ana", at(), "t", need_id=nid)


def test_neglect_unheld_for_n_days_and_holder_silent_for_m_days(board) -> None:
    doc, nid = board
    assert n.need(doc, nid, at(n.NEED_UNHELD_DAYS - 1)).neglect == []
    signals = n.need(doc, nid, at(n.NEED_UNHELD_DAYS)).neglect
    assert [(s.signal, s.days) for s in signals] == [("unheld", n.NEED_UNHELD_DAYS)]
    run(doc, n.hold_need, nid, "bo", at(20))
    run(doc, n.hold_need, nid, "cy", at(20))
    run(doc, n.note_need, nid, "cy", at(40), "ordered the part")
    silent = n.need(doc, nid, at(20 + n.HOLDER_SILENT_DAYS)).neglect
    assert [(s.signal, s.member) for s in silent] == [("holder_silent", "bo")]


def test_wrong_document_kind_is_refused() -> None:
    from podsync.pod.agreements import init_agreements

    doc = new_doc(init_agreements)
    refused(doc, InvalidInput, n.add_need, "ana", at(), "x")


# -- two nodes apart -----------------------------------------------------------


def test_co_holding_while_apart_keeps_both_holders_and_notes(board) -> None:
    doc, nid = board
    other = doc.fork()
    run(doc, n.hold_need, nid, "bo", at(1))
    run(doc, n.note_need, nid, "bo", at(1), "on it")
    run(other, n.hold_need, nid, "cy", at(1))
    run(other, n.note_need, nid, "cy", at(1), "me too")
    merged(doc, other)
    for replica in (doc, other):
        got = n.need(replica, nid, at(2))
        assert got.state == "held" and not got.needs_reconciliation
        assert sorted(h.member for h in got.holders) == ["bo", "cy"]
        assert sorted(x.text for x in got.notes) == ["me too", "on it"]


def test_different_transitions_apart_are_flagged_then_settled(board) -> None:
    doc, nid = board
    run(doc, n.hold_need, nid, "bo", at(1))
    other = doc.fork()
    run(doc, n.attend_need, nid, "bo", at(2), "done")
    run(other, n.release_need, nid, "bo", at(2))
    merged(doc, other)
    got = n.need(doc, nid, at(3))
    assert got.needs_reconciliation and got.state == "held"
    assert sorted(c.state for c in got.candidates) == ["attended", "open"]
    assert n.need(other, nid, at(3)) == got  # both nodes show the same
    refused(doc, TransitionRefused, n.hold_need, nid, "cy", at(3))  # settle first
    run(doc, n.note_need, nid, "cy", at(3), "notes still welcome")
    refused(doc, InvalidInput, n.settle_need, nid, "cy", at(3), "let_be")
    run(doc, n.settle_need, nid, "cy", at(4), "attended")
    got = n.need(doc, nid, at(4))
    assert (got.state, got.needs_reconciliation, got.reason) == ("attended", False, "done")
    assert [e.op for e in got.history][-1] == "settle"
    refused(doc, TransitionRefused, n.settle_need, nid, "cy", at(5), "attended")
    merged(doc, other)
    assert n.need(other, nid, at(5)).state == "attended"
