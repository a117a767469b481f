"""Teams and stewards per leader (records in the pod document) and team items, as
signed records; records that break the rules, and changes made on two nodes apart."""

from __future__ import annotations

import pytest

from podsync.errors import InvalidInput, NotFound, TransitionRefused
from podsync.pod import teams as t
from podsync.records.format import Draft
from podsync.trust import graph
from tests.pod.helpers import Pod, at, merged, refused


def records(pod: Pod) -> list:
    """The pod document's counted team and steward records, in replay order."""
    return pod.ledger.pod_records(t.POD_TYPES)


def do(pod: Pod, who: str, op, *args, when=None) -> str:
    """``op(records, <who's id>, *args)`` signed by ``who`` into the pod document."""
    return pod.do(pod.pod_id, op(records(pod), pod.id[who], *args), who, when or at()).id


def team_op(pod: Pod, who: str, op, team_id: str, *args, when=None) -> str:
    return pod.do(pod.pod_id, op(records(pod), team_id, pod.id[who], *args), who,
                  when or at()).id


def test_teams_and_members_with_changes_apart() -> None:
    pod = Pod()
    ids = pod.id
    tid = do(pod, "ana", t.create_team, "Kitchen", [ids["ana"], ids["bo"]])
    refused(TransitionRefused, t.create_team, records(pod), ids["bo"], "kitchen")
    other = pod.fork()
    team_op(pod, "ana", t.add_team_member, tid, ids["cy"], when=at(1))
    team_op(other, "bo", t.remove_team_member, tid, ids["bo"], when=at(1))
    do(other, "bo", t.create_team, "Garden", when=at(1))
    merged(pod, other)
    for replica in (pod, other):
        assert [(x.name, x.members) for x in t.teams(records(replica))] == \
            [("Garden", []), ("Kitchen", sorted([ids["ana"], ids["cy"]]))]
    kitchen = t.team(records(pod), tid)
    assert (kitchen.id, kitchen.created_by, kitchen.created_at) == \
        (tid, ids["ana"], at().isoformat(timespec="microseconds"))
    refused(TransitionRefused, t.add_team_member, records(pod), tid, ids["ana"], ids["cy"])
    refused(TransitionRefused, t.remove_team_member, records(pod), tid, ids["ana"], ids["bo"])
    refused(NotFound, t.add_team_member, records(pod), "nope", ids["ana"], ids["cy"])
    refused(InvalidInput, t.create_team, records(pod), ids["ana"], "")
    refused(InvalidInput, t.add_team_member, records(pod), tid, ids["ana"], "has space")
    team_op(pod, "ana", t.add_team_member, tid, ids["bo"], when=at(3))  # back again
    assert t.team(records(pod), tid).members == sorted([ids["ana"], ids["bo"], ids["cy"]])
    with pytest.raises(NotFound):
        t.team(records(pod), "nope")


def test_membership_changes_follow_the_records_order_not_the_clocks() -> None:
    """Bo takes Cy out after seeing Ana add her, though Bo's clock is behind Ana's."""
    pod = Pod()
    ids = pod.id
    tid = do(pod, "ana", t.create_team, "Kitchen")
    team_op(pod, "ana", t.add_team_member, tid, ids["cy"], when=at(5))
    team_op(pod, "bo", t.remove_team_member, tid, ids["cy"], when=at(3))
    assert t.team(records(pod), tid).members == []


def test_teams_of_the_same_name_formed_apart_both_stay() -> None:
    pod = Pod()
    other = pod.fork()
    a = do(pod, "ana", t.create_team, "Kitchen")
    b = do(other, "bo", t.create_team, "kitchen")
    merged(pod, other)
    assert sorted(x.id for x in t.teams(records(pod))) == sorted([a, b])


def test_a_leader_is_never_their_own_steward() -> None:
    pod = Pod()
    ids = pod.id
    lee, sam, ana = ids["dee"], ids["cy"], ids["ana"]
    refused(InvalidInput, t.name_steward, records(pod), ana, lee, lee)
    do(pod, "ana", t.name_steward, lee, sam)
    do(pod, "dee", t.name_steward, lee, ana)
    refused(TransitionRefused, t.name_steward, records(pod), ids["bo"], lee, sam)
    assert t.stewards_of(records(pod), lee) == sorted([ana, sam])
    do(pod, "bo", t.remove_steward, lee, ana, when=at(1))
    refused(TransitionRefused, t.remove_steward, records(pod), ids["bo"], lee, ana)
    assert t.stewardships(records(pod)) == {lee: [sam]}
    assert t.stewards_of(records(pod), ana) == []
    do(pod, "cy", t.name_steward, lee, ana, when=at(2))  # named again
    assert t.stewards_of(records(pod), lee) == sorted([ana, sam])


def test_stewards_named_apart_both_count() -> None:
    pod = Pod()
    ids = pod.id
    other = pod.fork()
    do(pod, "ana", t.name_steward, ids["dee"], ids["cy"])
    do(other, "bo", t.name_steward, ids["dee"], ids["bo"])
    merged(pod, other)
    for replica in (pod, other):
        assert t.stewards_of(records(replica), ids["dee"]) == sorted([ids["cy"], ids["bo"]])


def test_signed_pod_records_that_break_the_rules_change_nothing() -> None:
    """A member whose node skips the checks can sign anything; reading applies the
    same rules, so teams and stewards do not move."""
    pod = Pod()
    ids = pod.id
    tid = do(pod, "ana", t.create_team, "Kitchen", [ids["ana"]])
    do(pod, "ana", t.name_steward, ids["dee"], ids["cy"])
    before = (t.teams(records(pod)), t.stewardships(records(pod)))
    # The leader named as their own steward, and a steward that is no member id.
    pod.do(pod.pod_id, Draft(t.STEWARD_NAME, {"leader": ids["dee"], "steward": ids["dee"]}), "dee")
    pod.do(pod.pod_id, Draft(t.STEWARD_NAME, {"leader": ids["dee"], "steward": "a b"}), "bo")
    # Members added to a team that does not exist, or to a record that is no team.
    steward_record = records(pod)[-1].record.id
    for item in ("f" * 32, steward_record, pod.pod_id):
        pod.do(pod.pod_id, Draft(t.TEAM_ADD, {"member": ids["bo"]}, item=item), "bo")
    # A team "created" as if it were about another item, and a member that is no id.
    pod.do(pod.pod_id, Draft(t.TEAM_CREATE, {"name": "Shadow", "members": []}, item=tid), "bo")
    pod.do(pod.pod_id, Draft(t.TEAM_ADD, {"member": ["x"]}, item=tid), "bo")
    pod.do(pod.pod_id, Draft(t.TEAM_REMOVE, {}, item=tid), "bo")
    assert (t.teams(records(pod)), t.stewardships(records(pod))) == before
    # Bo is removed; what his node signs afterwards is not counted at all.
    pod.do(pod.pod_id, Draft(graph.REMOVE, {"target": ids["bo"]}), "ana", at(1))
    pod.do(pod.pod_id, Draft(t.TEAM_CREATE, {"name": "Bo's", "members": []}), "bo", at(2))
    pod.do(pod.pod_id, Draft(t.STEWARD_REMOVE, {"leader": ids["dee"], "steward": ids["cy"]}),
           "bo", at(2))
    assert (t.teams(records(pod)), t.stewardships(records(pod))) == before


def test_hostile_pod_record_bodies_are_shown_totally() -> None:
    pod = Pod()
    ids = pod.id
    odd = pod.do(pod.pod_id, Draft(t.TEAM_CREATE, {"name": ["x"], "members": "ana"}), "bo").id
    mixed = pod.do(pod.pod_id, Draft(t.TEAM_CREATE, {
        "name": "Mixed", "members": [ids["ana"], 5, "has space", {"x": 1}, ids["ana"]]}), "bo").id
    got = {x.id: x for x in t.teams(records(pod))}
    assert (got[odd].name, got[odd].members, got[odd].created_by) == ("", [], ids["bo"])
    assert (got[mixed].name, got[mixed].members) == ("Mixed", [ids["ana"]])
    pod.do(pod.pod_id, Draft(t.STEWARD_NAME, {"leader": 7, "steward": None}), "bo")
    pod.do(pod.pod_id, Draft(t.STEWARD_REMOVE, {"leader": [ids["dee"]]}), "bo")
    assert t.stewardships(records(pod)) == {}


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
