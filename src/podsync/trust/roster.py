"""The pod's roster as every view shows it: members, devices, invites, removals.

The roster is derived, never stored: :mod:`podsync.trust.graph` replays the pod
document's signed membership records into a :class:`Roster`, and
:mod:`podsync.trust.membership` writes new ones. This module holds the view's
types and the questions the rest of podsync asks of it.
"""

from __future__ import annotations

import datetime as dt
from typing import Literal

import msgspec

from podsync.errors import NotFound, PodsyncError
from podsync.trust.invite import InviteRecord

Status = Literal["active", "removed"]


class RosterError(PodsyncError):
    """The roster change asked for is not allowed."""


class RosterMissing(RosterError, NotFound):
    """The pod document holds no roster (yet)."""


# -- the derived view ----------------------------------------------------------


class Removal(msgspec.Struct, frozen=True, kw_only=True):
    target: str  # a member id or a device id
    by: str  # member id
    at: dt.datetime


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


# -- questions -------------------------------------------------------------------


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


