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
from podsync.pod.common import Note, Waiting
from podsync.pod.events import (
    Candidate, Current, Event, Item, Lifecycle, Source, chronological, current, event_draft,
    items_from, replay, settle, state_draft,
)
from podsync.records.format import Draft, Record, derived_id
from podsync.trust.ledger import CREATE

THREAD_KIND = "feedback-thread"
STATEMENT_KIND = "feedback-statement"
STATES = ("open", "routed", "withdrawn")
ROUTES = ("team", "void", "leader", "dissolved")
#: The four parts of a clarified statement, in the order they are said.
PARTS = ("happened", "feeling", "need", "request")


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


class Parts(msgspec.Struct, frozen=True):
    """A statement in four parts: what happened, the feeling, the need, the request."""

    happened: str
    feeling: str
    need: str
    request: str


class Clarification(msgspec.Struct, frozen=True):
    """One draft of the statement, by the giver or a steward."""

    id: str
    at: str
    by: str
    parts: Parts


class Proposal(msgspec.Struct, frozen=True):
    id: str
    by: str
    at: str
    route: str
    title: str
    statement: str
    team: str | None
    public: bool
    parts: Parts | None
    #: The giver's word: True consent (a giver's own proposal is consented), False
    #: declined, None not yet.
    consent: bool | None
    consent_note: str
    #: A steward's word on a giver's proposal (a steward's own proposal: True).
    agreed: bool | None
    agreed_by: str | None
    #: Whether the giver's name travels with it (the giver's choice; by default not).
    named: bool


class Routed(msgspec.Struct, frozen=True):
    proposal: str
    route: str
    by: str
    at: str
    target_doc: str | None
    target_item: str | None


class Withdrawn(msgspec.Struct, frozen=True):
    at: str
    note: str


class Thread(msgspec.Struct, frozen=True):
    giver: str
    leader: str
    stewards: list[str]
    created_at: str
    state: str
    messages: list[Note]
    clarifications: list[Clarification]
    proposals: list[Proposal]
    routed: Routed | None
    withdrawn: Withdrawn | None
    needs_reconciliation: bool
    candidates: list[Candidate]
    history: list[Event]


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


def members_of(value: Any) -> list[str]:
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
    return item.created_by, leader, [r for r in members_of(readers)
                                     if r not in (item.created_by, leader)]


def thread_readers(creation: Record, changes: list[tuple[Record, str]]) -> frozenset[str]:
    """Who reads a thread: its creation record's readers, never its leader.
    Reader changes (``changes``) are not taken: a thread's readers are fixed."""
    leader = creation.body.get("leader")
    return frozenset(r for r in members_of(creation.body.get("readers")) if r != leader)


# -- what each record's body must be (written and replayed alike) -----------------


def parts_body(value: Any, field: str = "parts") -> dict[str, str]:
    """The four parts of a statement; at least one is said."""
    if not isinstance(value, dict):
        raise InvalidInput(f"{field}: give what happened, the feeling, the need and the request")
    out = {p: v.text(value.get(p), f"{field}.{p}", required=False) for p in PARTS}
    if not any(out.values()):
        raise InvalidInput(f"{field}: say at least one of what happened, the feeling, "
                           "the need, the request")
    return out


def _proposal_args(route: Any, statement: Any, title: Any, team: Any, public: Any,
                   parts: Any = None, named: Any = False) -> dict[str, Any]:
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
    if not isinstance(named, bool):
        raise InvalidInput("named: yes or no")
    out["public"] = public
    out["parts"] = None if parts is None else parts_body(parts)
    out["named"] = named
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


# -- replay ---------------------------------------------------------------------


@dataclass(frozen=True)
class _Proposed:
    id: str
    by: str
    at: str
    args: dict[str, Any]


@dataclass(frozen=True)
class _State:
    giver: str
    stewards: frozenset[str]
    #: Proposals that count (by the giver or a steward, well formed); fixed for the thread.
    proposals: dict[str, _Proposed]
    #: Proposal id -> the other side's latest word: (yes, note, by, the giver's name travels).
    answers: dict[str, tuple[bool, str, str, bool]]
    routed: Routed | None
    withdrawn: Withdrawn | None

    @property
    def open(self) -> bool:
        return self.routed is None and self.withdrawn is None

    def answering(self, proposal: _Proposed, by: str) -> bool:
        """Whether ``by`` gives the other side's word on ``proposal``."""
        if proposal.by == self.giver:
            return by in self.stewards
        return by == self.giver

    def agreed(self, pid: str) -> bool:
        """Both sides are for it: the proposer, and the answer from the other side."""
        return self.answers.get(pid, (False, "", "", False))[0] is True

    def named(self, pid: str) -> bool:
        p = self.proposals[pid]
        if p.by == self.giver:
            return bool(p.args["named"])
        return self.answers.get(pid, (False, "", "", False))[3]


def _apply(s: _State, e: Event) -> _State:
    a = e.args
    if not s.open:
        return s
    if e.op == "withdraw" and e.by == s.giver:
        return replace(s, withdrawn=Withdrawn(e.at, v.shown(a.get("note"))))
    proposal = s.proposals.get(a.get("proposal")) if isinstance(a.get("proposal"), str) else None
    if proposal is None:
        return s
    if e.op == "answer" and s.answering(proposal, e.by) and isinstance(a.get("consent"), bool):
        named = a.get("named", False)
        if not isinstance(named, bool) or (named and e.by != s.giver):
            return s
        return replace(s, answers={**s.answers, proposal.id: (
            a["consent"], v.shown(a.get("note")), e.by, named)})
    if e.op == "route" and e.by in s.stewards and s.agreed(proposal.id):
        route = proposal.args["route"]
        try:
            target_doc, target_item = _targets(route, a.get("target_doc"), a.get("target_item"))
        except InvalidInput:
            return s
        return replace(s, routed=Routed(proposal.id, route, e.by, e.at, target_doc, target_item))
    return s


def _name(s: _State) -> str:
    return "routed" if s.routed else "withdrawn" if s.withdrawn else "open"


LIFECYCLE: Lifecycle[_State] = Lifecycle(
    states=STATES, state_ops=frozenset({"answer", "route", "withdraw"}), apply=_apply,
    name=_name,
    # One proposal routed into two places (two needs written apart) is two outcomes.
    key=lambda s: (s.routed.proposal, s.routed.target_doc, s.routed.target_item)
    if s.routed else _name(s),
    summary=lambda s: {"route": s.routed.route if s.routed else None,
                       "proposal": s.routed.proposal if s.routed else None},
)


def _initial(item: Item) -> _State:
    giver, _, stewards = _people(item)
    proposals = {}
    for e in chronological(item.events):
        if e.op == "propose" and (e.by == giver or e.by in stewards):
            a = e.args
            try:
                args = _proposal_args(a.get("route"), a.get("statement"), a.get("title"),
                                      a.get("team"), a.get("public", False), a.get("parts"),
                                      a.get("named", False))
            except InvalidInput:
                continue
            if args["named"] and e.by != giver:
                continue
            proposals[e.id] = _Proposed(e.id, e.by, e.at, args)
    return _State(giver, frozenset(stewards), proposals, {}, None, None)


def _participants_only(item: Item) -> Item:
    """The thread with only the records its giver and stewards signed."""
    giver, _, stewards = _people(item)
    return msgspec.structs.replace(item, events=[e for e in item.events
                                                 if e.by == giver or e.by in stewards])


def _load(item: Item, *, settled: bool = True) -> Current[_State]:
    return current(_participants_only(item), LIFECYCLE, _initial, settled=settled)


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


def _still_open(cur: Current[_State], doing: str) -> None:
    if not cur.state.open:
        raise TransitionRefused(f"cannot {doing}: this thread has been {_name(cur.state)}")


def reply(item: Item, by: str, text: str) -> Draft:
    """A message from the giver or a steward."""
    by, body = v.member_id(by, "by"), v.text(text, "text")
    cur = _load(item, settled=False)
    _taking_part(cur, by, "take part in this thread")
    return event_draft(cur, "message", text=body)


def clarify(item: Item, by: str, happened: str = "", feeling: str = "", need: str = "",
            request: str = "") -> Draft:
    """A draft of the statement in four parts, by the giver or a steward; either may
    rework the other's."""
    by = v.member_id(by, "by")
    body = parts_body({"happened": happened, "feeling": feeling, "need": need,
                       "request": request})
    cur = _load(item, settled=False)
    _taking_part(cur, by, "draft the statement")
    _still_open(cur, "draft the statement")
    return event_draft(cur, "clarify", **body)


def propose_route(item: Item, by: str, route: str, statement: str = "", title: str = "",
                  team_id: str | None = None, public: bool = False,
                  parts: dict[str, str] | None = None, named: bool = False) -> Draft:
    """The giver or a steward proposes where the clarified feedback goes; the other
    side answers. ``named`` (the giver's own proposal only): their name travels."""
    by = v.member_id(by, "by")
    args = _proposal_args(route, statement, title, team_id, public, parts, named)
    cur = _load(item)
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
    cur = _load(item)
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
    cur = _load(item)
    if by != cur.state.giver:
        raise NotPermitted("only the giver withdraws their feedback")
    _still_open(cur, "withdraw it")
    return state_draft(cur, "withdraw", note=note)


def plan_route(item: Item, by: str, proposal_id: str) -> RoutePlan:
    """Check that ``proposal_id`` may be routed now by ``by`` (a steward), and say
    what to write where."""
    by = v.member_id(by, "by")
    cur = _load(item)
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
    _, leader, stewards = _people(item)
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
    target_doc, target_item = _targets(plan.route, target_doc, target_item)
    return state_draft(_load(item), "route", proposal=plan.proposal, route=plan.route,
                       target_doc=target_doc, target_item=target_item)


def settle_thread(item: Item, by: str, choice: str) -> Draft:
    by = v.member_id(by, "by")
    cur = _load(item, settled=False)
    _taking_part(cur, by, "take part in this thread")
    return settle(cur, choice)


def _shown_parts(value: Any) -> Parts | None:
    try:
        return Parts(**parts_body(value))
    except InvalidInput:
        return None


def thread(item: Item) -> Thread:
    """The thread as its counted records make it; total, whatever their bodies hold."""
    giver, leader, stewards = _people(item)
    visible = _participants_only(item)
    r = replay(visible.events, LIFECYCLE, _initial(visible))
    s = r.state
    first = Note(id=item.id, at=item.created_at, by=giver, text=v.shown(item.fields.get("text")))
    events = chronological(visible.events)
    messages = [first] + [Note(id=e.id, at=e.at, by=e.by, text=v.shown(e.args.get("text")))
                          for e in events if e.op == "message"]
    clarifications = []
    for e in events:
        parts = _shown_parts(e.args) if e.op == "clarify" else None
        if parts is not None:
            clarifications.append(Clarification(e.id, e.at, e.by, parts))
    proposals = []
    for p in s.proposals.values():
        answer = s.answers.get(p.id)
        by_giver = p.by == s.giver
        a = p.args
        proposals.append(Proposal(
            id=p.id, by=p.by, at=p.at, route=a["route"], title=a["title"],
            statement=a["statement"], team=a["team"], public=a["public"],
            parts=Parts(**a["parts"]) if a["parts"] else None,
            consent=True if by_giver else (answer[0] if answer else None),
            consent_note="" if by_giver or not answer else answer[1],
            agreed=(answer[0] if answer else None) if by_giver else True,
            agreed_by=(answer[2] if answer else None) if by_giver else p.by,
            named=s.named(p.id)))
    return Thread(
        giver=giver, leader=leader, stewards=stewards, created_at=item.created_at,
        state=_name(s), messages=messages, clarifications=clarifications, proposals=proposals,
        routed=s.routed, withdrawn=s.withdrawn, needs_reconciliation=r.needs_reconciliation,
        candidates=r.candidates, history=events)


def waiting_on(thread_id: str, t: Thread, member: str) -> list[Waiting]:
    """What an open thread waits for from ``member``: as a steward, a giver's last
    message or proposal unanswered, or an agreed proposal not yet routed; as the
    giver, a steward's proposal waiting for their consent."""
    if t.state != "open" or t.needs_reconciliation:
        return []
    title = "feedback"
    out = []
    if member in t.stewards:
        unanswered = [p for p in t.proposals if p.by == t.giver and p.agreed is None]
        agreed = [p for p in t.proposals if p.consent is True and p.agreed is True]
        if agreed:
            out.append(Waiting("thread", thread_id, "route", agreed[-1].title or title,
                               "the giver and a steward agree where it goes: route it",
                               agreed[-1].at))
        elif unanswered:
            out.append(Waiting("thread", thread_id, "answer", unanswered[-1].title or title,
                               "the giver proposes where it goes: agree, or say why not",
                               unanswered[-1].at))
        elif t.messages and t.messages[-1].by == t.giver:
            out.append(Waiting("thread", thread_id, "reply", title,
                               "feedback is waiting for a steward: reply, or clarify it "
                               "together", t.messages[-1].at))
    if member == t.giver:
        for p in t.proposals:
            if p.by != t.giver and p.consent is None:
                out.append(Waiting("thread", thread_id, "consent", p.title or title,
                                   "a steward proposes where your feedback goes: consent, "
                                   "or say why not", p.at))
    return out
