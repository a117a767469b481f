"""Operations of the advice process: start, ask, advise, integrate, decide."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any, Literal

from podsync.api.context import PodContext
from podsync.api.ops import op
from podsync.api.pod_common import (
    Args, Created, Id, ItemArgs, MemberId, Moment, NoArgs, OptionalText, SettleArgs, Text,
    TextArgs, Title, active_member, builtins, caller, utc,
    write_collection,
)
from podsync.pod import decisions as domain


async def _change(ctx: PodContext, decision_id: str,
                  write: Callable[[Any, str, Any], object]) -> tuple[dict[str, Any], object]:
    doc, now, written = await write_collection(ctx, domain.KIND, write)
    return builtins(domain.decision(doc, decision_id, now)), written


class DecisionStartArgs(Args):
    title: Title
    proposal: Text
    deadline: Moment


@op("decision.start")
async def start(ctx: PodContext, args: DecisionStartArgs) -> Created:
    """Open a decision you will make, after asking for advice until the deadline."""
    me, now, deadline = caller(ctx), ctx.now(), utc(args.deadline, "deadline")
    new = await ctx.change(ctx.collection(domain.KIND), lambda tx: domain.open_decision(
        tx, me, now, args.title, args.proposal, deadline))
    return Created(id=new)


@op("decision.list")
async def list_decisions(ctx: PodContext, args: NoArgs) -> list[dict[str, Any]]:
    """Every decision, oldest first, with who was asked, the advice and its integration."""
    caller(ctx)
    return [builtins(d) for d in domain.decisions(ctx.doc(ctx.collection(domain.KIND)), ctx.now())]


@op("decision.get")
async def get(ctx: PodContext, args: ItemArgs) -> dict[str, Any]:
    """One decision."""
    caller(ctx)
    return builtins(domain.decision(ctx.doc(ctx.collection(domain.KIND)), args.id, ctx.now()))


class DecisionAskArgs(Args):
    id: Id
    member: MemberId
    reason: Literal["affected", "expertise"]
    note: OptionalText = ""


@op("decision.ask")
async def ask(ctx: PodContext, args: DecisionAskArgs) -> dict[str, Any]:
    """As the decider: ask a member for advice, because affected or for their expertise."""
    active_member(ctx, args.member)
    view, _ = await _change(ctx, args.id, lambda tx, me, now: domain.ask_advice(
        tx, args.id, me, now, args.member, args.reason, args.note))
    return view


class DecisionAdviseArgs(Args):
    id: Id
    stance: Literal["support", "concern", "discourage", "no_advice"]
    text: OptionalText = ""


@op("decision.advise")
async def advise(ctx: PodContext, args: DecisionAdviseArgs) -> dict[str, Any]:
    """Give advice on a decision (it informs; it never blocks). Returns ``advice_id`` too."""
    view, advice_id = await _change(ctx, args.id, lambda tx, me, now: domain.give_advice(
        tx, args.id, me, now, args.stance, args.text))
    return {**view, "advice_id": advice_id}


class DecisionIntegrateArgs(Args):
    id: Id
    advice_id: Id
    integrated: bool
    why: Text


@op("decision.integrate")
async def integrate(ctx: PodContext, args: DecisionIntegrateArgs) -> dict[str, Any]:
    """As the decider: record whether a piece of advice was integrated, and why."""
    view, _ = await _change(ctx, args.id, lambda tx, me, now: domain.integrate_advice(
        tx, args.id, me, now, args.advice_id, args.integrated, args.why))
    return view


class DecisionDecideArgs(Args):
    id: Id
    text: Text
    review_on: dt.date | None = None


@op("decision.decide")
async def decide(ctx: PodContext, args: DecisionDecideArgs) -> dict[str, Any]:
    """As the decider: decide, once advice is heard and concerns answered."""
    view, _ = await _change(ctx, args.id, lambda tx, me, now: domain.decide(
        tx, args.id, me, now, args.text, args.review_on))
    return view


@op("decision.note")
async def note(ctx: PodContext, args: TextArgs) -> dict[str, Any]:
    """Leave a note on a decision."""
    view, _ = await _change(ctx, args.id, lambda tx, me, now: domain.note_decision(
        tx, args.id, me, now, args.text))
    return view


@op("decision.settle")
async def settle(ctx: PodContext, args: SettleArgs) -> dict[str, Any]:
    """Resolve concurrent, different decisions by choosing one candidate."""
    view, _ = await _change(ctx, args.id, lambda tx, me, now: domain.settle_decision(
        tx, args.id, me, now, args.choice))
    return view
