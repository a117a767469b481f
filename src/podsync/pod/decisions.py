"""Decisions by advice process: the decider asks, listens, integrates, decides.

Document kind ``decisions``. A decision is created by an ``open`` record whose
body holds ``title``, ``proposal`` and ``deadline`` (ISO time); its signer is the
decider, its time when it was opened. Events that change no state: ``ask`` (the
decider names a member and why: affected / expertise), ``advise`` (any member
but the decider: a stance — support / concern / discourage / no advice — and
text), ``integrate`` (the decider records, per piece of advice, whether it was
integrated and why), ``note``. State events: ``decide`` (decision text, optional
review date), ``settle``.

States: ``gathering_advice`` → ``decided`` → ``review_due`` (derived: decided
and its review date reached). There are no votes and no veto: only the decider
decides, and a "discourage" never blocks. What the practice does require is
checked: before the deadline the decider waits for everyone asked, and every
concern or discouragement has a recorded integration (taken in or not, and why).

Replay counts only what the operations would have written: asks, integrations
and decisions by the decider, advice by anyone else, each with a body the
operation would write. A signed record that breaks those rules changes nothing.
Whether the decider waited for advice is checked when deciding, on the
decider's node; replay cannot check it, since it rests on the signer's clock and
on which advice their node held.
"""

from __future__ import annotations

import datetime as _dt
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any

import msgspec

from podsync.errors import InvalidInput, NotFound, NotPermitted, TransitionRefused
from podsync.pod import common as v
from podsync.pod.agreements import admitted, body_date
from podsync.pod.common import Note
from podsync.pod.events import (
    Candidate, Current, Event, Item, Lifecycle, Replayed, chronological, current, event_draft,
    notes, replay, settle, state_draft,
)
from podsync.records.format import Draft

KIND = "decisions"
OPEN = "open"
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


# -- what each record's body must be (the operations write these; replay checks them)


def _ask_body(member: Any, reason: Any, note: Any) -> dict[str, Any]:
    return {"member": v.member_id(member), "reason": v.choice(reason, "reason", ASK_REASONS),
            "note": v.text(note, "note", required=False)}


def _advice_body(stance: Any, text: Any) -> dict[str, Any]:
    stance = v.choice(stance, "stance", STANCES)
    return {"stance": stance, "text": v.text(text, "text", required=stance != "no_advice")}


def _integration_body(advice: Any, integrated: Any, why: Any) -> dict[str, Any]:
    if not isinstance(integrated, bool):
        raise InvalidInput("integrated: yes or no")
    return {"advice": v.item_id(advice, "advice_id"), "integrated": integrated,
            "why": v.text(why, "why")}


def _decide_body(text: Any, review_on: Any) -> dict[str, Any]:
    return {"text": v.text(text, "text"), "review_on": body_date(review_on, "review_on")}


def _checked(body: Callable[..., dict[str, Any]], *args: Any) -> dict[str, Any] | None:
    """``body(*args)`` for a record being replayed; None when an operation would refuse it."""
    try:
        return body(*args)
    except InvalidInput:
        return None


# -- state ---------------------------------------------------------------------


@dataclass(frozen=True)
class _State:
    decider: str
    status: str
    text: str | None
    at: str | None
    review_on: str | None


def _decided(s: _State, e: Event) -> dict[str, Any] | None:
    """The body of ``e`` if it is a decision the rules allow in state ``s``."""
    if e.op != "decide" or e.by != s.decider or s.status != "gathering_advice":
        return None
    return _checked(_decide_body, e.args.get("text"), e.args.get("review_on"))


def _apply(s: _State, e: Event) -> _State:
    body = _decided(s, e)
    if body is None:
        return s
    return replace(s, status="decided", text=body["text"], at=e.at, review_on=body["review_on"])


def _allows(past: Replayed[_State], e: Event) -> bool:
    """What :func:`decide` checks of who and when, asked where the record was made."""
    return not past.needs_reconciliation and _decided(past.state, e) is not None


LIFECYCLE: Lifecycle[_State] = Lifecycle(
    states=STATES, state_ops=frozenset({"decide"}), apply=_apply,
    name=lambda s: s.status, key=lambda s: (s.status, s.text, s.review_on),
    summary=lambda s: {"decision": s.text, "review_on": s.review_on},
)


def _initial(item: Item) -> _State:
    return _State(item.created_by, "gathering_advice", None, None, None)


def _deadline(fields: dict[str, Any]) -> _dt.datetime | None:
    """The deadline of a creation body, or None when it holds no readable one."""
    value = fields.get("deadline")
    try:
        moment = _dt.datetime.fromisoformat(value) if isinstance(value, str) else None
    except ValueError:
        return None
    return moment if moment is not None and moment.tzinfo is not None else None


# -- operations ------------------------------------------------------------------


def open_decision(now: _dt.datetime, title: str, proposal: str,
                  deadline: _dt.datetime) -> Draft:
    """Open a decision its signer will make, after asking for advice until ``deadline``."""
    v.iso_at(now, "now")
    until = v.iso_at(deadline, "deadline")
    if deadline <= now:
        raise InvalidInput("deadline: the deadline for advice must be in the future")
    return Draft(OPEN, {"title": v.title(title), "proposal": v.text(proposal, "proposal"),
                        "deadline": until})


def _counted(item: Item) -> Item:
    return admitted(item, LIFECYCLE, _initial, _allows)


def _load(item: Item, *, settled: bool = True) -> Current[_State]:
    return current(_counted(item), LIFECYCLE, _initial, settled=settled)


def _gathering(cur: Current[_State], doing: str) -> None:
    if cur.state.status != "gathering_advice":
        raise TransitionRefused(f"cannot {doing}: the decision has been made")


def ask_advice(item: Item, by: str, member: str, reason: str, note: str = "") -> Draft:
    """The decider asks ``member`` for advice, because affected or for expertise."""
    by = v.member_id(by, "by")
    body = _ask_body(member, reason, note)
    cur = _load(item, settled=False)
    if by != cur.state.decider:
        raise NotPermitted("only the decider asks for advice on this decision")
    if body["member"] == by:
        raise InvalidInput("member: the decider's own view goes into the decision")
    _gathering(cur, "ask for advice")
    if any(a.member == body["member"] for a in _parts(item)[0]):
        raise TransitionRefused(f"{body['member']} has already been asked")
    return event_draft(cur, "ask", **body)


def give_advice(item: Item, by: str, stance: str, text: str = "") -> Draft:
    """Advice from any member but the decider; it informs, it never blocks."""
    by = v.member_id(by, "by")
    body = _advice_body(stance, text)
    cur = _load(item, settled=False)
    if by == cur.state.decider:
        raise NotPermitted("the decider's own view goes into the decision, not into advice")
    _gathering(cur, "give advice")
    return event_draft(cur, "advise", **body)


def integrate_advice(item: Item, by: str, advice_id: str, integrated: bool, why: str) -> Draft:
    """The decider records whether a piece of advice was integrated, and why."""
    by = v.member_id(by, "by")
    body = _integration_body(advice_id, integrated, why)
    cur = _load(item, settled=False)
    if by != cur.state.decider:
        raise NotPermitted("only the decider records how advice was integrated")
    if not any(a.id == body["advice"] for a in _parts(item)[1]):
        raise NotFound(f"no advice {advice_id} on this decision")
    return event_draft(cur, "integrate", **body)


def decide(item: Item, by: str, now: _dt.datetime, text: str,
           review_on: _dt.date | None = None) -> Draft:
    """The decider decides, once advice has been heard and concerns answered."""
    by, today = v.member_id(by, "by"), v.iso_at(now, "now")[:10]
    body = _decide_body(text, v.iso_date(review_on, "review_on"))
    if body["review_on"] is not None and body["review_on"] <= today:
        raise InvalidInput("review_on: the review date must be after today")
    cur = _load(item)
    if by != cur.state.decider:
        raise NotPermitted("only the decider decides; advice never decides for them")
    _gathering(cur, "decide again")
    asked, advice = _parts(item)
    waiting = [a.member for a in asked if not a.answered]
    deadline = _deadline(item.fields)
    if deadline is not None and now < deadline and waiting:
        raise TransitionRefused(
            f"the deadline for advice is {item.fields['deadline']}; still waiting for "
            f"{', '.join(waiting)} (decide after the deadline, or once they have answered)")
    open_concerns = [a.id for a in advice
                     if a.stance in NEEDS_INTEGRATION and a.integration is None]
    if open_concerns:
        raise TransitionRefused(
            "record how each concern or discouragement was integrated (or why not) before "
            f"deciding: advice {', '.join(open_concerns)}")
    return state_draft(cur, "decide", **body)


def note_decision(item: Item, by: str, text: str) -> Draft:
    v.member_id(by, "by")
    return event_draft(_load(item, settled=False), "note", text=v.text(text, "text"))


def settle_decision(item: Item, by: str, choice: str) -> Draft:
    """Resolve concurrent, different decisions by choosing one candidate."""
    v.member_id(by, "by")
    return settle(_load(item, settled=False), choice)


# -- reading -------------------------------------------------------------------


def _parts(item: Item) -> tuple[list[Asked], list[Advice]]:
    """Who was asked and the advice given, counting only records the rules allow."""
    decider = item.created_by
    ordered = chronological(item.events)
    advised: list[tuple[Event, dict[str, Any]]] = []
    for e in ordered:
        if e.op == "advise" and e.by != decider:
            body = _checked(_advice_body, e.args.get("stance"), e.args.get("text"))
            if body is not None:
                advised.append((e, body))
    advisors = {e.by for e, _ in advised}
    asked: dict[str, Asked] = {}
    integrations: dict[str, Integration] = {}
    for e in ordered:
        if e.by != decider:
            continue
        if e.op == "ask":
            body = _checked(_ask_body, e.args.get("member"), e.args.get("reason"),
                            e.args.get("note"))
            if body is not None and body["member"] != decider and body["member"] not in asked:
                asked[body["member"]] = Asked(body["member"], body["reason"], body["note"], e.at,
                                              body["member"] in advisors)
        elif e.op == "integrate":
            body = _checked(_integration_body, e.args.get("advice"), e.args.get("integrated"),
                            e.args.get("why"))
            if body is not None:
                integrations[body["advice"]] = Integration(body["integrated"], body["why"], e.at)
    advice = [Advice(e.id, e.by, e.at, body["stance"], body["text"], e.by in asked,
                     integrations.get(e.id))
              for e, body in advised]
    return list(asked.values()), advice


def decisions(items: dict[str, Item], now: _dt.datetime) -> list[Decision]:
    """Every decision, oldest first; ``review_due`` is derived against ``now``."""
    return sorted((derive(i, now) for i in items.values()), key=lambda d: (d.created_at, d.id))


def decision(items: dict[str, Item], decision_id: str, now: _dt.datetime) -> Decision:
    item = items.get(decision_id)
    if item is None:
        raise NotFound(f"no decision {decision_id}")
    return derive(item, now)


def derive(item: Item, now: _dt.datetime) -> Decision:
    """The decision as of ``now``; total: whatever a signed record's body holds."""
    events, raw = item.events, item.fields
    r = replay(_counted(item).events, LIFECYCLE, _initial(item))
    s = r.state
    state = s.status
    if state == "decided" and v.date_reached(s.review_on, now):
        state = "review_due"
    asked, advice = _parts(item)
    return Decision(
        id=item.id, title=v.shown(raw.get("title"), v.MAX_TITLE_CHARS),
        proposal=v.shown(raw.get("proposal")), decider=item.created_by,
        created_at=item.created_at,
        deadline=raw["deadline"] if _deadline(raw) is not None else "",
        state=state, asked=asked, advice=advice, decision=s.text, decided_at=s.at,
        review_on=s.review_on, notes=notes(events),
        needs_reconciliation=r.needs_reconciliation, candidates=r.candidates,
        history=chronological(events))
