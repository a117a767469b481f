"""Advice process: ask, listen, integrate, decide — no votes, no veto."""

from __future__ import annotations

import datetime as dt

import pytest

from podsync.errors import InvalidInput, NotFound, NotPermitted, TransitionRefused
from podsync.pod import decisions as d
from tests.pod.helpers import at, merged, new_doc, refused, run


@pytest.fixture
def gathering():
    doc = new_doc(d.init_decisions)
    did = run(doc, d.open_decision, "ana", at(), "New fridge", "Buy a bigger fridge", at(7))
    run(doc, d.ask_advice, did, "ana", at(0, 1), "bo", "affected", "you cook most")
    run(doc, d.ask_advice, did, "ana", at(0, 2), "cy", "expertise")
    return doc, did


def test_the_decider_decides_after_advice_and_integration(gathering) -> None:
    doc, did = gathering
    support = run(doc, d.give_advice, did, "bo", at(1), "support", "yes please")
    concern = run(doc, d.give_advice, did, "cy", at(1), "discourage", "energy use is high")
    run(doc, d.give_advice, did, "dee", at(1), "no_advice")
    err = refused(doc, TransitionRefused, d.decide, did, "ana", at(2), "Buying model X")
    assert concern in str(err) and support not in str(err)
    run(doc, d.integrate_advice, did, "ana", at(2), concern, True, "picked an A+++ model")
    run(doc, d.decide, did, "ana", at(2), "Buying model X", dt.date(2026, 9, 1))
    got = d.decision(doc, did, at(3))
    assert (got.state, got.decision, got.review_on) == ("decided", "Buying model X", "2026-09-01")
    assert [(a.member, a.reason, a.answered) for a in got.asked] == \
        [("bo", "affected", True), ("cy", "expertise", True)]
    stances = {a.by: (a.stance, a.asked, a.integration) for a in got.advice}
    assert stances["dee"] == ("no_advice", False, None)
    assert stances["cy"][2] is not None and stances["cy"][2].integrated
    review = dt.datetime(2026, 9, 1, 12, tzinfo=dt.timezone.utc)
    assert d.decision(doc, did, review).state == "review_due"


def test_discourage_never_blocks_once_answered_and_nobody_else_decides(gathering) -> None:
    doc, did = gathering
    a = run(doc, d.give_advice, did, "bo", at(1), "discourage", "too expensive")
    run(doc, d.give_advice, did, "cy", at(1), "concern", "noise")
    run(doc, d.integrate_advice, did, "ana", at(1), a, False, "the old one is broken")
    refused(doc, NotPermitted, d.decide, did, "bo", at(8), "no fridge")  # no veto, no vote
    refused(doc, NotPermitted, d.integrate_advice, did, "bo", at(1), a, True, "x")
    refused(doc, TransitionRefused, d.decide, did, "ana", at(8), "fridge")  # cy's concern open
    c = next(x.id for x in d.decision(doc, did, at(1)).advice if x.by == "cy")
    run(doc, d.integrate_advice, did, "ana", at(2), c, True, "quiet model")
    run(doc, d.decide, did, "ana", at(8), "fridge")
    assert d.decision(doc, did, at(9)).state == "decided"


def test_before_the_deadline_the_decider_waits_for_everyone_asked(gathering) -> None:
    doc, did = gathering
    run(doc, d.give_advice, did, "bo", at(1), "support", "yes")
    err = refused(doc, TransitionRefused, d.decide, did, "ana", at(2), "buy")
    assert "cy" in str(err)
    run(doc, d.decide, did, "ana", at(7, 1), "buy")  # after the deadline
    assert d.decision(doc, did, at(8)).decision == "buy"


def test_refusals_leave_the_decision_untouched(gathering) -> None:
    doc, did = gathering
    refused(doc, NotPermitted, d.ask_advice, did, "bo", at(1), "cy", "affected")
    refused(doc, InvalidInput, d.ask_advice, did, "ana", at(1), "ana", "affected")
    refused(doc, InvalidInput, d.ask_advice, did, "ana", at(1), "dee", "because")
    refused(doc, TransitionRefused, d.ask_advice, did, "ana", at(1), "bo", "expertise")
    refused(doc, NotPermitted, d.give_advice, did, "ana", at(1), "support", "me")
    refused(doc, InvalidInput, d.give_advice, did, "bo", at(1), "veto", "no")
    refused(doc, InvalidInput, d.give_advice, did, "bo", at(1), "concern", "")
    refused(doc, NotFound, d.integrate_advice, did, "ana", at(1), "nope", True, "x")
    refused(doc, InvalidInput, d.open_decision, "ana", at(), "t", "p", at(-1))
    run(doc, d.decide, did, "ana", at(8), "done")
    refused(doc, TransitionRefused, d.decide, did, "ana", at(9), "again")
    refused(doc, TransitionRefused, d.give_advice, did, "bo", at(9), "support", "late")


def test_advice_given_apart_all_survives(gathering) -> None:
    doc, did = gathering
    other = doc.fork()
    run(doc, d.give_advice, did, "bo", at(1), "support", "from the kitchen")
    run(other, d.give_advice, did, "cy", at(1), "support", "from the garden")
    run(other, d.ask_advice, did, "ana", at(1), "dee", "affected")
    merged(doc, other)
    got = d.decision(doc, did, at(2))
    assert sorted(a.text for a in got.advice) == ["from the garden", "from the kitchen"]
    assert [a.member for a in got.asked] == ["bo", "cy", "dee"]


def test_two_different_decisions_apart_need_settling(gathering) -> None:
    doc, did = gathering
    other = doc.fork()
    run(doc, d.decide, did, "ana", at(8), "buy model X")
    run(other, d.decide, did, "ana", at(8), "repair the old one")
    merged(doc, other)
    got = d.decision(doc, did, at(9))
    assert got.needs_reconciliation and got.state == "gathering_advice"
    assert sorted(c.fields["decision"] for c in got.candidates) == \
        ["buy model X", "repair the old one"]
    pick = next(c.id for c in got.candidates if c.fields["decision"] == "repair the old one")
    run(doc, d.settle_decision, did, "ana", at(9), pick)
    got = d.decision(doc, did, at(9))
    assert (got.state, got.decision, got.needs_reconciliation) == \
        ("decided", "repair the old one", False)
