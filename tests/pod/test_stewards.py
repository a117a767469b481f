"""Stewards by consent (records in the pod document): a nomination is in effect only
once the steward affirms and the leader consents; stepping down and removal are
recorded with who; signed records that break the rules; nominations made apart."""

from __future__ import annotations

import pytest

from podsync.errors import InvalidInput, NotFound, NotPermitted, TransitionRefused
from podsync.pod import stewards as s
from podsync.records.format import Draft
from podsync.trust import graph
from tests.pod.helpers import Pod, at, merged, refused


def records(pod: Pod) -> list:
    return pod.ledger.pod_records(s.STEWARD_TYPES)


def propose(pod: Pod, who: str, leader: str, steward: str, when=None) -> str:
    return pod.do(pod.pod_id, s.propose_steward(records(pod), pod.id[who], pod.id[leader],
                                                pod.id[steward]), who, when or at()).id


def act(pod: Pod, who: str, op, nomination: str, note: str = "", when=None) -> str:
    return pod.do(pod.pod_id, op(records(pod), nomination, pod.id[who], note), who,
                  when or at(1)).id


@pytest.fixture
def pod() -> Pod:
    return Pod(("ana", "bo", "cy", "dee", "lee"))


def test_a_steward_is_in_effect_once_they_affirm_and_the_leader_consents(pod: Pod) -> None:
    ids = pod.id
    nid = propose(pod, "ana", "lee", "cy")
    got = s.nomination(records(pod), nid)
    assert (got.leader, got.steward, got.proposed_by, got.state) == \
        (ids["lee"], ids["cy"], ids["ana"], "proposed")
    assert s.stewards_of(records(pod), ids["lee"]) == []
    act(pod, "lee", s.consent_to_steward, nid, "yes, thank you", when=at(1))
    assert s.stewards_of(records(pod), ids["lee"]) == []  # not until Cy affirms
    act(pod, "cy", s.affirm_role, nid, "within my capacity", when=at(2))
    got = s.nomination(records(pod), nid)
    assert (got.state, got.affirm_note, got.consent_note) == \
        ("active", "within my capacity", "yes, thank you")
    assert s.stewardships(records(pod)) == {ids["lee"]: [ids["cy"]]}


def test_who_may_do_what_with_a_nomination(pod: Pod) -> None:
    ids = pod.id
    refused(InvalidInput, s.propose_steward, records(pod), ids["ana"], ids["lee"], ids["lee"])
    nid = propose(pod, "ana", "lee", "cy")
    refused(TransitionRefused, s.propose_steward, records(pod), ids["bo"], ids["lee"], ids["cy"])
    refused(NotPermitted, s.affirm_role, records(pod), nid, ids["lee"])  # the leader
    refused(NotPermitted, s.affirm_role, records(pod), nid, ids["ana"])  # the proposer
    refused(NotPermitted, s.consent_to_steward, records(pod), nid, ids["cy"])  # the steward
    refused(NotPermitted, s.decline_nomination, records(pod), nid, ids["bo"])
    refused(TransitionRefused, s.step_down, records(pod), nid, ids["cy"])  # not active yet
    refused(NotFound, s.affirm_role, records(pod), "f" * 32, ids["cy"])
    act(pod, "cy", s.affirm_role, nid)
    refused(TransitionRefused, s.affirm_role, records(pod), nid, ids["cy"])
    act(pod, "lee", s.consent_to_steward, nid, when=at(2))
    refused(TransitionRefused, s.decline_nomination, records(pod), nid, ids["lee"])
    refused(NotPermitted, s.end_role, records(pod), nid, ids["ana"])  # only the leader ends it
    refused(NotPermitted, s.step_down, records(pod), nid, ids["lee"])


def test_declining_stepping_down_and_removal_are_recorded_with_who(pod: Pod) -> None:
    ids = pod.id
    declined = propose(pod, "ana", "lee", "bo")
    act(pod, "bo", s.decline_nomination, declined, "not this year")
    got = s.nomination(records(pod), declined)
    assert (got.state, got.ending, got.ended_by, got.ending_note) == \
        ("declined", "declined", ids["bo"], "not this year")
    refused(TransitionRefused, s.affirm_role, records(pod), declined, ids["bo"])
    for steward, ender, op, ending in (("cy", "cy", s.step_down, "stepped_down"),
                                       ("dee", "lee", s.end_role, "removed")):
        nid = propose(pod, "ana", "lee", steward)
        act(pod, steward, s.affirm_role, nid)
        act(pod, "lee", s.consent_to_steward, nid)
        act(pod, ender, op, nid, "time to rest", when=at(3))
        got = s.nomination(records(pod), nid)
        assert (got.state, got.ending, got.ended_by, got.ended_at) == \
            ("ended", ending, ids[ender], at(3).isoformat(timespec="microseconds"))
    assert s.stewards_of(records(pod), ids["lee"]) == []
    again = propose(pod, "bo", "lee", "cy", when=at(4))  # named again: a new nomination
    assert s.nomination(records(pod), again).state == "proposed"
    assert sorted(n.state for n in s.nominations(records(pod))) == \
        ["declined", "ended", "ended", "proposed"]


def test_signed_records_that_break_the_rules_change_nothing(pod: Pod) -> None:
    ids = pod.id
    nid = propose(pod, "ana", "lee", "cy")
    # The proposer affirms and consents for both; the steward consents; the leader affirms.
    for who, op in (("ana", s.AFFIRM), ("ana", s.CONSENT), ("cy", s.CONSENT), ("lee", s.AFFIRM)):
        pod.do(pod.pod_id, Draft(op, {"note": ""}, item=nid), who)
    assert s.nomination(records(pod), nid).state == "proposed"
    # The leader as their own steward, a steward that is no member id, records about
    # a nomination that does not exist or about another record.
    pod.do(pod.pod_id, Draft(s.PROPOSE, {"leader": ids["lee"], "steward": ids["lee"]}), "lee")
    pod.do(pod.pod_id, Draft(s.PROPOSE, {"leader": ids["lee"], "steward": "a b"}), "bo")
    pod.do(pod.pod_id, Draft(s.PROPOSE, {"leader": 7, "steward": None}), "bo")
    for item in ("f" * 32, pod.pod_id):
        pod.do(pod.pod_id, Draft(s.AFFIRM, {"note": ""}, item=item), "cy")
    assert [n.id for n in s.nominations(records(pod))] == [nid]
    act(pod, "cy", s.affirm_role, nid)
    act(pod, "lee", s.consent_to_steward, nid)
    # Anyone else ending it; ending it twice.
    pod.do(pod.pod_id, Draft(s.REMOVE, {"note": ""}, item=nid), "bo", at(2))
    pod.do(pod.pod_id, Draft(s.STEP_DOWN, {"note": ""}, item=nid), "lee", at(2))
    assert s.stewards_of(records(pod), ids["lee"]) == [ids["cy"]]
    # Cy is removed from the pod; what her node signs afterwards counts for nothing.
    pod.do(pod.pod_id, Draft(graph.REMOVE, {"target": ids["cy"]}), "ana", at(3))
    pod.do(pod.pod_id, Draft(s.STEP_DOWN, {"note": ""}, item=nid), "cy", at(4))
    assert s.nomination(records(pod), nid).state == "active"


def test_a_nomination_and_a_removal_made_apart_both_stand(pod: Pod) -> None:
    ids = pod.id
    first = propose(pod, "ana", "lee", "cy")
    act(pod, "cy", s.affirm_role, first)
    act(pod, "lee", s.consent_to_steward, first)
    other = pod.fork()
    # Apart: Lee ends Cy's role; Bo proposes Dee, who affirms, and Cy again.
    act(pod, "lee", s.end_role, first, "I asked for a change", when=at(2))
    dee = propose(other, "bo", "lee", "dee", when=at(2))
    act(other, "dee", s.affirm_role, dee, when=at(2))
    assert s.stewards_of(records(other), ids["lee"]) == [ids["cy"]]
    merged(pod, other)
    for replica in (pod, other):
        assert s.stewards_of(records(replica), ids["lee"]) == []
        states = {n.steward: n.state for n in s.nominations(records(replica))}
        assert states == {ids["cy"]: "ended", ids["dee"]: "proposed"}
    act(pod, "lee", s.consent_to_steward, dee, when=at(3))
    assert s.stewards_of(records(pod), ids["lee"]) == [ids["dee"]]
