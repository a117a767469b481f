"""The needs board: lifecycle, neglect, signed records that break the rules, and
needs changed on two nodes apart."""

from __future__ import annotations

import pytest

from podsync.errors import InvalidInput, NotFound, NotPermitted, TransitionRefused
from podsync.pod import needs as n
from podsync.records.format import Draft
from tests.pod.helpers import Pod, at, merged, refused


class Board:
    """The needs board of a real pod, with one need named by Ana."""

    def __init__(self, pod: Pod) -> None:
        self.pod = pod
        self.doc = pod.collections[n.KIND]
        self.nid = pod.do(self.doc, n.add_need("Fix the gutter", "It overflows", "neglected"),
                          "ana", at()).id

    def item(self):
        return self.pod.item(self.doc, self.nid, n.ADD)

    def need(self, now=None) -> n.Need:
        return n.derive(self.item(), now or at(1))

    def do(self, who: str, op, *args, when=None, **kwargs):
        return self.pod.do(self.doc, op(self.item(), self.pod.id[who], *args, **kwargs), who,
                           when or at(1))


@pytest.fixture
def board() -> Board:
    return Board(Pod())


def test_a_named_need_is_open_with_its_creation_fields(board: Board) -> None:
    got = board.need()
    assert (got.title, got.detail, got.sensing, got.created_by, got.state) == \
        ("Fix the gutter", "It overflows", "neglected", board.pod.id["ana"], "open")
    assert got.id == board.nid and got.holders == [] and got.history == []


def test_anyone_takes_it_on_co_holds_and_names_a_point_of_contact(board: Board) -> None:
    ids = board.pod.id
    board.do("bo", n.hold_need, when=at(1))
    board.do("cy", n.hold_need, point_of_contact=True, when=at(2))
    got = board.need(at(3))
    assert got.state == "held"
    assert [(h.member, h.point_of_contact) for h in got.holders] == \
        [(ids["bo"], False), (ids["cy"], True)]
    board.do("cy", n.set_point_of_contact, ids["bo"], when=at(3))
    assert [h.point_of_contact for h in board.need(at(3)).holders] == [True, False]


def test_releasing_the_last_holder_opens_it_again(board: Board) -> None:
    board.do("bo", n.hold_need, when=at(1))
    board.do("cy", n.hold_need, when=at(1, minutes=1))
    board.do("bo", n.release_need, when=at(2))
    assert board.need(at(2)).state == "held"
    board.do("cy", n.release_need, "moving away", when=at(3))
    got = board.need(at(3))
    assert (got.state, got.holders) == ("open", [])
    assert got.since == at(3).isoformat(timespec="microseconds")


def test_attended_then_reopened(board: Board) -> None:
    board.do("bo", n.hold_need, when=at(1))
    board.do("bo", n.attend_need, "cleared and fixed", when=at(2))
    got = board.need(at(2))
    assert (got.state, got.reason) == ("attended", "cleared and fixed")
    board.do("ana", n.reopen_need, "overflowing again", when=at(30))
    assert board.need(at(30)).state == "open"


def test_an_open_need_can_be_let_be_with_a_reason(board: Board) -> None:
    refused(InvalidInput, n.let_need_be, board.item(), board.pod.id["ana"], "  ")
    board.do("ana", n.let_need_be, "we leave this void on purpose for now")
    got = board.need()
    assert (got.state, got.reason) == ("let_be", "we leave this void on purpose for now")


def test_refused_transitions(board: Board) -> None:
    ids = board.pod.id
    item = board.item()
    refused(TransitionRefused, n.release_need, item, ids["bo"])  # not a holder
    refused(TransitionRefused, n.attend_need, item, ids["bo"])  # open, not held
    refused(TransitionRefused, n.reopen_need, item, ids["bo"])  # already open
    board.do("bo", n.hold_need)
    item = board.item()
    refused(TransitionRefused, n.hold_need, item, ids["bo"])  # holds it already
    refused(NotPermitted, n.attend_need, item, ids["cy"])  # take it on first
    refused(TransitionRefused, n.let_need_be, item, ids["cy"], "why")  # held
    refused(NotPermitted, n.set_point_of_contact, item, ids["cy"], ids["bo"])
    refused(TransitionRefused, n.set_point_of_contact, item, ids["bo"], ids["cy"])
    refused(InvalidInput, n.hold_need, item, "has space")
    refused(InvalidInput, n.add_need, "")
    refused(InvalidInput, n.add_need, "t", sensing="urgent")
    with pytest.raises(NotFound):
        n.need(board.pod.items(board.doc, n.ADD), "nope", at(1))


def test_signed_records_that_break_the_rules_change_nothing(board: Board) -> None:
    """A member whose node skips the checks can sign anything; replay applies the
    same rules, so the board does not move."""
    item = board.item()
    # Cy, who does not hold it, marks it attended and names herself point of contact.
    board.pod.do(board.doc, Draft("attend", {"note": "done!"}, item=board.nid), "cy")
    board.pod.do(board.doc, Draft("contact", {"member": board.pod.id["cy"]}, item=board.nid), "cy")
    got = board.need()
    assert (got.state, got.holders) == ("open", [])
    # A record about a need that does not exist, and one of an unknown type, change nothing.
    board.pod.do(board.doc, Draft("hold", {}, item="f" * 32), "bo")
    board.pod.do(board.doc, Draft("teleport", {}, item=board.nid), "bo")
    assert board.need().state == "open"
    assert list(board.pod.items(board.doc, n.ADD)) == [board.nid]


def test_a_creation_record_with_a_hostile_body_is_shown_totally(board: Board) -> None:
    rid = board.pod.do(board.doc, Draft(n.ADD, {"title": ["not", "text"], "detail": 7}), "bo").id
    got = n.need(board.pod.items(board.doc, n.ADD), rid, at(1))
    assert (got.title, got.detail, got.sensing, got.state) == ("", "", "", "open")


def test_neglect_unheld_for_n_days_and_holder_silent_for_m_days(board: Board) -> None:
    ids = board.pod.id
    assert board.need(at(n.NEED_UNHELD_DAYS - 1)).neglect == []
    signals = board.need(at(n.NEED_UNHELD_DAYS)).neglect
    assert [(s.signal, s.days) for s in signals] == [("unheld", n.NEED_UNHELD_DAYS)]
    board.do("bo", n.hold_need, when=at(20))
    board.do("cy", n.hold_need, when=at(20, minutes=1))
    board.do("cy", n.note_need, "ordered the part", when=at(40))
    silent = board.need(at(20 + n.HOLDER_SILENT_DAYS)).neglect
    assert [(s.signal, s.member) for s in silent] == [("holder_silent", ids["bo"])]


# -- two nodes apart -----------------------------------------------------------


def test_co_holding_while_apart_keeps_both_holders_and_notes(board: Board) -> None:
    ids = board.pod.id
    other = Board.__new__(Board)
    other.__dict__.update(board.__dict__)
    other.pod = board.pod.fork()
    board.do("bo", n.hold_need)
    board.do("bo", n.note_need, "on it")
    other.do("cy", n.hold_need)
    other.do("cy", n.note_need, "me too")
    merged(board.pod, other.pod)
    for replica in (board, other):
        got = replica.need(at(2))
        assert got.state == "held" and not got.needs_reconciliation
        assert sorted(h.member for h in got.holders) == sorted([ids["bo"], ids["cy"]])
        assert sorted(x.text for x in got.notes) == ["me too", "on it"]


def test_different_transitions_apart_are_flagged_then_settled(board: Board) -> None:
    ids = board.pod.id
    board.do("bo", n.hold_need, when=at(1))
    other = Board.__new__(Board)
    other.__dict__.update(board.__dict__)
    other.pod = board.pod.fork()
    board.do("bo", n.attend_need, "done", when=at(2))
    other.do("bo", n.release_need, when=at(2))
    merged(board.pod, other.pod)
    got = board.need(at(3))
    assert got.needs_reconciliation and got.state == "held"
    assert sorted(c.state for c in got.candidates) == ["attended", "open"]
    assert other.need(at(3)) == got  # both nodes show the same
    refused(TransitionRefused, n.hold_need, board.item(), ids["cy"])  # settle first
    board.do("cy", n.note_need, "notes still welcome", when=at(3))
    refused(InvalidInput, n.settle_need, board.item(), ids["cy"], "let_be")
    board.do("cy", n.settle_need, "attended", when=at(4))
    got = board.need(at(4))
    assert (got.state, got.needs_reconciliation, got.reason) == ("attended", False, "done")
    assert [e.op for e in got.history][-1] == "settle"
    refused(TransitionRefused, n.settle_need, board.item(), ids["cy"], "attended")
    merged(board.pod, other.pod)
    assert other.need(at(5)).state == "attended"
