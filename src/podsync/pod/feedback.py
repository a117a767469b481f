"""Feedback pathways: a private thread with the leader's stewards, routed once.

Two kinds of private document, each created by a ``doc.create`` record
(:mod:`podsync.trust.ledger`) whose hash is the document id. The ledger takes a
document's kind and readers from that record alone, never from anything else
the document holds, and nobody can put another creation record under an
existing id. Every later record in the document has the document id as its
scope and the creation record's id as its item; :func:`document_item` reads
them as one :class:`~podsync.pod.events.Item`.

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

Records in a thread: ``message`` (giver or a steward), ``propose`` (a steward
proposes where the clarified feedback goes), ``answer`` (the giver consents to
a proposal, or not) and ``route`` (giver or steward: where it went), plus
``settle``. ``answer`` and ``route`` are state events, so a route follows the
consent it relied on causally, and a consent withdrawn while apart from a
routing shows as a disagreement to settle. States: ``open`` → ``routed``.
Replay counts only records signed by the giver or a steward, and applies the
rules the operations check: a proposal by a non-steward, a consent by anyone
but the giver, a route of a proposal without the giver's consent change
nothing.

**Statement** (``feedback-statement``), signed by whoever routes it::

    {kind: "feedback-statement", readers: [giver, leader, stewards...] | "pod",
     leader, giver, stewards, statement, origin}

``readers`` is ``"pod"`` when the consented proposal made it public (that is
all ``public`` means); ``origin`` is the proposal's id, so routing again finds
the statement already written. Later records: ``respond``, by the leader only.

Routes: ``team`` (a team item, with ``origin``), ``void`` (a need on the needs
board, with ``origin``), ``leader`` (a statement) or ``dissolved`` (nothing is
forwarded). The raw thread never travels: only the consented proposal's title
and statement are written elsewhere. Routing spans two documents, so it goes:
1. ``plan = plan_route(thread, by, proposal_id)``: refused unless the giver's
   latest answer to that proposal is consent and the thread is still open;
2. write the outcome (:func:`void_need`, a team item, or :func:`statement_opening`)
   unless a retry finds it written already (same body, same ``origin``);
3. :func:`record_route` in the thread. Two routings made while apart (two
   proposals, or one proposal into two targets) show the thread as needing
   reconciliation.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, replace
from typing import Any, Literal

import msgspec

from podsync.errors import InvalidId, InvalidInput, NotFound, NotPermitted, TransitionRefused
from podsync.ids import parse_document_id
from podsync.pod import common as v
from podsync.pod import needs as _needs
from podsync.pod.common import Note
from podsync.pod.events import (
    Candidate, Current, Event, Item, Lifecycle, Source, chronological, current, event_draft,
    items_from, replay, settle, state_draft,
)
from podsync.records.format import Draft, Record, derived_id
from podsync.trust.ledger import CREATE, POD

THREAD_KIND = "feedback-thread"
STATEMENT_KIND = "feedback-statement"
STATES = ("open", "routed")
ROUTES = ("team", "void", "leader", "dissolved")


class Opening(msgspec.Struct, frozen=True):
    """A private document to create: its kind, readers (member ids or ``"pod"``)
    and the creation body's own fields."""

    kind: str
    readers: list[str] | Literal["pod"]
    fields: dict[str, Any]

    def draft(self) -> Draft:
        return creation_draft(self.kind, self.readers, self.fields)


def creation_draft(kind: str, readers: list[str] | Literal["pod"],
                   fields: dict[str, Any]) -> Draft:
    """The ``doc.create`` record of a new private document (signed with scope "")."""
    return Draft(CREATE, {**fields, "kind": kind, "readers": readers})


class Proposal(msgspec.Struct, frozen=True):
    id: str
    by: str
    at: str
    route: str
    title: str
    statement: str
    team: str | None
    public: bool
    #: The giver's latest answer: True consent, False declined, None not yet.
    consent: bool | None
    consent_note: str


class Routed(msgspec.Struct, frozen=True):
    proposal: str
    route: str
    by: str
    at: str
    target_doc: str | None
    target_item: str | None


class Thread(msgspec.Struct, frozen=True):
    giver: str
    leader: str
    stewards: list[str]
    created_at: str
    state: str
    messages: list[Note]
    proposals: list[Proposal]
    routed: Routed | None
    needs_reconciliation: bool
    candidates: list[Candidate]
    history: list[Event]


class RoutePlan(msgspec.Struct, frozen=True):
    """A consented proposal, ready to be written where it belongs."""

    proposal: str
    route: str
    title: str
    statement: str
    team: str | None
    public: bool
    giver: str
    leader: str
    stewards: list[str]


class Statement(msgspec.Struct, frozen=True):
    leader: str
    giver: str
    stewards: list[str]
    statement: str
    public: bool
    created_by: str
    created_at: str
    responses: list[Note]


# -- the document and its people ----------------------------------------------


def document_item(counted: Iterable[Source], doc_id: str, kind: str) -> Item | None:
    """The item ``doc_id``'s creation record makes (when it is of ``kind``), with
    every counted record about it. Only the record whose hash is ``doc_id``
    creates it: another record typed ``doc.create`` in the document creates nothing."""
    counted = list(counted)
    creation = next((c for c in counted if _creates(c.record, doc_id)), None)
    if creation is None or creation.record.body.get("kind") != kind:
        return None
    rid = creation.record.id
    return items_from([c for c in counted if c is creation or c.record.item == rid],
                      CREATE).get(rid)


def _creates(record: Record, doc_id: str) -> bool:
    return (record.type == CREATE and record.scope == "" and record.item is None
            and derived_id("doc", record.payload) == doc_id)


def _members(value: Any) -> list[str]:
    """The distinct strings of a list from a signed body (anything else: none)."""
    out: list[str] = []
    for x in value if isinstance(value, list) else []:
        if isinstance(x, str) and x not in out:
            out.append(x)
    return out


def _people(item: Item) -> tuple[str, str, list[str]]:
    """(giver, leader, stewards) of a thread, from its creation record alone."""
    leader = v.shown(item.fields.get("leader"))
    readers = item.fields.get("readers")
    if not isinstance(readers, list) or leader in readers:
        return item.created_by, leader, []  # not private from the leader: nobody answers
    return item.created_by, leader, [r for r in _members(readers)
                                     if r not in (item.created_by, leader)]


def thread_readers(creation: Record, changes: list[tuple[Record, str]]) -> frozenset[str]:
    """Who reads a thread: its creation record's readers, never its leader.
    Reader changes (``changes``) are not taken: a thread's readers are fixed."""
    leader = creation.body.get("leader")
    return frozenset(r for r in _members(creation.body.get("readers")) if r != leader)


# -- replay ---------------------------------------------------------------------


@dataclass(frozen=True)
class _State:
    giver: str
    stewards: frozenset[str]
    #: Proposals that count (made by a steward, well formed); fixed for the thread.
    proposals: dict[str, Proposal]
    #: Proposal id -> the giver's latest answer and its note.
    answers: dict[str, tuple[bool, str]]
    routed: Routed | None


def _apply(s: _State, e: Event) -> _State:
    a, proposal = e.args, e.args.get("proposal")
    if s.routed is not None or not isinstance(proposal, str) or proposal not in s.proposals:
        return s
    if e.op == "answer" and e.by == s.giver and isinstance(a.get("consent"), bool):
        note = a.get("note", "")
        return replace(s, answers={**s.answers, proposal: (a["consent"], v.shown(note))})
    # Replay sees only records the giver and the stewards signed (_participants_only).
    if e.op == "route" and s.answers.get(proposal, (False, ""))[0] is True:
        route = s.proposals[proposal].route
        try:
            target_doc, target_item = _targets(route, a.get("target_doc"), a.get("target_item"))
        except InvalidInput:
            return s
        return replace(s, routed=Routed(proposal, route, e.by, e.at, target_doc, target_item))
    return s


LIFECYCLE: Lifecycle[_State] = Lifecycle(
    states=STATES, state_ops=frozenset({"answer", "route"}), apply=_apply,
    name=lambda s: "routed" if s.routed else "open",
    # One proposal routed into two places (two needs written apart) is two outcomes.
    key=lambda s: (s.routed.proposal, s.routed.target_doc, s.routed.target_item)
    if s.routed else None,
    summary=lambda s: {"route": s.routed.route if s.routed else None,
                       "proposal": s.routed.proposal if s.routed else None},
)


def _initial(item: Item) -> _State:
    giver, _, stewards = _people(item)
    proposals = {}
    for e in chronological(item.events):
        if e.op == "propose" and e.by in stewards:
            a = e.args
            try:
                args = _proposal_args(a.get("route"), a.get("statement"), a.get("title"),
                                      a.get("team"), a.get("public", False))
            except InvalidInput:
                continue
            proposals[e.id] = Proposal(id=e.id, by=e.by, at=e.at, consent=None, consent_note="",
                                       **args)
    return _State(giver, frozenset(stewards), proposals, {}, None)


def _participants_only(item: Item) -> Item:
    """The thread with only the records its giver and stewards signed."""
    giver, _, stewards = _people(item)
    return msgspec.structs.replace(item, events=[e for e in item.events
                                                 if e.by == giver or e.by in stewards])


def _load(item: Item, *, settled: bool = True) -> Current[_State]:
    return current(_participants_only(item), LIFECYCLE, _initial, settled=settled)


def _proposal_args(route: Any, statement: Any, title: Any, team: Any,
                   public: Any) -> dict[str, Any]:
    """A proposal's fields, checked the same way when writing and when replaying."""
    route = v.choice(route, "route", ROUTES)
    out: dict[str, Any] = {"route": route, "title": "", "team": None,
                           "statement": v.text(statement, "statement",
                                               required=route != "dissolved")}
    if route in ("team", "void"):
        out["title"] = v.title(title)
    if route == "team":
        out["team"] = v.item_id(team, "team")
    if not isinstance(public, bool):
        raise InvalidInput("public: yes or no")
    if public and route != "leader":
        raise InvalidInput("public: only a statement to the leader can be made public")
    out["public"] = public
    return out


def _targets(route: str, target_doc: Any, target_item: Any) -> tuple[str | None, str | None]:
    """Where a route says it went, checked the same way when writing and replaying."""
    if route == "dissolved":
        if target_doc is not None or target_item is not None:
            raise InvalidInput("target_doc: dissolved feedback goes nowhere")
        return None, None
    if not isinstance(target_doc, str):
        raise InvalidInput("target_doc: say which document the feedback was routed to")
    try:
        parse_document_id(target_doc)
    except InvalidId as exc:
        raise InvalidInput(f"target_doc: {exc}") from None
    if route == "leader":
        if target_item is not None:
            raise InvalidInput("target_item: a statement is a document of its own")
        return target_doc, None
    return target_doc, v.item_id(target_item, "target_item")


# -- the thread ----------------------------------------------------------------


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


def _taking_part(cur: Current[_State], by: str, doing: str) -> None:
    if by != cur.state.giver and by not in cur.state.stewards:
        raise NotPermitted(f"only the giver and the stewards {doing}")


def reply(item: Item, by: str, text: str) -> Draft:
    """A message from the giver or a steward."""
    by, body = v.member_id(by, "by"), v.text(text, "text")
    cur = _load(item, settled=False)
    _taking_part(cur, by, "take part in this thread")
    return event_draft(cur, "message", text=body)


def propose_route(item: Item, by: str, route: str, statement: str = "", title: str = "",
                  team_id: str | None = None, public: bool = False) -> Draft:
    """A steward proposes where the clarified feedback goes; the giver answers."""
    by = v.member_id(by, "by")
    args = _proposal_args(route, statement, title, team_id, public)
    cur = _load(item)
    if by not in cur.state.stewards:
        raise NotPermitted("only a steward proposes where the feedback goes")
    if cur.state.routed:
        raise TransitionRefused("this thread has already been routed")
    return event_draft(cur, "propose", **args)


def answer_route(item: Item, by: str, proposal_id: str, consent: bool, note: str = "") -> Draft:
    """The giver consents to a proposal (or declines it); only consent lets it travel."""
    by, note = v.member_id(by, "by"), v.text(note, "note", required=False)
    if not isinstance(consent, bool):
        raise InvalidInput("consent: yes or no")
    cur = _load(item)
    if by != cur.state.giver:
        raise NotPermitted("only the giver consents to where their feedback goes")
    if cur.state.routed:
        raise TransitionRefused("this thread has already been routed")
    if proposal_id not in cur.state.proposals:
        raise NotFound(f"no proposal {proposal_id} in this thread")
    return state_draft(cur, "answer", proposal=proposal_id, consent=consent, note=note)


def plan_route(item: Item, by: str, proposal_id: str) -> RoutePlan:
    """Check that ``proposal_id`` may be routed now, and say what to write where."""
    by = v.member_id(by, "by")
    cur = _load(item)
    _taking_part(cur, by, "route this feedback")
    if cur.state.routed:
        raise TransitionRefused("this thread has already been routed; it is routed only once")
    proposal = cur.state.proposals.get(proposal_id)
    if proposal is None:
        raise NotFound(f"no proposal {proposal_id} in this thread")
    if cur.state.answers.get(proposal_id, (False, ""))[0] is not True:
        raise TransitionRefused("the giver has not consented to this proposal; "
                                "nothing is routed without their consent")
    _, leader, stewards = _people(item)
    return RoutePlan(proposal.id, proposal.route, proposal.title, proposal.statement,
                     proposal.team, proposal.public, cur.state.giver, leader, stewards)


def void_need(plan: RoutePlan) -> Draft:
    """A void route's need: the title and statement only, tied to the proposal."""
    if plan.route != "void":
        raise InvalidInput(f"route: a {plan.route} route puts no need on the board")
    return _needs.add_need(plan.title, plan.statement, "void", origin=plan.proposal)


def already_written(counted: Iterable[Source], draft: Draft) -> str | None:
    """The item a retry of ``draft`` (a need or team item carrying its proposal as
    ``origin``) finds written already: created by the same type with the same body."""
    for c in counted:
        if c.record.item is None and c.record.type == draft.type and c.record.body == draft.body:
            return c.record.id
    return None


def record_route(item: Item, by: str, proposal_id: str, target_doc: str | None = None,
                 target_item: str | None = None) -> Draft:
    """Record, once, where the thread went (the document and item written)."""
    plan = plan_route(item, by, proposal_id)
    target_doc, target_item = _targets(plan.route, target_doc, target_item)
    return state_draft(_load(item), "route", proposal=plan.proposal, route=plan.route,
                       target_doc=target_doc, target_item=target_item)


def settle_thread(item: Item, by: str, choice: str) -> Draft:
    by = v.member_id(by, "by")
    cur = _load(item, settled=False)
    _taking_part(cur, by, "take part in this thread")
    return settle(cur, choice)


def thread(item: Item) -> Thread:
    """The thread as its counted records make it; total, whatever their bodies hold."""
    giver, leader, stewards = _people(item)
    visible = _participants_only(item)
    r = replay(visible.events, LIFECYCLE, _initial(visible))
    first = Note(id=item.id, at=item.created_at, by=giver, text=v.shown(item.fields.get("text")))
    messages = [first] + [Note(id=e.id, at=e.at, by=e.by, text=v.shown(e.args.get("text")))
                          for e in chronological(visible.events) if e.op == "message"]
    proposals = []
    for p in r.state.proposals.values():
        answer = r.state.answers.get(p.id)
        proposals.append(msgspec.structs.replace(
            p, consent=answer[0] if answer else None, consent_note=answer[1] if answer else ""))
    return Thread(
        giver=giver, leader=leader, stewards=stewards, created_at=item.created_at,
        state=LIFECYCLE.name(r.state), messages=messages, proposals=proposals,
        routed=r.state.routed, needs_reconciliation=r.needs_reconciliation,
        candidates=r.candidates, history=chronological(visible.events))


# -- the statement delivered to the leader -----------------------------------


def statement_opening(plan: RoutePlan) -> Opening:
    """A leader route's statement: a new document, signed by whoever routes it."""
    if plan.route != "leader":
        raise InvalidInput(f"route: a {plan.route} route delivers no statement to the leader")
    readers: list[str] | Literal["pod"] = \
        POD if plan.public else sorted({plan.giver, plan.leader, *plan.stewards})
    return Opening(STATEMENT_KIND, readers, {
        "leader": plan.leader, "giver": plan.giver, "stewards": list(plan.stewards),
        "statement": plan.statement, "origin": plan.proposal})


def respond_to_statement(item: Item, by: str, text: str) -> Draft:
    """The leader's response to the statement delivered to them."""
    by, body = v.member_id(by, "by"), v.text(text, "text")
    if by != item.fields.get("leader"):
        raise NotPermitted("only the leader the statement is for responds to it")
    return Draft("respond", {"text": body}, item=item.id)


def statement(item: Item) -> Statement:
    """The statement as its counted records make it; total, whatever their bodies hold."""
    raw = item.fields
    leader = v.shown(raw.get("leader"))
    return Statement(
        leader=leader, giver=v.shown(raw.get("giver")),
        stewards=[s for s in _members(raw.get("stewards")) if s != leader],
        statement=v.shown(raw.get("statement")), public=raw.get("readers") == POD,
        created_by=item.created_by, created_at=item.created_at,
        responses=[Note(id=e.id, at=e.at, by=e.by, text=v.shown(e.args.get("text")))
                   for e in chronological(item.events)
                   if e.op == "respond" and leader and e.by == leader])
