"""Operations of the advice process: start, ask (and withdraw an ask), advise or
decline, integrate, move the deadline, link, decide or withdraw."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Annotated, Any, Literal

import msgspec

from podsync.api.context import PodContext
from podsync.api.ops import op
from podsync.api.pod_common import (
    Args, Created, Id, ItemArgs, ListArgs, MemberId, Moment, NoteArgs, OptionalText,
    SettleArgs, Text, TextArgs, Title, active_member, builtins, caller, item, listing, shown,
    utc, write,
)
from podsync.api.views import Kind, register
from podsync.errors import NotFound
from podsync.pod import agreements, needs
from podsync.pod import common as limits
from podsync.pod import decisions as domain
from podsync.pod.events import Item
from podsync.records.format import Draft


DECISIONS = register(Kind("decision", domain.KIND, domain.OPEN,
                          lambda item, now, tuned: domain.derive(item, now), builtins,
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


class LinkArgs(Args):
    """A need or an agreement a decision touches."""

    kind: Literal["need", "agreement"]
    ref: Id


Links = Annotated[list[LinkArgs], msgspec.Meta(max_length=limits.MAX_LIST_ITEMS)]


def _linked(ctx: PodContext, link: LinkArgs, field: str = "links") -> tuple[str, str]:
    """(kind, id) of a need or agreement the pod holds, or NotFound naming the field."""
    kind, create = (needs.KIND, needs.ADD) if link.kind == "need" \
        else (agreements.KIND, agreements.PROPOSE)
    try:
        item(ctx, ctx.collection(kind), link.ref, create, link.kind)
    except NotFound as err:
        raise NotFound(f"{field}: {err}") from None
    return link.kind, link.ref


class DecisionStartArgs(Args):
    title: Title
    proposal: Text
    deadline: Moment
    links: Links = []


@op("decision.start")
async def start(ctx: PodContext, args: DecisionStartArgs) -> Created:
    """Open a decision you will make, after asking for advice until the deadline."""
    caller(ctx)
    now, deadline = ctx.now(), utc(args.deadline, "deadline")
    links = [_linked(ctx, x) for x in args.links]
    draft = domain.open_decision(now, args.title, args.proposal, deadline, links)
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


class DecisionUnaskArgs(Args):
    id: Id
    member: MemberId
    note: OptionalText = ""


@op("decision.unask")
async def unask(ctx: PodContext, args: DecisionUnaskArgs) -> dict[str, Any]:
    """As the decider: withdraw an ask (recorded, with a note)."""
    view, _ = await _change(ctx, args.id, lambda it, me, now: domain.withdraw_ask(
        it, me, args.member, args.note))
    return view


@op("decision.decline")
async def decline(ctx: PodContext, args: NoteArgs) -> dict[str, Any]:
    """As a member asked: decline to advise (the decider no longer waits for you)."""
    view, _ = await _change(ctx, args.id, lambda it, me, now: domain.decline_to_advise(
        it, me, args.note))
    return view


class DecisionDeadlineArgs(Args):
    id: Id
    deadline: Moment
    note: OptionalText = ""


@op("decision.deadline")
async def deadline(ctx: PodContext, args: DecisionDeadlineArgs) -> dict[str, Any]:
    """As the decider: move the deadline for advice (recorded, with a note)."""
    until = utc(args.deadline, "deadline")
    view, _ = await _change(ctx, args.id, lambda it, me, now: domain.move_deadline(
        it, me, now, until, args.note))
    return view


class DecisionLinkArgs(Args):
    id: Id
    kind: Literal["need", "agreement"]
    ref: Id


@op("decision.link")
async def link(ctx: PodContext, args: DecisionLinkArgs) -> dict[str, Any]:
    """As the decider: link a need or an agreement the decision touches."""
    kind, ref = _linked(ctx, LinkArgs(kind=args.kind, ref=args.ref), "ref")
    view, _ = await _change(ctx, args.id, lambda it, me, now: domain.link_decision(
        it, me, kind, ref))
    return view


class DecisionWithdrawArgs(Args):
    id: Id
    note: Text


@op("decision.withdraw")
async def withdraw(ctx: PodContext, args: DecisionWithdrawArgs) -> dict[str, Any]:
    """As the decider: withdraw the whole decision (recorded, with a note)."""
    view, _ = await _change(ctx, args.id, lambda it, me, now: domain.withdraw_decision(
        it, me, args.note))
    return view


class DecisionDecideArgs(Args):
    id: Id
    text: Text
    review_on: dt.date | None = None
    #: With no advice from anyone asked: why nobody else is affected (recorded, shown).
    no_one_affected: OptionalText = ""


@op("decision.decide")
async def decide(ctx: PodContext, args: DecisionDecideArgs) -> dict[str, Any]:
    """As the decider: decide, once advice from someone asked is heard and concerns
    answered, or with a recorded reason why nobody else is affected."""
    view, _ = await _change(ctx, args.id, lambda it, me, now: domain.decide(
        it, me, now, args.text, args.review_on, args.no_one_affected))
    return view


class DecisionReviewArgs(Args):
    id: Id
    outcome: Literal["keep", "revise", "retire"]
    note: Text
    #: The next review date (keep or revise).
    review_on: dt.date | None = None


@op("decision.review")
async def review(ctx: PodContext, args: DecisionReviewArgs) -> dict[str, Any]:
    """As the decider: review a decision made (keep, revise or retire it, with a note);
    keeping or revising may set the next review date."""
    view, _ = await _change(ctx, args.id, lambda it, me, now: domain.review_decision(
        it, me, now, args.outcome, args.note, args.review_on))
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
