"""Operations on the pod's membership: invite, list members, remove.

There is no admin: every active member's node may do each of these.
"""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

import msgspec

from podsync import ids
from podsync.api.context import PodContext
from podsync.api.ops import op
from podsync.errors import InvalidId, InvalidInput, NotFound
from podsync.trust import invite as invite_mod
from podsync.trust import membership
from podsync.trust import roster as roster_mod
from podsync.trust.identity import parse_device_id

DEFAULT_INVITE_LIFETIME = "24h"
_DURATION = re.compile(r"^\s*(\d{1,6})\s*([mhd])\s*$")
_UNIT_SECONDS = {"m": 60, "h": 3600, "d": 86400}


def parse_duration(text: str) -> dt.timedelta:
    """``30m``, ``24h`` or ``7d``; InvalidInput naming the field otherwise."""
    match = _DURATION.match(text)
    if match is None or int(match.group(1)) == 0:
        raise InvalidInput(f"expires: {text!r} is not a duration like 30m, 24h or 7d")
    return dt.timedelta(seconds=int(match.group(1)) * _UNIT_SECONDS[match.group(2)])


class InviteArgs(msgspec.Struct, forbid_unknown_fields=True):
    expires: str = DEFAULT_INVITE_LIFETIME


class InviteResult(msgspec.Struct):
    code: str
    expires_at: str


@op("invite.create")
async def create_invite(ctx: PodContext, args: InviteArgs) -> InviteResult:
    """Make a one-time invite code for a newcomer."""
    lifetime = parse_duration(args.expires)
    addresses = ctx.node.reachable_addresses() if ctx.node is not None else []
    code, record = invite_mod.create_invite(
        ctx.pod_id, ctx.member_id, ctx.identity.cert_der, addresses, lifetime, ctx.now())
    await membership.add_invite(ctx.ledger, record, ctx.member_id)
    return InviteResult(code=code, expires_at=record.expires_at.isoformat(timespec="seconds"))


class NoArgs(msgspec.Struct, forbid_unknown_fields=True):
    pass


@op("members.list")
async def list_members(ctx: PodContext, args: NoArgs) -> list[dict[str, Any]]:
    """The pod's members, their devices, who added whom and removals."""
    roster = ctx.roster()
    out = []
    for member in roster.members:
        devices = [d for d in roster.devices if d.member_id == member.member_id]
        out.append({
            "member_id": member.member_id, "name": member.name, "status": member.status,
            "added_by": member.added_by, "added_at": member.added_at.isoformat(),
            "removed_by": member.removed_by,
            "removed_at": member.removed_at.isoformat() if member.removed_at else None,
            "is_me": member.member_id == ctx.member_id,
            "devices": [{"device_id": d.device_id, "status": d.status, "added_by": d.added_by,
                         "added_at": d.added_at.isoformat(), "contested": d.contested,
                         "this_device": d.device_id == ctx.identity.device_id}
                        for d in devices],
        })
    return out


class RemoveArgs(msgspec.Struct, forbid_unknown_fields=True):
    target: str


@op("members.remove")
async def remove_member(ctx: PodContext, args: RemoveArgs) -> dict[str, Any]:
    """Remove a member (all their devices) or one device from the pod."""
    roster = ctx.roster()
    target = args.target.strip()
    if roster_mod.member(roster, target) is None:
        try:
            target = parse_device_id(target)
        except ValueError:
            raise NotFound(f"no member or device {args.target!r} in this pod") from None
        if roster_mod.device(roster, target) is None:
            raise NotFound(f"no member or device {args.target!r} in this pod")
    removal = await membership.remove(ctx.ledger, target, ctx.member_id, ctx.now())
    return {"target": removal.target, "by": removal.by, "at": removal.at.isoformat()}


class ShareArgs(msgspec.Struct, forbid_unknown_fields=True):
    url: str
    #: "pod", or the member ids who may read it (the member sharing always does).
    readers: str | list[str]


class Shared(msgspec.Struct):
    url: str
    readers: str | list[str]


@op("doc.share")
async def share_document(ctx: PodContext, args: ShareArgs) -> Shared:
    """Let the pod, or some members, read a document a local app made (signed record)."""
    try:
        doc_id, _ = ids.parse_url(args.url.strip())
    except InvalidId as exc:
        raise InvalidInput(f"url: {exc}") from None
    if not ctx.repo.has(doc_id) or not ctx.ledger.may_read(ctx.member_id, doc_id):
        raise NotFound(f"no document {args.url} on this node")
    if isinstance(args.readers, str):
        if args.readers != "pod":
            raise InvalidInput("readers: \"pod\" or a list of member ids")
        readers: Any = "pod"
    else:
        roster = ctx.roster()
        for member_id in args.readers:
            if not roster_mod.is_active_member(roster, member_id):
                raise NotFound(f"readers: no active member {member_id!r} in this pod")
        readers = frozenset(args.readers)
    await ctx.ledger.share(doc_id, readers, ctx.now())
    now_readers = ctx.ledger.readers(doc_id)
    return Shared(url=ids.document_url(doc_id),
                  readers="pod" if now_readers == "pod" else sorted(now_readers))
