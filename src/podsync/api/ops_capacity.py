"""Operations on capacity: check-ins, each member's load, "are you mobilizing?" asks.

Load is listed per member in the roster's order, never ranked: it is there to help
the pod discern together.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Literal

from podsync.api.context import PodContext
from podsync.api.ops import op
from podsync.api.pod_common import (
    Args, Created, Id, MemberId, NoArgs, OptionalText, Text, active_member, builtins, caller,
    write_collection,
)
from podsync.pod import agreements, capacity, needs

Outcome = Literal["continue", "release", "ask_for_support", "take_on"]


class CapacitySetArgs(Args):
    level: Literal["depleted", "stretched", "baseline", "spacious"]
    note: OptionalText = ""


@op("capacity.set")
async def set_capacity(ctx: PodContext, args: CapacitySetArgs) -> Created:
    """Say where your capacity is now (earlier check-ins stay in the history)."""
    me, now = caller(ctx), ctx.now()
    new = await ctx.change(ctx.collection(capacity.KIND),
                           lambda tx: capacity.check_in(tx, me, now, args.level, args.note))
    return Created(id=new)


@op("capacity.list")
async def list_capacity(ctx: PodContext, args: NoArgs) -> list[dict[str, Any]]:
    """Per member: current check-in, load (needs held, agreements) and check-in history."""
    caller(ctx)
    now = ctx.now()
    doc = ctx.doc(ctx.collection(capacity.KIND))
    history = capacity.checkins(doc)
    members = {m.member_id: m for m in ctx.roster().members}
    loads = capacity.loads(needs.needs(ctx.doc(ctx.collection(needs.KIND)), now),
                           agreements.agreements(ctx.doc(ctx.collection(agreements.KIND)), now),
                           history, [m for m, info in members.items() if info.status == "active"])
    current = capacity.current_capacity(doc)
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
    me, now = caller(ctx), ctx.now()
    active_member(ctx, args.member)
    needs.need(ctx.doc(ctx.collection(needs.KIND)), args.need_id, now)  # NotFound if unknown
    new = await ctx.change(ctx.collection(capacity.KIND), lambda tx: capacity.ask_mobilizing(
        tx, me, now, args.member, args.need_id, args.question))
    return Created(id=new)


async def _change(ctx: PodContext, ask_id: str,
                  write: Callable[[Any, str, Any], object]) -> dict[str, Any]:
    doc, _, _ = await write_collection(ctx, capacity.KIND, write)
    return builtins(capacity.ask(doc, ask_id))


class MobilizingAnswerArgs(Args):
    ask_id: Id
    text: Text
    outcome: Outcome | None = None
    note: OptionalText = ""


@op("mobilizing.answer")
async def answer(ctx: PodContext, args: MobilizingAnswerArgs) -> dict[str, Any]:
    """As the member asked: answer, and optionally record what you discerned together."""
    def write(tx: Any, me: str, now: Any) -> None:
        capacity.answer_ask(tx, args.ask_id, me, now, args.text)
        if args.outcome is not None:
            capacity.record_discernment(tx, args.ask_id, me, now, args.outcome, args.note)
    return await _change(ctx, args.ask_id, write)


class MobilizingDiscernArgs(Args):
    ask_id: Id
    outcome: Outcome
    note: OptionalText = ""


@op("mobilizing.discern")
async def discern(ctx: PodContext, args: MobilizingDiscernArgs) -> dict[str, Any]:
    """As asker or member: record the discernment (continue, release, support, take on)."""
    return await _change(ctx, args.ask_id, lambda tx, me, now: capacity.record_discernment(
        tx, args.ask_id, me, now, args.outcome, args.note))


class AskSettleArgs(Args):
    ask_id: Id
    choice: Id


@op("mobilizing.settle")
async def settle(ctx: PodContext, args: AskSettleArgs) -> dict[str, Any]:
    """Resolve concurrent, different answers by choosing one candidate."""
    return await _change(ctx, args.ask_id, lambda tx, me, now: capacity.settle_ask(
        tx, args.ask_id, me, now, args.choice))


@op("mobilizing.list")
async def list_asks(ctx: PodContext, args: NoArgs) -> list[dict[str, Any]]:
    """Every "are you mobilizing?" ask, oldest first, with answers and discernments."""
    caller(ctx)
    return [builtins(a) for a in capacity.asks(ctx.doc(ctx.collection(capacity.KIND)))]
