"""Capacity check-ins, load (never ranked) and "are you mobilizing?" asks, as
signed records; records that break the rules, and changes made on two nodes apart."""

from __future__ import annotations

import msgspec
import pytest

from podsync.errors import InvalidInput, NotFound, NotPermitted, TransitionRefused
from podsync.pod import capacity as c
from podsync.pod import needs as n
from podsync.records.format import Draft
from tests.pod.helpers import Pod, at, merged, refused


class Party(msgspec.Struct, frozen=True):
    member: str


class Agreement(msgspec.Struct, frozen=True):
    """The fields of podsync.pod.agreements.Agreement that a load reads; agreements
    have their own tests, so their views are built here directly."""

    id: str
    what: str
    state: str
    parties: list[Party]


class Capacity:
    """The capacity collection of a real pod, and its needs board."""

    def __init__(self, pod: Pod) -> None:
        self.pod = pod
        self.doc = pod.collections[c.KIND]
        self.needs = pod.collections[n.KIND]
        self.need = pod.do(self.needs, n.add_need("Fix the gutter"), "ana", at()).id

    def check_in(self, who: str, level: str, note: str = "", when=None) -> str:
        return self.pod.do(self.doc, c.check_in(level, note), who, when or at()).id

    def checkins(self) -> list[c.CheckIn]:
        return c.checkins(self.pod.items(self.doc, c.CHECKIN))

    def asks(self) -> dict:
        return self.pod.items(self.doc, c.ASK)

    def ask_of(self, asker: str, member: str, question: str = "") -> str:
        ids = self.pod.id
        return self.pod.do(self.doc, c.ask_mobilizing(ids[asker], ids[member], self.need,
                                                      question), asker, at()).id

    def item(self, ask_id: str):
        return self.asks()[ask_id]

    def ask(self, ask_id: str) -> c.Ask:
        return c.ask(self.asks(), ask_id)

    def do(self, who: str, op, ask_id: str, *args, when=None, **kwargs):
        return self.pod.do(self.doc, op(self.item(ask_id), self.pod.id[who], *args, **kwargs),
                           who, when or at(1))

    def apart(self) -> Capacity:
        """This pod as another member's node sees it while apart."""
        other = Capacity.__new__(Capacity)
        other.__dict__.update(self.__dict__)
        other.pod = self.pod.fork()
        return other


@pytest.fixture
def cap() -> Capacity:
    return Capacity(Pod())


def test_check_ins_keep_history_and_the_latest_is_current(cap: Capacity) -> None:
    ids = cap.pod.id
    cap.check_in("ana", "baseline", when=at(0))
    cap.check_in("bo", "spacious", when=at(1))
    cap.check_in("ana", "depleted", "flu", when=at(2))
    assert [(x.member, x.level) for x in cap.checkins()] == \
        [(ids["ana"], "baseline"), (ids["bo"], "spacious"), (ids["ana"], "depleted")]
    now = c.current_capacity(cap.pod.items(cap.doc, c.CHECKIN))
    assert (now[ids["ana"]].level, now[ids["ana"]].note, now[ids["bo"]].level) == \
        ("depleted", "flu", "spacious")
    assert now[ids["ana"]].at == at(2).isoformat(timespec="microseconds")
    refused(InvalidInput, c.check_in, "exhausted")


def test_check_ins_apart_both_survive(cap: Capacity) -> None:
    other = cap.apart()
    cap.check_in("ana", "stretched", when=at(1))
    other.check_in("bo", "baseline", when=at(1))
    merged(cap.pod, other.pod)
    for replica in (cap, other):
        assert sorted(x.member for x in replica.checkins()) == \
            sorted([cap.pod.id["ana"], cap.pod.id["bo"]])


def test_load_counts_held_needs_and_live_agreements_sorted_by_member_not_load(
        cap: Capacity) -> None:
    ids, pod = cap.pod.id, cap.pod
    for title in ("gutter", "garden", "bins"):
        nid = pod.do(cap.needs, n.add_need(title), "ana", at()).id
        pod.do(cap.needs, n.hold_need(pod.item(cap.needs, nid, n.ADD), ids["dee"]), "dee", at(1))
    open_need = pod.do(cap.needs, n.add_need("unheld"), "ana", at()).id
    live = Agreement("a1", "Cook", "active", [Party(ids["ana"]), Party(ids["dee"])])
    talking = Agreement("a2", "Shop", "renegotiating", [Party(ids["dee"])])
    proposed = Agreement("a3", "Only proposed", "proposed", [Party(ids["ana"])])
    cap.check_in("dee", "stretched", "a lot on", when=at(2))
    loads = c.loads(n.needs(pod.items(cap.needs, n.ADD), at(3)), [live, talking, proposed],
                    cap.checkins(), members=[ids["ana"], ids["bo"], ids["dee"]])
    # By member id, whoever holds most: the list is never a ranking.
    assert [x.member for x in loads] == sorted([ids["ana"], ids["bo"], ids["dee"]])
    by = {x.member: x for x in loads}
    ana, bo, dee = by[ids["ana"]], by[ids["bo"]], by[ids["dee"]]
    assert (sorted(i.title for i in dee.needs), [i.id for i in dee.agreements],
            dee.capacity, dee.capacity_note) == \
        (["bins", "garden", "gutter"], ["a1", "a2"], "stretched", "a lot on")
    assert (ana.needs, [i.title for i in ana.agreements], ana.capacity) == ([], ["Cook"], None)
    assert (bo.needs, bo.agreements) == ([], [])
    assert open_need not in [i.id for x in loads for i in x.needs]


def test_mobilizing_ask_answer_and_discernment(cap: Capacity) -> None:
    ids = cap.pod.id
    ask = cap.ask_of("ana", "dee", "you hold five needs")
    got = cap.ask(ask)
    assert (got.asker, got.member, got.need, got.question, got.state) == \
        (ids["ana"], ids["dee"], cap.need, "you hold five needs", "asked")
    refused(TransitionRefused, c.record_discernment, cap.item(ask), ids["ana"], "release")
    refused(NotPermitted, c.answer_ask, cap.item(ask), ids["ana"], "answering for dee")
    cap.do("dee", c.answer_ask, ask, "yes, I think I am")
    refused(TransitionRefused, c.answer_ask, cap.item(ask), ids["dee"], "again")
    refused(NotPermitted, c.record_discernment, cap.item(ask), ids["bo"], "release")
    refused(InvalidInput, c.record_discernment, cap.item(ask), ids["dee"], "quit")
    cap.do("dee", c.record_discernment, ask, "ask_for_support", "bo will co-hold", when=at(2))
    got = cap.ask(ask)
    assert (got.state, got.answer, got.answered_at, got.discernment, got.discernment_note) == \
        ("discerned", "yes, I think I am", at(1).isoformat(timespec="microseconds"),
         "ask_for_support", "bo will co-hold")
    refused(TransitionRefused, c.record_discernment, cap.item(ask), ids["ana"], "continue")
    refused(NotPermitted, c.ask_mobilizing, ids["ana"], ids["ana"], cap.need)
    cap.do("bo", c.note_ask, ask, "glad you asked", when=at(3))
    got = cap.ask(ask)
    assert ([x.text for x in got.notes], got.state) == (["glad you asked"], "discerned")
    assert [a.id for a in c.asks(cap.asks())] == [ask]


def test_the_asker_records_the_discernment_too(cap: Capacity) -> None:
    ask = cap.ask_of("ana", "dee")
    cap.do("dee", c.answer_ask, ask, "not really")
    cap.do("ana", c.record_discernment, ask, "release", when=at(2))
    assert (cap.ask(ask).state, cap.ask(ask).discernment) == ("discerned", "release")


def test_different_answers_apart_need_settling(cap: Capacity) -> None:
    ask = cap.ask_of("ana", "dee")
    other = cap.apart()
    cap.do("dee", c.answer_ask, ask, "yes")
    other.do("dee", c.answer_ask, ask, "no")
    merged(cap.pod, other.pod)
    got = cap.ask(ask)
    assert got.needs_reconciliation and got.state == "asked"
    assert other.ask(ask) == got
    refused(TransitionRefused, c.answer_ask, cap.item(ask), cap.pod.id["dee"], "maybe")
    no = next(x.id for x in got.candidates if x.fields["answer"] == "no")
    cap.do("dee", c.settle_ask, ask, no, when=at(2))
    assert (cap.ask(ask).answer, cap.ask(ask).state) == ("no", "answered")


def test_signed_records_that_break_the_rules_change_nothing(cap: Capacity) -> None:
    """A member whose node skips the checks can sign anything; replay applies the
    same rules, so nothing moves."""
    ids, pod = cap.pod.id, cap.pod
    ask = cap.ask_of("ana", "dee")
    # Cy, and the asker herself, answer for Dee.
    pod.do(cap.doc, Draft("answer", {"text": "yes"}, item=ask), "cy", at(1))
    pod.do(cap.doc, Draft("answer", {"text": "yes"}, item=ask), "ana", at(1))
    assert (cap.ask(ask).state, cap.ask(ask).answer) == ("asked", None)
    cap.do("dee", c.answer_ask, ask, "I am", when=at(2))
    heads = (cap.ask(ask).history[-1].id,)
    # Bo, neither asker nor asked, discerns; Dee discerns an outcome that is none.
    pod.do(cap.doc, Draft("discern", {"outcome": "release", "note": ""}, item=ask,
                          after=heads), "bo", at(3))
    pod.do(cap.doc, Draft("discern", {"outcome": "quit", "note": ""}, item=ask,
                          after=heads), "dee", at(3))
    got = cap.ask(ask)
    assert (got.state, got.answer, got.discernment) == ("answered", "I am", None)
    # An ask of oneself is no ask: not listed, not found, not answerable.
    own = pod.do(cap.doc, Draft(c.ASK, {"member": ids["bo"], "need": cap.need,
                                        "question": ""}), "bo", at(1)).id
    assert [a.id for a in c.asks(cap.asks())] == [ask]
    with pytest.raises(NotFound):
        c.ask(cap.asks(), own)
    refused(NotFound, c.answer_ask, cap.item(own), ids["bo"], "yes")
    # Check-ins whose level is not a level.
    cap.check_in("bo", "baseline", when=at(1))
    pod.do(cap.doc, Draft(c.CHECKIN, {"level": "exhausted", "note": ""}), "bo", at(2))
    pod.do(cap.doc, Draft(c.CHECKIN, {"level": ["baseline"]}), "bo", at(2))
    pod.do(cap.doc, Draft(c.CHECKIN, {}), "bo", at(2))
    assert [x.level for x in cap.checkins()] == ["baseline"]
    # A record about an ask that does not exist, and one of an unknown type.
    pod.do(cap.doc, Draft("answer", {"text": "x"}, item="f" * 32), "dee", at(3))
    pod.do(cap.doc, Draft("teleport", {}, item=ask), "dee", at(3))
    after = cap.ask(ask)
    assert (after.state, after.answer, after.discernment, after.needs_reconciliation) == \
        ("answered", "I am", None, False)
    assert list(cap.asks()) == [ask, own]


def test_hostile_bodies_are_shown_totally(cap: Capacity) -> None:
    pod = cap.pod
    odd = pod.do(cap.doc, Draft(c.ASK, {"member": ["x"], "need": 7, "question": {"a": 1}}),
                 "bo", at(1)).id
    got = cap.ask(odd)
    assert (got.asker, got.member, got.need, got.question, got.state) == \
        (pod.id["bo"], "", "", "", "asked")
    refused(NotPermitted, c.answer_ask, cap.item(odd), pod.id["cy"], "nobody was asked")
    ask = cap.ask_of("ana", "dee")
    pod.do(cap.doc, Draft("answer", {"text": ["not", "text"]}, item=ask), "dee", at(2))
    assert (cap.ask(ask).state, cap.ask(ask).answer) == ("answered", "")
    pod.do(cap.doc, Draft(c.CHECKIN, {"level": "spacious", "note": b"\x00" * 9}), "cy", at(2))
    assert [(x.level, x.note) for x in cap.checkins()] == [("spacious", "")]


def test_a_refused_answer_made_alongside_the_real_one_changes_nothing(cap: Capacity) -> None:
    ask = cap.ask_of("ana", "dee")
    cap.do("dee", c.answer_ask, ask, "yes")
    # Cy's node signs an answer for Dee that follows none of the ask's records.
    cap.pod.do(cap.doc, Draft("answer", {"text": "no"}, item=ask), "cy", at(2))
    got = cap.ask(ask)
    assert (got.state, got.answer, got.needs_reconciliation) == ("answered", "yes", False)
