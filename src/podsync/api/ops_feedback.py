"""Operations on feedback pathways: private threads, clarifying, routing with consent.

A thread is its own document, created by a record whose hash is its id and
which names its readers: the giver and the leader's stewards, never the leader,
so the leader's node never receives it. Routing writes only the agreed
proposal's title and statement elsewhere, signed by a steward, in the order
:mod:`podsync.pod.feedback` prescribes: plan, write the target (or find it
written by an earlier try), record the route, record the outcome for the pod's
summary. Stewards themselves: :mod:`podsync.api.ops_stewards`.
"""

from __future__ import annotations

import datetime as dt
from typing import Any, Literal

import msgspec

from podsync.api.context import PodContext
from podsync.api.ops import op
from podsync.api.ops_stewards import stewards_of
from podsync.api.pod_common import (
    Args, Id, ListArgs, MemberId, NoArgs, OptionalText, OptionalTitle, Text, active_member,
    builtins, caller, documents_of_kind, item, private_document, write, write_once,
)
from podsync.errors import InvalidInput, NotFound, TransitionRefused
from podsync.pod import agreements, feedback, needs, statements, teams
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


def _team(ctx: PodContext, team_id: str) -> None:
    teams.team(ctx.ledger.pod_records(teams.TEAM_TYPES), team_id)  # NotFound if unknown


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
    listening = [s for s in stewards_of(ctx, args.leader)
                 if roster_mod.is_active_member(roster, s)]
    if not [s for s in listening if s != me]:
        raise TransitionRefused(
            f"{args.leader} has no steward (other than you) to hear this feedback; propose "
            f"one first (podsync steward propose {args.leader} MEMBER): they affirm it is "
            "within their capacity and the leader consents")
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


def _thread_view(ctx: PodContext, thread_id: str,
                 recalled: dict[str, feedback.Thread] | None = None) -> dict[str, Any]:
    """The thread as the API shows it (if this member reads it), saying whether it
    is archived; derived again only when its records or the roster change."""
    view = thread_view(ctx, thread_id, recalled)
    return {**builtins(view, thread_id=thread_id),
            "archived": ctx.views.is_archived(view, ctx.now())}


def thread_view(ctx: PodContext, thread_id: str,
                recalled: dict[str, feedback.Thread] | None = None) -> feedback.Thread:
    """The thread's view, if this member reads the thread (else NotFound); derived
    again only when its records or the roster change (``recalled``: saved views
    found current, :meth:`~podsync.api.views.Views.recall`)."""
    private_document(ctx, thread_id, feedback.THREAD_KIND, "feedback thread")
    return ctx.views.of_document(thread_id, THREAD_VIEW,
                                 lambda: feedback.thread(_thread(ctx, thread_id)),
                                 recalled=recalled)


def recall_threads(ctx: PodContext, thread_ids: list[str]) -> dict[str, feedback.Thread]:
    """Saved views of these threads derived from the records the store holds now."""
    return ctx.views.recall(THREAD_VIEW, thread_ids, feedback.Thread)


#: What a thread's saved view is called in the store.
THREAD_VIEW = "thread"


async def _write_thread(ctx: PodContext, thread_id: str, draft: Draft,
                        now: dt.datetime) -> dict[str, Any]:
    await write(ctx, thread_id, draft, now)
    return _thread_view(ctx, thread_id)


@op("feedback.threads")
async def threads(ctx: PodContext, args: ListArgs) -> list[dict[str, Any]]:
    """The feedback threads you take part in (as giver or steward), oldest first;
    routed ones quiet for longer than the pod's setting only with ``all``."""
    me = caller(ctx)
    ids = documents_of_kind(ctx, feedback.THREAD_KIND)
    recalled = recall_threads(ctx, ids)
    out = [_thread_view(ctx, doc_id, recalled) for doc_id in ids]
    return sorted((t for t in out if (t["giver"] == me or me in t["stewards"])
                   and (args.all or not t["archived"])),
                  key=lambda t: (t["created_at"], t["thread_id"]))


class ThreadArgs(Args):
    thread_id: Id


@op("feedback.thread")
async def get_thread(ctx: PodContext, args: ThreadArgs) -> dict[str, Any]:
    """One feedback thread you take part in."""
    caller(ctx)
    return _thread_view(ctx, args.thread_id, recall_threads(ctx, [args.thread_id]))


class ReplyArgs(Args):
    thread_id: Id
    text: Text


@op("feedback.reply")
async def reply(ctx: PodContext, args: ReplyArgs) -> dict[str, Any]:
    """A message in the thread, from the giver or a steward."""
    me, now = caller(ctx), ctx.now()
    draft = feedback.reply(_thread(ctx, args.thread_id), me, args.text)
    return await _write_thread(ctx, args.thread_id, draft, now)


class PartsArgs(Args):
    """A statement in four parts; at least one is said."""

    happened: OptionalText = ""
    feeling: OptionalText = ""
    need: OptionalText = ""
    request: OptionalText = ""


class ThreadPartsArgs(Args):
    thread_id: Id
    happened: OptionalText = ""
    feeling: OptionalText = ""
    need: OptionalText = ""
    request: OptionalText = ""


@op("feedback.clarify")
async def clarify(ctx: PodContext, args: ThreadPartsArgs) -> dict[str, Any]:
    """Draft the statement in four parts, as the giver or a steward (either reworks the other's)."""
    me, now = caller(ctx), ctx.now()
    draft = feedback.clarify(_thread(ctx, args.thread_id), me, args.happened, args.feeling,
                             args.need, args.request)
    return await _write_thread(ctx, args.thread_id, draft, now)


class WithdrawArgs(Args):
    thread_id: Id
    note: OptionalText = ""


@op("feedback.withdraw")
async def withdraw(ctx: PodContext, args: WithdrawArgs) -> dict[str, Any]:
    """As the giver: withdraw the thread; nothing is routed from it."""
    me, now = caller(ctx), ctx.now()
    draft = feedback.withdraw_thread(_thread(ctx, args.thread_id), me, args.note)
    return await _write_thread(ctx, args.thread_id, draft, now)


class RouteProposeArgs(Args):
    thread_id: Id
    route: Literal["team", "void", "leader", "dissolved"]
    statement: OptionalText = ""
    title: OptionalTitle = ""
    team_id: Id | None = None
    public: bool = False
    parts: PartsArgs | None = None
    #: The giver's own proposal only: their name travels with it.
    named: bool = False


class ProposalCreated(msgspec.Struct):
    proposal_id: str


@op("feedback.propose_route")
async def propose_route(ctx: PodContext, args: RouteProposeArgs) -> ProposalCreated:
    """As the giver or a steward: propose where the clarified feedback goes; the other side answers."""
    me, now = caller(ctx), ctx.now()
    item = _thread(ctx, args.thread_id)
    if args.route == "team" and args.team_id is not None:
        _team(ctx, args.team_id)
    parts = None if args.parts is None else msgspec.structs.asdict(args.parts)
    record = await write(ctx, args.thread_id, feedback.propose_route(
        item, me, args.route, args.statement, args.title, args.team_id, args.public, parts,
        args.named), now)
    return ProposalCreated(proposal_id=record.id)


class ConsentArgs(Args):
    thread_id: Id
    proposal_id: Id
    consent: bool
    note: OptionalText = ""
    #: The giver only: their name travels with the statement (by default it does not).
    named: bool = False


@op("feedback.consent")
async def consent(ctx: PodContext, args: ConsentArgs) -> dict[str, Any]:
    """Answer a proposal: the giver a steward's (and whether their name travels), a steward the giver's."""
    me, now = caller(ctx), ctx.now()
    draft = feedback.answer_route(_thread(ctx, args.thread_id), me, args.proposal_id,
                                  args.consent, args.note, args.named)
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
    """As a steward: carry out an agreed proposal (write the need, team item or statement), then record it."""
    me, now = caller(ctx), ctx.now()
    plan = feedback.plan_route(_thread(ctx, args.thread_id), me, args.proposal_id)
    target_doc: str | None = None
    target_item: str | None = None
    if plan.route == "void":
        target_doc = ctx.collection(needs.KIND)
        target_item = await write_once(ctx, target_doc, feedback.void_need(plan), now)
    elif plan.route == "team":
        _team(ctx, str(plan.team))
        target_doc = ctx.collection(teams.ITEMS_KIND)
        target_item = await write_once(ctx, target_doc, teams.add_team_item(
            str(plan.team), plan.title, plan.statement, origin="feedback",
            proposal=plan.proposal), now)
    elif plan.route == "leader":
        target_doc = await _deliver(ctx, statements.statement_opening(plan), now)
    # Read again: the thread may have moved while the target was written.
    await write(ctx, args.thread_id, feedback.record_route(
        _thread(ctx, args.thread_id), me, args.proposal_id, target_doc, target_item), now)
    done = feedback.thread(_thread(ctx, args.thread_id))
    if done.routed is not None and not statements.recorded(
            ctx.ledger.pod_records([statements.OUTCOME]), args.thread_id):
        await write(ctx, ctx.pod_id, statements.outcome_draft(
            args.thread_id, done.created_at, done.routed), now)
    return RouteResult(thread_id=args.thread_id, route=plan.route, target_doc=target_doc,
                       target_item=target_item)


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
    return builtins(statements.statement(_statement(ctx, statement_id)),
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


class ResponseAgreementArgs(Args):
    """The agreement a response becomes: what the leader will do (default: the
    response itself), and when to revisit it."""

    what: OptionalText = ""
    review_on: dt.date | None = None


class RespondArgs(Args):
    statement_id: Id
    text: Text
    agreement: ResponseAgreementArgs | None = None


@op("feedback.respond")
async def respond(ctx: PodContext, args: RespondArgs) -> dict[str, Any]:
    """As the leader: respond to a statement delivered to you; with ``agreement``, the
    response becomes an agreement of yours (active at once; others may volunteer as reminders)."""
    me, now = caller(ctx), ctx.now()
    item = _statement(ctx, args.statement_id)
    statements.respond_to_statement(item, me, args.text)  # refused before anything is written
    agreement_id = None
    if args.agreement is not None:
        doc_id = ctx.collection(agreements.KIND)
        proposed = agreements.propose_agreement(
            now, args.agreement.what or args.text, [me], review_on=args.agreement.review_on)
        agreement_id = (await write(ctx, doc_id, proposed, now)).id
        await write(ctx, doc_id, agreements.affirm_agreement(
            _agreement(ctx, doc_id, agreement_id), me, "my response to feedback"), now)
    draft = statements.respond_to_statement(item, me, args.text, agreement_id)
    await write(ctx, args.statement_id, draft, now)
    return _statement_view(ctx, args.statement_id)


def _agreement(ctx: PodContext, doc_id: str, agreement_id: str) -> Item:
    return item(ctx, doc_id, agreement_id, agreements.PROPOSE, "agreement")


@op("feedback.summary")
async def summary(ctx: PodContext, args: NoArgs) -> statements.Summary:
    """Where the pod's feedback ended up: counts per route and days taken; no content, no names."""
    caller(ctx)
    return statements.summary(ctx.ledger.pod_records())
