"""Teams joined by consent (records in the pod document) and team items, as signed
records; records that break the rules, and changes made on two nodes apart."""

from __future__ import annotations

import pytest

from podsync.errors import InvalidInput, NotFound, TransitionRefused
from podsync.pod import teams as t
from podsync.records.format import Draft
from podsync.trust import graph
from tests.pod.helpers import Pod, at, merged, refused


def records(pod: Pod) -> list:
    """The pod document's counted team records, in replay order."""
    return pod.ledger.pod_records(t.TEAM_TYPES)


def do(pod: Pod, who: str, op, *args, when=None) -> str:
    """``op(records, <who's id>, *args)`` signed by ``who`` into the pod document."""
    return pod.do(pod.pod_id, op(records(pod), pod.id[who], *args), who, when or at()).id


def team_op(pod: Pod, who: str, op, team_id: str, *args, when=None) -> str:
    return pod.do(pod.pod_id, op(records(pod), team_id, pod.id[who], *args), who,
                  when or at()).id


def test_adding_someone_is_an_invitation_they_accept() -> None:
    pod = Pod()
    ids = pod.id
    tid = do(pod, "ana", t.create_team, "Kitchen", [ids["ana"], ids["bo"]])
    kitchen = t.team(records(pod), tid)
    assert (kitchen.members, kitchen.invited) == ([ids["ana"]], [ids["bo"]])
    assert (kitchen.id, kitchen.created_by, kitchen.created_at) == \
        (tid, ids["ana"], at().isoformat(timespec="microseconds"))
    refused(TransitionRefused, t.accept_team, records(pod), tid, ids["cy"])  # not invited
    refused(TransitionRefused, t.add_team_member, records(pod), tid, ids["cy"], ids["bo"])
    team_op(pod, "bo", t.accept_team, tid, when=at(1))
    team_op(pod, "ana", t.add_team_member, tid, ids["cy"], when=at(2))
    team_op(pod, "cy", t.decline_team, tid, when=at(3))
    team_op(pod, "dee", t.add_team_member, tid, ids["dee"], when=at(4))  # joining oneself
    kitchen = t.team(records(pod), tid)
    assert (kitchen.members, kitchen.invited) == (sorted([ids["ana"], ids["bo"], ids["dee"]]), [])
    refused(TransitionRefused, t.add_team_member, records(pod), tid, ids["ana"], ids["bo"])
    refused(TransitionRefused, t.decline_team, records(pod), tid, ids["cy"])
    refused(TransitionRefused, t.create_team, records(pod), ids["bo"], "kitchen")
    refused(NotFound, t.add_team_member, records(pod), "nope", ids["ana"], ids["cy"])
    refused(InvalidInput, t.create_team, records(pod), ids["ana"], "")
    refused(InvalidInput, t.add_team_member, records(pod), tid, ids["ana"], "has space")
    with pytest.raises(NotFound):
        t.team(records(pod), "nope")


def test_invitations_and_membership_changes_apart() -> None:
    pod = Pod()
    ids = pod.id
    tid = do(pod, "ana", t.create_team, "Kitchen", [ids["ana"], ids["bo"]])
    team_op(pod, "ana", t.add_team_member, tid, ids["cy"])
    other = pod.fork()
    team_op(pod, "cy", t.accept_team, tid, when=at(1))
    team_op(other, "bo", t.accept_team, tid, when=at(1))
    team_op(other, "ana", t.remove_team_member, tid, ids["ana"], when=at(1))  # Ana leaves
    do(other, "bo", t.create_team, "Garden", when=at(1))
    merged(pod, other)
    for replica in (pod, other):
        assert [(x.name, x.members, x.invited) for x in t.teams(records(replica))] == \
            [("Garden", [], []), ("Kitchen", sorted([ids["bo"], ids["cy"]]), [])]
    refused(TransitionRefused, t.remove_team_member, records(pod), tid, ids["ana"], ids["ana"])


def test_membership_changes_follow_the_records_order_not_the_clocks() -> None:
    """Bo takes Cy out after seeing her join, though Bo's clock is behind Cy's."""
    pod = Pod()
    ids = pod.id
    tid = do(pod, "ana", t.create_team, "Kitchen")
    team_op(pod, "cy", t.add_team_member, tid, ids["cy"], when=at(5))
    team_op(pod, "bo", t.remove_team_member, tid, ids["cy"], when=at(3))
    assert t.team(records(pod), tid).members == []


def test_teams_of_the_same_name_formed_apart_both_stay() -> None:
    pod = Pod()
    other = pod.fork()
    a = do(pod, "ana", t.create_team, "Kitchen")
    b = do(other, "bo", t.create_team, "kitchen")
    merged(pod, other)
    assert sorted(x.id for x in t.teams(records(pod))) == sorted([a, b])


def test_signed_pod_records_that_break_the_rules_change_nothing() -> None:
    """A member whose node skips the checks can sign anything; reading applies the
    same rules, so teams and stewards do not move."""
    pod = Pod()
    ids = pod.id
    tid = do(pod, "ana", t.create_team, "Kitchen", [ids["ana"], ids["cy"]])
    before = t.teams(records(pod))
    assert before[0].invited == [ids["cy"]]
    # Bo accepts an invitation he never had; Dee accepts and declines for Cy (as herself).
    pod.do(pod.pod_id, Draft(t.TEAM_ACCEPT, {}, item=tid), "bo")
    pod.do(pod.pod_id, Draft(t.TEAM_ACCEPT, {"member": ids["cy"]}, item=tid), "dee")
    pod.do(pod.pod_id, Draft(t.TEAM_DECLINE, {"member": ids["cy"]}, item=tid), "dee")
    # Members added to a team that does not exist, or to a record that is no team.
    other_record = records(pod)[-1].record.id
    for item in ("f" * 32, other_record, pod.pod_id):
        pod.do(pod.pod_id, Draft(t.TEAM_ADD, {"member": ids["bo"]}, item=item), "bo")
    # A team "created" as if it were about another item, and a member that is no id.
    pod.do(pod.pod_id, Draft(t.TEAM_CREATE, {"name": "Shadow", "members": []}, item=tid), "bo")
    pod.do(pod.pod_id, Draft(t.TEAM_ADD, {"member": ["x"]}, item=tid), "bo")
    pod.do(pod.pod_id, Draft(t.TEAM_REMOVE, {}, item=tid), "bo")
    assert t.teams(records(pod)) == before
    # Bo is removed; what his node signs afterwards is not counted at all.
    pod.do(pod.pod_id, Draft(graph.REMOVE, {"target": ids["bo"]}), "ana", at(1))
    pod.do(pod.pod_id, Draft(t.TEAM_CREATE, {"name": "Bo's", "members": []}), "bo", at(2))
    pod.do(pod.pod_id, Draft(t.TEAM_ADD, {"member": ids["bo"]}, item=tid), "bo", at(2))
    assert t.teams(records(pod)) == before


def test_hostile_pod_record_bodies_are_shown_totally() -> None:
    pod = Pod()
    ids = pod.id
    odd = pod.do(pod.pod_id, Draft(t.TEAM_CREATE, {"name": ["x"], "members": "ana"}), "bo").id
    mixed = pod.do(pod.pod_id, Draft(t.TEAM_CREATE, {
        "name": "Mixed", "members": [ids["ana"], 5, "has space", {"x": 1}, ids["ana"]]}), "bo").id
    got = {x.id: x for x in t.teams(records(pod))}
    assert (got[odd].name, got[odd].members, got[odd].created_by) == ("", [], ids["bo"])
    assert (got[mixed].name, got[mixed].members, got[mixed].invited) == \
        ("Mixed", [], [ids["ana"]])


# -- team items ----------------------------------------------------------------


class Items:
    """The team-items collection of a real pod."""

    def __init__(self, pod: Pod) -> None:
        self.pod = pod
        self.doc = pod.collections[t.ITEMS_KIND]

    def add(self, who: str, *args, **kwargs) -> str:
        return self.pod.do(self.doc, t.add_team_item(*args, **kwargs), who, at()).id

    def items(self) -> dict:
        return self.pod.items(self.doc, t.ITEM_ADD)

    def item(self, item_id: str):
        return self.items()[item_id]

    def get(self, item_id: str) -> t.TeamItem:
        return t.team_item(self.items(), item_id)

    def do(self, who: str, op, item_id: str, *args, when=None):
        return self.pod.do(self.doc, op(self.item(item_id), self.pod.id[who], *args), who,
                           when or at(1))

    def apart(self) -> Items:
        other = Items.__new__(Items)
        other.__dict__.update(self.__dict__)
        other.pod = self.pod.fork()
        return other


@pytest.fixture
def items() -> Items:
    return Items(Pod())


def test_team_item_lifecycle(items: Items) -> None:
    ids = items.pod.id
    iid = items.add("ana", "team1", "Rota clashes", "Tuesdays double")
    got = items.get(iid)
    assert (got.team, got.title, got.detail, got.created_by, got.state) == \
        ("team1", "Rota clashes", "Tuesdays double", ids["ana"], "open")
    refused(TransitionRefused, t.reopen_team_item, items.item(iid), ids["bo"])
    refused(InvalidInput, t.address_team_item, items.item(iid), ids["bo"], "")
    items.do("bo", t.address_team_item, iid, "new rota")
    refused(TransitionRefused, t.address_team_item, items.item(iid), ids["bo"], "again")
    got = items.get(iid)
    assert (got.state, got.addressed_note, got.origin) == ("addressed", "new rota", "member")
    items.do("cy", t.reopen_team_item, iid, when=at(2))
    assert t.team_items(items.items(), "team1")[0].state == "open"
    assert t.team_items(items.items(), "other-team") == []
    refused(InvalidInput, t.add_team_item, "team1", "x", origin="gossip")
    with pytest.raises(NotFound):
        t.team_item(items.items(), "nope")


def test_an_item_routed_from_feedback_names_its_proposal(items: Items) -> None:
    iid = items.add("bo", "team1", "Rota", "the clarified statement", origin="feedback",
                    proposal="p1")
    assert items.get(iid).origin == "feedback"
    assert items.item(iid).fields["proposal"] == "p1"


def test_team_item_addressed_and_noted_apart(items: Items) -> None:
    iid = items.add("ana", "team1", "Rota")
    other = items.apart()
    items.do("bo", t.address_team_item, iid, "fixed")
    other.do("cy", t.address_team_item, iid, "fixed too")
    other.do("cy", t.note_team_item, iid, "thanks")
    merged(items.pod, other.pod)
    got = items.get(iid)
    assert (got.state, got.needs_reconciliation, len(got.notes)) == ("addressed", False, 1)


def test_team_item_addressed_and_reopened_apart_is_settled(items: Items) -> None:
    ids = items.pod.id
    iid = items.add("ana", "team1", "Rota")
    items.do("bo", t.address_team_item, iid, "fixed")
    other = items.apart()
    items.do("cy", t.reopen_team_item, iid, "not fixed", when=at(2))
    other.do("bo", t.note_team_item, iid, "holding up", when=at(2))
    merged(items.pod, other.pod)
    assert items.get(iid).state == "open"  # a note is no change of state
    refused(TransitionRefused, t.settle_team_item, items.item(iid), ids["bo"], "open")


def test_signed_item_records_that_break_the_rules_change_nothing(items: Items) -> None:
    pod = items.pod
    iid = items.add("ana", "team1", "Rota")
    pod.do(items.doc, Draft("reopen", {"note": ""}, item=iid), "cy", at(1))  # still open
    assert items.get(iid).state == "open"
    items.do("bo", t.address_team_item, iid, "fixed", when=at(2))
    head = (items.get(iid).history[-1].id,)
    pod.do(items.doc, Draft("address", {"note": "rewritten"}, item=iid, after=head), "cy", at(3))
    got = items.get(iid)
    assert (got.state, got.addressed_note, got.needs_reconciliation) == \
        ("addressed", "fixed", False)


def test_a_hostile_item_body_is_shown_totally(items: Items) -> None:
    pod = items.pod
    odd = pod.do(items.doc, Draft(t.ITEM_ADD, {"team": 7, "title": ["t"], "detail": None,
                                               "origin": "gossip"}), "bo").id
    got = items.get(odd)
    assert (got.team, got.title, got.detail, got.origin, got.state) == ("", "", "", "", "open")
    pod.do(items.doc, Draft("address", {"note": {"x": 1}}, item=odd), "bo", at(1))
    assert (items.get(odd).state, items.get(odd).addressed_note) == ("addressed", "")
    assert t.team_items(items.items(), "team1") == []
