"""Decisions by advice process: the decider asks, listens, integrates, decides.

Document kind ``decisions``; root map ``items`` holds one item per decision.
Creation fields: ``decider`` (whoever opens it), ``title``, ``proposal``,
``deadline`` (ISO time), ``created_at``. Events that change no state: ``ask``
(the decider names a member and why: affected / expertise), ``advise`` (any
member but the decider: a stance — support / concern / discourage / no advice —
and text), ``integrate`` (the decider records, per piece of advice, whether it
was integrated and why), ``note``. State events: ``decide`` (decision text,
optional review date), ``settle``.

States: ``gathering_advice`` → ``decided`` → ``review_due`` (derived: decided
and its review date reached). There are no votes and no veto: only the decider
decides, and a "discourage" never blocks. What the practice does require is
checked: before the deadline the decider waits for everyone asked, and every
concern or discouragement has a recorded integration (taken in or not, and why).
"""

from __future__ import annotations

import datetime as _dt
from dataclasses import dataclass, replace
from typing import Any

import msgspec

from podsync.errors import InvalidInput, NotFound, NotPermitted, TransitionRefused
from podsync.pod import common as v
from podsync.pod.common import ITEMS_KEY, Note
from podsync.pod.events import (
    Candidate, Current, Event, Lifecycle, chronological, load, notes, parse_events, replay,
    settle, write_event, write_state_event,
)

KIND = "decisions"
STATES = ("gathering_advice", "decided", "review_due")
ASK_REASONS = ("affected", "expertise")
STANCES = ("support", "concern", "discourage", "no_advice")
#: Advice the decider must answer with an integration before deciding.
NEEDS_INTEGRATION = ("concern", "discourage")


class Asked(msgspec.Struct, frozen=True):
    member: str
    reason: str
    note: str
    at: str
    answered: bool


class Integration(msgspec.Struct, frozen=True):
    integrated: bool
    why: str
    at: str


class Advice(msgspec.Struct, frozen=True):
    id: str
    by: str
    at: str
    stance: str
    text: str
    asked: bool
    integration: Integration | None


class Decision(msgspec.Struct, frozen=True):
    id: str
    title: str
    proposal: str
    decider: str
    created_at: str
    deadline: str
    state: str
    asked: list[Asked]
    advice: list[Advice]
    decision: str | None
    decided_at: str | None
    review_on: str | None
    notes: list[Note]
    needs_reconciliation: bool
    candidates: list[Candidate]
    history: list[Event]


@dataclass(frozen=True)
class _State:
    status: str
    text: str | None
    at: str | None
    review_on: str | None


def _apply(s: _State, e: Event) -> _State:
    if e.op == "decide" and s.status == "gathering_advice":
        return replace(s, status="decided", text=str(e.args.get("text", "")), at=e.at,
                       review_on=e.args.get("review_on"))
    return s


LIFECYCLE: Lifecycle[_State] = Lifecycle(
    states=STATES, state_ops=frozenset({"decide"}), apply=_apply,
    name=lambda s: s.status, key=lambda s: (s.status, s.text, s.review_on),
    summary=lambda s: {"decision": s.text, "review_on": s.review_on},
)


def _initial(fields: dict[str, Any]) -> _State:
    return _State("gathering_advice", None, None, None)


def init_decisions(tx: Any) -> None:
    """Set up a new decisions document (call once, when the document is created)."""
    v.init_document(tx, KIND, maps=[ITEMS_KEY])


def open_decision(tx: Any, by: str, at: _dt.datetime, title: str, proposal: str,
                  deadline: _dt.datetime) -> str:
    """``by`` proposes and will decide; returns the decision's id."""
    when, until = v.iso_at(at), v.iso_at(deadline, "deadline")
    if until <= when:
        raise InvalidInput("deadline: the deadline for advice must be in the future")
    fields = {"decider": v.member_id(by, "by"), "title": v.title(title),
              "proposal": v.text(proposal, "proposal"), "deadline": until, "created_at": when}
    items = v.container(tx, ITEMS_KEY, KIND)
    new = v.new_id()
    v.create_item(tx, items, new, fields)
    return new


def _load(tx: Any, decision_id: str, *, settled: bool = True) -> Current[_State]:
    return load(tx, v.container(tx, ITEMS_KEY, KIND), v.item_id(decision_id, "decision"),
                "decision", LIFECYCLE, _initial, settled=settled)


def _gathering(cur: Current[_State], doing: str) -> None:
    if cur.state.status != "gathering_advice":
        raise TransitionRefused(f"cannot {doing}: the decision has been made")


def ask_advice(tx: Any, decision_id: str, by: str, at: _dt.datetime, member: str,
               reason: str, note: str = "") -> str:
    """The decider asks ``member`` for advice, because affected or for expertise."""
    by, when, member = v.member_id(by, "by"), v.iso_at(at), v.member_id(member)
    reason = v.choice(reason, "reason", ASK_REASONS)
    note = v.text(note, "note", required=False)
    cur = _load(tx, decision_id, settled=False)
    if by != cur.fields.get("decider"):
        raise NotPermitted("only the decider asks for advice on this decision")
    if member == by:
        raise InvalidInput("member: the decider's own view goes into the decision")
    _gathering(cur, "ask for advice")
    if any(e.op == "ask" and e.args.get("member") == member for e in cur.events):
        raise TransitionRefused(f"{member} has already been asked")
    return write_event(tx, cur, by=by, at=when, op="ask", member=member, reason=reason, note=note)


def give_advice(tx: Any, decision_id: str, by: str, at: _dt.datetime, stance: str,
                text: str = "") -> str:
    """Advice from any member but the decider; it informs, it never blocks."""
    by, when = v.member_id(by, "by"), v.iso_at(at)
    stance = v.choice(stance, "stance", STANCES)
    body = v.text(text, "text", required=stance != "no_advice")
    cur = _load(tx, decision_id, settled=False)
    if by == cur.fields.get("decider"):
        raise NotPermitted("the decider's own view goes into the decision, not into advice")
    _gathering(cur, "give advice")
    return write_event(tx, cur, by=by, at=when, op="advise", stance=stance, text=body)


def integrate_advice(tx: Any, decision_id: str, by: str, at: _dt.datetime, advice_id: str,
                     integrated: bool, why: str) -> str:
    """The decider records whether a piece of advice was integrated, and why."""
    by, when, why = v.member_id(by, "by"), v.iso_at(at), v.text(why, "why")
    if not isinstance(integrated, bool):
        raise InvalidInput("integrated: yes or no")
    cur = _load(tx, decision_id, settled=False)
    if by != cur.fields.get("decider"):
        raise NotPermitted("only the decider records how advice was integrated")
    if not any(e.op == "advise" and e.id == advice_id for e in cur.events):
        raise NotFound(f"no advice {advice_id} on this decision")
    return write_event(tx, cur, by=by, at=when, op="integrate", advice=advice_id,
                       integrated=integrated, why=why)


def decide(tx: Any, decision_id: str, by: str, at: _dt.datetime, text: str,
           review_on: _dt.date | None = None) -> str:
    """The decider decides, once advice has been heard and concerns answered."""
    by, when, body = v.member_id(by, "by"), v.iso_at(at), v.text(text, "text")
    review = v.iso_date(review_on, "review_on")
    if review is not None and review <= when[:10]:
        raise InvalidInput("review_on: the review date must be after today")
    cur = _load(tx, decision_id)
    if by != cur.fields.get("decider"):
        raise NotPermitted("only the decider decides; advice never decides for them")
    _gathering(cur, "decide again")
    view = _derive_parts(cur.fields, cur.events)
    waiting = [a.member for a in view[0] if not a.answered]
    if when < str(cur.fields.get("deadline", "")) and waiting:
        raise TransitionRefused(
            f"the deadline for advice is {cur.fields.get('deadline')}; still waiting for "
            f"{', '.join(waiting)} (decide after the deadline, or once they have answered)")
    open_concerns = [a.id for a in view[1]
                     if a.stance in NEEDS_INTEGRATION and a.integration is None]
    if open_concerns:
        raise TransitionRefused(
            "record how each concern or discouragement was integrated (or why not) before "
            f"deciding: advice {', '.join(open_concerns)}")
    return write_state_event(tx, cur, by=by, at=when, op="decide", text=body, review_on=review)


def note_decision(tx: Any, decision_id: str, by: str, at: _dt.datetime, text: str) -> str:
    by, when, body = v.member_id(by, "by"), v.iso_at(at), v.text(text, "text")
    return write_event(tx, _load(tx, decision_id, settled=False), by=by, at=when,
                       op="note", text=body)


def settle_decision(tx: Any, decision_id: str, by: str, at: _dt.datetime, choice: str) -> str:
    by, when = v.member_id(by, "by"), v.iso_at(at)
    return settle(tx, _load(tx, decision_id, settled=False), by=by, at=when, choice=choice)


# -- reading -------------------------------------------------------------------


def _derive_parts(fields: dict[str, Any], events: list[Event]) -> tuple[list[Asked], list[Advice]]:
    ordered = chronological(events)
    advisors = {e.by for e in ordered if e.op == "advise"}
    asked: dict[str, Asked] = {}
    for e in ordered:
        member = e.args.get("member")
        if e.op == "ask" and isinstance(member, str) and member not in asked:
            asked[member] = Asked(member, str(e.args.get("reason", "")),
                                  str(e.args.get("note", "")), e.at, member in advisors)
    integrations: dict[str, Integration] = {}
    for e in ordered:
        if e.op == "integrate" and e.by == fields.get("decider"):
            integrations[str(e.args.get("advice"))] = Integration(
                bool(e.args.get("integrated")), str(e.args.get("why", "")), e.at)
    advice = [Advice(e.id, e.by, e.at, str(e.args.get("stance", "")), str(e.args.get("text", "")),
                     e.by in asked, integrations.get(e.id))
              for e in ordered if e.op == "advise"]
    return list(asked.values()), advice


def decisions(doc: Any, now: _dt.datetime) -> list[Decision]:
    """Every decision, oldest first; ``review_due`` is derived against ``now``."""
    return v.derive_items(doc, _derive, now)


def decision(doc: Any, decision_id: str, now: _dt.datetime) -> Decision:
    return v.derive_item(doc, decision_id, _derive, now, "decision")


def _derive(raw: dict[str, Any], now: _dt.datetime) -> Decision:
    events = parse_events(raw.get("events"))
    r = replay(events, LIFECYCLE, _initial(raw))
    s = r.state
    state = s.status
    if state == "decided" and v.date_reached(s.review_on, now):
        state = "review_due"
    asked, advice = _derive_parts(raw, events)
    return Decision(
        id=str(raw.get("id")), title=str(raw.get("title", "")),
        proposal=str(raw.get("proposal", "")), decider=str(raw.get("decider", "")),
        created_at=str(raw.get("created_at", "")), deadline=str(raw.get("deadline", "")),
        state=state, asked=asked, advice=advice, decision=s.text, decided_at=s.at,
        review_on=s.review_on, notes=notes(events),
        needs_reconciliation=r.needs_reconciliation, candidates=r.candidates,
        history=chronological(events))
