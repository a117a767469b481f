"""Capacity check-ins, load (never ranked) and "are you mobilizing?" asks."""

from __future__ import annotations

import pytest

from podsync.errors import InvalidInput, NotPermitted, TransitionRefused
from podsync.pod import agreements as ag
from podsync.pod import capacity as c
from podsync.pod import needs as n
from tests.pod.helpers import at, merged, new_doc, refused, run


@pytest.fixture
def cap():
    return new_doc(c.init_capacity)


def test_check_ins_keep_history_and_the_latest_is_current(cap) -> None:
    run(cap, c.check_in, "ana", at(0), "baseline")
    run(cap, c.check_in, "bo", at(1), "spacious")
    run(cap, c.check_in, "ana", at(2), "depleted", "flu")
    assert [(x.member, x.level) for x in c.checkins(cap)] == \
        [("ana", "baseline"), ("bo", "spacious"), ("ana", "depleted")]
    now = c.current_capacity(cap)
    assert (now["ana"].level, now["ana"].note, now["bo"].level) == ("depleted", "flu", "spacious")
    refused(cap, InvalidInput, c.check_in, "ana", at(3), "exhausted")


def test_check_ins_apart_both_survive(cap) -> None:
    other = cap.fork()
    run(cap, c.check_in, "ana", at(1), "stretched")
    run(other, c.check_in, "bo", at(1), "baseline")
    merged(cap, other)
    assert sorted(x.member for x in c.checkins(other)) == ["ana", "bo"]


def test_load_counts_held_needs_and_live_agreements_sorted_by_member_not_load(cap) -> None:
    needs_doc, agreements_doc = new_doc(n.init_needs), new_doc(ag.init_agreements)
    for title in ("gutter", "garden", "bins"):
        nid = run(needs_doc, n.add_need, "ana", at(), title)
        run(needs_doc, n.hold_need, nid, "zoe", at(1))
    open_need = run(needs_doc, n.add_need, "ana", at(), "unheld")
    aid = run(agreements_doc, ag.propose_agreement, "ana", at(), "Cook", ["ana", "zoe"])
    run(agreements_doc, ag.propose_agreement, "ana", at(), "Only proposed", ["ana"])
    for m in ("ana", "zoe"):
        run(agreements_doc, ag.affirm_agreement, aid, m, at(1))
    run(cap, c.check_in, "zoe", at(2), "stretched", "a lot on")
    loads = c.loads(n.needs(needs_doc, at(3)), ag.agreements(agreements_doc, at(3)),
                    c.checkins(cap), members=["ana", "bo", "zoe"])
    assert [x.member for x in loads] == ["ana", "bo", "zoe"]
    ana, bo, zoe = loads
    assert (sorted(i.title for i in zoe.needs), [i.id for i in zoe.agreements], zoe.capacity) == \
        (["bins", "garden", "gutter"], [aid], "stretched")
    assert (len(ana.needs), [i.id for i in ana.agreements], ana.capacity) == (0, [aid], None)
    assert (bo.needs, bo.agreements) == ([], [])
    assert open_need not in [i.id for x in loads for i in x.needs]


def test_mobilizing_ask_answer_and_discernment(cap) -> None:
    ask = run(cap, c.ask_mobilizing, "ana", at(), "zoe", "need1", "you hold five needs")
    refused(cap, TransitionRefused, c.record_discernment, ask, "ana", at(1), "release")
    refused(cap, NotPermitted, c.answer_ask, ask, "ana", at(1), "answering for zoe")
    run(cap, c.answer_ask, ask, "zoe", at(1), "yes, I think I am")
    refused(cap, TransitionRefused, c.answer_ask, ask, "zoe", at(1), "again")
    refused(cap, NotPermitted, c.record_discernment, ask, "bo", at(2), "release")
    refused(cap, InvalidInput, c.record_discernment, ask, "zoe", at(2), "quit")
    run(cap, c.record_discernment, ask, "zoe", at(2), "ask_for_support", "bo will co-hold")
    got = c.ask(cap, ask)
    assert (got.state, got.answer, got.discernment, got.discernment_note) == \
        ("discerned", "yes, I think I am", "ask_for_support", "bo will co-hold")
    refused(cap, TransitionRefused, c.record_discernment, ask, "ana", at(3), "continue")
    refused(cap, NotPermitted, c.ask_mobilizing, "ana", at(), "ana", "need1")


def test_different_answers_apart_need_settling(cap) -> None:
    ask = run(cap, c.ask_mobilizing, "ana", at(), "zoe", "need1")
    other = cap.fork()
    run(cap, c.answer_ask, ask, "zoe", at(1), "yes")
    run(other, c.answer_ask, ask, "zoe", at(1), "no")
    merged(cap, other)
    got = c.ask(cap, ask)
    assert got.needs_reconciliation and got.state == "asked"
    no = next(x.id for x in got.candidates if x.fields["answer"] == "no")
    run(cap, c.settle_ask, ask, "zoe", at(2), no)
    assert (c.ask(cap, ask).answer, c.ask(cap, ask).state) == ("no", "answered")
