"""Operations of the advice process: start, ask, advise, integrate, decide."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any, Literal

import msgspec

from podsync.api.context import PodContext
from podsync.api.ops import op
from podsync.api.pod_common import (
    Args, Created, Id, ItemArgs, ListArgs, MemberId, Moment, OptionalText, SettleArgs, Text,
    TextArgs, Title, active_member, builtins, caller, item, listing, shown, utc, write,
)
from podsync.api.views import Kind, register
from podsync.pod import decisions as domain
from podsync.pod.events import Item
from podsync.records.format import Draft


DECISIONS = register(Kind("decision", domain.KIND, domain.OPEN, domain.derive, builtins,
                          domain.Decision))


async def _change(ctx: PodContext, decision_id: str,
                  decide: Callable[[Item, str, dt.datetime], Draft]) -> tuple[dict[str, Any], str]:
    """Record what ``decide(decision, me, now)`` says; (the decision afterwards, the
    new record's id: advice is named by it)."""
    me, now, doc_id = caller(ctx), ctx.now(), ctx.collection(domain.KIND)
    draft = decide(item(ctx, doc_id, decision_id, domain.OPEN, "decision"), me, now)
    record = await write(ctx, doc_id, draft, now)
    after = item(ctx, doc_id, decision_id, domain.OPEN, "decision")
    return builtins(domain.derive(after, now)), record.id


class DecisionStartArgs(Args):
    title: Title
    proposal: Text
    deadline: Moment


@op("decision.start")
async def start(ctx: PodContext, args: DecisionStartArgs) -> Created:
    """Open a decision you will make, after asking for advice until the deadline."""
    caller(ctx)
    now, deadline = ctx.now(), utc(args.deadline, "deadline")
    draft = domain.open_decision(now, args.title, args.proposal, deadline)
    record = await write(ctx, ctx.collection(domain.KIND), draft, now)
    return Created(id=record.id)


@op("decision.list")
async def list_decisions(ctx: PodContext, args: ListArgs) -> msgspec.Raw:
    """Every decision (``all``: archived ones too), oldest first, with who was
    asked, the advice and its integration."""
    caller(ctx)
    return listing(ctx, DECISIONS, args.all)


@op("decision.get")
async def get(ctx: PodContext, args: ItemArgs) -> dict[str, Any]:
    """One decision (archived or not)."""
    caller(ctx)
    found = item(ctx, ctx.collection(domain.KIND), args.id, domain.OPEN, "decision")
    return shown(ctx, DECISIONS, found, ctx.now())


class DecisionAskArgs(Args):
    id: Id
    member: MemberId
    reason: Literal["affected", "expertise"]
    note: OptionalText = ""


@op("decision.ask")
async def ask(ctx: PodContext, args: DecisionAskArgs) -> dict[str, Any]:
    """As the decider: ask a member for advice, because affected or for their expertise."""
    active_member(ctx, args.member)
    view, _ = await _change(ctx, args.id, lambda it, me, now: domain.ask_advice(
        it, me, args.member, args.reason, args.note))
    return view


class DecisionAdviseArgs(Args):
    id: Id
    stance: Literal["support", "concern", "discourage", "no_advice"]
    text: OptionalText = ""


@op("decision.advise")
async def advise(ctx: PodContext, args: DecisionAdviseArgs) -> dict[str, Any]:
    """Give advice on a decision (it informs; it never blocks). Returns ``advice_id`` too."""
    view, advice_id = await _change(ctx, args.id, lambda it, me, now: domain.give_advice(
        it, me, args.stance, args.text))
    return {**view, "advice_id": advice_id}


class DecisionIntegrateArgs(Args):
    id: Id
    advice_id: Id
    integrated: bool
    why: Text


@op("decision.integrate")
async def integrate(ctx: PodContext, args: DecisionIntegrateArgs) -> dict[str, Any]:
    """As the decider: record whether a piece of advice was integrated, and why."""
    view, _ = await _change(ctx, args.id, lambda it, me, now: domain.integrate_advice(
        it, me, args.advice_id, args.integrated, args.why))
    return view


class DecisionDecideArgs(Args):
    id: Id
    text: Text
    review_on: dt.date | None = None


@op("decision.decide")
async def decide(ctx: PodContext, args: DecisionDecideArgs) -> dict[str, Any]:
    """As the decider: decide, once advice is heard and concerns answered."""
    view, _ = await _change(ctx, args.id, lambda it, me, now: domain.decide(
        it, me, now, args.text, args.review_on))
    return view


@op("decision.note")
async def note(ctx: PodContext, args: TextArgs) -> dict[str, Any]:
    """Leave a note on a decision."""
    view, _ = await _change(ctx, args.id, lambda it, me, now: domain.note_decision(
        it, me, args.text))
    return view


@op("decision.settle")
async def settle(ctx: PodContext, args: SettleArgs) -> dict[str, Any]:
    """Resolve concurrent, different decisions by choosing one candidate."""
    view, _ = await _change(ctx, args.id, lambda it, me, now: domain.settle_decision(
        it, me, args.choice))
    return view
