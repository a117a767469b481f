"""Capacity check-ins and load (never ranked; strained agreements apart), as signed
records; hostile records, and check-ins made on two nodes apart. Asks:
test_discernment.py; allies: test_allies.py."""

from __future__ import annotations

import msgspec
import pytest

from podsync.errors import InvalidInput
from podsync.pod import capacity as c
from podsync.pod import needs as n
from podsync.records.format import Draft
from tests.pod.helpers import Pod, at, merged, refused


class Party(msgspec.Struct, frozen=True):
    member: str
    no_longer: str | None = None
    withdrawn: bool = False


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
    now = c.current_capacity(c.checkins(cap.pod.items(cap.doc, c.CHECKIN)))
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
    # Bo said the garden is no longer within his capacity, and Ana left the laundry.
    strained = Agreement("a4", "Garden", "renegotiating",
                         [Party(ids["bo"], no_longer="too much"), Party(ids["dee"])])
    left = Agreement("a5", "Laundry", "renegotiating", [Party(ids["ana"], withdrawn=True)])
    cap.check_in("dee", "stretched", "a lot on", when=at(2))
    loads = c.loads(n.needs(pod.items(cap.needs, n.ADD), at(3)),
                    [live, talking, proposed, strained, left],
                    cap.checkins(), members=[ids["ana"], ids["bo"], ids["dee"]])
    # By member id, whoever holds most: the list is never a ranking.
    assert [x.member for x in loads] == sorted([ids["ana"], ids["bo"], ids["dee"]])
    by = {x.member: x for x in loads}
    ana, bo, dee = by[ids["ana"]], by[ids["bo"]], by[ids["dee"]]
    assert (sorted(i.title for i in dee.needs), [i.id for i in dee.agreements],
            dee.capacity, dee.capacity_note) == \
        (["bins", "garden", "gutter"], ["a1", "a2", "a4"], "stretched", "a lot on")
    assert (ana.needs, [i.title for i in ana.agreements], ana.capacity, ana.strained) == \
        ([], ["Cook"], None, [])
    # A strained agreement shows apart from the load, never in it.
    assert (bo.needs, bo.agreements, [i.id for i in bo.strained]) == ([], [], ["a4"])
    assert open_need not in [i.id for x in loads for i in x.needs]


def test_a_low_check_in_lists_what_is_held_with_still_within_my_capacity(cap: Capacity) -> None:
    ids, pod = cap.pod.id, cap.pod
    held = pod.do(cap.needs, n.add_need("bins"), "ana", at()).id
    pod.do(cap.needs, n.hold_need(pod.item(cap.needs, held, n.ADD), ids["dee"]), "dee", at(1))
    live = Agreement("a1", "Cook", "active", [Party(ids["dee"])])
    paused = Agreement("a2", "Shop", "paused", [Party(ids["dee"])])
    strained = Agreement("a3", "Garden", "renegotiating", [Party(ids["dee"], no_longer="x")])
    other = Agreement("a4", "Not hers", "active", [Party(ids["bo"])])
    proposed = Agreement("a5", "Only proposed", "proposed", [Party(ids["dee"])])
    got = c.review(ids["dee"], n.needs(pod.items(cap.needs, n.ADD), at(2)),
                   [live, paused, strained, other, proposed])
    assert [(x.kind, x.id, x.title, x.question) for x in got] == [
        ("agreement", "a1", "Cook", c.STILL_WITHIN), ("agreement", "a2", "Shop", c.STILL_WITHIN),
        ("need", held, "bins", c.STILL_WITHIN)]
    assert c.STILL_WITHIN == "Still within my capacity?"


def test_check_ins_that_break_the_rules_or_hold_hostile_bodies_count_for_nothing(
        cap: Capacity) -> None:
    pod = cap.pod
    cap.check_in("bo", "baseline", when=at(1))
    pod.do(cap.doc, Draft(c.CHECKIN, {"level": "exhausted", "note": ""}), "bo", at(2))
    pod.do(cap.doc, Draft(c.CHECKIN, {"level": ["baseline"]}), "bo", at(2))
    pod.do(cap.doc, Draft(c.CHECKIN, {}), "bo", at(2))
    pod.do(cap.doc, Draft(c.CHECKIN, {"level": "spacious", "note": b"\x00" * 9}), "cy", at(2))
    assert [(x.member, x.level, x.note) for x in cap.checkins()] == \
        [(pod.id["bo"], "baseline", ""), (pod.id["cy"], "spacious", "")]
