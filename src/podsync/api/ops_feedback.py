"""Operations on feedback pathways: stewards, private threads, routing with consent.

A thread is its own document, read only by the giver and the leader's stewards
(never the leader), so the leader's node never receives it. Routing writes only
the consented proposal's title and statement elsewhere, in the order
:mod:`podsync.pod.feedback` prescribes: plan, write the target, record the route.
"""

from __future__ import annotations

from typing import Any, Literal

import msgspec

from podsync.api.context import PodContext
from podsync.api.ops import op
from podsync.api.pod_common import (
    Args, Id, MemberId, MemberList, NoArgs, OptionalText, OptionalTitle, Text, active_member,
    active_members, builtins, caller, documents_of_kind, known_member, private_document,
)
from podsync.errors import InvalidInput, NotFound, TransitionRefused
from podsync.pod import feedback, needs, teams
from podsync.trust import roster as roster_mod


class LeaderArgs(Args):
    leader: MemberId


@op("feedback.stewards")
async def stewards(ctx: PodContext, args: LeaderArgs) -> list[str]:
    """The member ids of a leader's current stewards."""
    caller(ctx)
    known_member(ctx, args.leader, "leader")
    return teams.stewards_of(ctx.pod_doc(), args.leader)


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

    def write(tx: Any) -> None:
        for member in args.add:
            teams.name_steward(tx, me, now, args.leader, member)
        for member in args.remove:
            teams.remove_steward(tx, me, now, args.leader, member)
    await ctx.change(ctx.pod_id, write)
    return teams.stewards_of(ctx.pod_doc(), args.leader)


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
    listening = [s for s in teams.stewards_of(ctx.pod_doc(), args.leader)
                 if roster_mod.is_active_member(roster, s)]
    if not [s for s in listening if s != me]:
        raise TransitionRefused(
            f"{args.leader} has no steward (other than you) to hear this feedback; "
            f"name one first: podsync feedback stewards {args.leader} --add MEMBER")
    thread_id = await ctx.repo.create(feedback.THREAD_KIND, lambda tx: feedback.give_feedback(
        tx, me, now, args.leader, listening, args.text))
    return ThreadCreated(thread_id=thread_id)


def _thread(ctx: PodContext, thread_id: str) -> Any:
    return private_document(ctx, thread_id, feedback.THREAD_KIND, "feedback thread")


def _thread_view(ctx: PodContext, thread_id: str) -> dict[str, Any]:
    return builtins(feedback.thread(_thread(ctx, thread_id)), thread_id=thread_id)


@op("feedback.threads")
async def threads(ctx: PodContext, args: NoArgs) -> list[dict[str, Any]]:
    """The feedback threads you take part in (as giver or steward), oldest first."""
    caller(ctx)
    out = []
    for doc_id, doc in documents_of_kind(ctx, feedback.THREAD_KIND):
        try:
            out.append(builtins(feedback.thread(doc), thread_id=doc_id))
        except NotFound:
            continue  # an empty document: its content has not arrived yet
    return sorted(out, key=lambda t: (t["created_at"], t["thread_id"]))


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
    _thread(ctx, args.thread_id)
    await ctx.change(args.thread_id, lambda tx: feedback.reply(tx, me, now, args.text))
    return _thread_view(ctx, args.thread_id)


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
    _thread(ctx, args.thread_id)
    if args.route == "team" and args.team_id is not None:
        teams.team(ctx.pod_doc(), args.team_id)  # NotFound if unknown
    proposal = await ctx.change(args.thread_id, lambda tx: feedback.propose_route(
        tx, me, now, args.route, args.statement, args.title, args.team_id, args.public))
    return ProposalCreated(proposal_id=proposal)


class ConsentArgs(Args):
    thread_id: Id
    proposal_id: Id
    consent: bool
    note: OptionalText = ""


@op("feedback.consent")
async def consent(ctx: PodContext, args: ConsentArgs) -> dict[str, Any]:
    """As the giver: consent to a proposal (or decline it). Nothing travels without it."""
    me, now = caller(ctx), ctx.now()
    _thread(ctx, args.thread_id)
    await ctx.change(args.thread_id, lambda tx: feedback.answer_route(
        tx, me, now, args.proposal_id, args.consent, args.note))
    return _thread_view(ctx, args.thread_id)


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
    target: str | None = None
    if plan.route in ("void", "team"):
        if plan.route == "team":
            teams.team(ctx.pod_doc(), str(plan.team))
        target = ctx.collection(needs.KIND if plan.route == "void" else teams.ITEMS_KIND)
        await ctx.change(target, lambda tx: feedback.write_route_item(tx, plan, me, now))
    elif plan.route == "leader":
        target = await ctx.repo.create(feedback.STATEMENT_KIND,
                                       lambda tx: feedback.init_statement(tx, plan, me, now))
    await ctx.change(args.thread_id, lambda tx: feedback.record_route(
        tx, me, now, args.proposal_id, target))
    return RouteResult(thread_id=args.thread_id, route=plan.route, target_doc=target,
                       target_item=plan.target_item)


class ThreadSettleArgs(Args):
    thread_id: Id
    choice: Id


@op("feedback.settle")
async def settle(ctx: PodContext, args: ThreadSettleArgs) -> dict[str, Any]:
    """Resolve two routings made while apart by choosing one candidate."""
    me, now = caller(ctx), ctx.now()
    _thread(ctx, args.thread_id)
    await ctx.change(args.thread_id, lambda tx: feedback.settle_thread(tx, me, now, args.choice))
    return _thread_view(ctx, args.thread_id)


@op("feedback.received")
async def received(ctx: PodContext, args: NoArgs) -> list[dict[str, Any]]:
    """Statements delivered to you as a leader, and those made public to the pod."""
    me = caller(ctx)
    out = []
    for doc_id, doc in documents_of_kind(ctx, feedback.STATEMENT_KIND):
        try:
            found = feedback.statement(doc)
        except NotFound:
            continue  # an empty document: its content has not arrived yet
        if found.leader == me or found.public:
            out.append(builtins(found, statement_id=doc_id))
    return sorted(out, key=lambda s: (s["created_at"], s["statement_id"]))


class StatementArgs(Args):
    statement_id: Id


@op("feedback.statement")
async def get_statement(ctx: PodContext, args: StatementArgs) -> dict[str, Any]:
    """One statement you read (as its leader, giver or steward, or a public one)."""
    caller(ctx)
    doc = private_document(ctx, args.statement_id, feedback.STATEMENT_KIND, "feedback statement")
    return builtins(feedback.statement(doc), statement_id=args.statement_id)


class RespondArgs(Args):
    statement_id: Id
    text: Text


@op("feedback.respond")
async def respond(ctx: PodContext, args: RespondArgs) -> dict[str, Any]:
    """As the leader: respond to a statement delivered to you."""
    me, now = caller(ctx), ctx.now()
    private_document(ctx, args.statement_id, feedback.STATEMENT_KIND, "feedback statement")
    await ctx.change(args.statement_id,
                     lambda tx: feedback.respond_to_statement(tx, me, now, args.text))
    doc = ctx.doc(args.statement_id)
    return builtins(feedback.statement(doc), statement_id=args.statement_id)
