"""Operations on teams and the items a team is asked to attend to."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from podsync.api.context import PodContext
from podsync.api.ops import op
from podsync.api.pod_common import (
    Args, Created, Id, MemberId, MemberList, NoArgs, NoteArgs, OptionalText, SettleArgs, Text, Title,
    active_member, active_members, builtins, caller, known_member,
    write_collection,
)
from podsync.pod import teams as domain


class TeamAddArgs(Args):
    name: Title
    members: MemberList = []


@op("team.add")
async def add(ctx: PodContext, args: TeamAddArgs) -> Created:
    """Form a team (any member may)."""
    me, now = caller(ctx), ctx.now()
    members = active_members(ctx, args.members, "members")
    new = await ctx.change(ctx.pod_id, lambda tx: domain.create_team(
        tx, me, now, args.name, members))
    return Created(id=new)


@op("team.list")
async def list_teams(ctx: PodContext, args: NoArgs) -> list[dict[str, Any]]:
    """Every team with its current members."""
    caller(ctx)
    return [builtins(t) for t in domain.teams(ctx.pod_doc())]


class TeamMemberArgs(Args):
    team_id: Id
    member: MemberId


@op("team.join")
async def join(ctx: PodContext, args: TeamMemberArgs) -> dict[str, Any]:
    """Add a member to a team."""
    me, now = caller(ctx), ctx.now()
    active_member(ctx, args.member)
    await ctx.change(ctx.pod_id, lambda tx: domain.add_team_member(
        tx, args.team_id, me, now, args.member))
    return builtins(domain.team(ctx.pod_doc(), args.team_id))


@op("team.leave")
async def leave(ctx: PodContext, args: TeamMemberArgs) -> dict[str, Any]:
    """Take a member out of a team (the change is kept in the pod's record)."""
    me, now = caller(ctx), ctx.now()
    known_member(ctx, args.member)
    await ctx.change(ctx.pod_id, lambda tx: domain.remove_team_member(
        tx, args.team_id, me, now, args.member))
    return builtins(domain.team(ctx.pod_doc(), args.team_id))


class TeamItemsArgs(Args):
    team_id: Id | None = None


@op("team.items")
async def items(ctx: PodContext, args: TeamItemsArgs) -> list[dict[str, Any]]:
    """Items of every team, or of one team, oldest first."""
    caller(ctx)
    if args.team_id is not None:
        domain.team(ctx.pod_doc(), args.team_id)  # NotFound if unknown
    doc = ctx.doc(ctx.collection(domain.ITEMS_KIND))
    return [builtins(i) for i in domain.team_items(doc, args.team_id)]


class TeamItemAddArgs(Args):
    team_id: Id
    title: Title
    detail: OptionalText = ""


@op("team.item_add")
async def item_add(ctx: PodContext, args: TeamItemAddArgs) -> Created:
    """Ask a team to attend to something."""
    me, now = caller(ctx), ctx.now()
    domain.team(ctx.pod_doc(), args.team_id)
    new = await ctx.change(ctx.collection(domain.ITEMS_KIND), lambda tx: domain.add_team_item(
        tx, me, now, args.team_id, args.title, args.detail))
    return Created(id=new)


async def _change(ctx: PodContext, item_id: str,
                  write: Callable[[Any, str, Any], object]) -> dict[str, Any]:
    doc, _, _ = await write_collection(ctx, domain.ITEMS_KIND, write)
    return builtins(domain.team_item(doc, item_id))


class TeamItemAddressArgs(Args):
    id: Id
    note: Text


@op("team.item_address")
async def item_address(ctx: PodContext, args: TeamItemAddressArgs) -> dict[str, Any]:
    """Record how the team addressed an item."""
    return await _change(ctx, args.id, lambda tx, me, now: domain.address_team_item(
        tx, args.id, me, now, args.note))


@op("team.item_reopen")
async def item_reopen(ctx: PodContext, args: NoteArgs) -> dict[str, Any]:
    """Open an addressed item again."""
    return await _change(ctx, args.id, lambda tx, me, now: domain.reopen_team_item(
        tx, args.id, me, now, args.note))


@op("team.item_settle")
async def item_settle(ctx: PodContext, args: SettleArgs) -> dict[str, Any]:
    """Resolve concurrent, different changes to an item by choosing one candidate."""
    return await _change(ctx, args.id, lambda tx, me, now: domain.settle_team_item(
        tx, args.id, me, now, args.choice))
