"""Feedback pathways: a private thread with the leader's stewards, routed once.

Two kinds of private document, each created by a ``doc.create`` record
(:mod:`podsync.trust.ledger`) whose hash is the document id. The ledger takes a
document's kind and readers from that record alone, never from anything else
the document holds, and nobody can put another creation record under an
existing id. Every later record in the document has the document id as its
scope and the creation record's id as its item; :func:`document_item` reads
them as one :class:`~podsync.pod.events.Item`. This module is the thread; the
statement delivered to a leader is :mod:`podsync.pod.statements`.

**Thread** (``feedback-thread``), signed by the giver::

    {kind: "feedback-thread", readers: [giver, steward, ...], leader, text}

``readers`` is the giver and then the leader's stewards as the pod names them
when the thread opens; ``text`` is the first message. The giver is the
record's signer and the stewards are the readers other than the giver and the
leader, so nothing in the body can disagree with who reads it. The leader is
never a reader: the thread reader rule (:func:`thread_readers`, registered in
:mod:`podsync.pod.access`) drops the leader from the readers, and a thread whose
creation record lets the leader or the whole pod read it has no stewards, so no
steward ever writes into it.

Readers are fixed at creation; ``doc.readers`` records change nothing in a
thread. The giver confided their words to the stewards named when they spoke;
letting a steward (or anyone) widen that circle later would move the raw
words without the giver's consent, which is what this pathway exists to
prevent. Naming a steward later changes who hears new feedback, not who reads
old threads; a giver who wants more people to hear opens a new thread.

Records in a thread, each signed by the giver or a steward:

- ``message``: talking.
- ``clarify``: a draft of the statement in four parts (``happened``,
  ``feeling``, ``need``, ``request``), written by the giver and the stewards
  together; the latest is the current draft.
- ``propose``: where the clarified feedback goes (a route, the statement and,
  for a team or a need, a title; optionally the four parts). The giver or a
  steward proposes; a giver's proposal carries whether their name travels.
- ``answer``: the other side's word on a proposal. The giver answers a
  steward's proposal (consent or not, and whether their name travels: by
  default it does not); a steward answers a giver's proposal. A proposal
  travels only once both the giver and a steward are for it.
- ``withdraw``: the giver withdraws the thread; nothing is routed after.
- ``route``: a steward records where it went (only stewards carry routes out,
  so nothing written elsewhere is signed by the giver).
- ``settle``.

``answer``, ``withdraw`` and ``route`` are state events, so a route follows the
answers it relied on causally, and an answer changed while apart from a
routing shows as a disagreement to settle. States: ``open`` → ``routed`` or
``withdrawn``. Replay counts only records signed by the giver or a steward,
and applies the rules the operations check.

Routes: ``team`` (a team item, with ``origin``), ``void`` (a need on the needs
board, with ``origin``), ``leader`` (a statement) or ``dissolved`` (nothing is
forwarded). The raw thread never travels: only the agreed proposal's title and
statement are written elsewhere, and the giver's name only if they chose so.
Routing spans documents, so it goes:
1. ``plan = plan_route(thread, steward, proposal_id)``: refused unless giver and
   a steward are both for that proposal and the thread is still open;
2. write the outcome (:func:`void_need`, a team item, or
   :func:`podsync.pod.statements.statement_opening`) unless a retry finds it
   written already (same body, same ``origin``);
3. :func:`record_route` in the thread, then the outcome, without content or
   names, for the pod's summary (:mod:`podsync.pod.statements`). Two routings
   made while apart show the thread as needing reconciliation.

The operations, which return drafts, are here; the documents and their people
are read in :mod:`.feedback_documents`, the bodies checked in
:mod:`.feedback_bodies`, the state replayed in :mod:`.feedback_replay` and the
thread read in :mod:`.feedback_view`; what callers use of those is importable
from here.
"""

from __future__ import annotations

from collections.abc import Iterable

import msgspec

from podsync.errors import InvalidInput, NotFound, NotPermitted, TransitionRefused
from podsync.pod import common as v
from podsync.pod import needs as _needs
from podsync.pod.events import Current, Item, event_draft, settle, state_draft
from podsync.pod.feedback_bodies import PARTS, ROUTES, Parts, parts_body, proposal_args, targets
from podsync.pod.feedback_documents import (
    Opening, creation_draft, document_item, members_of, people, thread_readers,
)
from podsync.pod.feedback_replay import STATES, Routed, State, Withdrawn, load, state_name
from podsync.pod.feedback_view import Clarification, Proposal, Thread, thread, waiting_on
from podsync.records.format import Draft

THREAD_KIND = "feedback-thread"
STATEMENT_KIND = "feedback-statement"


class RoutePlan(msgspec.Struct, frozen=True):
    """An agreed proposal, ready to be written where it belongs."""

    proposal: str
    route: str
    title: str
    statement: str
    team: str | None
    public: bool
    parts: Parts | None
    #: Whether the giver chose that their name travels with it.
    named: bool
    giver: str
    leader: str
    stewards: list[str]


def give_feedback(giver: str, leader: str, stewards: Iterable[str], text: str) -> Opening:
    """Open a thread (a new document, signed by ``giver``); ``stewards`` as the pod
    names them now."""
    giver, leader = v.member_id(giver, "giver"), v.member_id(leader, "leader")
    body = v.text(text, "text")
    named = v.member_ids(stewards, "stewards", required=False)
    if giver == leader:
        raise InvalidInput("leader: feedback for yourself needs no pathway")
    if leader in named:
        raise InvalidInput("stewards: a leader is never their own steward")
    listening = [s for s in named if s != giver]
    if not listening:
        raise TransitionRefused(f"{leader} has no steward (other than you) to hear this; "
                                "the pod names stewards for a leader first")
    return Opening(THREAD_KIND, [giver, *listening], {"leader": leader, "text": body})


def _taking_part(cur: Current[State], by: str, doing: str) -> None:
    if by != cur.state.giver and by not in cur.state.stewards:
        raise NotPermitted(f"only the giver and the stewards {doing}")


def _still_open(cur: Current[State], doing: str) -> None:
    if not cur.state.open:
        raise TransitionRefused(f"cannot {doing}: this thread has been {state_name(cur.state)}")


def reply(item: Item, by: str, text: str) -> Draft:
    """A message from the giver or a steward."""
    by, body = v.member_id(by, "by"), v.text(text, "text")
    cur = load(item, settled=False)
    _taking_part(cur, by, "take part in this thread")
    return event_draft(cur, "message", text=body)


def clarify(item: Item, by: str, happened: str = "", feeling: str = "", need: str = "",
            request: str = "") -> Draft:
    """A draft of the statement in four parts, by the giver or a steward; either may
    rework the other's."""
    by = v.member_id(by, "by")
    body = parts_body({"happened": happened, "feeling": feeling, "need": need,
                       "request": request})
    cur = load(item, settled=False)
    _taking_part(cur, by, "draft the statement")
    _still_open(cur, "draft the statement")
    return event_draft(cur, "clarify", **body)


def propose_route(item: Item, by: str, route: str, statement: str = "", title: str = "",
                  team_id: str | None = None, public: bool = False,
                  parts: dict[str, str] | None = None, named: bool = False) -> Draft:
    """The giver or a steward proposes where the clarified feedback goes; the other
    side answers. ``named`` (the giver's own proposal only): their name travels."""
    by = v.member_id(by, "by")
    args = proposal_args(route, statement, title, team_id, public, parts, named)
    cur = load(item)
    _taking_part(cur, by, "propose where the feedback goes")
    if named and by != cur.state.giver:
        raise InvalidInput("named: only the giver chooses whether their name travels")
    _still_open(cur, "propose a route")
    if args["parts"] is None:
        del args["parts"]
    return event_draft(cur, "propose", **args)


def answer_route(item: Item, by: str, proposal_id: str, consent: bool, note: str = "",
                 named: bool = False) -> Draft:
    """The other side's word on a proposal: the giver on a steward's (consent, and
    whether their name travels: by default it does not), a steward on the giver's."""
    by, note = v.member_id(by, "by"), v.text(note, "note", required=False)
    if not isinstance(consent, bool):
        raise InvalidInput("consent: yes or no")
    if not isinstance(named, bool):
        raise InvalidInput("named: yes or no")
    cur = load(item)
    proposal = cur.state.proposals.get(proposal_id)
    if proposal is None:
        raise NotFound(f"no proposal {proposal_id} in this thread")
    if not cur.state.answering(proposal, by):
        raise NotPermitted("the giver answers a steward's proposal, and a steward the giver's"
                           if by in cur.state.stewards or by == cur.state.giver
                           else "only the giver and the stewards answer proposals")
    if named and by != cur.state.giver:
        raise InvalidInput("named: only the giver chooses whether their name travels")
    _still_open(cur, "answer a proposal")
    return state_draft(cur, "answer", proposal=proposal_id, consent=consent, note=note,
                       named=named)


def withdraw_thread(item: Item, by: str, note: str = "") -> Draft:
    """The giver withdraws the thread: nothing is routed from it."""
    by, note = v.member_id(by, "by"), v.text(note, "note", required=False)
    cur = load(item)
    if by != cur.state.giver:
        raise NotPermitted("only the giver withdraws their feedback")
    _still_open(cur, "withdraw it")
    return state_draft(cur, "withdraw", note=note)


def plan_route(item: Item, by: str, proposal_id: str) -> RoutePlan:
    """Check that ``proposal_id`` may be routed now by ``by`` (a steward), and say
    what to write where."""
    by = v.member_id(by, "by")
    cur = load(item)
    if by not in cur.state.stewards:
        raise NotPermitted("a steward carries out the route, so nothing written elsewhere "
                           "is signed by the giver")
    _still_open(cur, "route it")
    proposal = cur.state.proposals.get(proposal_id)
    if proposal is None:
        raise NotFound(f"no proposal {proposal_id} in this thread")
    if not cur.state.agreed(proposal_id):
        raise TransitionRefused("the giver and a steward are not both for this proposal; "
                                "nothing is routed without the giver's consent")
    _, leader, stewards = people(item)
    a = proposal.args
    return RoutePlan(proposal.id, a["route"], a["title"], a["statement"], a["team"], a["public"],
                     Parts(**a["parts"]) if a["parts"] else None, cur.state.named(proposal_id),
                     cur.state.giver, leader, stewards)


def void_need(plan: RoutePlan) -> Draft:
    """A void route's need: the title and statement only, tied to the proposal."""
    if plan.route != "void":
        raise InvalidInput(f"route: a {plan.route} route puts no need on the board")
    return _needs.add_need(plan.title, plan.statement, "void", origin=plan.proposal)


def record_route(item: Item, by: str, proposal_id: str, target_doc: str | None = None,
                 target_item: str | None = None) -> Draft:
    """Record, once, where the thread went (the document and item written)."""
    plan = plan_route(item, by, proposal_id)
    target_doc, target_item = targets(plan.route, target_doc, target_item)
    return state_draft(load(item), "route", proposal=plan.proposal, route=plan.route,
                       target_doc=target_doc, target_item=target_item)


def settle_thread(item: Item, by: str, choice: str) -> Draft:
    by = v.member_id(by, "by")
    cur = load(item, settled=False)
    _taking_part(cur, by, "take part in this thread")
    return settle(cur, choice)


__all__ = [
    "PARTS", "ROUTES", "STATEMENT_KIND", "STATES", "THREAD_KIND", "Clarification", "Opening",
    "Parts", "Proposal", "RoutePlan", "Routed", "Thread", "Withdrawn", "answer_route", "clarify",
    "creation_draft", "document_item", "give_feedback", "members_of", "parts_body", "plan_route",
    "propose_route", "record_route", "reply", "settle_thread", "thread", "thread_readers",
    "void_need", "waiting_on", "withdraw_thread",
]
