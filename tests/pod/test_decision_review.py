"""A decision's review: the decider keeps, revises or retires it, with a note, and
may set the next review date; records that break the rules change nothing."""

from __future__ import annotations

import datetime as dt

import pytest

from podsync.errors import InvalidInput, NotPermitted, TransitionRefused
from podsync.pod import decisions as d
from tests.pod.helpers import Pod, at, refused
from tests.pod.test_decisions import Decisions

REVIEW_ON = dt.date(2026, 4, 1)
ON_THE_DAY = dt.datetime(2026, 4, 1, 8, tzinfo=dt.timezone.utc)


@pytest.fixture
def made() -> Decisions:
    dec = Decisions(Pod())
    dec.do("bo", d.give_advice, "support", "yes please")
    dec.do("ana", d.decide, at(8), "Buying model X", REVIEW_ON, when=at(8))
    return dec


def test_a_review_due_is_kept_with_a_note_and_a_next_review(made: Decisions) -> None:
    assert made.get(ON_THE_DAY - dt.timedelta(days=1)).state == "decided"
    assert made.get(ON_THE_DAY).state == "review_due"
    made.do("ana", d.review_decision, ON_THE_DAY, "keep", "it works well",
            dt.date(2026, 10, 1), when=ON_THE_DAY)
    got = made.get(ON_THE_DAY)
    assert (got.state, got.review_on) == ("decided", "2026-10-01")
    assert [(r.outcome, r.note, r.review_on) for r in got.reviews] == \
        [("keep", "it works well", "2026-10-01")]
    assert made.get(dt.datetime(2026, 10, 1, tzinfo=dt.timezone.utc)).state == "review_due"


def test_revise_and_retire(made: Decisions) -> None:
    made.do("ana", d.review_decision, ON_THE_DAY, "revise", "too small after all",
            when=ON_THE_DAY)
    got = made.get(ON_THE_DAY + dt.timedelta(days=30))
    assert (got.state, got.review_on) == ("revising", None)
    made.do("ana", d.review_decision, ON_THE_DAY, "retire", "replaced by a new decision",
            when=ON_THE_DAY)
    got = made.get(ON_THE_DAY)
    assert got.state == "retired" and [r.outcome for r in got.reviews] == ["revise", "retire"]
    refused(TransitionRefused, d.review_decision, made.item(), made.pod.id["ana"], ON_THE_DAY,
            "keep", "again")


def test_only_the_decider_reviews_a_decision_made_with_a_note(made: Decisions) -> None:
    ids = made.pod.id
    refused(NotPermitted, d.review_decision, made.item(), ids["bo"], ON_THE_DAY, "keep", "ok")
    with pytest.raises(InvalidInput, match="keep, revise, retire"):
        d.review_decision(made.item(), ids["ana"], ON_THE_DAY, "forget", "x")
    with pytest.raises(InvalidInput, match="note"):
        d.review_decision(made.item(), ids["ana"], ON_THE_DAY, "keep", "  ")
    with pytest.raises(InvalidInput, match="after today"):
        d.review_decision(made.item(), ids["ana"], ON_THE_DAY, "keep", "ok", REVIEW_ON)
    with pytest.raises(InvalidInput, match="retired decision"):
        d.review_decision(made.item(), ids["ana"], ON_THE_DAY, "retire", "ok",
                          dt.date(2027, 1, 1))
    fresh = Decisions(Pod())
    refused(TransitionRefused, d.review_decision, fresh.item(), fresh.pod.id["ana"], at(1),
            "keep", "too early")


def test_signed_review_records_that_break_the_rules_change_nothing(made: Decisions) -> None:
    before = made.get(ON_THE_DAY)
    made.forge("bo", "review", outcome="retire", note="not the decider", review_on=None)
    made.forge("ana", "review", outcome="bury", note="no such outcome", review_on=None)
    made.forge("ana", "review", outcome="retire", note="", review_on=None)
    made.forge("ana", "review", outcome="keep", note={"x": 1}, review_on="someday")
    got = made.get(ON_THE_DAY)
    assert (got.state, got.review_on, got.reviews) == (before.state, before.review_on, [])
