"""Advice process: ask, listen, integrate, decide — no votes, no veto; signed records
that break the rules change nothing; decisions made on two nodes apart."""

from __future__ import annotations

import datetime as dt

import pytest

from podsync.errors import InvalidInput, NotFound, NotPermitted, TransitionRefused
from podsync.pod import common as v
from podsync.pod import decisions as d
from podsync.records.format import Draft
from tests.pod.helpers import Pod, at, merged, refused


class Decisions:
    """The decisions of a real pod, with one decision Ana opened (advice until day
    7) and asked Bo (affected) and Cy (expertise) about."""

    def __init__(self, pod: Pod) -> None:
        self.pod = pod
        self.doc = pod.collections[d.KIND]
        self.did = pod.do(self.doc, d.open_decision(at(), "New fridge", "Buy a bigger fridge",
                                                    at(7)), "ana", at()).id
        self.do("ana", d.ask_advice, pod.id["bo"], "affected", "you cook most", when=at(0, 1))
        self.do("ana", d.ask_advice, pod.id["cy"], "expertise", when=at(0, 2))

    def item(self):
        return self.pod.item(self.doc, self.did, d.OPEN)

    def get(self, now=None) -> d.Decision:
        return d.derive(self.item(), now or at(1))

    def do(self, who: str, op, *args, when=None):
        return self.pod.do(self.doc, op(self.item(), self.pod.id[who], *args), who,
                           when or at(1))

    def forge(self, who: str, op: str, *, seen: bool = True, **body):
        """A record ``who`` signs without the operation's checks (a modified node),
        following what it has ``seen`` of the decision or naming nothing."""
        after = d.note_decision(self.item(), self.pod.id[who], "-").after if seen else ()
        return self.pod.do(self.doc, Draft(op, body, item=self.did, after=after), who, at(1))

    def apart(self) -> Decisions:
        other = Decisions.__new__(Decisions)
        other.__dict__.update(self.__dict__)
        other.pod = self.pod.fork()
        return other


@pytest.fixture
def dec() -> Decisions:
    return Decisions(Pod())


def test_the_decider_decides_after_advice_and_integration(dec: Decisions) -> None:
    ids = dec.pod.id
    got = dec.get(at(0, 3))
    assert (got.title, got.proposal, got.decider, got.state, got.deadline) == \
        ("New fridge", "Buy a bigger fridge", ids["ana"], "gathering_advice",
         at(7).isoformat(timespec="seconds"))
    support = dec.do("bo", d.give_advice, "support", "yes please").id
    concern = dec.do("cy", d.give_advice, "discourage", "energy use is high").id
    dec.do("dee", d.give_advice, "no_advice")
    err = refused(TransitionRefused, d.decide, dec.item(), ids["ana"], at(2), "Buying model X")
    assert concern in str(err) and support not in str(err)
    dec.do("ana", d.integrate_advice, concern, True, "picked an A+++ model", when=at(2))
    dec.do("ana", d.decide, at(2), "Buying model X", dt.date(2026, 9, 1), when=at(2))
    got = dec.get(at(3))
    assert (got.state, got.decision, got.review_on, got.decided_at) == \
        ("decided", "Buying model X", "2026-09-01", at(2).isoformat(timespec="microseconds"))
    assert [(a.member, a.reason, a.note, a.answered) for a in got.asked] == \
        [(ids["bo"], "affected", "you cook most", True), (ids["cy"], "expertise", "", True)]
    stances = {a.by: (a.stance, a.asked, a.integration) for a in got.advice}
    assert stances[ids["dee"]] == ("no_advice", False, None)  # advice need not be asked for
    assert stances[ids["cy"]][2] is not None and stances[ids["cy"]][2].integrated
    review = dt.datetime(2026, 9, 1, 12, tzinfo=dt.timezone.utc)
    assert dec.get(review).state == "review_due"


def test_discourage_never_blocks_once_answered_and_nobody_else_decides(dec: Decisions) -> None:
    ids = dec.pod.id
    a = dec.do("bo", d.give_advice, "discourage", "too expensive").id
    dec.do("cy", d.give_advice, "concern", "noise")
    dec.do("ana", d.integrate_advice, a, False, "the old one is broken")
    item = dec.item()
    refused(NotPermitted, d.decide, item, ids["bo"], at(8), "no fridge")  # no veto, no vote
    refused(NotPermitted, d.integrate_advice, item, ids["bo"], a, True, "x")
    refused(TransitionRefused, d.decide, item, ids["ana"], at(8), "fridge")  # cy's concern open
    c = next(x.id for x in dec.get().advice if x.by == ids["cy"])
    dec.do("ana", d.integrate_advice, c, True, "quiet model", when=at(2))
    dec.do("ana", d.decide, at(8), "fridge", when=at(8))
    assert dec.get(at(9)).state == "decided"


def test_before_the_deadline_the_decider_waits_for_everyone_asked(dec: Decisions) -> None:
    ids = dec.pod.id
    dec.do("bo", d.give_advice, "support", "yes")
    err = refused(TransitionRefused, d.decide, dec.item(), ids["ana"], at(2), "buy")
    assert ids["cy"] in str(err) and ids["bo"] not in str(err)
    dec.do("ana", d.decide, at(7, 1), "buy", when=at(7, 1))  # after the deadline
    assert dec.get(at(8)).decision == "buy"


def test_refusals_leave_the_decision_untouched(dec: Decisions) -> None:
    ids = dec.pod.id
    item = dec.item()
    refused(NotPermitted, d.ask_advice, item, ids["bo"], ids["cy"], "affected")
    refused(InvalidInput, d.ask_advice, item, ids["ana"], ids["ana"], "affected")
    refused(InvalidInput, d.ask_advice, item, ids["ana"], ids["dee"], "because")
    refused(TransitionRefused, d.ask_advice, item, ids["ana"], ids["bo"], "expertise")
    refused(NotPermitted, d.give_advice, item, ids["ana"], "support", "me")
    refused(InvalidInput, d.give_advice, item, ids["bo"], "veto", "no")
    refused(InvalidInput, d.give_advice, item, ids["bo"], "concern", "")
    refused(NotFound, d.integrate_advice, item, ids["ana"], "nope", True, "x")
    refused(InvalidInput, d.integrate_advice, item, ids["ana"], "nope", "yes", "x")
    refused(InvalidInput, d.open_decision, at(), "t", "p", at(-1))
    refused(InvalidInput, d.open_decision, at(), "t", "p", at(7).replace(tzinfo=None))
    refused(InvalidInput, d.decide, item, ids["ana"], at(8), "done", at(8).date(), "r")
    refused(NotPermitted, d.withdraw_decision, item, ids["bo"], "not mine")
    refused(InvalidInput, d.withdraw_decision, item, ids["ana"], "")
    refused(NotPermitted, d.withdraw_ask, item, ids["bo"], ids["cy"])
    refused(TransitionRefused, d.withdraw_ask, item, ids["ana"], ids["dee"])
    refused(NotPermitted, d.decline_to_advise, item, ids["dee"])
    refused(NotPermitted, d.move_deadline, item, ids["bo"], at(1), at(9))
    refused(InvalidInput, d.move_deadline, item, ids["ana"], at(1), at(0))
    refused(NotPermitted, d.link_decision, item, ids["bo"], "need", "f" * 32)
    refused(InvalidInput, d.link_decision, item, ids["ana"], "principle", "care")
    assert dec.get() == d.derive(item, at(1))
    dec.do("bo", d.give_advice, "support", "fine")
    dec.do("ana", d.decide, at(8), "done", when=at(8))
    item = dec.item()
    refused(TransitionRefused, d.decide, item, ids["ana"], at(9), "again")
    refused(TransitionRefused, d.give_advice, item, ids["bo"], "support", "late")
    refused(TransitionRefused, d.ask_advice, item, ids["ana"], ids["dee"], "affected")
    with pytest.raises(NotFound):
        d.decision(dec.pod.items(dec.doc, d.OPEN), "nope", at(1))


def test_signed_records_that_break_the_rules_change_nothing(dec: Decisions) -> None:
    """A member whose node skips the checks can sign anything in their own name;
    replay counts only what the operations would have written."""
    ids = dec.pod.id
    concern = dec.do("cy", d.give_advice, "concern", "noise").id
    # Only the decider asks, integrates and decides; the decider gives no advice.
    dec.forge("bo", "ask", member=ids["dee"], reason="affected", note="")
    dec.forge("bo", "integrate", advice=concern, integrated=True, why="sorted")
    dec.forge("bo", "decide", text="no fridge", review_on=None)
    dec.forge("ana", "advise", stance="support", text="my own idea is great")
    # Bodies no operation writes, from members who may write the type.
    dec.forge("ana", "ask", member=ids["ana"], reason="affected", note="")
    dec.forge("ana", "ask", member=ids["dee"], reason="curious", note="")
    dec.forge("ana", "ask", member=["not", "an", "id"], reason="affected", note="")
    dec.forge("ana", "integrate", advice=concern, integrated="yes", why="sorted")
    dec.forge("dee", "advise", stance="veto", text="no")
    dec.forge("dee", "advise", stance="concern", text="")
    dec.forge("ana", "decide", text=5, review_on=None, advice=[], reason="r")
    dec.forge("ana", "decide", text="buy", review_on="soon", advice=[], reason="r")
    # The decider decides with no advice and no reason, or naming advice nobody asked
    # gave (Dee's), or advice that does not exist.
    dee = dec.do("dee", d.give_advice, "support", "unasked").id
    dec.forge("ana", "decide", text="buy", review_on=None, advice=[], reason="")
    dec.forge("ana", "decide", text="buy", review_on=None, advice=[dee], reason="")
    dec.forge("ana", "decide", text="buy", review_on=None, advice=["e" * 32], reason="")
    # Withdrawals, declines and deadlines by those the rules do not let write them.
    dec.forge("bo", "withdraw", note="I stop it")
    dec.forge("bo", "unask", member=ids["cy"], note="")
    dec.forge("dee", "decline", note="not asked, not waited for")
    dec.forge("bo", "deadline", deadline=at(0, 3).isoformat(), note="sooner")
    dec.forge("ana", "deadline", deadline="whenever", note="")
    dec.forge("bo", "link", kind="need", ref="f" * 32)
    got = dec.get()
    assert (got.state, got.decision, got.needs_reconciliation) == \
        ("gathering_advice", None, False)
    assert [(a.member, a.withdrawn, a.declined) for a in got.asked] == \
        [(ids["bo"], False, False), (ids["cy"], False, False)]
    assert sorted((a.by, a.integration is None) for a in got.advice) == \
        sorted([(ids["cy"], True), (ids["dee"], True)])
    assert (got.deadline, got.deadline_moves, got.links) == (at(7).isoformat(timespec="seconds"),
                                                             [], [])
    refused(TransitionRefused, d.decide, dec.item(), ids["ana"], at(8), "buy")  # concern open
    dec.do("ana", d.integrate_advice, concern, False, "we have the space", when=at(2))
    dec.do("ana", d.decide, at(8), "buy", when=at(8))
    # After the decision: others deciding, even naming nothing they had seen (as
    # if made apart), make no disagreement; nor does a settle with nothing to settle.
    dec.forge("bo", "decide", text="no fridge", review_on=None)
    dec.forge("ana", "teleport")  # an unknown type
    dec.pod.do(dec.doc, Draft("decide", {"text": "x"}, item="f" * 32), "ana")  # no such decision
    dec.forge("bo", "decide", text="no fridge at all", review_on=None, seen=False)
    dec.forge("dee", "settle", state="gathering_advice", keep=[], seen=False)
    got = dec.get(at(9))
    assert (got.state, got.decision, got.needs_reconciliation) == ("decided", "buy", False)
    assert list(dec.pod.items(dec.doc, d.OPEN)) == [dec.did]


def test_a_creation_record_with_a_hostile_body_is_shown_totally(dec: Decisions) -> None:
    bo = dec.pod.id["bo"]
    bodies = [{"title": {"a": 1}, "proposal": None, "deadline": "soon"},
              {"title": "t" * 5000, "proposal": ["p"], "deadline": 20260308},
              {"deadline": "2026-03-08T09:00:00"}, {}]
    for body in bodies:
        rid = dec.pod.do(dec.doc, Draft(d.OPEN, body), "bo").id
        got = d.decision(dec.pod.items(dec.doc, d.OPEN), rid, at(1))
        assert (got.proposal, got.decider, got.deadline, got.state, got.asked) == \
            ("", bo, "", "gathering_advice", [])
        assert got.title in ("", "t" * v.MAX_TITLE_CHARS)
    # With no readable deadline there is nothing to wait for: its decider decides.
    item = dec.pod.item(dec.doc, rid, d.OPEN)
    dec.pod.do(dec.doc, d.decide(item, bo, at(1), "as it is", no_one_affected="only me"),
               "bo", at(1))
    assert d.decision(dec.pod.items(dec.doc, d.OPEN), rid, at(1)).decision == "as it is"
    assert len(d.decisions(dec.pod.items(dec.doc, d.OPEN), at(1))) == 5


# -- two nodes apart -----------------------------------------------------------


def test_advice_given_apart_all_survives(dec: Decisions) -> None:
    ids = dec.pod.id
    other = dec.apart()
    dec.do("bo", d.give_advice, "support", "from the kitchen")
    other.do("cy", d.give_advice, "support", "from the garden")
    other.do("ana", d.ask_advice, ids["dee"], "affected")
    merged(dec.pod, other.pod)
    got = dec.get(at(2))
    assert sorted(a.text for a in got.advice) == ["from the garden", "from the kitchen"]
    assert [a.member for a in got.asked] == [ids["bo"], ids["cy"], ids["dee"]]
    assert other.get(at(2)) == got


def test_two_different_decisions_apart_need_settling(dec: Decisions) -> None:
    ids = dec.pod.id
    dec.do("bo", d.give_advice, "support", "either is fine")
    other = dec.apart()
    dec.do("ana", d.decide, at(8), "buy model X", when=at(8))
    other.do("ana", d.decide, at(8), "repair the old one", when=at(8))
    merged(dec.pod, other.pod)
    got = dec.get(at(9))
    assert got.needs_reconciliation and got.state == "gathering_advice"
    assert sorted(c.fields["decision"] for c in got.candidates) == \
        ["buy model X", "repair the old one"]
    refused(TransitionRefused, d.decide, dec.item(), ids["ana"], at(9), "both")  # settle first
    dec.forge("ana", "decide", text="both", review_on=None)  # only a settle joins the branches
    assert dec.get(at(9)).needs_reconciliation
    pick = next(c.id for c in got.candidates if c.fields["decision"] == "repair the old one")
    dec.do("ana", d.settle_decision, pick, when=at(9))
    got = dec.get(at(9))
    assert (got.state, got.decision, got.needs_reconciliation) == \
        ("decided", "repair the old one", False)
    merged(dec.pod, other.pod)
    assert other.get(at(9)) == got


def test_deciding_needs_advice_from_someone_asked_or_a_reason_and_shows_which(
        dec: Decisions) -> None:
    ids = dec.pod.id
    dec.do("dee", d.give_advice, "support", "go for it")  # Dee was not asked
    err = refused(TransitionRefused, d.decide, dec.item(), ids["ana"], at(8), "buy")
    assert "no_one_affected" in str(err)
    cy = dec.do("cy", d.give_advice, "no_advice", when=at(2)).id
    dec.do("ana", d.decide, at(8), "buy", when=at(8))
    got = dec.get(at(8))
    assert got.basis == d.Basis("advice", [cy], "")

    alone = Decisions.__new__(Decisions)
    alone.__dict__.update(dec.__dict__)
    alone.did = dec.pod.do(dec.doc, d.open_decision(at(), "Paint my room", "Blue", at(2)),
                           "bo", at()).id
    refused(TransitionRefused, d.decide, alone.item(), ids["bo"], at(3), "blue")
    alone.do("bo", d.decide, at(3), "blue", None, "my own room; nobody else sleeps there",
             when=at(3))
    assert alone.get(at(3)).basis == \
        d.Basis("no_one_affected", [], "my own room; nobody else sleeps there")


def test_a_declined_or_withdrawn_ask_unblocks_and_the_deadline_moves_on_record(
        dec: Decisions) -> None:
    ids = dec.pod.id
    bo = dec.do("bo", d.give_advice, "support", "yes").id
    refused(TransitionRefused, d.decide, dec.item(), ids["ana"], at(2), "buy")  # waits for Cy
    dec.do("cy", d.decline_to_advise, "not my area after all", when=at(2))
    refused(TransitionRefused, d.decline_to_advise, dec.item(), ids["cy"])
    got = dec.get(at(2))
    assert [(a.member, a.declined, a.decline_note) for a in got.asked] == \
        [(ids["bo"], False, ""), (ids["cy"], True, "not my area after all")]
    dec.do("ana", d.ask_advice, ids["dee"], "affected", when=at(2, 1))
    refused(TransitionRefused, d.decide, dec.item(), ids["ana"], at(3), "buy")  # waits for Dee
    dec.do("ana", d.withdraw_ask, ids["dee"], "she is away all month", when=at(3))
    got = dec.get(at(3))
    assert (got.asked[2].member, got.asked[2].withdrawn, got.asked[2].withdrawn_note) == \
        (ids["dee"], True, "she is away all month")
    dec.do("ana", d.ask_advice, ids["dee"], "affected", "back early", when=at(3, 1))  # asked again
    assert not dec.get(at(3)).asked[2].withdrawn
    dec.do("ana", d.move_deadline, at(3), at(4), "the shop closes sooner", when=at(3, 2))
    got = dec.get(at(3))
    assert got.deadline == at(4).isoformat(timespec="seconds")
    assert [(m.deadline, m.note) for m in got.deadline_moves] == \
        [(at(4).isoformat(timespec="seconds"), "the shop closes sooner")]
    refused(TransitionRefused, d.decide, dec.item(), ids["ana"], at(3, 3), "buy")
    dec.do("ana", d.decide, at(4, 1), "buy", when=at(4, 1))  # past the moved deadline
    got = dec.get(at(5))
    assert (got.state, got.basis.advice) == ("decided", [bo])


def test_the_decider_withdraws_the_decision_on_record(dec: Decisions) -> None:
    ids = dec.pod.id
    dec.do("ana", d.withdraw_decision, "the landlord replaces it", when=at(2))
    got = dec.get(at(2))
    assert (got.state, got.withdrawn_note, got.decision) == \
        ("withdrawn", "the landlord replaces it", None)
    for op, args in [(d.decide, (at(3), "buy", None, "r")), (d.withdraw_decision, ("again",)),
                     (d.ask_advice, (ids["dee"], "affected"))]:
        refused(TransitionRefused, op, dec.item(), ids["ana"], *args)
    refused(TransitionRefused, d.give_advice, dec.item(), ids["bo"], "support", "late")


def test_decisions_link_the_needs_and_agreements_they_touch(dec: Decisions) -> None:
    ids = dec.pod.id
    linked = dec.pod.do(dec.doc, d.open_decision(
        at(), "Compost", "A bin", at(3), [("need", "a" * 32)]), "bo", at()).id
    item = dec.pod.item(dec.doc, linked, d.OPEN)
    dec.pod.do(dec.doc, d.link_decision(item, ids["bo"], "agreement", "b" * 32), "bo", at(1))
    item = dec.pod.item(dec.doc, linked, d.OPEN)
    refused(TransitionRefused, d.link_decision, item, ids["bo"], "need", "a" * 32)
    assert d.derive(item, at(1)).links == [d.Link("need", "a" * 32),
                                           d.Link("agreement", "b" * 32)]
    refused(InvalidInput, d.open_decision, at(), "t", "p", at(3), [("team", "x")])


def test_a_withdrawal_and_a_decision_made_apart_need_settling(dec: Decisions) -> None:
    dec.do("bo", d.give_advice, "support", "fine")
    other = dec.apart()
    dec.do("ana", d.decide, at(8), "buy", when=at(8))
    other.do("ana", d.withdraw_decision, "no money", when=at(8))
    merged(dec.pod, other.pod)
    got = dec.get(at(9))
    assert got.needs_reconciliation
    assert sorted(c.state for c in got.candidates) == ["decided", "withdrawn"]
