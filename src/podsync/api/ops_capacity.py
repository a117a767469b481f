"""Operations on capacity: check-ins, each member's load, "still within my capacity?".

Load is listed per member in the roster's order, never ranked: it is there to help
the pod discern together. "Are you mobilizing?" and allies:
:mod:`podsync.api.ops_mobilizing`.
"""

from __future__ import annotations

import datetime as dt
from typing import Any, Literal

import msgspec

from podsync.api.context import PodContext
from podsync.api.ops import op
from podsync.api.ops_agreements import AGREEMENTS
from podsync.api.ops_needs import NEEDS
from podsync.api.pod_common import Args, NoArgs, OptionalText, builtins, caller, write
from podsync.api.views import Kind, register
from podsync.pod import agreements, capacity, needs
from podsync.pod.events import Item


class CapacitySetArgs(Args):
    level: Literal["depleted", "stretched", "baseline", "spacious"]
    note: OptionalText = ""


class CheckedIn(msgspec.Struct):
    id: str
    #: After a stretched or depleted check-in: each agreement and need you hold, with
    #: "still within my capacity?"; empty otherwise.
    review: list[capacity.ReviewItem]


def _checkin(item: Item, now: dt.datetime, tuned: object) -> capacity.CheckIn | None:
    return capacity.checkin(item)


#: Check-ins, listed from the cached views (never archived: they are the history
#: of each member's capacity).
CHECKINS = register(Kind("checkin", capacity.KIND, capacity.CHECKIN, _checkin, builtins,
                         capacity.CheckIn))


def _held(ctx: PodContext, now: dt.datetime) -> tuple[list[capacity.HeldNeed],
                                                       list[capacity.HeldAgreement]]:
    """Every live need and agreement, from the cached views, as much of each as
    load and review read. An archived one is closed (attended, let be,
    declined, retired): it weighs on nobody."""
    return (ctx.views.views(ctx.collection(needs.KIND), NEEDS, now, everything=False,
                            as_type=capacity.HeldNeed),
            ctx.views.views(ctx.collection(agreements.KIND), AGREEMENTS, now, everything=False,
                            as_type=capacity.HeldAgreement))


@op("capacity.set")
async def set_capacity(ctx: PodContext, args: CapacitySetArgs) -> CheckedIn:
    """Say where your capacity is now (earlier check-ins stay in the history)."""
    me, now = caller(ctx), ctx.now()
    record = await write(ctx, ctx.collection(capacity.KIND),
                         capacity.check_in(args.level, args.note), now)
    review = capacity.review(me, *_held(ctx, now)) if args.level in capacity.REVIEW_LEVELS else []
    return CheckedIn(id=record.id, review=review)


@op("capacity.review")
async def review(ctx: PodContext, args: NoArgs) -> list[capacity.ReviewItem]:
    """Each agreement and need you hold, with "still within my capacity?"."""
    me, now = caller(ctx), ctx.now()
    return capacity.review(me, *_held(ctx, now))


@op("capacity.list")
async def list_capacity(ctx: PodContext, args: NoArgs) -> list[dict[str, Any]]:
    """Per member: current check-in, load (needs held, agreements; strained ones apart)
    and check-in history."""
    caller(ctx)
    now = ctx.now()
    # Oldest first, as views are listed. Every check-in is live (none is ever
    # archived), so the saved views hold them all.
    history = ctx.views.views(ctx.collection(capacity.KIND), CHECKINS, now, everything=False)
    members = {m.member_id: m for m in ctx.roster().members}
    loads = capacity.loads(*_held(ctx, now), history,
                           [m for m, info in members.items() if info.status == "active"])
    current = capacity.current_capacity(history)
    out = []
    for load in loads:
        member, held = members.get(load.member), builtins(load)
        out.append({
            "member": load.member, "name": member.name if member else None,
            "active": member is not None and member.status == "active",
            "current": builtins(current[load.member]) if load.member in current else None,
            "load": {"needs": held["needs"], "agreements": held["agreements"]},
            "strained": held["strained"],
            "history": [builtins(c) for c in history if c.member == load.member],
        })
    return out
