"""Feedback pathways: a private thread with the leader's stewards, routed once.

Document kind ``feedback-thread``, one per thread; readers are the giver and the
stewards captured when it opened — never the leader. Root map ``thread`` holds
``giver``, ``leader``, ``stewards``, ``created_at`` and ``events``: ``message``
(giver or a steward), ``propose`` (a steward proposes where the clarified
feedback goes), ``answer`` (the giver consents to a proposal, or not), and the
one state event ``route`` (+ ``settle``). States: ``open`` → ``routed``.

Routes: ``team`` (an item in a team-items document), ``void`` (a need on the
needs board), ``leader`` (a ``feedback-statement`` document: the clarified
statement and the leader's responses; readers giver, stewards and leader, or
the whole pod when the consented proposal made it public) or ``dissolved``
(nothing is forwarded). The raw thread never travels: only the consented
proposal's title and statement are written elsewhere.

Routing spans two documents, so it happens in this order:
1. ``plan = plan_route(thread_doc, by, proposal_id)`` — refuses unless the giver's
   latest answer to that proposal is consent and the thread is still open;
2. write the outcome: :func:`write_route_item` into the needs or team-items
   document (ids derived from the proposal, so a retry or a concurrent routing
   lands on the same item), or create a feedback-statement document with
   :func:`init_statement`; nothing for ``dissolved``;
3. :func:`record_route` in the thread (refused if already routed). Two routings
   made while apart show the thread as needing reconciliation.
"""

from __future__ import annotations

import datetime as _dt
from collections.abc import Iterable
from dataclasses import dataclass, replace
from typing import Any

import automerge.core as am
import msgspec

from podsync.errors import InvalidInput, NotFound, NotPermitted, TransitionRefused
from podsync.ids import parse_document_id
from podsync.pod import common as v
from podsync.pod import needs as _needs
from podsync.pod import teams as _teams
from podsync.pod.common import EVENTS_KEY, ITEMS_KEY, Note
from podsync.pod.events import (
    Candidate, Current, Event, Lifecycle, chronological, current, notes, parse_events, replay,
    settle, write_event, write_state_event,
)
from podsync.repo.values import put_value

THREAD_KIND = "feedback-thread"
STATEMENT_KIND = "feedback-statement"
THREAD_KEY = "thread"
STATEMENT_KEY = "statement"
STATES = ("open", "routed")
ROUTES = ("team", "void", "leader", "dissolved")


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
    target_item: str | None


class Statement(msgspec.Struct, frozen=True):
    leader: str
    giver: str
    stewards: list[str]
    statement: str
    public: bool
    created_by: str
    created_at: str
    responses: list[Note]


@dataclass(frozen=True)
class _State:
    routed: Routed | None


def _apply(s: _State, e: Event) -> _State:
    if e.op == "route" and s.routed is None:
        a = e.args
        return replace(s, routed=Routed(str(a.get("proposal")), str(a.get("route")), e.by, e.at,
                                        a.get("target_doc"), a.get("target_item")))
    return s


LIFECYCLE: Lifecycle[_State] = Lifecycle(
    states=STATES, state_ops=frozenset({"route"}), apply=_apply,
    name=lambda s: "routed" if s.routed else "open",
    # The same proposal routed twice into different documents is two outcomes.
    key=lambda s: (s.routed.proposal, s.routed.target_doc) if s.routed else None,
    summary=lambda s: {"route": s.routed.route if s.routed else None,
                       "proposal": s.routed.proposal if s.routed else None},
)


def _initial(fields: dict[str, Any]) -> _State:
    return _State(None)


def give_feedback(tx: Any, giver: str, at: _dt.datetime, leader: str,
                  stewards: Iterable[str], text: str) -> None:
    """Open a thread in a new document; ``stewards`` as the pod names them now."""
    giver, when = v.member_id(giver, "giver"), v.iso_at(at)
    leader, body = v.member_id(leader, "leader"), v.text(text, "text")
    named = v.member_ids(stewards, "stewards", required=False)
    if giver == leader:
        raise InvalidInput("leader: feedback for yourself needs no pathway")
    if leader in named:
        raise InvalidInput("stewards: a leader is never their own steward")
    listening = [s for s in named if s != giver]
    if not listening:
        raise TransitionRefused(f"{leader} has no steward (other than you) to hear this; "
                                "the pod names stewards for a leader first")
    if tx.get(am.ROOT, THREAD_KEY) is not None:
        raise TransitionRefused("this document already holds a feedback thread")
    v.init_document(tx, THREAD_KIND)
    put_value(tx, am.ROOT, THREAD_KEY, {"giver": giver, "leader": leader, "stewards": listening,
                                        "created_at": when, EVENTS_KEY: []})
    obj = v.container(tx, THREAD_KEY, THREAD_KIND)
    v.append_event(tx, obj, by=giver, at=when, op="message", after=[], args={"text": body})


def _load(tx: Any, *, settled: bool = True) -> Current[_State]:
    return current(tx, v.container(tx, THREAD_KEY, THREAD_KIND), LIFECYCLE, _initial,
                   settled=settled)


def _stewards(cur: Current[_State]) -> list[str]:
    return [s for s in cur.fields.get("stewards") or [] if s != cur.fields.get("leader")]


def reply(tx: Any, by: str, at: _dt.datetime, text: str) -> str:
    """A message from the giver or a steward."""
    by, when, body = v.member_id(by, "by"), v.iso_at(at), v.text(text, "text")
    cur = _load(tx, settled=False)
    if by != cur.fields.get("giver") and by not in _stewards(cur):
        raise NotPermitted("only the giver and the stewards take part in this thread")
    return write_event(tx, cur, by=by, at=when, op="message", text=body)


def propose_route(tx: Any, by: str, at: _dt.datetime, route: str, statement: str = "",
                  title: str = "", team_id: str | None = None, public: bool = False) -> str:
    """A steward proposes where the clarified feedback goes; the giver answers."""
    by, when = v.member_id(by, "by"), v.iso_at(at)
    route = v.choice(route, "route", ROUTES)
    args: dict[str, Any] = {"route": route, "title": "", "team": None, "public": False,
                            "statement": v.text(statement, "statement",
                                                required=route != "dissolved")}
    if route in ("team", "void"):
        args["title"] = v.title(title)
    if route == "team":
        args["team"] = v.item_id(team_id, "team")
    if public and route != "leader":
        raise InvalidInput("public: only a statement to the leader can be made public")
    args["public"] = bool(public)
    cur = _load(tx)
    if by not in _stewards(cur):
        raise NotPermitted("only a steward proposes where the feedback goes")
    if cur.state.routed:
        raise TransitionRefused("this thread has already been routed")
    return write_event(tx, cur, by=by, at=when, op="propose", **args)


def answer_route(tx: Any, by: str, at: _dt.datetime, proposal_id: str, consent: bool,
                 note: str = "") -> str:
    """The giver consents to a proposal (or declines it); only consent lets it travel."""
    by, when, note = v.member_id(by, "by"), v.iso_at(at), v.text(note, "note", required=False)
    if not isinstance(consent, bool):
        raise InvalidInput("consent: yes or no")
    cur = _load(tx)
    if by != cur.fields.get("giver"):
        raise NotPermitted("only the giver consents to where their feedback goes")
    if cur.state.routed:
        raise TransitionRefused("this thread has already been routed")
    if not any(p.id == proposal_id for p in _proposals(cur.events)):
        raise NotFound(f"no proposal {proposal_id} in this thread")
    return write_event(tx, cur, by=by, at=when, op="answer", proposal=proposal_id,
                       consent=consent, note=note)


def plan_route(doc: Any, by: str, proposal_id: str) -> RoutePlan:
    """Check that ``proposal_id`` may be routed now, and say what to write where."""
    by = v.member_id(by, "by")
    cur = _load(doc)
    giver, stewards = str(cur.fields.get("giver")), _stewards(cur)
    if by != giver and by not in stewards:
        raise NotPermitted("only the giver or a steward routes this feedback")
    if cur.state.routed:
        raise TransitionRefused("this thread has already been routed; it is routed only once")
    proposal = next((p for p in _proposals(cur.events) if p.id == proposal_id), None)
    if proposal is None:
        raise NotFound(f"no proposal {proposal_id} in this thread")
    if proposal.consent is not True:
        raise TransitionRefused("the giver has not consented to this proposal; "
                                "nothing is routed without their consent")
    target = v.derived_id("feedback-route", proposal.id) if proposal.route in ("team", "void") \
        else None
    return RoutePlan(proposal.id, proposal.route, proposal.title, proposal.statement,
                     proposal.team, proposal.public, giver, str(cur.fields.get("leader")),
                     stewards, target)


def write_route_item(tx: Any, plan: RoutePlan, by: str, at: _dt.datetime) -> str:
    """Write a team or void route's item (a need, or a team item); idempotent."""
    if plan.route not in ("team", "void") or plan.target_item is None:
        raise InvalidInput(f"route: a {plan.route} route writes no board item")
    if v.member_id(by, "by") != plan.giver and by not in plan.stewards:
        raise NotPermitted("only the giver or a steward routes this feedback")
    kind = _needs.KIND if plan.route == "void" else _teams.ITEMS_KIND
    if tx.get(v.container(tx, ITEMS_KEY, kind), plan.target_item) is not None:
        return plan.target_item
    if plan.route == "void":
        return _needs.add_need(tx, by, at, plan.title, plan.statement, sensing="void",
                               need_id=plan.target_item)
    return _teams.add_team_item(tx, by, at, str(plan.team), plan.title, plan.statement,
                                origin="feedback", item_id=plan.target_item)


def record_route(tx: Any, by: str, at: _dt.datetime, proposal_id: str,
                 target_doc: str | None = None) -> str:
    """Record, once, where the thread went (``target_doc``: the document written)."""
    when = v.iso_at(at)
    if target_doc is not None:
        parse_document_id(target_doc)
    plan = plan_route(tx, by, proposal_id)
    if plan.route != "dissolved" and target_doc is None:
        raise InvalidInput("target_doc: say which document the feedback was routed to")
    if plan.route == "dissolved" and target_doc is not None:
        raise InvalidInput("target_doc: dissolved feedback goes nowhere")
    return write_state_event(tx, _load(tx), by=by, at=when, op="route", proposal=plan.proposal,
                             route=plan.route, target_doc=target_doc,
                             target_item=plan.target_item)


def settle_thread(tx: Any, by: str, at: _dt.datetime, choice: str) -> str:
    by, when = v.member_id(by, "by"), v.iso_at(at)
    cur = _load(tx, settled=False)
    if by != cur.fields.get("giver") and by not in _stewards(cur):
        raise NotPermitted("only the giver and the stewards take part in this thread")
    return settle(tx, cur, by=by, at=when, choice=choice)


def _proposals(events: list[Event]) -> list[Proposal]:
    answers: dict[str, Event] = {}
    for e in chronological(events):
        if e.op == "answer":
            answers[str(e.args.get("proposal"))] = e
    out = []
    for e in chronological(events):
        if e.op != "propose":
            continue
        a, answer = e.args, answers.get(e.id)
        out.append(Proposal(
            id=e.id, by=e.by, at=e.at, route=str(a.get("route")), title=str(a.get("title", "")),
            statement=str(a.get("statement", "")), team=a.get("team"),
            public=bool(a.get("public")),
            consent=bool(answer.args.get("consent")) if answer else None,
            consent_note=str(answer.args.get("note", "")) if answer else ""))
    return out


def thread(doc: Any) -> Thread:
    raw = v.read_root(doc, THREAD_KEY)
    if raw is None:
        raise NotFound("this document holds no feedback thread")
    events = parse_events(raw.get("events"))
    r = replay(events, LIFECYCLE, _initial(raw))
    return Thread(
        giver=str(raw.get("giver", "")), leader=str(raw.get("leader", "")),
        stewards=[s for s in raw.get("stewards") or [] if s != raw.get("leader")],
        created_at=str(raw.get("created_at", "")), state=LIFECYCLE.name(r.state),
        messages=notes(events, "message"), proposals=_proposals(events), routed=r.state.routed,
        needs_reconciliation=r.needs_reconciliation, candidates=r.candidates,
        history=chronological(events))


# -- the statement delivered to the leader -----------------------------------


def init_statement(tx: Any, plan: RoutePlan, by: str, at: _dt.datetime) -> None:
    """Write a leader route's statement into a new feedback-statement document."""
    by, when = v.member_id(by, "by"), v.iso_at(at)
    if plan.route != "leader":
        raise InvalidInput(f"route: a {plan.route} route delivers no statement to the leader")
    if by != plan.giver and by not in plan.stewards:
        raise NotPermitted("only the giver or a steward routes this feedback")
    if tx.get(am.ROOT, STATEMENT_KEY) is not None:
        raise TransitionRefused("this document already holds a statement")
    v.init_document(tx, STATEMENT_KIND)
    put_value(tx, am.ROOT, STATEMENT_KEY, {
        "leader": plan.leader, "giver": plan.giver, "stewards": list(plan.stewards),
        "statement": plan.statement, "public": plan.public, "created_by": by,
        "created_at": when, EVENTS_KEY: []})


def respond_to_statement(tx: Any, by: str, at: _dt.datetime, text: str) -> str:
    """The leader's response to the statement delivered to them."""
    by, when, body = v.member_id(by, "by"), v.iso_at(at), v.text(text, "text")
    obj = v.container(tx, STATEMENT_KEY, STATEMENT_KIND)
    if by != v.read(tx, obj).get("leader"):
        raise NotPermitted("only the leader the statement is for responds to it")
    return v.append_event(tx, obj, by=by, at=when, op="respond", after=[], args={"text": body})


def statement(doc: Any) -> Statement:
    raw = v.read_root(doc, STATEMENT_KEY)
    if raw is None:
        raise NotFound("this document holds no feedback statement")
    return Statement(
        leader=str(raw.get("leader", "")), giver=str(raw.get("giver", "")),
        stewards=[s for s in raw.get("stewards") or [] if s != raw.get("leader")],
        statement=str(raw.get("statement", "")), public=raw.get("public") is True,
        created_by=str(raw.get("created_by", "")), created_at=str(raw.get("created_at", "")),
        responses=notes(parse_events(raw.get("events")), "respond"))
