"""The pod's roster: members, their devices, open invites and removals.

The roster lives in the pod document under :data:`ROSTER_KEY` (the document's
other keys belong to other parts of podsync). It is four append-only lists,
``members``, ``devices``, ``invites`` and ``removals``; nothing in them is ever
edited or deleted, and the current state is derived on read by :func:`view`.
Appends from members working apart merge without loss: two members who each
admit a newcomer while partitioned both see both newcomers after they sync.

Rules the derivation applies, the same on every replica:

- **Removal is final and wins.** A removal names a member or a device. A removed
  member's devices are all removed. Two members removing each other while apart
  are both removed; nothing undoes a removal (the person can be invited again,
  as a new member with a new device). Data a removed device already holds cannot
  be recalled.
- **A removal withdraws older invites.** An unused invite created before any
  recorded removal can no longer be redeemed: the removed device kept a copy of
  the roster, and with it the invite's verifier (see :mod:`podsync.trust.invite`).
- **What a removed member adds after its removal does not count.** A member
  removed while its laptop was away does not know it yet, and may go on
  inviting and admitting; those records reach the pod through any node that
  has not heard of the removal either. Invites a member created at or after its
  removal are withdrawn, and members and devices it added then are skipped (as
  are members added by such a skipped member), so a removal cannot be undone
  by the removed member's own admissions. Removals it records still count:
  they only ever take access away.
- **One invite, one device; a concurrent double redemption is flagged, not
  undone.** An admitter refuses an invite the roster already shows as used. Two
  admitters cut off from each other can still both accept one invite for two
  devices. After the merge the earliest redemption (by time, then device id)
  is the invite's ``used_by``; the other device stays admitted and is marked
  ``contested`` so members can see it and remove it if it is not who they
  expected. Dropping it silently instead would cut off a newcomer who may
  already be working, without anyone having decided it.
- **Records that do not parse are skipped** (and logged), as are device records
  whose id is not their certificate's hash: the roster arrives from peers.

Who wrote a record is not signed: a record's authority comes from the links,
which admit only active devices of the roster, so only members write the pod
document. A member with a modified client can therefore write any record,
including one dated before its own removal. Timestamps come from the writers'
clocks and are used for ordering ties, expiry and the two removal rules above.
"""

from __future__ import annotations

import datetime as dt
import logging
from typing import Any, Literal, TypeVar

import automerge.core as am
import msgspec

from podsync import ids
from podsync.config import check_name
from podsync.errors import InvalidId, NotFound, PodsyncError
from podsync.repo.values import get_path, put_value
from podsync.trust.identity import device_id_from_cert_der
from podsync.trust.invite import (
    InviteRecord,
    InviteUnknown,
    InviteUsed,
    InviteWithdrawn,
    InviteWrongPod,
    JoinProofInvalid,
    check_join_proof,
    check_not_expired,
)

log = logging.getLogger(__name__)

ROSTER_KEY = "roster"
_LISTS = ("members", "devices", "invites", "removals")

Status = Literal["active", "removed"]
R = TypeVar("R", bound=msgspec.Struct)


class RosterError(PodsyncError):
    """The roster change asked for is not allowed."""


class RosterMissing(RosterError, NotFound):
    """The pod document holds no roster (yet)."""


# -- records as stored ---------------------------------------------------------


class _MemberRecord(msgspec.Struct, frozen=True, kw_only=True):
    member_id: str
    name: str
    added_by: str
    added_at: dt.datetime


class _DeviceRecord(msgspec.Struct, frozen=True, kw_only=True):
    device_id: str
    member_id: str
    cert: bytes  # DER
    added_by: str
    added_at: dt.datetime
    invite_id: str | None = None  # the invite it redeemed; None for the founder's


class Removal(msgspec.Struct, frozen=True, kw_only=True):
    target: str  # a member id or a device id
    by: str  # member id
    at: dt.datetime


# -- the derived view ----------------------------------------------------------


class Member(msgspec.Struct, frozen=True, kw_only=True):
    member_id: str
    name: str
    added_by: str
    added_at: dt.datetime
    status: Status
    removed_by: str | None = None
    removed_at: dt.datetime | None = None


class Device(msgspec.Struct, frozen=True, kw_only=True):
    device_id: str
    member_id: str
    cert: bytes
    added_by: str
    added_at: dt.datetime
    invite_id: str | None
    status: Status
    #: Admitted by an invite that another device redeemed first (see module doc).
    contested: bool = False
    removed_by: str | None = None
    removed_at: dt.datetime | None = None


class InviteState(msgspec.Struct, frozen=True, kw_only=True):
    record: InviteRecord
    used_by: str | None = None  # device id of the first redemption
    used_at: dt.datetime | None = None
    redemptions: int = 0
    #: A removal was recorded after the invite was made; it cannot be redeemed.
    withdrawn: bool = False


class Roster(msgspec.Struct, frozen=True, kw_only=True):
    pod_id: str
    pod_name: str
    members: list[Member]
    devices: list[Device]
    invites: list[InviteState]
    removals: list[Removal]


class Admission(msgspec.Struct, frozen=True, kw_only=True):
    member_id: str
    device_id: str
    new_member: bool


# -- reading -------------------------------------------------------------------


def _records(raw: dict[str, Any], name: str, kind: type[R]) -> list[R]:
    items = raw.get(name)
    out: list[R] = []
    for index, item in enumerate(items if isinstance(items, list) else []):
        try:
            out.append(msgspec.convert(item, kind))
        except msgspec.ValidationError as exc:
            log.warning("roster: skipping %s[%d]: %s", name, index, exc)
    return out


def _first_by(records: list[R], key: str, when: str) -> dict[str, R]:
    """One record per id: the earliest (ties: the first in list order)."""
    first: dict[str, R] = {}
    for record in sorted(records, key=lambda r: getattr(r, when)):
        first.setdefault(getattr(record, key), record)
    return first


def view(doc: Any) -> Roster | None:
    """The roster as of ``doc``'s current state (a Document or a Transaction),
    or None when the document has none."""
    raw = get_path(doc, ROSTER_KEY)
    if not isinstance(raw, dict) or not isinstance(raw.get("pod_id"), str):
        return None
    removals = sorted(_records(raw, "removals", Removal), key=lambda r: (r.at, r.target))
    removed = _first_by(removals, "target", "at")
    member_records = _first_by(_records(raw, "members", _MemberRecord), "member_id", "added_at")
    counted = _counted_members(member_records, removed)

    def added_by_member(by: str, at: dt.datetime) -> bool:
        """``by`` counted as a member and had not been removed at ``at``."""
        gone = removed.get(by)
        return by in counted and (gone is None or gone.at > at)

    members: dict[str, Member] = {}
    for m in member_records.values():
        if m.member_id not in counted:
            log.warning("roster: skipping member %s: added by %s, who was not a member then",
                        m.member_id, m.added_by)
            continue
        gone = removed.get(m.member_id)
        members[m.member_id] = Member(
            **msgspec.structs.asdict(m), status="removed" if gone else "active",
            removed_by=gone.by if gone else None, removed_at=gone.at if gone else None)

    device_records = []
    for d in _records(raw, "devices", _DeviceRecord):
        if device_id_from_cert_der(d.cert) != d.device_id:
            log.warning("roster: skipping device %s: its id is not its certificate's hash",
                        d.device_id)
        elif d.member_id not in members:
            log.warning("roster: skipping device %s of unknown member %s", d.device_id, d.member_id)
        elif d.added_by != d.member_id and not added_by_member(d.added_by, d.added_at):
            log.warning("roster: skipping device %s: added by %s, who was not a member then",
                        d.device_id, d.added_by)
        else:
            device_records.append(d)
    devices = _first_by(device_records, "device_id", "added_at")

    # The first redemption of each invite, by time then device id.
    winners: dict[str, _DeviceRecord] = {}
    counts: dict[str, int] = {}
    for d in sorted(devices.values(), key=lambda d: (d.added_at, d.device_id)):
        if d.invite_id is not None:
            winners.setdefault(d.invite_id, d)
            counts[d.invite_id] = counts.get(d.invite_id, 0) + 1

    device_views = []
    for d in devices.values():
        gone = removed.get(d.device_id) or removed.get(d.member_id)
        winner = winners.get(d.invite_id) if d.invite_id else None
        device_views.append(Device(
            **msgspec.structs.asdict(d), status="removed" if gone else "active",
            contested=winner is not None and winner.device_id != d.device_id,
            removed_by=gone.by if gone else None, removed_at=gone.at if gone else None))

    invites = []
    for record in _first_by(_records(raw, "invites", InviteRecord), "invite_id",
                            "created_at").values():
        winner = winners.get(record.invite_id)
        invites.append(InviteState(
            record=record, used_by=winner.device_id if winner else None,
            used_at=winner.added_at if winner else None,
            redemptions=counts.get(record.invite_id, 0),
            withdrawn=any(r.at > record.created_at for r in removals)
            or not added_by_member(record.created_by, record.created_at)))

    pod_name = raw.get("pod_name")
    return Roster(pod_id=raw["pod_id"], pod_name=pod_name if isinstance(pod_name, str) else "",
                  members=list(members.values()), devices=device_views, invites=invites,
                  removals=removals)


def _counted_members(records: dict[str, _MemberRecord],
                     removed: dict[str, Removal]) -> set[str]:
    """Ids of the member records that count: the self-added (the founder) and,
    transitively, those added by a counted member not yet removed at the time.

    Computed to a fixed point rather than in time order, so an admitter whose
    clock runs behind the one that admitted it still counts."""
    counted = {m.member_id for m in records.values() if m.added_by == m.member_id}
    growing = True
    while growing:
        growing = False
        for m in records.values():
            gone = removed.get(m.added_by)
            if (m.member_id not in counted and m.added_by in counted
                    and (gone is None or gone.at > m.added_at)):
                counted.add(m.member_id)
                growing = True
    return counted


def device(roster: Roster, device_id: str) -> Device | None:
    return next((d for d in roster.devices if d.device_id == device_id), None)


def member(roster: Roster, member_id: str) -> Member | None:
    return next((m for m in roster.members if m.member_id == member_id), None)


def is_active_device(roster: Roster, device_id: str) -> bool:
    found = device(roster, device_id)
    return found is not None and found.status == "active"


def is_active_member(roster: Roster, member_id: str) -> bool:
    found = member(roster, member_id)
    return found is not None and found.status == "active"


def active_device_certs(roster: Roster) -> list[bytes]:
    """DER certificates of every active device: the trust anchors for links."""
    return [d.cert for d in roster.devices if d.status == "active"]


def member_of_device(roster: Roster, device_id: str) -> str | None:
    """The member id owning ``device_id`` (active or removed), or None if unknown."""
    found = device(roster, device_id)
    return found.member_id if found else None


def invite_state(roster: Roster, invite_id: str) -> InviteState | None:
    return next((i for i in roster.invites if i.record.invite_id == invite_id), None)


# -- writing -------------------------------------------------------------------


def _utc(moment: dt.datetime) -> dt.datetime:
    if moment.tzinfo is None:
        raise ValueError("roster times must be timezone-aware (UTC)")
    return moment.astimezone(dt.timezone.utc)


def _stored(record: msgspec.Struct) -> dict[str, Any]:
    # Timestamps as ISO 8601 UTC text with a fixed precision, readable by any tool.
    return {key: _utc(value).isoformat(timespec="microseconds")
            if isinstance(value, dt.datetime) else value
            for key, value in msgspec.structs.asdict(record).items()}


def _append(tx: Any, name: str, record: msgspec.Struct) -> None:
    found = tx.get(am.ROOT, ROSTER_KEY)
    lst = tx.get(found[1], name) if found is not None else None
    if lst is None or lst[0] != am.ObjType.List:
        raise RosterMissing(f"the pod document's roster has no {name} list; it is damaged")
    put_value(tx, lst[1], tx.length(lst[1]), _stored(record), insert=True)


def _require(tx: Any) -> Roster:
    roster = view(tx)
    if roster is None:
        raise RosterMissing("this pod document holds no roster yet; sync with a member "
                            "of the pod first")
    return roster


def _require_member(roster: Roster, member_id: str) -> None:
    if not is_active_member(roster, member_id):
        raise RosterError(f"{member_id} is not an active member of pod {roster.pod_name!r}; "
                          "only active members can change the roster")


def found_pod(tx: Any, pod_id: str, pod_name: str, member_id: str, name: str,
              cert_der: bytes, now: dt.datetime) -> Admission:
    """Create the roster of a new pod with its founder and the founder's device.

    Only the founding node calls this, once: everyone else receives the roster
    by sync, so the lists are never created twice concurrently (which would make
    one replica's appends vanish under the other's list).
    """
    if tx.get(am.ROOT, ROSTER_KEY) is not None:
        raise RosterError("this pod document already has a roster")
    ids.parse_document_id(pod_id)
    ids.parse_document_id(member_id)
    now = _utc(now)
    roster = tx.put_object(am.ROOT, ROSTER_KEY, am.ObjType.Map)
    put_value(tx, roster, "pod_id", pod_id)
    put_value(tx, roster, "pod_name", check_name("pod name", pod_name))
    for list_name in _LISTS:
        tx.put_object(roster, list_name, am.ObjType.List)
    _append(tx, "members", _MemberRecord(member_id=member_id, name=check_name("member name", name),
                                         added_by=member_id, added_at=now))
    device_id = device_id_from_cert_der(cert_der)
    _append(tx, "devices", _DeviceRecord(device_id=device_id, member_id=member_id, cert=cert_der,
                                         added_by=member_id, added_at=now))
    return Admission(member_id=member_id, device_id=device_id, new_member=True)


def add_invite(tx: Any, record: InviteRecord) -> None:
    """Record an invite made by an active member (see :func:`invite.create_invite`)."""
    roster = _require(tx)
    _require_member(roster, record.created_by)
    if record.for_member is not None:
        _require_member(roster, record.for_member)
    if invite_state(roster, record.invite_id) is not None:
        raise RosterError(f"invite {record.invite_id} is already in the roster")
    _append(tx, "invites", record)


def admit(tx: Any, *, pod_id: str, invite_id: str, proof: bytes, cert_der: bytes,
          member_id: str, name: str | None, by_member: str, now: dt.datetime) -> Admission:
    """Admit a newcomer's device that presented ``proof`` for ``invite_id``.

    ``pod_id`` is the pod the newcomer's invite names; ``member_id`` and ``name``
    are the newcomer's chosen member id and name (ignored for an invite that adds
    a device to an existing member). Refusals raise the :mod:`~podsync.trust.invite`
    errors (unknown, wrong pod, bad proof, used, withdrawn, expired) or
    :class:`RosterError`. A repeated request from the device already admitted by
    this invite returns the same admission, so a newcomer can retry safely.
    """
    roster = _require(tx)
    now = _utc(now)
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
    # The proof first: who does not hold the secret learns nothing more about the invite.
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
    if for_member is not None:
        _require_member(roster, for_member)
        member_id = for_member
    else:
        try:
            ids.parse_document_id(member_id)
        except InvalidId:
            raise RosterError(f"the newcomer's member id is not valid: {member_id!r}") from None
        if member(roster, member_id) is not None:
            raise RosterError(f"member id {member_id} is already in the roster; a new member "
                              "needs a fresh id")
        _append(tx, "members", _MemberRecord(
            member_id=member_id, name=check_name("member name", name or ""),
            added_by=by_member, added_at=now))
    _append(tx, "devices", _DeviceRecord(device_id=device_id, member_id=member_id, cert=cert_der,
                                         added_by=by_member, added_at=now, invite_id=invite_id))
    return Admission(member_id=member_id, device_id=device_id, new_member=for_member is None)


def remove(tx: Any, target_id: str, by_member: str, now: dt.datetime) -> Removal:
    """Record that ``by_member`` removed a member (and so all their devices) or one
    device. Any active member may remove any member or device, themselves included,
    as long as one active device remains in the pod. Removing what is already
    removed returns the earlier removal and records nothing.
    """
    roster = _require(tx)
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
    removal = Removal(target=target_id, by=by_member, at=_utc(now))
    _append(tx, "removals", removal)
    return removal
