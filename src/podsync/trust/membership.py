"""Writing membership records: founding a pod, inviting, admitting, removing.

Each function checks what a member asked for against the roster as it stands,
with a message a person can act on, then signs and stores one record through the
:class:`~podsync.trust.ledger.Ledger` (which refuses anything that would not
count). Any active member may do each of these; there is no admin.
"""

from __future__ import annotations

import datetime as dt

from podsync import ids
from podsync.config import check_name
from podsync.errors import InvalidId, NotFound
from podsync.records.format import Draft, Record, build_payload, derived_id
from podsync.records.verify import Signer
from podsync.trust import graph
from podsync.trust.identity import device_id_from_cert_der
from podsync.trust.invite import (
    InviteRecord, InviteUnknown, InviteUsed, InviteWithdrawn, InviteWrongPod, JoinProofInvalid,
    check_join_proof, check_not_expired,
)
from podsync.trust.ledger import Ledger, parse_own
from podsync.trust.roster import (
    Admission, Removal, Roster, RosterError, RosterMissing, device, invite_state, is_active_member,
    member,
)


def founding_record(signer: Signer, *, cert_der: bytes, member_id: str, member_name: str,
                    pod_name: str, collections: dict[str, str], now: dt.datetime) -> tuple[str, Record]:
    """A new pod's founding record and the pod id it commits to (its hash)."""
    ids.parse_document_id(member_id)
    draft = Draft(graph.FOUND, {
        "name": check_name("pod name", pod_name), "member": member_id,
        "member_name": check_name("member name", member_name), "cert": cert_der,
        "collections": dict(collections)})
    payload = build_payload(draft, pod="", scope="", by=signer.device_id, at=now, prev=None)
    record = parse_own(payload, signer.sign(payload))
    return derived_id("pod", payload), record


def _roster(ledger: Ledger) -> Roster:
    if ledger.roster is None:
        raise RosterMissing("this node does not hold its pod's founding record yet; sync with "
                            "a member of the pod first")
    return ledger.roster


def _require_member(roster: Roster, member_id: str) -> None:
    if not is_active_member(roster, member_id):
        raise RosterError(f"{member_id} is not an active member of pod {roster.pod_name!r}; "
                          "only active members can change the roster")


async def add_invite(ledger: Ledger, record: InviteRecord, by_member: str) -> Record:
    """Record an invite this member made (only its verifier: never the secret)."""
    _require_member(_roster(ledger), by_member)
    body = {"invite": record.invite_id, "verifier": record.verifier,
            "expires": record.expires_at.isoformat(), "for_member": record.for_member}
    return await ledger.append(ledger.pod_id, Draft(graph.INVITE, body), record.created_at)


async def admit(ledger: Ledger, *, pod_id: str, invite_id: str, proof: bytes, cert_der: bytes,
                member_id: str, name: str | None, by_member: str, now: dt.datetime) -> Admission:
    """Admit a newcomer's device that proved it holds an invite's secret.

    Refusals raise the :mod:`~podsync.trust.invite` errors (unknown, wrong pod,
    bad proof, used, withdrawn, expired) or :class:`RosterError`. A repeated
    request from the device this invite already admitted returns the same
    admission, so a newcomer can retry safely.
    """
    roster = _roster(ledger)
    # Until the proof checks out, the asker is anyone on the network: the refusals
    # before it name nothing of this pod (not its id, its name or its members).
    if pod_id != roster.pod_id:
        raise InviteWrongPod(f"this invite is for pod {pod_id}, and the node that answered "
                             "belongs to another pod; join through a member of the pod "
                             "that invited you")
    state = invite_state(roster, invite_id)
    if state is None:
        raise InviteUnknown(f"no invite {invite_id} in this pod's roster: it was made for "
                            "another pod, or it has not synced to this node yet")
    if not check_join_proof(state.record, proof, roster.pod_id, cert_der):
        raise JoinProofInvalid("the join proof does not match the invite: the code was "
                               "altered, or the proof was made for another certificate")
    _require_member(roster, by_member)
    device_id = device_id_from_cert_der(cert_der)
    known = device(roster, device_id)
    if known is not None:
        if known.invite_id == invite_id and known.status == "active":
            return Admission(member_id=known.member_id, device_id=device_id, new_member=False)
        raise RosterError(f"device {device_id} is already in the roster "
                          f"({known.status}); a removed device cannot rejoin")
    if state.used_by is not None:
        raise InviteUsed(f"this invite was already used on {state.used_at:%Y-%m-%d %H:%M} UTC "
                         f"by device {state.used_by}; ask for a new code, and tell the pod if "
                         "that was not you")
    if state.withdrawn:
        raise InviteWithdrawn("this invite was withdrawn: a member or device was removed "
                              "after it was made, or the member who made it was removed; "
                              "ask for a new code")
    check_not_expired(state.record.expires_at, now)
    for_member = state.record.for_member
    body: dict[str, object] = {"invite": invite_id, "proof": proof, "cert": cert_der}
    if for_member is not None:
        _require_member(roster, for_member)
        body["member"] = for_member
    else:
        try:
            ids.parse_document_id(member_id)
        except InvalidId:
            raise RosterError(f"the newcomer's member id is not valid: {member_id!r}") from None
        if member(roster, member_id) is not None:
            raise RosterError(f"member id {member_id} is already in the roster; a new member "
                              "needs a fresh id")
        body["member"] = member_id
        body["name"] = check_name("member name", name or "")
    await ledger.append(ledger.pod_id, Draft(graph.ADMIT, body), now)
    return Admission(member_id=str(body["member"]), device_id=device_id,
                     new_member=for_member is None)


async def remove(ledger: Ledger, target_id: str, by_member: str, now: dt.datetime) -> Removal:
    """Remove a member (and so all their devices) or one device. Any active member
    may remove any member or device, themselves included, as long as one active
    device remains. Removing what is already removed returns the earlier removal."""
    roster = _roster(ledger)
    _require_member(roster, by_member)
    target_member = member(roster, target_id)
    target_device = device(roster, target_id)
    target = target_member or target_device
    if target is None:
        raise NotFound(f"no member or device {target_id} in pod {roster.pod_name!r}")
    if target.status == "removed":
        return next(r for r in roster.removals
                    if r.target in (target_id, getattr(target, "member_id", None)))
    remaining = [d for d in roster.devices if d.status == "active"
                 and d.device_id != target_id and d.member_id != (
                     target_member.member_id if target_member else None)]
    if not remaining:
        raise RosterError("this would remove the pod's last active device, leaving nobody "
                          "who can admit anyone; invite another device first")
    await ledger.append(ledger.pod_id, Draft(graph.REMOVE, {"target": target_id}), now)
    return Removal(target=target_id, by=by_member, at=now.astimezone(dt.timezone.utc))
