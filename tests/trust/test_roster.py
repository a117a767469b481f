"""The roster in the pod document: founding, invites, admission, removal, merges."""

from __future__ import annotations

import datetime as dt
import itertools
from collections.abc import Iterator

import automerge.core as am
import pytest

from podsync import ids
from podsync.errors import NotFound
from podsync.home import Home
from podsync.repo.values import get_path, put_value
from podsync.trust import invite as inv
from podsync.trust import roster as rs
from podsync.trust.identity import create_identity, device_id_from_cert_der

T0 = dt.datetime(2026, 11, 23, 9, 0, tzinfo=dt.timezone.utc)
ADDR = ["10.0.0.1:8470"]


class Pod:
    """One replica of a pod document plus the certificates the test hands out."""

    def __init__(self, certs: Iterator[bytes]) -> None:
        self.certs = certs
        self.doc = am.Document()
        self.pod_id = ids.new_document_id()
        self.founder = ids.new_document_id()
        self.founder_cert = next(certs)
        with self.doc.transaction() as tx:
            tx.put(am.ROOT, "@kind", am.ScalarType.Str, "pod")
            rs.found_pod(tx, self.pod_id, "Oak St", self.founder, "Ada", self.founder_cert, T0)

    def fork(self) -> Pod:
        other = object.__new__(Pod)
        other.__dict__.update(self.__dict__)
        other.doc = self.doc.fork()
        return other

    def view(self) -> rs.Roster:
        roster = rs.view(self.doc)
        assert roster is not None
        return roster

    def invite(self, by: str, at: dt.datetime = T0, *, new_device: bool = False,
               hours: int = 24) -> inv.Invite:
        code, record = inv.create_invite(self.pod_id, by, self.founder_cert, ADDR,
                                         dt.timedelta(hours=hours), at, new_device=new_device)
        with self.doc.transaction() as tx:
            rs.add_invite(tx, record)
        return inv.parse_invite(code, now=at)

    def join(self, invite: inv.Invite, by: str, at: dt.datetime = T0, name: str = "New",
             cert: bytes | None = None) -> rs.Admission:
        cert = cert if cert is not None else next(self.certs)
        with self.doc.transaction() as tx:
            return rs.admit(tx, pod_id=invite.pod_id, invite_id=invite.invite_id,
                            proof=inv.join_proof(invite, cert), cert_der=cert,
                            member_id=ids.new_document_id(), name=name, by_member=by, now=at)

    def remove(self, target: str, by: str, at: dt.datetime) -> rs.Removal:
        with self.doc.transaction() as tx:
            return rs.remove(tx, target, by, at)


@pytest.fixture(scope="module")
def cert_pool(tmp_path_factory: pytest.TempPathFactory) -> list[bytes]:
    root = tmp_path_factory.mktemp("certs")
    certs = []
    for i in range(12):
        home = Home(root / str(i))
        home.ensure_dirs()
        certs.append(create_identity(home).cert_der)
    return certs


@pytest.fixture
def pod(cert_pool: list[bytes]) -> Pod:
    return Pod(iter(cert_pool))


def _hours(n: float) -> dt.datetime:
    return T0 + dt.timedelta(hours=n)


def _merge(a: Pod, b: Pod) -> None:
    a.doc.merge(b.doc)
    b.doc.merge(a.doc)


def test_found_pod(pod: Pod) -> None:
    roster = pod.view()
    assert (roster.pod_id, roster.pod_name) == (pod.pod_id, "Oak St")
    assert [(m.member_id, m.name, m.status) for m in roster.members] == [
        (pod.founder, "Ada", "active")]
    device_id = device_id_from_cert_der(pod.founder_cert)
    assert rs.is_active_device(roster, device_id)
    assert rs.member_of_device(roster, device_id) == pod.founder
    assert rs.active_device_certs(roster) == [pod.founder_cert]
    # The roster keeps to its own key; the rest of the pod document is left alone.
    assert get_path(pod.doc, "@kind") == "pod"
    with pytest.raises(rs.RosterError, match="already has a roster"), pod.doc.transaction() as tx:
        rs.found_pod(tx, pod.pod_id, "Again", pod.founder, "Ada", pod.founder_cert, T0)


def test_roster_survives_save_and_load(pod: Pod) -> None:
    pod.join(pod.invite(pod.founder), pod.founder)
    assert rs.view(am.Document.load(pod.doc.save())) == pod.view()


def test_any_member_can_invite_admit_and_remove(pod: Pod) -> None:
    bo = pod.join(pod.invite(pod.founder), pod.founder, name="Bo")
    # Bo, not the founder, invites and admits Cy, then removes Cy.
    cy = pod.join(pod.invite(bo.member_id, _hours(1)), bo.member_id, _hours(1), name="Cy")
    roster = pod.view()
    assert {m.name for m in roster.members} == {"Ada", "Bo", "Cy"}
    assert rs.member(roster, cy.member_id).added_by == bo.member_id  # type: ignore[union-attr]
    pod.remove(cy.member_id, bo.member_id, _hours(2))
    roster = pod.view()
    cy_member = rs.member(roster, cy.member_id)
    assert cy_member is not None and cy_member.status == "removed"
    assert cy_member.removed_by == bo.member_id
    assert not rs.is_active_device(roster, cy.device_id)
    assert len(rs.active_device_certs(roster)) == 2
    assert rs.member_of_device(roster, cy.device_id) == cy.member_id  # still known, as removed


def test_removed_member_cannot_change_the_roster(pod: Pod) -> None:
    bo = pod.join(pod.invite(pod.founder), pod.founder)
    pod.remove(bo.member_id, pod.founder, _hours(1))
    with pytest.raises(rs.RosterError, match="not an active member"):
        pod.invite(bo.member_id, _hours(2))
    with pytest.raises(rs.RosterError, match="not an active member"):
        pod.remove(pod.founder, bo.member_id, _hours(2))


def test_removing_a_member_removes_all_their_devices(pod: Pod) -> None:
    bo = pod.join(pod.invite(pod.founder), pod.founder)
    laptop = pod.join(pod.invite(bo.member_id, new_device=True), bo.member_id)
    assert laptop.member_id == bo.member_id and not laptop.new_member
    assert len(rs.active_device_certs(pod.view())) == 3
    pod.remove(bo.member_id, pod.founder, _hours(1))
    roster = pod.view()
    assert not rs.is_active_device(roster, bo.device_id)
    assert not rs.is_active_device(roster, laptop.device_id)
    assert rs.active_device_certs(roster) == [pod.founder_cert]


def test_removing_one_device_keeps_the_member(pod: Pod) -> None:
    bo = pod.join(pod.invite(pod.founder), pod.founder)
    laptop = pod.join(pod.invite(bo.member_id, new_device=True), bo.member_id)
    pod.remove(laptop.device_id, pod.founder, _hours(1))
    roster = pod.view()
    assert rs.is_active_member(roster, bo.member_id)
    assert rs.is_active_device(roster, bo.device_id)
    assert not rs.is_active_device(roster, laptop.device_id)
    removed_cert = next(d.cert for d in roster.devices if d.device_id == laptop.device_id)
    assert removed_cert not in rs.active_device_certs(roster)
    # Removing it again records nothing new.
    pod.remove(laptop.device_id, bo.member_id, _hours(2))
    assert len(pod.view().removals) == 1


def test_a_removed_device_cannot_rejoin(pod: Pod) -> None:
    bo = pod.join(pod.invite(pod.founder), pod.founder)
    cert = next(d.cert for d in pod.view().devices if d.device_id == bo.device_id)
    pod.remove(bo.member_id, pod.founder, _hours(1))
    with pytest.raises(rs.RosterError, match="cannot rejoin"):
        pod.join(pod.invite(pod.founder, _hours(2)), pod.founder, _hours(2), cert=cert)


def test_the_last_device_cannot_be_removed(pod: Pod) -> None:
    with pytest.raises(rs.RosterError, match="last active device"):
        pod.remove(pod.founder, pod.founder, _hours(1))
    with pytest.raises(NotFound):
        pod.remove(ids.new_document_id(), pod.founder, _hours(1))


def test_admission_refusals(pod: Pod) -> None:
    invite = pod.invite(pod.founder, hours=1)
    cert = next(pod.certs)
    proof = inv.join_proof(invite, cert)

    def attempt(**changes: object) -> None:
        args = dict(pod_id=pod.pod_id, invite_id=invite.invite_id, proof=proof, cert_der=cert,
                    member_id=ids.new_document_id(), name="Eve", by_member=pod.founder, now=T0)
        args.update(changes)
        with pod.doc.transaction() as tx:
            rs.admit(tx, **args)  # type: ignore[arg-type]

    with pytest.raises(inv.InviteWrongPod):
        attempt(pod_id=ids.new_document_id())
    with pytest.raises(inv.InviteUnknown, match="no invite"):
        attempt(invite_id="00" * 16)
    with pytest.raises(inv.JoinProofInvalid, match="another certificate"):
        attempt(cert_der=next(pod.certs))
    with pytest.raises(inv.InviteExpired):
        attempt(now=_hours(1))
    with pytest.raises(rs.RosterError, match="already in the roster"):
        attempt(member_id=pod.founder)
    assert len(pod.view().devices) == 1  # nothing was recorded by the refusals


def test_admission_retry_is_idempotent(pod: Pod) -> None:
    invite = pod.invite(pod.founder)
    cert = next(pod.certs)
    first = pod.join(invite, pod.founder, cert=cert)
    again = pod.join(invite, pod.founder, _hours(1), cert=cert)
    assert again.device_id == first.device_id and again.member_id == first.member_id
    assert len(pod.view().devices) == 2


def test_a_removal_withdraws_older_invites(pod: Pod) -> None:
    bo = pod.join(pod.invite(pod.founder), pod.founder)
    pending = pod.invite(pod.founder, _hours(1))
    pod.remove(bo.member_id, pod.founder, _hours(2))
    with pytest.raises(inv.InviteWithdrawn, match="withdrawn"):
        pod.join(pending, pod.founder, _hours(3))
    fresh = pod.invite(pod.founder, _hours(3))
    pod.join(fresh, pod.founder, _hours(3))


def test_partitioned_members_each_admit_a_newcomer(pod: Pod) -> None:
    bo = pod.join(pod.invite(pod.founder), pod.founder, name="Bo")
    left, right = pod, pod.fork()
    cy = left.join(left.invite(left.founder, _hours(1)), left.founder, _hours(1), name="Cy")
    di = right.join(right.invite(bo.member_id, _hours(1)), bo.member_id, _hours(1), name="Di")
    _merge(left, right)
    for side in (left, right):
        roster = side.view()
        assert {m.name for m in roster.members} == {"Ada", "Bo", "Cy", "Di"}
        assert rs.is_active_device(roster, cy.device_id)
        assert rs.is_active_device(roster, di.device_id)
        assert len(roster.invites) == 3
    assert left.view() == right.view()


def test_concurrent_double_redemption_keeps_both_and_flags_the_later(pod: Pod) -> None:
    invite = pod.invite(pod.founder)
    bo = pod.join(pod.invite(pod.founder), pod.founder, name="Bo")
    left, right = pod, pod.fork()
    early = left.join(invite, left.founder, _hours(2), name="Early")
    late = right.join(invite, bo.member_id, _hours(3), name="Late")
    _merge(left, right)
    roster = left.view()
    assert roster == right.view()
    state = rs.invite_state(roster, invite.invite_id)
    assert state is not None
    assert (state.used_by, state.used_at, state.redemptions) == (early.device_id, _hours(2), 2)
    early_dev, late_dev = rs.device(roster, early.device_id), rs.device(roster, late.device_id)
    assert early_dev is not None and not early_dev.contested and early_dev.status == "active"
    assert late_dev is not None and late_dev.contested and late_dev.status == "active"
    # Once merged, a third redemption is refused.
    with pytest.raises(inv.InviteUsed):
        left.join(invite, left.founder, _hours(4))


def test_concurrent_mutual_removal_removes_both(pod: Pod) -> None:
    bo = pod.join(pod.invite(pod.founder), pod.founder, name="Bo")
    cy = pod.join(pod.invite(pod.founder), pod.founder, name="Cy")
    left, right = pod, pod.fork()
    left.remove(cy.member_id, bo.member_id, _hours(1))
    right.remove(bo.member_id, cy.member_id, _hours(1))
    _merge(left, right)
    roster = left.view()
    assert not rs.is_active_member(roster, bo.member_id)
    assert not rs.is_active_member(roster, cy.member_id)
    assert rs.active_device_certs(roster) == [pod.founder_cert]


def test_damaged_records_are_skipped(pod: Pod) -> None:
    bo = pod.join(pod.invite(pod.founder), pod.founder)
    with pod.doc.transaction() as tx:
        roster_obj = tx.get(am.ROOT, "roster")[1]
        devices = tx.get(roster_obj, "devices")[1]
        members = tx.get(roster_obj, "members")[1]
        put_value(tx, members, tx.length(members), {"member_id": 7}, insert=True)
        # A device record claiming Bo's id with someone else's certificate.
        put_value(tx, devices, tx.length(devices), {
            "device_id": device_id_from_cert_der(b"forged"), "member_id": bo.member_id,
            "cert": b"not the cert", "added_by": pod.founder,
            "added_at": "2026-11-23T08:00:00.000000+00:00"}, insert=True)
    roster = pod.view()
    assert len(roster.members) == 2
    assert [d.device_id for d in roster.devices] == [
        device_id_from_cert_der(pod.founder_cert), bo.device_id]


def test_no_roster_yet() -> None:
    doc = am.Document()
    assert rs.view(doc) is None
    with pytest.raises(rs.RosterMissing), doc.transaction() as tx:
        rs.remove(tx, "x", "y", T0)


def test_many_concurrent_admissions_converge(pod: Pod) -> None:
    replicas = [pod] + [pod.fork() for _ in range(3)]
    invites = [pod.invite(pod.founder) for _ in replicas]
    for replica in replicas[1:]:
        replica.doc.merge(pod.doc)  # every replica knows every invite
    for replica, invite in zip(replicas, invites):
        replica.join(invite, replica.founder, _hours(1))
    for a, b in itertools.permutations(replicas, 2):
        a.doc.merge(b.doc)
    views = [r.view() for r in replicas]
    assert all(v == views[0] for v in views)
    assert len(rs.active_device_certs(views[0])) == 1 + len(replicas)
