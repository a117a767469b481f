"""Operations on "are you mobilizing?" (discernment held together) and allies.

An outcome, once the member it concerns and another participant confirmed it,
is carried out on the needs board by the member's own node (only they may let
go of a need or take one on): :func:`follow_through` runs after each of their
operations here, and the running node runs it whenever the capacity document
changes (a confirmation arriving from another node).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Annotated, Any, Literal

import msgspec

from podsync.api.context import PodContext
from podsync.api.ops import op
from podsync.api.pod_common import (
    Args, Created, Id, ListArgs, MemberId, NoArgs, OptionalText, OptionalTitle, SettleArgs, Text,
    Title, active_member, builtins, caller, item, items, listing, write, write_item, write_once,
)
from podsync.api.views import Kind, register
from podsync.errors import InvalidInput, NotFound, PodsyncError, TransitionRefused
from podsync.pod import allies as allies_mod
from podsync.pod import discernment as domain
from podsync.pod import needs
from podsync.pod.events import Item
from podsync.records.format import Draft

log = logging.getLogger(__name__)

Outcome = Literal["continue", "release", "ask_for_support", "take_on"]
#: The document whose changes can bring an outcome confirmed on another node.
FOLLOWED_KIND = domain.KIND


def _ask(item: Item, now: object, tuned: object) -> domain.Ask | None:
    """The ask ``item`` is (None: an ask of oneself, which is no ask)."""
    found = domain.asks({item.id: item})
    return found[0] if found else None


ASKS = register(Kind("ask", domain.KIND, domain.ASK, _ask, builtins, domain.Ask))


def _asks(ctx: PodContext) -> dict[str, Item]:
    return items(ctx, ctx.collection(domain.KIND), domain.ASK)


def _need(ctx: PodContext, need_id: str, field: str) -> needs.Need:
    try:
        found = item(ctx, ctx.collection(needs.KIND), need_id, needs.ADD, "need")
    except NotFound as err:
        raise NotFound(f"{field}: {err}") from None
    return needs.derive(found, ctx.now())


class MobilizingAskArgs(Args):
    member: MemberId
    #: ``held``: a need they hold; ``open``: an open need nobody takes; ``pattern``:
    #: no need. By default: ``pattern`` without a need, else as the need stands.
    about: Literal["held", "open", "pattern"] | None = None
    need_id: Id | None = None
    question: OptionalText = ""


@op("mobilizing.ask")
async def ask(ctx: PodContext, args: MobilizingAskArgs) -> Created:
    """Ask a member "are you mobilizing?" about a need they hold, an open need, or a pattern."""
    me = caller(ctx)
    active_member(ctx, args.member)
    about = args.about
    if args.need_id is not None:
        need = _need(ctx, args.need_id, "need_id")
        holds = any(h.member == args.member for h in need.holders)
        about = about or ("held" if holds else "open")
        if about == "held" and not holds:
            raise TransitionRefused(f"need_id: {args.member} does not hold that need")
        if about == "open" and need.state != "open":
            raise TransitionRefused(f"need_id: that need is {need.state}, not open")
    about = about or "pattern"
    record = await write(ctx, ctx.collection(domain.KIND), domain.ask_mobilizing(
        me, args.member, about, args.need_id, args.question), ctx.now())
    return Created(id=record.id)


async def _change(ctx: PodContext, ask_id: str,
                  decide: Callable[[Item, str], Draft]) -> dict[str, Any]:
    """Record what ``decide(ask, me)`` says about ask ``ask_id``, carry out what it
    confirmed for this member; the ask afterwards."""
    await write_item(ctx, domain.KIND, domain.ASK, ask_id, "ask",
                     lambda it, me, now: decide(it, me))
    await follow_through(ctx)
    return builtins(domain.ask(_asks(ctx), ask_id))


class ViewArgs(Args):
    ask_id: Id
    purpose: OptionalText = ""
    within: OptionalText = ""
    around: OptionalText = ""
    void: OptionalText = ""
    over: OptionalText = ""


@op("mobilizing.view")
async def view(ctx: PodContext, args: ViewArgs) -> dict[str, Any]:
    """Add your view against the criteria (purpose, capacity within and around, the
    void, over-mobilizing); anyone may join the conversation this way."""
    return await _change(ctx, args.ask_id, lambda it, me: domain.add_view(
        it, me, args.purpose, args.within, args.around, args.void, args.over))


class ProposeArgs(Args):
    ask_id: Id
    outcome: Outcome
    note: OptionalText = ""
    #: A new need to open (take on, ask for support).
    title: OptionalTitle = ""
    #: An existing need it is about (default: the ask's).
    need_id: Id | None = None


@op("mobilizing.propose")
async def propose(ctx: PodContext, args: ProposeArgs) -> dict[str, Any]:
    """Propose an outcome (continue, release, ask for support, take on); it takes effect
    once the member asked and another participant confirm it."""
    if args.need_id is not None:
        _need(ctx, args.need_id, "need_id")
    return await _change(ctx, args.ask_id, lambda it, me: domain.propose_outcome(
        it, me, args.outcome, args.note, args.title, args.need_id))


class ConfirmArgs(Args):
    ask_id: Id
    proposal_id: Id


@op("mobilizing.confirm")
async def confirm(ctx: PodContext, args: ConfirmArgs) -> dict[str, Any]:
    """Confirm a proposed outcome."""
    return await _change(ctx, args.ask_id, lambda it, me: domain.confirm_outcome(
        it, me, args.proposal_id))


class AskNoteArgs(Args):
    ask_id: Id
    text: Text


@op("mobilizing.note")
async def note(ctx: PodContext, args: AskNoteArgs) -> dict[str, Any]:
    """Leave a note on an ask (it changes nothing else)."""
    return await _change(ctx, args.ask_id, lambda it, me: domain.note_ask(it, me, args.text))


class AskSettleArgs(Args):
    ask_id: Id
    choice: Id


@op("mobilizing.settle")
async def settle(ctx: PodContext, args: AskSettleArgs) -> dict[str, Any]:
    """Resolve outcomes confirmed differently while apart by choosing one candidate."""
    return await _change(ctx, args.ask_id,
                         lambda it, me: domain.settle_ask(it, me, args.choice))


@op("mobilizing.list")
async def list_asks(ctx: PodContext, args: ListArgs) -> msgspec.Raw:
    """Every "are you mobilizing?" ask (``all``: archived ones too), oldest first,
    with views, proposals and outcome."""
    caller(ctx)
    return listing(ctx, ASKS, args.all)


class AskArgs(Args):
    ask_id: Id


@op("mobilizing.get")
async def get(ctx: PodContext, args: AskArgs) -> dict[str, Any]:
    """One ask."""
    caller(ctx)
    return builtins(domain.ask(_asks(ctx), args.ask_id))


@op("mobilizing.awaiting")
async def awaiting(ctx: PodContext, args: NoArgs) -> list[domain.Awaiting]:
    """Open asks waiting for your view or your confirmation."""
    me = caller(ctx)
    return domain.awaiting(domain.asks(_asks(ctx)), me)


# -- carrying out confirmed outcomes -------------------------------------------------


async def follow_through(ctx: PodContext) -> int:
    """Carry out, on the needs board, every confirmed outcome about this member not yet
    carried out; how many. Only an active member's node does (it signs as them)."""
    async with ctx.follow_lock:
        try:
            me = caller(ctx)
            found = _asks(ctx)
        except PodsyncError:
            return 0  # removed, or the collections are not here yet: nothing to carry out
        done = 0
        for effect in domain.pending(found, me):
            result, need_id = await _carry_out(ctx, me, effect)
            await write(ctx, ctx.collection(domain.KIND), domain.followed(
                _asks(ctx)[effect.ask], me, effect.proposal, result, need_id), ctx.now())
            done += 1
        return done


async def _carry_out(ctx: PodContext, me: str, effect: domain.Effect) -> tuple[str, str | None]:
    """What ``effect`` does on the needs board: (what was done, the need)."""
    doc_id, now = ctx.collection(needs.KIND), ctx.now()

    def need(need_id: str) -> Item | None:
        try:
            return item(ctx, doc_id, need_id, needs.ADD, "need")
        except NotFound:
            return None

    need_id = effect.need
    if effect.title:
        detail = effect.note or "Opened after discerning together whether to mobilize."
        need_id = await write_once(ctx, doc_id, needs.add_need(
            effect.title, detail, origin=effect.proposal), now)
        if effect.outcome == "ask_for_support":
            return "opened", need_id
    found = need(need_id) if need_id else None
    if found is None or effect.outcome == "continue":
        return "nothing", need_id
    try:
        if effect.outcome == "release":
            await write(ctx, doc_id, needs.release_need(
                found, me, effect.note or "released after discerning together"), now)
            return "released", need_id
        if effect.outcome == "take_on":
            await write(ctx, doc_id, needs.hold_need(found, me), now)
            return "held", need_id
        await write(ctx, doc_id, needs.note_need(
            found, me, "Support is asked for with this need" + (
                f": {effect.note}" if effect.note else "")), now)
        return "linked", need_id
    except (TransitionRefused, InvalidInput):
        return "nothing", need_id  # already let go of, already held, or closed meanwhile


# -- allies ------------------------------------------------------------------------


def _allies(ctx: PodContext) -> dict[str, Item]:
    return items(ctx, ctx.collection(allies_mod.KIND), allies_mod.ALLIES)


class AlliesProposeArgs(Args):
    member: MemberId
    every_days: Annotated[int, msgspec.Meta(ge=1, le=allies_mod.MAX_EVERY_DAYS)]
    focus: Title


@op("allies.propose")
async def allies_propose(ctx: PodContext, args: AlliesProposeArgs) -> Created:
    """Propose recurring check-ins with another member (they accept or decline)."""
    me = caller(ctx)
    active_member(ctx, args.member)
    record = await write(ctx, ctx.collection(allies_mod.KIND), allies_mod.propose_allies(
        me, args.member, args.every_days, args.focus), ctx.now())
    return Created(id=record.id)


async def _allies_change(ctx: PodContext, allies_id: str,
                         decide: Callable[[Item, str], Draft]) -> dict[str, Any]:
    _, after, now = await write_item(ctx, allies_mod.KIND, allies_mod.ALLIES, allies_id,
                                     "allies check-in", lambda it, me, now: decide(it, me))
    return builtins(allies_mod.derive(after, now))


class AlliesArgs(Args):
    id: Id


class AlliesNoteArgs(Args):
    id: Id
    note: OptionalText = ""


@op("allies.accept")
async def allies_accept(ctx: PodContext, args: AlliesArgs) -> dict[str, Any]:
    """As the ally asked: accept the recurring check-ins."""
    return await _allies_change(ctx, args.id, allies_mod.accept_allies)


@op("allies.decline")
async def allies_decline(ctx: PodContext, args: AlliesArgs) -> dict[str, Any]:
    """As the ally asked: decline them."""
    return await _allies_change(ctx, args.id, allies_mod.decline_allies)


@op("allies.stop")
async def allies_stop(ctx: PodContext, args: AlliesNoteArgs) -> dict[str, Any]:
    """As either ally: end the recurring check-ins."""
    return await _allies_change(ctx, args.id, lambda it, me: allies_mod.stop_allies(
        it, me, args.note))


@op("allies.met")
async def allies_met(ctx: PodContext, args: AlliesNoteArgs) -> dict[str, Any]:
    """As either ally: you checked in; the next one is due an interval from now."""
    return await _allies_change(ctx, args.id, lambda it, me: allies_mod.record_met(
        it, me, args.note))


@op("allies.settle")
async def allies_settle(ctx: PodContext, args: SettleArgs) -> dict[str, Any]:
    """Resolve different changes made while apart by choosing one candidate."""
    return await _allies_change(ctx, args.id, lambda it, me: allies_mod.settle_allies(
        it, me, args.choice))


@op("allies.list")
async def allies_list(ctx: PodContext, args: NoArgs) -> list[dict[str, Any]]:
    """Every pair of allies and their recurring check-ins, with when the next is due."""
    caller(ctx)
    return [builtins(a) for a in allies_mod.all_allies(_allies(ctx), ctx.now())]


@op("allies.due")
async def allies_due(ctx: PodContext, args: NoArgs) -> list[dict[str, Any]]:
    """Your allies' check-ins that are due now (a gentle ask for your inbox)."""
    me = caller(ctx)
    return [builtins(a) for a in allies_mod.due(_allies(ctx), me, ctx.now())]
