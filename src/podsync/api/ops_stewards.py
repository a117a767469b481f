"""Operations on stewards: named by consent, stepping down, ended by the leader.

A nomination is a proposal any member makes; it takes effect once the steward
affirms the role is within their capacity and the leader consents
(:mod:`podsync.pod.stewards`).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from podsync.api.context import PodContext
from podsync.api.ops import op
from podsync.api.pod_common import (
    Args, Created, Id, MemberId, MemberList, NoArgs, OptionalText, active_member, active_members,
    builtins, caller, known_member, write,
)
from podsync.errors import NotPermitted, TransitionRefused
from podsync.pod import stewards as domain
from podsync.records.format import Draft
from podsync.trust.ledger import Counted


def records(ctx: PodContext) -> list[Counted]:
    """The pod document's counted steward records, in replay order."""
    return ctx.ledger.pod_records(domain.STEWARD_TYPES)


def stewards_of(ctx: PodContext, leader: str) -> list[str]:
    return domain.stewards_of(records(ctx), leader)


class StewardProposeArgs(Args):
    leader: MemberId
    steward: MemberId
    note: OptionalText = ""


@op("steward.propose")
async def propose(ctx: PodContext, args: StewardProposeArgs) -> Created:
    """Propose a steward for a leader: in effect once the steward affirms and the leader consents."""
    me = caller(ctx)
    active_member(ctx, args.leader, "leader")
    active_member(ctx, args.steward, "steward")
    record = await write(ctx, ctx.pod_id, domain.propose_steward(
        records(ctx), me, args.leader, args.steward, args.note), ctx.now())
    return Created(id=record.id)


@op("steward.list")
async def list_nominations(ctx: PodContext, args: NoArgs) -> list[dict[str, Any]]:
    """Every steward nomination, oldest first: proposed, active, declined or ended."""
    caller(ctx)
    return [builtins(n) for n in domain.nominations(records(ctx))]


class NominationArgs(Args):
    id: Id
    note: OptionalText = ""


async def _act(ctx: PodContext, args: NominationArgs,
               decide: Callable[[list[Counted], str, str, str], Draft]) -> dict[str, Any]:
    me = caller(ctx)
    await write(ctx, ctx.pod_id, decide(records(ctx), args.id, me, args.note), ctx.now())
    return builtins(domain.nomination(records(ctx), args.id))


@op("steward.affirm")
async def affirm(ctx: PodContext, args: NominationArgs) -> dict[str, Any]:
    """As the steward named: this role is within my capacity."""
    return await _act(ctx, args, domain.affirm_role)


@op("steward.consent")
async def consent(ctx: PodContext, args: NominationArgs) -> dict[str, Any]:
    """As the leader: I consent to this steward."""
    return await _act(ctx, args, domain.consent_to_steward)


@op("steward.decline")
async def decline(ctx: PodContext, args: NominationArgs) -> dict[str, Any]:
    """As the steward named or the leader: decline a nomination not yet in effect."""
    return await _act(ctx, args, domain.decline_nomination)


@op("steward.step_down")
async def step_down(ctx: PodContext, args: NominationArgs) -> dict[str, Any]:
    """As the steward: step down from the role."""
    return await _act(ctx, args, domain.step_down)


@op("steward.remove")
async def remove(ctx: PodContext, args: NominationArgs) -> dict[str, Any]:
    """As the leader: end a steward's role (recorded with who did it)."""
    return await _act(ctx, args, domain.end_role)


class LeaderArgs(Args):
    leader: MemberId


@op("feedback.stewards")
async def stewards(ctx: PodContext, args: LeaderArgs) -> list[str]:
    """The member ids of a leader's stewards in effect."""
    caller(ctx)
    known_member(ctx, args.leader, "leader")
    return stewards_of(ctx, args.leader)


class StewardsSetArgs(Args):
    leader: MemberId
    add: MemberList = []
    remove: MemberList = []


@op("feedback.stewards_set")
async def stewards_set(ctx: PodContext, args: StewardsSetArgs) -> list[str]:
    """Propose stewards for a leader (``add``), or end roles (``remove``: the leader, or
    the steward stepping down); returns the stewards in effect."""
    me, now = caller(ctx), ctx.now()
    active_member(ctx, args.leader, "leader")
    active_members(ctx, args.add, "add")
    for member in args.remove:
        known_member(ctx, member, "remove")
    found = records(ctx)
    active = {n.steward: n.id for n in domain.nominations(found)
              if n.leader == args.leader and n.state == "active"}
    drafts = [domain.propose_steward(found, me, args.leader, m) for m in args.add]
    for member in args.remove:
        if member not in active:
            raise TransitionRefused(f"remove: {member} is not a steward for {args.leader}")
        if member != me and me != args.leader:
            raise NotPermitted("only the leader ends a steward's role, or the steward steps down")
        ending = domain.step_down if member == me else domain.end_role
        drafts.append(ending(found, active[member], me))
    # Every change is checked before any is written: one refused writes nothing.
    for draft in drafts:
        await write(ctx, ctx.pod_id, draft, now)
    return stewards_of(ctx, args.leader)
