"""Allies: recurring check-ins between two members, started by consent, due at the
chosen interval; signed records that break the rules, hostile bodies, changes apart."""

from __future__ import annotations

import datetime as dt

import pytest

from podsync.errors import InvalidInput, NotFound, NotPermitted, TransitionRefused
from podsync.pod import allies as al
from podsync.records.format import Draft
from tests.pod.helpers import Pod, at, merged, refused


class Allies:
    """The capacity collection of a real pod where Bo proposed to be Ana's ally weekly."""

    def __init__(self, pod: Pod) -> None:
        self.pod = pod
        self.doc = pod.collections[al.KIND]
        self.aid = pod.do(self.doc, al.propose_allies(pod.id["bo"], pod.id["ana"], 7,
                                                      "watering shoots"), "bo", at()).id

    def items(self) -> dict:
        return self.pod.items(self.doc, al.ALLIES)

    def item(self):
        return self.items()[self.aid]

    def get(self, now: dt.datetime) -> al.Allies:
        return al.allies(self.items(), self.aid, now)

    def do(self, who: str, op, *args, when=None):
        return self.pod.do(self.doc, op(self.item(), self.pod.id[who], *args), who,
                           when or at(1))

    def apart(self) -> Allies:
        other = Allies.__new__(Allies)
        other.__dict__.update(self.__dict__)
        other.pod = self.pod.fork()
        return other


@pytest.fixture
def pair() -> Allies:
    return Allies(Pod())


def test_nothing_recurs_until_the_other_ally_accepts(pair: Allies) -> None:
    ids = pair.pod.id
    got = pair.get(at(30))
    assert (got.allies, got.focus, got.every_days, got.state, got.due, got.due_at) == \
        ([ids["bo"], ids["ana"]], "watering shoots", 7, "proposed", False, None)
    refused(NotPermitted, al.accept_allies, pair.item(), ids["bo"])  # not the one asked
    refused(TransitionRefused, al.record_met, pair.item(), ids["bo"])
    pair.do("ana", al.accept_allies, when=at(1))
    refused(TransitionRefused, al.accept_allies, pair.item(), ids["ana"])
    got = pair.get(at(7))
    assert (got.state, got.since, got.due_at, got.due) == \
        ("active", at(1).isoformat(timespec="microseconds"),
         at(8).isoformat(timespec="seconds"), False)


def test_a_check_in_is_due_for_both_at_the_interval_and_meeting_resets_it(pair: Allies) -> None:
    ids = pair.pod.id
    pair.do("ana", al.accept_allies, when=at(1))
    assert [a.id for a in al.due(pair.items(), ids["ana"], at(8))] == [pair.aid]
    assert [a.id for a in al.due(pair.items(), ids["bo"], at(8))] == [pair.aid]
    assert al.due(pair.items(), ids["cy"], at(8)) == []
    assert al.due(pair.items(), ids["ana"], at(7, 1)) == []
    pair.do("bo", al.record_met, "she read two chapters", when=at(9))
    got = pair.get(at(10))
    assert (got.due, got.last_met, got.met_note, got.due_at) == \
        (False, at(9).isoformat(timespec="microseconds"), "she read two chapters",
         at(16).isoformat(timespec="seconds"))
    refused(NotPermitted, al.record_met, pair.item(), ids["cy"])
    pair.do("ana", al.stop_allies, "the pattern has shifted", when=at(20))
    got = pair.get(at(40))
    assert (got.state, got.due, got.stopped_note) == ("stopped", False, "the pattern has shifted")
    refused(TransitionRefused, al.stop_allies, pair.item(), ids["bo"])


def test_declined_allies_never_fall_due(pair: Allies) -> None:
    pair.do("ana", al.decline_allies, when=at(1))
    assert (pair.get(at(30)).state, pair.get(at(30)).due) == ("declined", False)
    refused(TransitionRefused, al.accept_allies, pair.item(), pair.pod.id["ana"])


def test_proposals_are_checked(pair: Allies) -> None:
    ids = pair.pod.id
    refused(InvalidInput, al.propose_allies, ids["bo"], ids["bo"], 7, "me")
    refused(InvalidInput, al.propose_allies, ids["bo"], ids["ana"], 0, "x")
    refused(InvalidInput, al.propose_allies, ids["bo"], ids["ana"], al.MAX_EVERY_DAYS + 1, "x")
    refused(InvalidInput, al.propose_allies, ids["bo"], ids["ana"], 7, "")
    with pytest.raises(NotFound):
        al.allies(pair.items(), "nope", at(1))


def test_signed_records_that_break_the_rules_change_nothing(pair: Allies) -> None:
    ids, pod = pair.pod.id, pair.pod
    # Cy accepts for Ana, Bo accepts his own proposal, Cy stops it.
    for who, op in (("cy", "accept"), ("bo", "accept"), ("cy", "stop")):
        pod.do(pair.doc, Draft(op, {"note": ""}, item=pair.aid), who, at(1))
    assert pair.get(at(30)).state == "proposed"
    pair.do("ana", al.accept_allies, when=at(2))
    # Cy "meets" them: it does not reset the due date.
    pod.do(pair.doc, Draft("met", {"note": "me too"}, item=pair.aid), "cy", at(9))
    got = pair.get(at(9, 1))
    assert (got.due, got.last_met) == (True, None)
    # Allies of oneself, at an interval that is none: no allies at all.
    for body in ({"with": ids["bo"], "every_days": 7, "focus": "me"},
                 {"with": ids["ana"], "every_days": "weekly", "focus": "x"},
                 {"with": ids["ana"], "every_days": 10_000, "focus": "x"},
                 {"with": ["x"], "every_days": 7}):
        pod.do(pair.doc, Draft(al.ALLIES, body), "bo", at(1))
    assert [a.id for a in al.all_allies(pair.items(), at(9))] == [pair.aid]


def test_a_hostile_focus_and_a_clock_at_the_end_of_time_are_shown_totally(pair: Allies) -> None:
    pod = pair.pod
    odd = pod.do(pair.doc, Draft(al.ALLIES, {"with": pod.id["cy"], "every_days": 365,
                                             "focus": {"x": 1}}), "bo", at(1)).id
    late = dt.datetime(9999, 12, 30, tzinfo=dt.timezone.utc)
    pod.do(pair.doc, Draft("accept", {}, item=odd), "cy", late)
    got = al.allies(pair.items(), odd, at(2))
    assert (got.focus, got.state, got.due_at, got.due) == ("", "active", None, False)


def test_meetings_apart_both_count_and_are_no_change_of_state(pair: Allies) -> None:
    pair.do("ana", al.accept_allies, when=at(1))
    other = pair.apart()
    pair.do("ana", al.record_met, "walk", when=at(5))
    other.do("bo", al.record_met, "call", when=at(6))
    merged(pair.pod, other.pod)
    assert pair.get(at(7)).last_met == at(6).isoformat(timespec="microseconds")
    pair.do("ana", al.stop_allies, when=at(8))
    other.do("bo", al.record_met, "still meeting", when=at(8))
    merged(pair.pod, other.pod)
    assert pair.get(at(9)).state == "stopped"  # a meeting is no change of state
