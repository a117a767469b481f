"""Operations on agreements: propose, affirm within capacity, decline, renew, revise
(by all the parties of the new version), withdraw, retire (by every party)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Annotated, Any, Literal

import msgspec

from podsync.api.context import PodContext
from podsync.api.ops import op
from podsync.api.pod_common import (
    Args, Created, Id, ItemArgs, ListArgs, MemberList, NoArgs, NoteArgs, OptionalText, SettleArgs,
    Text, TextArgs, active_members, builtins, caller, item, items, listing, shown, write,
    write_item,
)
from podsync.api.views import Kind, register
from podsync.pod import agreements as domain
from podsync.pod import common as limits
from podsync.pod.events import Item
from podsync.records.format import Draft


AGREEMENTS = register(Kind("agreement", domain.KIND, domain.PROPOSE,
                           lambda item, now, tuned: domain.derive(item, now), builtins,
                           domain.Agreement))


class AnchorArgs(Args):
    """A principle (its words) or a need (its id) the agreement anchors."""

    kind: Literal["principle", "need"]
    ref: Text


Anchors = Annotated[list[AnchorArgs], msgspec.Meta(max_length=limits.MAX_LIST_ITEMS)]


def _anchors(given: list[AnchorArgs]) -> list[domain.Anchor]:
    return [domain.Anchor(kind=a.kind, ref=a.ref) for a in given]


async def _change(ctx: PodContext, agreement_id: str,
                  decide: Callable[[Item, str, dt.datetime], Draft]) -> dict[str, Any]:
    """Record what ``decide(agreement, me, now)`` says; the agreement afterwards."""
    _, after, now = await write_item(ctx, domain.KIND, domain.PROPOSE, agreement_id,
                                     "agreement", decide)
    return builtins(domain.derive(after, now))


class AgreementProposeArgs(Args):
    what: Text
    parties: MemberList
    anchors: Anchors = []
    review_on: dt.date | None = None


@op("agreement.propose")
async def propose(ctx: PodContext, args: AgreementProposeArgs) -> Created:
    """Propose an agreement; it is active once every party affirms it is within capacity."""
    caller(ctx)
    now = ctx.now()
    parties = active_members(ctx, args.parties, "parties")
    draft = domain.propose_agreement(now, args.what, parties, _anchors(args.anchors),
                                     args.review_on)
    record = await write(ctx, ctx.collection(domain.KIND), draft, now)
    return Created(id=record.id)


@op("agreement.list")
async def list_agreements(ctx: PodContext, args: ListArgs) -> msgspec.Raw:
    """Every agreement (``all``: archived ones too), oldest first, with parties,
    versions, reminders and history."""
    caller(ctx)
    return listing(ctx, AGREEMENTS, args.all)


@op("agreement.awaiting")
async def awaiting(ctx: PodContext, args: NoArgs) -> list[dict[str, Any]]:
    """What the agreements ask of you now: versions to affirm, revisions that leave you
    out, retirements others consented to."""
    me = caller(ctx)
    found = items(ctx, ctx.collection(domain.KIND), domain.PROPOSE)
    return [builtins(x) for x in domain.awaiting(domain.agreements(found, ctx.now()), me)]


@op("agreement.get")
async def get(ctx: PodContext, args: ItemArgs) -> dict[str, Any]:
    """One agreement (archived or not)."""
    caller(ctx)
    found = item(ctx, ctx.collection(domain.KIND), args.id, domain.PROPOSE, "agreement")
    return shown(ctx, AGREEMENTS, found, ctx.now())


class AgreementVersionArgs(Args):
    id: Id
    note: OptionalText = ""
    #: A proposed revision's number; by default, the version in force.
    version: Annotated[int, msgspec.Meta(ge=1)] | None = None


@op("agreement.affirm")
async def affirm(ctx: PodContext, args: AgreementVersionArgs) -> dict[str, Any]:
    """As a party: this agreement (or its proposed revision ``version``) is within my capacity."""
    return await _change(ctx, args.id, lambda it, me, now: domain.affirm_agreement(
        it, me, args.note, args.version))


@op("agreement.decline")
async def decline(ctx: PodContext, args: AgreementVersionArgs) -> dict[str, Any]:
    """As a party: this proposed agreement (or revision) is not within my capacity."""
    return await _change(ctx, args.id, lambda it, me, now: domain.decline_agreement(
        it, me, args.note, args.version))


@op("agreement.withdraw")
async def withdraw(ctx: PodContext, args: NoteArgs) -> dict[str, Any]:
    """As a party: take yourself out of it (the others renegotiate it)."""
    return await _change(ctx, args.id, lambda it, me, now: domain.withdraw_from_agreement(
        it, me, args.note))


class AgreementStrainArgs(Args):
    id: Id
    note: Text


@op("agreement.strain")
async def strain(ctx: PodContext, args: AgreementStrainArgs) -> dict[str, Any]:
    """As a party: this is no longer within my capacity (the agreement is renegotiated)."""
    return await _change(ctx, args.id, lambda it, me, now: domain.no_longer_within_capacity(
        it, me, args.note))


class AgreementReviewArgs(Args):
    id: Id
    review_on: dt.date
    note: OptionalText = ""


@op("agreement.review")
async def review(ctx: PodContext, args: AgreementReviewArgs) -> dict[str, Any]:
    """Renew an active agreement as it is, until a new review date."""
    return await _change(ctx, args.id, lambda it, me, now: domain.renew_agreement(
        it, me, now, args.review_on, args.note))


class AgreementReviseArgs(Args):
    """What is left out carries over from the version in force (``review_on: null``
    clears the review date)."""

    id: Id
    what: Text | None = None
    parties: MemberList | None = None
    anchors: Anchors | None = None
    review_on: dt.date | None | msgspec.UnsetType = msgspec.UNSET
    note: OptionalText = ""


@op("agreement.revise")
async def revise(ctx: PodContext, args: AgreementReviseArgs) -> dict[str, Any]:
    """A new version (the old one is kept); changing the parties or the text proposes
    it, and it is in force once every party of the new version affirms it."""
    parties = None if args.parties is None else active_members(ctx, args.parties, "parties")
    anchors = None if args.anchors is None else _anchors(args.anchors)
    return await _change(ctx, args.id, lambda it, me, now: domain.revise_agreement(
        it, me, now, args.what, parties, anchors, args.review_on, args.note))


@op("agreement.pause")
async def pause(ctx: PodContext, args: NoteArgs) -> dict[str, Any]:
    """Pause an active or renegotiating agreement."""
    return await _change(ctx, args.id, lambda it, me, now: domain.pause_agreement(
        it, me, args.note))


@op("agreement.resume")
async def resume(ctx: PodContext, args: NoteArgs) -> dict[str, Any]:
    """Resume a paused agreement."""
    return await _change(ctx, args.id, lambda it, me, now: domain.resume_agreement(
        it, me, args.note))


@op("agreement.retire")
async def retire(ctx: PodContext, args: NoteArgs) -> dict[str, Any]:
    """Consent to retire it: retired once every party has, or at once while renegotiating."""
    return await _change(ctx, args.id, lambda it, me, now: domain.retire_agreement(
        it, me, args.note))


@op("agreement.remind")
async def remind(ctx: PodContext, args: ItemArgs) -> dict[str, Any]:
    """Volunteer to remind the parties of the agreement."""
    return await _change(ctx, args.id, lambda it, me, now: domain.volunteer_reminder(it, me))


@op("agreement.unremind")
async def unremind(ctx: PodContext, args: ItemArgs) -> dict[str, Any]:
    """Stop volunteering as a reminder."""
    return await _change(ctx, args.id, lambda it, me, now: domain.stop_reminding(it, me))


@op("agreement.note")
async def note(ctx: PodContext, args: TextArgs) -> dict[str, Any]:
    """Leave a note on an agreement."""
    return await _change(ctx, args.id, lambda it, me, now: domain.note_agreement(
        it, me, args.text))


@op("agreement.settle")
async def settle(ctx: PodContext, args: SettleArgs) -> dict[str, Any]:
    """Resolve concurrent, different changes by choosing one candidate."""
    return await _change(ctx, args.id, lambda it, me, now: domain.settle_agreement(
        it, me, args.choice))
