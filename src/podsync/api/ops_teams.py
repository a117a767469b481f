"""Operations on teams, joined by consent, and the items a team is asked to attend to.

Teams live in the pod document as signed records; :func:`pod_records` is what
every reading of them starts from. Adding someone else to a team invites them:
they are in once they accept.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import msgspec

from podsync.api.context import PodContext
from podsync.api.ops import op
from podsync.api.pod_common import (
    Args, Created, Id, MemberId, MemberList, NoArgs, NoteArgs, OptionalText, SettleArgs, Text,
    Title, active_member, active_members, builtins, caller, known_member, listing, write,
    write_item,
)
from podsync.api.views import Kind, register
from podsync.pod import teams as domain
from podsync.pod.events import Item
from podsync.records.format import Draft
from podsync.trust.ledger import Counted


TEAM_ITEMS = register(Kind("team item", domain.ITEMS_KIND, domain.ITEM_ADD,
                          lambda item, now, tuned: domain.derive(item), builtins, domain.TeamItem))


def pod_records(ctx: PodContext) -> list[Counted]:
    """The pod document's counted team records, in replay order."""
    return ctx.ledger.pod_records(domain.TEAM_TYPES)


async def _write_pod(ctx: PodContext, decide: Callable[[list[Counted], str], Draft]) -> None:
    """Record in the pod document what ``decide(records, me)`` says."""
    me = caller(ctx)
    await write(ctx, ctx.pod_id, decide(pod_records(ctx), me), ctx.now())


class TeamAddArgs(Args):
    name: Title
    members: MemberList = []


@op("team.add")
async def add(ctx: PodContext, args: TeamAddArgs) -> Created:
    """Form a team (any member may); you are in it if listed, the others listed are invited."""
    me = caller(ctx)
    members = active_members(ctx, args.members, "members")
    record = await write(ctx, ctx.pod_id, domain.create_team(
        pod_records(ctx), me, args.name, members), ctx.now())
    return Created(id=record.id)


@op("team.list")
async def list_teams(ctx: PodContext, args: NoArgs) -> list[dict[str, Any]]:
    """Every team with its current members."""
    caller(ctx)
    return [builtins(t) for t in domain.teams(pod_records(ctx))]


class TeamMemberArgs(Args):
    team_id: Id
    member: MemberId


@op("team.join")
async def join(ctx: PodContext, args: TeamMemberArgs) -> dict[str, Any]:
    """Join a team yourself, or invite another member (they accept or decline)."""
    caller(ctx)
    active_member(ctx, args.member)
    await _write_pod(ctx, lambda records, me: domain.add_team_member(
        records, args.team_id, me, args.member))
    return builtins(domain.team(pod_records(ctx), args.team_id))


class TeamArgs(Args):
    team_id: Id


@op("team.accept")
async def accept(ctx: PodContext, args: TeamArgs) -> dict[str, Any]:
    """Accept an invitation to a team: you are in it."""
    await _write_pod(ctx, lambda records, me: domain.accept_team(records, args.team_id, me))
    return builtins(domain.team(pod_records(ctx), args.team_id))


@op("team.decline")
async def decline(ctx: PodContext, args: TeamArgs) -> dict[str, Any]:
    """Decline an invitation to a team."""
    await _write_pod(ctx, lambda records, me: domain.decline_team(records, args.team_id, me))
    return builtins(domain.team(pod_records(ctx), args.team_id))


@op("team.leave")
async def leave(ctx: PodContext, args: TeamMemberArgs) -> dict[str, Any]:
    """Leave a team, or take a member or an invitation out (kept in the pod's record)."""
    caller(ctx)
    known_member(ctx, args.member)
    await _write_pod(ctx, lambda records, me: domain.remove_team_member(
        records, args.team_id, me, args.member))
    return builtins(domain.team(pod_records(ctx), args.team_id))


class TeamItemsArgs(Args):
    team_id: Id | None = None
    #: Archived items too (addressed and quiet for longer than the pod's setting).
    all: bool = False


@op("team.items")
async def list_items(ctx: PodContext, args: TeamItemsArgs) -> Any:
    """Items of every team, or of one team (``all``: archived ones too), oldest first."""
    caller(ctx)
    if args.team_id is None:
        return listing(ctx, TEAM_ITEMS, args.all)
    domain.team(pod_records(ctx), args.team_id)  # NotFound if unknown
    return [i for i in msgspec.json.decode(listing(ctx, TEAM_ITEMS, args.all))
            if i["team"] == args.team_id]


class TeamItemAddArgs(Args):
    team_id: Id
    title: Title
    detail: OptionalText = ""


@op("team.item_add")
async def item_add(ctx: PodContext, args: TeamItemAddArgs) -> Created:
    """Ask a team to attend to something."""
    caller(ctx)
    domain.team(pod_records(ctx), args.team_id)  # NotFound if unknown
    record = await write(ctx, ctx.collection(domain.ITEMS_KIND), domain.add_team_item(
        args.team_id, args.title, args.detail), ctx.now())
    return Created(id=record.id)


async def _change(ctx: PodContext, item_id: str,
                  decide: Callable[[Item, str], Draft]) -> dict[str, Any]:
    """Record what ``decide(item, me)`` says about team item ``item_id``; the item afterwards."""
    _, after, _ = await write_item(ctx, domain.ITEMS_KIND, domain.ITEM_ADD, item_id,
                                   "team item", lambda it, me, now: decide(it, me))
    return builtins(domain.derive(after))


class TeamItemAddressArgs(Args):
    id: Id
    note: Text


@op("team.item_address")
async def item_address(ctx: PodContext, args: TeamItemAddressArgs) -> dict[str, Any]:
    """Record how the team addressed an item."""
    return await _change(ctx, args.id, lambda it, me: domain.address_team_item(
        it, me, args.note))


@op("team.item_reopen")
async def item_reopen(ctx: PodContext, args: NoteArgs) -> dict[str, Any]:
    """Open an addressed item again."""
    return await _change(ctx, args.id, lambda it, me: domain.reopen_team_item(
        it, me, args.note))


@op("team.item_settle")
async def item_settle(ctx: PodContext, args: SettleArgs) -> dict[str, Any]:
    """Resolve concurrent, different changes to an item by choosing one candidate."""
    return await _change(ctx, args.id, lambda it, me: domain.settle_team_item(
        it, me, args.choice))
