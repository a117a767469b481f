"""Operations on feedback pathways: stewards, private threads, routing with consent.

A thread is its own document, created by a record whose hash is its id and
which names its readers: the giver and the leader's stewards, never the leader,
so the leader's node never receives it. Routing writes only the consented
proposal's title and statement elsewhere, in the order :mod:`podsync.pod.feedback`
prescribes: plan, write the target (or find it written by an earlier try),
record the route.
"""

from __future__ import annotations

import datetime as dt
from typing import Any, Literal

import msgspec

from podsync.api.context import PodContext
from podsync.api.ops import op
from podsync.api.pod_common import (
    Args, Id, ListArgs, MemberId, MemberList, NoArgs, OptionalText, OptionalTitle, Text, active_member,
    active_members, builtins, caller, documents_of_kind, known_member, private_document, write,
)
from podsync.errors import InvalidInput, NotFound, TransitionRefused
from podsync.pod import feedback, needs, teams
from podsync.pod.events import Item
from podsync.records.format import Draft, derived_id
from podsync.trust import roster as roster_mod
from podsync.trust.ledger import new_document


async def create_private(ctx: PodContext, kind: str, readers: list[str] | Literal["pod"],
                         body: dict[str, Any], now: dt.datetime) -> str:
    """Create a private document: its creation record, signed by this device, names
    its kind and readers, and its hash is the new document's id. Durable on return."""
    record = ctx.ledger.sign("", feedback.creation_draft(kind, readers, body), now)
    doc_id = derived_id("doc", record.payload)
    await ctx.repo.create_with(doc_id, new_document([record]), kind)
    ctx.ledger.book.add_own(doc_id, record)
    return doc_id


# -- what feedback needs of the pod's teams and stewards (podsync.pod.teams) ---------


def _stewards_of(ctx: PodContext, leader: str) -> list[str]:
    return teams.stewards_of(ctx.ledger.pod_records(), leader)


def _team(ctx: PodContext, team_id: str) -> None:
    teams.team(ctx.ledger.pod_records(), team_id)  # NotFound if unknown


class LeaderArgs(Args):
    leader: MemberId


@op("feedback.stewards")
async def stewards(ctx: PodContext, args: LeaderArgs) -> list[str]:
    """The member ids of a leader's current stewards."""
    caller(ctx)
    known_member(ctx, args.leader, "leader")
    return _stewards_of(ctx, args.leader)


class StewardsSetArgs(Args):
    leader: MemberId
    add: MemberList = []
    remove: MemberList = []


@op("feedback.stewards_set")
async def stewards_set(ctx: PodContext, args: StewardsSetArgs) -> list[str]:
    """Name (``add``) or stop naming (``remove``) a leader's stewards; returns the stewards."""
    me, now = caller(ctx), ctx.now()
    active_member(ctx, args.leader, "leader")
    active_members(ctx, args.add, "add")
    for member in args.remove:
        known_member(ctx, member, "remove")
    # Every change is checked before any is written: one refused writes nothing.
    records = ctx.ledger.pod_records()
    drafts = [teams.name_steward(records, me, args.leader, m) for m in args.add] + \
        [teams.remove_steward(records, me, args.leader, m) for m in args.remove]
    for draft in drafts:
        await write(ctx, ctx.pod_id, draft, now)
    return _stewards_of(ctx, args.leader)


# -- threads ---------------------------------------------------------------------


class GiveArgs(Args):
    leader: MemberId
    text: Text


class ThreadCreated(msgspec.Struct):
    thread_id: str


@op("feedback.give")
async def give(ctx: PodContext, args: GiveArgs) -> ThreadCreated:
    """Open a private thread with a leader's stewards (the leader cannot read it)."""
    me, now = caller(ctx), ctx.now()
    active_member(ctx, args.leader, "leader")
    if args.leader == me:
        raise InvalidInput("leader: feedback for yourself needs no pathway")
    roster = ctx.roster()
    listening = [s for s in _stewards_of(ctx, args.leader)
                 if roster_mod.is_active_member(roster, s)]
    if not [s for s in listening if s != me]:
        raise TransitionRefused(
            f"{args.leader} has no steward (other than you) to hear this feedback; "
            f"name one first: podsync feedback stewards {args.leader} --add MEMBER")
    opening = feedback.give_feedback(me, args.leader, listening, args.text)
    thread_id = await create_private(ctx, opening.kind, opening.readers, opening.fields, now)
    return ThreadCreated(thread_id=thread_id)


def _thread(ctx: PodContext, thread_id: str) -> Item:
    """The thread ``thread_id`` if this member reads it (else NotFound, as if absent)."""
    return _document(ctx, thread_id, feedback.THREAD_KIND, "feedback thread")


def _document(ctx: PodContext, doc_id: str, kind: str, what: str) -> Item:
    private_document(ctx, doc_id, kind, what)
    found = feedback.document_item(ctx.ledger.counted(doc_id), doc_id, kind)
    if found is None:  # its records are not read yet: as good as absent
        raise NotFound(f"no {what} {doc_id} on this node")
    return found


def _thread_view(ctx: PodContext, thread_id: str) -> dict[str, Any]:
    """The thread as the API shows it (if this member reads it), saying whether it
    is archived; derived again only when its records or the roster change."""
    private_document(ctx, thread_id, feedback.THREAD_KIND, "feedback thread")

    def derive() -> tuple[feedback.Thread, dict[str, Any]]:
        view = feedback.thread(_thread(ctx, thread_id))
        return view, builtins(view, thread_id=thread_id)

    view, shown = ctx.views.of_document(thread_id, "thread", derive)
    return {**shown, "archived": ctx.views.is_archived(view, ctx.now())}


async def _write_thread(ctx: PodContext, thread_id: str, draft: Draft,
                        now: dt.datetime) -> dict[str, Any]:
    await write(ctx, thread_id, draft, now)
    return _thread_view(ctx, thread_id)


@op("feedback.threads")
async def threads(ctx: PodContext, args: ListArgs) -> list[dict[str, Any]]:
    """The feedback threads you take part in (as giver or steward), oldest first;
    routed ones quiet for longer than the pod's setting only with ``all``."""
    me = caller(ctx)
    out = [_thread_view(ctx, doc_id) for doc_id in documents_of_kind(ctx, feedback.THREAD_KIND)]
    return sorted((t for t in out if (t["giver"] == me or me in t["stewards"])
                   and (args.all or not t["archived"])),
                  key=lambda t: (t["created_at"], t["thread_id"]))


class ThreadArgs(Args):
    thread_id: Id


@op("feedback.thread")
async def get_thread(ctx: PodContext, args: ThreadArgs) -> dict[str, Any]:
    """One feedback thread you take part in."""
    caller(ctx)
    return _thread_view(ctx, args.thread_id)


class ReplyArgs(Args):
    thread_id: Id
    text: Text


@op("feedback.reply")
async def reply(ctx: PodContext, args: ReplyArgs) -> dict[str, Any]:
    """A message in the thread, from the giver or a steward."""
    me, now = caller(ctx), ctx.now()
    draft = feedback.reply(_thread(ctx, args.thread_id), me, args.text)
    return await _write_thread(ctx, args.thread_id, draft, now)


class RouteProposeArgs(Args):
    thread_id: Id
    route: Literal["team", "void", "leader", "dissolved"]
    statement: OptionalText = ""
    title: OptionalTitle = ""
    team_id: Id | None = None
    public: bool = False


class ProposalCreated(msgspec.Struct):
    proposal_id: str


@op("feedback.propose_route")
async def propose_route(ctx: PodContext, args: RouteProposeArgs) -> ProposalCreated:
    """As a steward: propose where the clarified feedback goes; the giver answers."""
    me, now = caller(ctx), ctx.now()
    item = _thread(ctx, args.thread_id)
    if args.route == "team" and args.team_id is not None:
        _team(ctx, args.team_id)
    record = await write(ctx, args.thread_id, feedback.propose_route(
        item, me, args.route, args.statement, args.title, args.team_id, args.public), now)
    return ProposalCreated(proposal_id=record.id)


class ConsentArgs(Args):
    thread_id: Id
    proposal_id: Id
    consent: bool
    note: OptionalText = ""


@op("feedback.consent")
async def consent(ctx: PodContext, args: ConsentArgs) -> dict[str, Any]:
    """As the giver: consent to a proposal (or decline it). Nothing travels without it."""
    me, now = caller(ctx), ctx.now()
    draft = feedback.answer_route(_thread(ctx, args.thread_id), me, args.proposal_id,
                                  args.consent, args.note)
    return await _write_thread(ctx, args.thread_id, draft, now)


class RouteArgs(Args):
    thread_id: Id
    proposal_id: Id


class RouteResult(msgspec.Struct):
    thread_id: str
    route: str
    target_doc: str | None
    target_item: str | None


@op("feedback.route")
async def route(ctx: PodContext, args: RouteArgs) -> RouteResult:
    """Carry out a consented proposal: write the need, team item or statement, then record it."""
    me, now = caller(ctx), ctx.now()
    plan = feedback.plan_route(_thread(ctx, args.thread_id), me, args.proposal_id)
    target_doc: str | None = None
    target_item: str | None = None
    if plan.route == "void":
        target_doc = ctx.collection(needs.KIND)
        target_item = await _write_once(ctx, target_doc, feedback.void_need(plan), now)
    elif plan.route == "team":
        _team(ctx, str(plan.team))
        target_doc = ctx.collection(teams.ITEMS_KIND)
        target_item = await _write_once(ctx, target_doc, teams.add_team_item(
            str(plan.team), plan.title, plan.statement, origin="feedback",
            proposal=plan.proposal), now)
    elif plan.route == "leader":
        target_doc = await _deliver(ctx, feedback.statement_opening(plan), now)
    # Read again: the thread may have moved while the target was written.
    await write(ctx, args.thread_id, feedback.record_route(
        _thread(ctx, args.thread_id), me, args.proposal_id, target_doc, target_item), now)
    return RouteResult(thread_id=args.thread_id, route=plan.route, target_doc=target_doc,
                       target_item=target_item)


async def _write_once(ctx: PodContext, doc_id: str, draft: Draft, now: dt.datetime) -> str:
    """The item ``draft`` creates in ``doc_id``: the one an earlier try wrote, or a new one."""
    done = feedback.already_written(ctx.ledger.counted(doc_id), draft)
    if done is not None:
        return done
    return (await write(ctx, doc_id, draft, now)).id


async def _deliver(ctx: PodContext, opening: feedback.Opening, now: dt.datetime) -> str:
    """The statement document: the one an earlier try created, or a new one."""
    body = opening.draft().body
    for doc_id in documents_of_kind(ctx, feedback.STATEMENT_KIND):
        found = feedback.document_item(ctx.ledger.counted(doc_id), doc_id, opening.kind)
        if found is not None and found.fields == body:
            return doc_id
    return await create_private(ctx, opening.kind, opening.readers, opening.fields, now)


class ThreadSettleArgs(Args):
    thread_id: Id
    choice: Id


@op("feedback.settle")
async def settle(ctx: PodContext, args: ThreadSettleArgs) -> dict[str, Any]:
    """Resolve two routings made while apart by choosing one candidate."""
    me, now = caller(ctx), ctx.now()
    draft = feedback.settle_thread(_thread(ctx, args.thread_id), me, args.choice)
    return await _write_thread(ctx, args.thread_id, draft, now)


# -- statements --------------------------------------------------------------------


def _statement(ctx: PodContext, statement_id: str) -> Item:
    return _document(ctx, statement_id, feedback.STATEMENT_KIND, "feedback statement")


def _statement_view(ctx: PodContext, statement_id: str) -> dict[str, Any]:
    return builtins(feedback.statement(_statement(ctx, statement_id)),
                    statement_id=statement_id)


@op("feedback.received")
async def received(ctx: PodContext, args: NoArgs) -> list[dict[str, Any]]:
    """Statements delivered to you as a leader, and those made public to the pod."""
    me = caller(ctx)
    out = [_statement_view(ctx, doc_id)
           for doc_id in documents_of_kind(ctx, feedback.STATEMENT_KIND)]
    return sorted((s for s in out if s["leader"] == me or s["public"]),
                  key=lambda s: (s["created_at"], s["statement_id"]))


class StatementArgs(Args):
    statement_id: Id


@op("feedback.statement")
async def get_statement(ctx: PodContext, args: StatementArgs) -> dict[str, Any]:
    """One statement you read (as its leader, giver or steward, or a public one)."""
    caller(ctx)
    return _statement_view(ctx, args.statement_id)


class RespondArgs(Args):
    statement_id: Id
    text: Text


@op("feedback.respond")
async def respond(ctx: PodContext, args: RespondArgs) -> dict[str, Any]:
    """As the leader: respond to a statement delivered to you."""
    me, now = caller(ctx), ctx.now()
    draft = feedback.respond_to_statement(_statement(ctx, args.statement_id), me, args.text)
    await write(ctx, args.statement_id, draft, now)
    return _statement_view(ctx, args.statement_id)
