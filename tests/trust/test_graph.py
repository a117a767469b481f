"""The membership graph: the roster every node derives from signed records, the
rules for records made apart, and attacks on the pod document itself."""

from __future__ import annotations

import datetime as dt

import automerge.core as am

from podsync import ids
from podsync.records.book import records_object
from podsync.records.format import Draft, build_payload
from podsync.trust import graph, record_dag
from podsync.trust.identity import device_id_from_cert_der, new_device_key
from podsync.trust.invite import create_invite, join_proof, parse_invite
from podsync.trust.ledger import parse_own
from podsync.trust.roster import is_active_device, is_active_member
from tests.pod.helpers import T0, Pod, merged


def roster_view(pod: Pod) -> dict[str, str]:
    """Member name -> status, and each device's status, as this replica derives it."""
    roster = pod.ledger.roster
    assert roster is not None
    out = {pod.name_of.get(m.member_id, m.member_id): m.status for m in roster.members}
    out.update({f"device:{pod.name_of.get(d.member_id, d.member_id)}": d.status
                for d in roster.devices})
    return out


def remove(pod: Pod, target: str, by: str, when: dt.datetime) -> None:
    pod.do(pod.pod_id, Draft(graph.REMOVE, {"target": pod.id[target]}), by, when)


def test_founding_and_admissions_make_the_roster() -> None:
    pod = Pod()
    assert roster_view(pod) == {n: "active" for n in ("ana", "bo", "cy", "dee")} | {
        f"device:{n}": "active" for n in ("ana", "bo", "cy", "dee")}
    roster = pod.ledger.roster
    assert roster is not None and roster.pod_name == "Oak St"
    assert {m.name for m in roster.members} == {"Ana", "Bo", "Cy", "Dee"}
    # The pod id is the founding record's hash: a node with another pod id finds no root.
    other = Pod.__new__(Pod)
    other.__dict__.update(pod.__dict__)
    other.pod_id = ids.new_document_id()
    other.ledger = other._new_ledger()
    assert other.ledger.roster is None


def test_overwriting_the_roster_map_or_deleting_records_changes_nothing() -> None:
    pod = Pod()
    remove(pod, "dee", "ana", T0)
    before = roster_view(pod)
    doc = pod.docs[pod.pod_id]
    with doc.transaction() as tx:
        obj = records_object(tx)
        removal = [k for k in tx.keys(obj)
                   if pod.ledger.book.known(pod.pod_id).records[k].type == graph.REMOVE]
        tx.delete(obj, removal[0])  # delete the removal
    changed, missing = pod.ledger.document_changed(pod.pod_id)
    assert roster_view(pod) == before and before["dee"] == "removed"
    assert [r.id for r in missing] == removal  # the node writes it back
    with doc.transaction() as tx:  # replace the whole map with one of its own
        tx.put_object(am.ROOT, "records", am.ObjType.Map)
        tx.put(am.ROOT, "roster", am.ScalarType.Str, "all mine")
    changed, missing = pod.ledger.document_changed(pod.pod_id)
    assert roster_view(pod) == before
    assert len(missing) == len(pod.ledger.book.known(pod.pod_id).records)


def test_adding_a_member_without_an_invite_does_not_count() -> None:
    pod = Pod()
    key, cert = new_device_key()
    pod.do(pod.pod_id, Draft(graph.ADMIT, {
        "invite": "ab" * 16, "proof": b"x" * 32, "cert": cert, "member": ids.new_document_id(),
        "name": "Eve"}), "bo", T0)
    assert "Eve" not in {m.name for m in pod.ledger.roster.members}
    assert any("invite" in why for why in pod.ledger.replay.refused.values())


def test_an_admission_needs_the_newcomers_proof_of_the_invite_secret() -> None:
    pod = Pod()
    code, invite = create_invite(pod.pod_id, pod.id["bo"], pod.certs["bo"], [], dt.timedelta(days=1), T0)
    pod.do(pod.pod_id, Draft(graph.INVITE, {"invite": invite.invite_id, "verifier": invite.verifier,
                                            "expires": invite.expires_at.isoformat(),
                                            "for_member": None}), "bo", T0)
    key, cert = new_device_key()
    _, wrong_cert = new_device_key()
    proof_for_other = join_proof(parse_invite(code, now=T0), wrong_cert)
    pod.do(pod.pod_id, Draft(graph.ADMIT, {"invite": invite.invite_id, "proof": proof_for_other,
                                           "cert": cert, "member": ids.new_document_id(),
                                           "name": "Eve"}), "bo", T0)
    assert not is_active_device(pod.ledger.roster, device_id_from_cert_der(cert))


def test_a_backdated_record_by_a_removed_device_does_not_count() -> None:
    pod = Pod()
    remove(pod, "dee", "ana", T0 + dt.timedelta(days=1))
    # Dee's node heard of its removal and signs anyway, dating it a year before.
    pod.do(pod.pod_id, Draft(graph.REMOVE, {"target": pod.id["bo"]}), "dee",
           T0 - dt.timedelta(days=365))
    assert roster_view(pod)["bo"] == "active"


def test_records_of_a_removed_device_made_apart_from_its_removal_do_not_count() -> None:
    pod = Pod()
    apart = pod.fork()
    remove(pod, "dee", "ana", T0 + dt.timedelta(days=1))
    # Dee, not yet knowing, invites and admits an accomplice and removes Bo.
    eve = _admit_new(apart, by="dee", when=T0 + dt.timedelta(days=2))
    remove(apart, "bo", "dee", T0 + dt.timedelta(days=2))
    merged(pod, apart)
    for replica in (pod, apart):
        view = roster_view(replica)
        assert view["dee"] == "removed" and view["bo"] == "active"
        assert not is_active_device(replica.ledger.roster, eve)
    assert roster_view(pod) == roster_view(apart)


def test_mutual_removal_while_apart_removes_both() -> None:
    pod = Pod()
    apart = pod.fork()
    remove(pod, "cy", "bo", T0 + dt.timedelta(days=1))
    remove(apart, "bo", "cy", T0 + dt.timedelta(days=1))
    merged(pod, apart)
    for replica in (pod, apart):
        view = roster_view(replica)
        assert (view["bo"], view["cy"], view["ana"]) == ("removed", "removed", "active")


def test_three_members_removing_each_other_in_a_circle_are_all_removed() -> None:
    pod = Pod()
    b, c = pod.fork(), pod.fork()
    remove(pod, "bo", "ana", T0 + dt.timedelta(days=1))
    remove(b, "cy", "bo", T0 + dt.timedelta(days=1))
    remove(c, "ana", "cy", T0 + dt.timedelta(days=1))
    merged(pod, b)
    merged(b, c)
    merged(pod, c)
    views = [roster_view(r) for r in (pod, b, c)]
    assert views[0] == views[1] == views[2]
    assert [views[0][n] for n in ("ana", "bo", "cy", "dee")] == ["removed"] * 3 + ["active"]


def test_a_removed_members_removal_of_a_third_member_made_apart_does_not_count() -> None:
    pod = Pod()
    apart = pod.fork()
    remove(pod, "bo", "ana", T0 + dt.timedelta(days=1))
    remove(apart, "cy", "bo", T0 + dt.timedelta(days=1))
    merged(pod, apart)
    view = roster_view(pod)
    assert (view["bo"], view["cy"]) == ("removed", "active")


def test_an_admission_made_apart_from_the_admitters_removal_does_not_count() -> None:
    pod = Pod()
    apart = pod.fork()
    remove(pod, "cy", "ana", T0 + dt.timedelta(days=1))
    newcomer = _admit_new(apart, by="cy", when=T0 + dt.timedelta(days=1, hours=1))
    assert is_active_device(apart.ledger.roster, newcomer)  # before the merge
    merged(pod, apart)
    for replica in (pod, apart):
        assert not is_active_device(replica.ledger.roster, newcomer)


def test_a_removal_withdraws_invites_made_before_it() -> None:
    pod = Pod()
    code, invite = _invite(pod, "bo", T0)
    remove(pod, "dee", "ana", T0 + dt.timedelta(hours=1))
    key, cert = new_device_key()
    pod.do(pod.pod_id, Draft(graph.ADMIT, {
        "invite": invite.invite_id, "proof": join_proof(parse_invite(code, now=T0), cert),
        "cert": cert, "member": ids.new_document_id(), "name": "Eve"}), "bo",
        T0 + dt.timedelta(hours=2))
    assert not is_active_device(pod.ledger.roster, device_id_from_cert_der(cert))
    state = next(i for i in pod.ledger.roster.invites if i.record.invite_id == invite.invite_id)
    assert state.withdrawn


def test_one_invite_redeemed_twice_apart_admits_both_and_marks_the_later() -> None:
    pod = Pod()
    code, invite = _invite(pod, "bo", T0)
    apart = pod.fork()
    first = _redeem(pod, code, invite, "bo", T0 + dt.timedelta(hours=1))
    second = _redeem(apart, code, invite, "cy", T0 + dt.timedelta(hours=2))
    merged(pod, apart)
    roster = pod.ledger.roster
    devices = {d.device_id: d for d in roster.devices}
    assert devices[first].status == devices[second].status == "active"
    assert (devices[first].contested, devices[second].contested) == (False, True)


def test_a_record_replayed_from_another_pod_does_not_count() -> None:
    pod, other = Pod(), Pod()
    # Other's admission of Bo, copied into this pod's document.
    record = next(r for r in other.ledger.book.known(other.pod_id).records.values()
                  if r.type == graph.ADMIT)
    pod.store(pod.pod_id, record)
    assert pod.ledger.replay.refused[record.id] == "belongs to another pod or document"
    assert len(pod.ledger.roster.members) == 4


def test_a_forged_signature_does_not_count() -> None:
    pod = Pod()
    draft = Draft(graph.REMOVE, {"target": pod.id["bo"]}, after=tuple(pod.ledger.replay.heads))
    payload = build_payload(draft, pod=pod.pod_id, scope=pod.pod_id,
                            by=pod.signers["ana"].device_id, at=T0, prev=None)
    forged = parse_own(payload, pod.signers["dee"].sign(payload))  # Dee signs in Ana's name
    pod.store(pod.pod_id, forged)
    assert is_active_member(pod.ledger.roster, pod.id["bo"])
    assert "signature" in pod.ledger.replay.refused[forged.id]


# -- helpers ---------------------------------------------------------------------


def _invite(pod: Pod, by: str, when: dt.datetime):
    code, invite = create_invite(pod.pod_id, pod.id[by], pod.certs[by], [], dt.timedelta(days=1), when)
    pod.do(pod.pod_id, Draft(graph.INVITE, {"invite": invite.invite_id, "verifier": invite.verifier,
                                            "expires": invite.expires_at.isoformat(),
                                            "for_member": None}), by, when)
    return code, invite


def _redeem(pod: Pod, code: str, invite, by: str, when: dt.datetime) -> str:
    key, cert = new_device_key()
    pod.do(pod.pod_id, Draft(graph.ADMIT, {
        "invite": invite.invite_id, "proof": join_proof(parse_invite(code, now=T0), cert),
        "cert": cert, "member": ids.new_document_id(), "name": "New"}), by, when)
    return device_id_from_cert_der(cert)


def _admit_new(pod: Pod, by: str, when: dt.datetime) -> str:
    code, invite = _invite(pod, by, when)
    return _redeem(pod, code, invite, by, when + dt.timedelta(minutes=1))


def test_a_member_flooding_the_pod_document_loses_their_own_records_first(monkeypatch) -> None:
    monkeypatch.setattr(record_dag, "MAX_POD_RECORDS", 40)
    pod = Pod()
    before = roster_view(pod)
    for i in range(60):  # Dee writes junk share records until the document is over the limit
        pod.do(pod.pod_id, Draft("doc.share", {"ref": f"{i:032x}", "readers": "pod"}), "dee",
               T0 + dt.timedelta(minutes=i))
    remove(pod, "cy", "bo", T0 + dt.timedelta(hours=2))  # an honest record after the flood
    view = roster_view(pod)
    assert view["cy"] == "removed"
    assert {k: v for k, v in view.items() if "cy" not in k} == \
        {k: v for k, v in before.items() if "cy" not in k}
    over = [rid for rid, why in pod.ledger.replay.refused.items() if "limit" in why]
    records = pod.ledger.book.known(pod.pod_id).records
    assert over and all(records[rid].by == pod.signers["dee"].device_id for rid in over)
