"""Operations on capacity: check-ins, each member's load, "are you mobilizing?" asks.

Load is listed per member in the roster's order, never ranked: it is there to help
the pod discern together.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Literal

import msgspec

from podsync.api.context import PodContext
from podsync.api.ops import op
from podsync.api.ops_agreements import AGREEMENTS
from podsync.api.ops_needs import NEEDS
from podsync.api.pod_common import (
    Args, Created, Id, ListArgs, MemberId, NoArgs, OptionalText, Text, active_member, builtins,
    caller, item, items, listing, write, write_item,
)
from podsync.api.views import Kind, register
from podsync.pod import capacity, needs
from podsync.pod.events import Item
from podsync.records.format import Draft


def _ask(item: Item, now: object) -> capacity.Ask | None:
    """The ask ``item`` is (None: an ask of oneself, which is no ask)."""
    found = capacity.asks({item.id: item})
    return found[0] if found else None


ASKS = register(Kind("ask", capacity.KIND, capacity.ASK, _ask, builtins, capacity.Ask))

Outcome = Literal["continue", "release", "ask_for_support", "take_on"]


class CapacitySetArgs(Args):
    level: Literal["depleted", "stretched", "baseline", "spacious"]
    note: OptionalText = ""


@op("capacity.set")
async def set_capacity(ctx: PodContext, args: CapacitySetArgs) -> Created:
    """Say where your capacity is now (earlier check-ins stay in the history)."""
    caller(ctx)
    record = await write(ctx, ctx.collection(capacity.KIND),
                         capacity.check_in(args.level, args.note), ctx.now())
    return Created(id=record.id)


def _board(ctx: PodContext, kind: str, create: str) -> dict[str, Item]:
    return items(ctx, ctx.collection(kind), create)


@op("capacity.list")
async def list_capacity(ctx: PodContext, args: NoArgs) -> list[dict[str, Any]]:
    """Per member: current check-in, load (needs held, agreements) and check-in history."""
    caller(ctx)
    now = ctx.now()
    checkins = _board(ctx, capacity.KIND, capacity.CHECKIN)
    history = capacity.checkins(checkins)
    members = {m.member_id: m for m in ctx.roster().members}
    # Archived needs and agreements are closed (attended, let be, retired): they
    # weigh on nobody, so only the live ones are read.
    loads = capacity.loads(
        ctx.views.views(ctx.collection(needs.KIND), NEEDS, now, everything=False),
        ctx.views.views(ctx.collection(AGREEMENTS.collection), AGREEMENTS, now, everything=False),
        history, [m for m, info in members.items() if info.status == "active"])
    current = capacity.current_capacity(checkins)
    out = []
    for load in loads:
        member, held = members.get(load.member), builtins(load)
        out.append({
            "member": load.member, "name": member.name if member else None,
            "active": member is not None and member.status == "active",
            "current": builtins(current[load.member]) if load.member in current else None,
            "load": {"needs": held["needs"], "agreements": held["agreements"]},
            "history": [builtins(c) for c in history if c.member == load.member],
        })
    return out


class MobilizingAskArgs(Args):
    member: MemberId
    need_id: Id
    question: OptionalText = ""


@op("mobilizing.ask")
async def ask(ctx: PodContext, args: MobilizingAskArgs) -> Created:
    """Ask a member "are you mobilizing?" about a need."""
    me = caller(ctx)
    active_member(ctx, args.member)
    item(ctx, ctx.collection(needs.KIND), args.need_id, needs.ADD, "need")  # NotFound if unknown
    record = await write(ctx, ctx.collection(capacity.KIND), capacity.ask_mobilizing(
        me, args.member, args.need_id, args.question), ctx.now())
    return Created(id=record.id)


async def _change(ctx: PodContext, ask_id: str,
                  decide: Callable[[Item, str], Draft]) -> dict[str, Any]:
    """Record what ``decide(ask, me)`` says about ask ``ask_id``; the ask afterwards."""
    _, after, _ = await write_item(ctx, capacity.KIND, capacity.ASK, ask_id, "ask",
                                   lambda it, me, now: decide(it, me))
    return builtins(capacity.derive(after))


class MobilizingAnswerArgs(Args):
    ask_id: Id
    text: Text
    outcome: Outcome | None = None
    note: OptionalText = ""


@op("mobilizing.answer")
async def answer(ctx: PodContext, args: MobilizingAnswerArgs) -> dict[str, Any]:
    """As the member asked: answer, and optionally record what you discerned together."""
    answered = await _change(ctx, args.ask_id,
                             lambda it, me: capacity.answer_ask(it, me, args.text))
    if args.outcome is None:
        return answered
    outcome = args.outcome
    return await _change(ctx, args.ask_id, lambda it, me: capacity.record_discernment(
        it, me, outcome, args.note))


class MobilizingDiscernArgs(Args):
    ask_id: Id
    outcome: Outcome
    note: OptionalText = ""


@op("mobilizing.discern")
async def discern(ctx: PodContext, args: MobilizingDiscernArgs) -> dict[str, Any]:
    """As asker or member: record the discernment (continue, release, support, take on)."""
    return await _change(ctx, args.ask_id, lambda it, me: capacity.record_discernment(
        it, me, args.outcome, args.note))


class AskSettleArgs(Args):
    ask_id: Id
    choice: Id


@op("mobilizing.settle")
async def settle(ctx: PodContext, args: AskSettleArgs) -> dict[str, Any]:
    """Resolve concurrent, different answers by choosing one candidate."""
    return await _change(ctx, args.ask_id,
                         lambda it, me: capacity.settle_ask(it, me, args.choice))


@op("mobilizing.list")
async def list_asks(ctx: PodContext, args: ListArgs) -> msgspec.Raw:
    """Every "are you mobilizing?" ask (``all``: archived ones too), oldest first,
    with answers and discernments."""
    caller(ctx)
    return listing(ctx, ASKS, args.all)
