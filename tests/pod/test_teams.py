"""Teams, stewards per leader, and team items."""

from __future__ import annotations

import pytest

from podsync.errors import InvalidInput, NotFound, TransitionRefused
from podsync.pod import teams as t
from tests.pod.helpers import at, merged, new_doc, new_pod_doc, refused, run


def test_teams_and_members_with_changes_apart() -> None:
    pod = new_pod_doc()
    tid = run(pod, t.create_team, "ana", at(), "Kitchen", ["ana", "bo"])
    refused(pod, TransitionRefused, t.create_team, "bo", at(), "kitchen")
    other = pod.fork()
    run(pod, t.add_team_member, tid, "ana", at(1), "cy")
    run(other, t.remove_team_member, tid, "bo", at(1), "bo")
    run(other, t.create_team, "bo", at(1), "Garden")
    merged(pod, other)
    assert [(x.name, x.members) for x in t.teams(pod)] == \
        [("Garden", []), ("Kitchen", ["ana", "cy"])]
    refused(pod, TransitionRefused, t.add_team_member, tid, "ana", at(2), "cy")
    refused(pod, TransitionRefused, t.remove_team_member, tid, "ana", at(2), "bo")
    refused(pod, NotFound, t.add_team_member, "nope", "ana", at(2), "cy")
    run(pod, t.add_team_member, tid, "ana", at(3), "bo")  # back again
    assert t.team(pod, tid).members == ["ana", "bo", "cy"]


def test_a_leader_is_never_their_own_steward() -> None:
    pod = new_pod_doc()
    refused(pod, InvalidInput, t.name_steward, "ana", at(), "lee", "lee")
    run(pod, t.name_steward, "ana", at(), "lee", "sam")
    run(pod, t.name_steward, "lee", at(), "lee", "ana")
    refused(pod, TransitionRefused, t.name_steward, "bo", at(), "lee", "sam")
    assert t.stewards_of(pod, "lee") == ["ana", "sam"]
    run(pod, t.remove_steward, "bo", at(1), "lee", "ana")
    refused(pod, TransitionRefused, t.remove_steward, "bo", at(1), "lee", "ana")
    assert t.stewardships(pod) == {"lee": ["sam"]}


def test_stewards_named_apart_both_count() -> None:
    pod = new_pod_doc()
    other = pod.fork()
    run(pod, t.name_steward, "ana", at(), "lee", "sam")
    run(other, t.name_steward, "bo", at(), "lee", "tia")
    merged(pod, other)
    assert t.stewards_of(other, "lee") == ["sam", "tia"]


def test_pod_keys_must_exist() -> None:
    from podsync.pod.common import init_document

    bare = new_doc(lambda tx: init_document(tx, t.POD_KIND))
    refused(bare, InvalidInput, t.name_steward, "ana", at(), "lee", "sam")


@pytest.fixture
def items():
    return new_doc(t.init_team_items)


def test_team_item_lifecycle(items) -> None:
    iid = run(items, t.add_team_item, "ana", at(), "team1", "Rota clashes", "Tuesdays double")
    refused(items, TransitionRefused, t.reopen_team_item, iid, "bo", at(1))
    refused(items, InvalidInput, t.address_team_item, iid, "bo", at(1), "")
    run(items, t.address_team_item, iid, "bo", at(1), "new rota")
    refused(items, TransitionRefused, t.address_team_item, iid, "bo", at(1), "again")
    got = t.team_item(items, iid)
    assert (got.state, got.addressed_note, got.origin) == ("addressed", "new rota", "member")
    run(items, t.reopen_team_item, iid, "cy", at(2))
    assert t.team_items(items, "team1")[0].state == "open"
    assert t.team_items(items, "other-team") == []
    refused(items, InvalidInput, t.add_team_item, "ana", at(), "team1", "x", origin="gossip")


def test_team_item_addressed_and_noted_apart(items) -> None:
    iid = run(items, t.add_team_item, "ana", at(), "team1", "Rota")
    other = items.fork()
    run(items, t.address_team_item, iid, "bo", at(1), "fixed")
    run(other, t.address_team_item, iid, "cy", at(1), "fixed too")
    run(other, t.note_team_item, iid, "cy", at(1), "thanks")
    merged(items, other)
    got = t.team_item(items, iid)
    assert (got.state, got.needs_reconciliation, len(got.notes)) == ("addressed", False, 1)
