"""The roster as it stands at one causal point of the pod document, and the rules
a record is checked against there (rules 2 and 3 of :mod:`.graph`): who may sign,
what an invite, an admission or a removal must hold, and what each one changes.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any

import msgspec

from podsync.ids import is_document_id
from podsync.records.format import Record
from podsync.trust.identity import device_id_from_cert_der
from podsync.trust.invite import InviteRecord, check_join_proof

FOUND = "pod.found"
INVITE = "member.invite"
ADMIT = "member.admit"
REMOVE = "member.remove"
MEMBERSHIP_TYPES = frozenset({FOUND, INVITE, ADMIT, REMOVE})
#: Longest name, invite id and member id read from a record.
MAX_FIELD_CHARS = 128


class _MemberInfo(msgspec.Struct, frozen=True):
    name: str
    added_by: str
    added_at: str


class _DeviceInfo(msgspec.Struct, frozen=True):
    member: str
    cert: bytes
    added_by: str
    added_at: str
    invite: str | None
    record: str


class _InviteInfo(msgspec.Struct, frozen=True):
    record: InviteRecord
    rid: str


class RosterState(msgspec.Struct):
    """The roster at some causal point: what rules 2 and 3 consult."""

    members: dict[str, _MemberInfo] = msgspec.field(default_factory=dict)
    devices: dict[str, _DeviceInfo] = msgspec.field(default_factory=dict)
    removed: dict[str, str] = msgspec.field(default_factory=dict)  # target id -> removal record id
    invites: dict[str, _InviteInfo] = msgspec.field(default_factory=dict)
    used: dict[str, str] = msgspec.field(default_factory=dict)  # invite id -> admitting record id

    def copy(self) -> RosterState:
        return RosterState(dict(self.members), dict(self.devices), dict(self.removed),
                      dict(self.invites), dict(self.used))

    def active_device(self, device_id: str) -> bool:
        d = self.devices.get(device_id)
        return d is not None and device_id not in self.removed and d.member not in self.removed

    def active_member(self, member_id: str) -> bool:
        return member_id in self.members and member_id not in self.removed


def field_text(body: Mapping[str, Any], key: str) -> str | None:
    value = body.get(key)
    if isinstance(value, str) and 0 < len(value) <= MAX_FIELD_CHARS:
        return value
    return None


def check_record(pod_id: str, r: Record, s: RosterState, signed: Mapping[str, bool | None]) -> str:
    """Why ``r`` does not count given the state ``s`` before it; "" when it does."""
    ok = signed.get(r.id)
    if ok is None:
        return "signed by a device this node does not know"
    if not ok:
        return "its signature is not its signer's"
    if r.type == FOUND:
        return "" if not r.after else "a second founding record"
    if not s.active_device(r.by):
        return "its signer was not an active device of the pod at that point"
    body = r.body
    if r.type == INVITE:
        return _check_invite(r, s)
    if r.type == ADMIT:
        return _check_admit(pod_id, r, s)
    if r.type == REMOVE:
        target = field_text(body, "target")
        if target is None or (target not in s.members and target not in s.devices):
            return "removes nobody of the pod"
        if target in s.removed:
            return "removes someone already removed"
    return ""


def _check_invite(r: Record, s: RosterState) -> str:
    invite_id = field_text(r.body, "invite")
    verifier, expires = r.body.get("verifier"), field_text(r.body, "expires")
    for_member = r.body.get("for_member")
    if invite_id is None or not isinstance(verifier, bytes) or expires is None:
        return "an invite without id, verifier or expiry"
    if invite_id in s.invites:
        return f"invite {invite_id} was already made"
    if for_member is not None and not (isinstance(for_member, str) and s.active_member(for_member)):
        return "an invite for a device of someone who is not an active member"
    if utc_time(expires) is None:
        return "an invite whose expiry is not a time"
    return ""


def _check_admit(pod_id: str, r: Record, s: RosterState) -> str:
    body = r.body
    invite_id, member_id = field_text(body, "invite"), field_text(body, "member")
    cert, proof = body.get("cert"), body.get("proof")
    if invite_id is None or member_id is None or not isinstance(cert, bytes) \
            or not isinstance(proof, bytes):
        return "an admission without invite, member, certificate or proof"
    invite = s.invites.get(invite_id)
    if invite is None:
        return f"admits with invite {invite_id}, which was not made before it"
    if invite_id in s.used:
        return f"invite {invite_id} was already used"
    admitted_at, expires = utc_time(r.at), invite.record.expires_at
    if admitted_at is None or admitted_at >= expires:
        return f"invite {invite_id} had expired"
    if not check_join_proof(invite.record, proof, pod_id, cert):
        return "the newcomer's proof does not match the invite"
    device_id = device_id_from_cert_der(cert)
    if device_id in s.devices:
        return f"device {device_id} is already in the pod"
    for_member = invite.record.for_member
    if for_member is not None:
        if member_id != for_member or not s.active_member(for_member):
            return "adds a device to someone other than the invite names"
        return ""
    if not is_document_id(member_id):
        return "the new member's id is not valid"
    if member_id in s.members:
        return f"member {member_id} is already in the pod"
    if field_text(body, "name") is None:
        return "a new member without a name"
    return ""


def apply_record(s: RosterState, r: Record) -> None:
    body = r.body
    if r.type == FOUND:
        member_id = str(body.get("member"))
        s.members[member_id] = _MemberInfo(str(body.get("member_name", "")), member_id, r.at)
        s.devices[r.by] = _DeviceInfo(member_id, body["cert"], member_id, r.at, None, r.id)
        return
    signer = s.devices[r.by].member if r.by in s.devices else ""
    if r.type == INVITE:
        s.invites[body["invite"]] = _InviteInfo(InviteRecord(
            invite_id=body["invite"], verifier=body["verifier"],
            expires_at=utc_time(body["expires"]) or dt.datetime.min.replace(tzinfo=dt.timezone.utc),
            created_by=signer, created_at=utc_time(r.at) or EPOCH,
            for_member=body.get("for_member")), r.id)
    elif r.type == ADMIT:
        member_id = body["member"]
        if member_id not in s.members:
            s.members[member_id] = _MemberInfo(str(body.get("name", "")), signer, r.at)
        device_id = device_id_from_cert_der(body["cert"])
        s.devices[device_id] = _DeviceInfo(member_id, body["cert"], signer, r.at,
                                           body["invite"], r.id)
        s.used.setdefault(body["invite"], r.id)
    elif r.type == REMOVE:
        s.removed.setdefault(body["target"], r.id)


EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.timezone.utc)


def utc_time(text: str) -> dt.datetime | None:
    try:
        moment = dt.datetime.fromisoformat(text)
    except (TypeError, ValueError):
        return None
    if moment.tzinfo is None:
        return None
    return moment.astimezone(dt.timezone.utc)
