"""Capacity: check-ins, each member's load, and "are you mobilizing?" asks.

Document kind ``capacity``. Root list ``checkins``: one entry per check-in
``{id, member, at, level, note}`` (depleted / stretched / baseline / spacious),
never edited, so the history is kept; a member's latest check-in is their
current capacity. Root map ``asks``: one item per ask, with creation fields
``asker``, ``member``, ``need``, ``question``, ``created_at`` and events:
``answer`` (the asked member), ``discern`` (asker or member: continue / release /
ask_for_support / take_on, with a note), ``settle``; ``note`` changes nothing.
Ask states: ``asked`` → ``answered`` → ``discerned``.

Load is derived, never stored: the needs a member holds and the agreements they
are a party to (active, review due or renegotiating). It is listed by member id,
never ranked — it exists to help the pod discern together, not to compare.
"""

from __future__ import annotations

import datetime as _dt
from collections.abc import Iterable
from dataclasses import dataclass, replace
from typing import Any

import msgspec

from podsync.errors import NotFound, NotPermitted, TransitionRefused
from podsync.pod import common as v
from podsync.pod.agreements import Agreement
from podsync.pod.common import Note
from podsync.pod.events import (
    Candidate, Current, Event, Lifecycle, chronological, load, notes, parse_events, replay,
    settle, write_event, write_state_event,
)
from podsync.pod.needs import Need
from podsync.repo.values import get_path, put_value

KIND = "capacity"
CHECKINS_KEY = "checkins"
ASKS_KEY = "asks"
LEVELS = ("depleted", "stretched", "baseline", "spacious")
ASK_STATES = ("asked", "answered", "discerned")
DISCERNMENTS = ("continue", "release", "ask_for_support", "take_on")
#: Agreement states that ask something of their parties now.
LOAD_AGREEMENT_STATES = ("active", "review_due", "renegotiating")


class CheckIn(msgspec.Struct, frozen=True):
    id: str
    member: str
    at: str
    level: str
    note: str


class Ask(msgspec.Struct, frozen=True):
    id: str
    asker: str
    member: str
    need: str
    question: str
    created_at: str
    state: str
    answer: str | None
    answered_at: str | None
    discernment: str | None
    discernment_note: str | None
    notes: list[Note]
    needs_reconciliation: bool
    candidates: list[Candidate]
    history: list[Event]


class LoadItem(msgspec.Struct, frozen=True):
    id: str
    title: str


class MemberLoad(msgspec.Struct, frozen=True):
    member: str
    capacity: str | None
    capacity_note: str
    checked_in_at: str | None
    needs: list[LoadItem]
    agreements: list[LoadItem]


@dataclass(frozen=True)
class _State:
    status: str
    answer: str | None
    answered_at: str | None
    outcome: str | None
    note: str | None


def _apply(s: _State, e: Event) -> _State:
    if e.op == "answer" and s.status == "asked":
        return replace(s, status="answered", answer=str(e.args.get("text", "")), answered_at=e.at)
    if e.op == "discern" and s.status == "answered":
        return replace(s, status="discerned", outcome=str(e.args.get("outcome", "")),
                       note=str(e.args.get("note", "")))
    return s


LIFECYCLE: Lifecycle[_State] = Lifecycle(
    states=ASK_STATES, state_ops=frozenset({"answer", "discern"}), apply=_apply,
    name=lambda s: s.status, key=lambda s: (s.status, s.answer, s.outcome, s.note),
    summary=lambda s: {"answer": s.answer, "discernment": s.outcome, "note": s.note},
)


def _initial(fields: dict[str, Any]) -> _State:
    return _State("asked", None, None, None, None)


def init_capacity(tx: Any) -> None:
    """Set up a new capacity document (call once, when the document is created)."""
    v.init_document(tx, KIND, maps=[ASKS_KEY], lists=[CHECKINS_KEY])


def check_in(tx: Any, by: str, at: _dt.datetime, level: str, note: str = "") -> str:
    """``by`` says where their capacity is; earlier check-ins stay in the history."""
    entry = {"member": v.member_id(by, "by"), "at": v.iso_at(at),
             "level": v.choice(level, "level", LEVELS),
             "note": v.text(note, "note", required=False), "id": v.new_id()}
    checkins = v.container(tx, CHECKINS_KEY, KIND)
    put_value(tx, checkins, tx.length(checkins), entry, insert=True)
    return str(entry["id"])


def ask_mobilizing(tx: Any, by: str, at: _dt.datetime, member: str, need_id: str,
                   question: str = "") -> str:
    """``by`` asks ``member`` "are you mobilizing?" about a need; returns the ask id."""
    fields = {"asker": v.member_id(by, "by"), "member": v.member_id(member),
              "need": v.item_id(need_id, "need"),
              "question": v.text(question, "question", required=False),
              "created_at": v.iso_at(at)}
    if fields["asker"] == fields["member"]:
        raise NotPermitted("this question is asked of someone else; check in instead")
    asks_obj = v.container(tx, ASKS_KEY, KIND)
    new = v.new_id()
    v.create_item(tx, asks_obj, new, fields)
    return new


def _load(tx: Any, ask_id: str, *, settled: bool = True) -> Current[_State]:
    return load(tx, v.container(tx, ASKS_KEY, KIND), v.item_id(ask_id, "ask"), "ask",
                LIFECYCLE, _initial, settled=settled)


def answer_ask(tx: Any, ask_id: str, by: str, at: _dt.datetime, text: str) -> str:
    """The asked member answers."""
    by, when, body = v.member_id(by, "by"), v.iso_at(at), v.text(text, "text")
    cur = _load(tx, ask_id)
    if by != cur.fields.get("member"):
        raise NotPermitted("only the member asked can answer")
    if cur.state.status != "asked":
        raise TransitionRefused("this ask has already been answered")
    return write_state_event(tx, cur, by=by, at=when, op="answer", text=body)


def record_discernment(tx: Any, ask_id: str, by: str, at: _dt.datetime, outcome: str,
                       note: str = "") -> str:
    """What asker and member discerned together: continue / release / ask for support / take on."""
    by, when = v.member_id(by, "by"), v.iso_at(at)
    outcome = v.choice(outcome, "outcome", DISCERNMENTS)
    note = v.text(note, "note", required=False)
    cur = _load(tx, ask_id)
    if by not in (cur.fields.get("asker"), cur.fields.get("member")):
        raise NotPermitted("the discernment is recorded by the asker or the member asked")
    if cur.state.status != "answered":
        raise TransitionRefused(f"cannot record a discernment: the ask is {cur.state.status}")
    return write_state_event(tx, cur, by=by, at=when, op="discern", outcome=outcome, note=note)


def note_ask(tx: Any, ask_id: str, by: str, at: _dt.datetime, text: str) -> str:
    by, when, body = v.member_id(by, "by"), v.iso_at(at), v.text(text, "text")
    return write_event(tx, _load(tx, ask_id, settled=False), by=by, at=when, op="note", text=body)


def settle_ask(tx: Any, ask_id: str, by: str, at: _dt.datetime, choice: str) -> str:
    by, when = v.member_id(by, "by"), v.iso_at(at)
    return settle(tx, _load(tx, ask_id, settled=False), by=by, at=when, choice=choice)


# -- reading -------------------------------------------------------------------


def checkins(doc: Any) -> list[CheckIn]:
    """Every check-in, oldest first."""
    raw = get_path(doc, CHECKINS_KEY)
    out = [CheckIn(str(c.get("id")), str(c.get("member")), str(c.get("at")),
                   str(c.get("level")), str(c.get("note", "")))
           for c in (raw if isinstance(raw, list) else []) if isinstance(c, dict)]
    # Times have second precision: within one second the list's own order (the
    # order they were made in) decides, so a correction made at once is the latest.
    return sorted(out, key=lambda c: c.at)


def current_capacity(doc: Any) -> dict[str, CheckIn]:
    """Each member's latest check-in."""
    return {c.member: c for c in checkins(doc)}


def asks(doc: Any) -> list[Ask]:
    out = [_derive(raw) for raw in v.collection(doc, ASKS_KEY).values()]
    return sorted(out, key=lambda a: (a.created_at, a.id))


def ask(doc: Any, ask_id: str) -> Ask:
    raw = v.collection(doc, ASKS_KEY).get(ask_id)
    if raw is None:
        raise NotFound(f"no ask {ask_id}")
    return _derive(raw)


def _derive(raw: dict[str, Any]) -> Ask:
    events = parse_events(raw.get("events"))
    r = replay(events, LIFECYCLE, _initial(raw))
    s = r.state
    return Ask(
        id=str(raw.get("id")), asker=str(raw.get("asker", "")), member=str(raw.get("member", "")),
        need=str(raw.get("need", "")), question=str(raw.get("question", "")),
        created_at=str(raw.get("created_at", "")), state=s.status, answer=s.answer,
        answered_at=s.answered_at, discernment=s.outcome, discernment_note=s.note,
        notes=notes(events), needs_reconciliation=r.needs_reconciliation,
        candidates=r.candidates, history=chronological(events))


def loads(needs: Iterable[Need], agreements: Iterable[Agreement], checkins: Iterable[CheckIn],
          members: Iterable[str] = ()) -> list[MemberLoad]:
    """Each member's current capacity and what they hold, listed by member id.

    Takes derived needs and agreements (as of the same ``now``) and the check-in
    history. ``members`` (e.g. the roster) adds members who hold nothing yet;
    anyone who holds something or has checked in is listed anyway.
    """
    held: dict[str, list[LoadItem]] = {}
    for n in needs:
        if n.state == "held":
            for h in n.holders:
                held.setdefault(h.member, []).append(LoadItem(n.id, n.title))
    parties: dict[str, list[LoadItem]] = {}
    for a in agreements:
        if a.state in LOAD_AGREEMENT_STATES:
            for p in a.parties:
                parties.setdefault(p.member, []).append(LoadItem(a.id, a.what))
    latest = {c.member: c for c in sorted(checkins, key=lambda c: c.at)}
    everyone = set(members) | set(held) | set(parties) | set(latest)
    return [MemberLoad(member=m, capacity=latest[m].level if m in latest else None,
                       capacity_note=latest[m].note if m in latest else "",
                       checked_in_at=latest[m].at if m in latest else None,
                       needs=held.get(m, []), agreements=parties.get(m, []))
            for m in sorted(everyone)]
