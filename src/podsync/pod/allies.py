"""Allies: two members who check in with each other at a chosen interval.

In the essay, Eddy became Emma's ally in stepping out of a pattern that was
beyond her capacity to shift alone; they met weekly to co-hold it. An *allies*
item in the ``capacity`` document records such a recurrence: an ``allies``
record (its signer is one ally) whose body holds ``with`` (the other ally),
``every_days`` and ``focus`` (what they co-hold). Nothing starts until the
other ally accepts.

Records (``item``: the allies item): ``accept`` and ``decline`` (the ally
asked, while proposed), ``stop`` (either ally, with a note), all state events;
``met`` (either ally, while active, with a note): they checked in. States:
``proposed`` → ``active`` → ``stopped``, or ``declined``.

A check-in is *due* for both allies once ``every_days`` have passed since they
last met (or since it started): :func:`due` is what puts a gentle ask in both
their inboxes. It is derived against ``now``, never stored.
"""

from __future__ import annotations

import datetime as _dt
from typing import Any

import msgspec
from msgspec.structs import replace

from podsync.errors import InvalidInput, NotFound, NotPermitted, TransitionRefused
from podsync.pod import common as v
from podsync.pod.admission import admitted
from podsync.pod.common import Waiting
from podsync.pod.events import (
    Candidate, Current, Event, Item, Lifecycle, Replayed, chronological, current, event_draft,
    replay, settle, state_draft,
)
from podsync.records.format import Draft

KIND = "capacity"
ALLIES = "allies"
STATES = ("proposed", "active", "declined", "stopped")
#: Weekly is the essay's rhythm; a check-in further apart than a year is no
#: longer a practice of allies.
MAX_EVERY_DAYS = 365


class Allies(msgspec.Struct, frozen=True):
    id: str
    #: The ally who proposed it, then the one asked.
    allies: list[str]
    focus: str
    every_days: int
    state: str
    created_at: str
    since: str | None
    last_met: str | None
    met_note: str
    #: When the next check-in is due (active only), and whether it is due now.
    due_at: str | None
    due: bool
    stopped_note: str | None
    needs_reconciliation: bool
    candidates: list[Candidate]
    history: list[Event]


def _every(value: Any) -> int | None:
    return value if type(value) is int and 1 <= value <= MAX_EVERY_DAYS else None


class _State(msgspec.Struct, frozen=True):
    proposer: str
    other: str
    status: str = "proposed"
    since: str | None = None
    note: str | None = None


def _apply(s: _State, e: Event) -> _State:
    if e.op in ("accept", "decline") and e.by == s.other and s.status == "proposed":
        return replace(s, status="active" if e.op == "accept" else "declined", since=e.at)
    if e.op == "stop" and e.by in (s.proposer, s.other) and s.status in ("proposed", "active"):
        return replace(s, status="stopped", note=v.shown(e.args.get("note")))
    return s


LIFECYCLE: Lifecycle[_State] = Lifecycle(
    states=STATES, state_ops=frozenset({"accept", "decline", "stop"}), apply=_apply,
    name=lambda s: s.status, key=lambda s: s.status, summary=lambda s: {"note": s.note},
)


def _initial(item: Item) -> _State:
    return _State(item.created_by, v.shown(item.fields.get("with")))


def _allows(past: Replayed[_State], e: Event) -> bool:
    return not past.needs_reconciliation and _apply(past.state, e) != past.state


def _valid(item: Item) -> bool:
    """An allies item of two members at a readable interval; anything else is none."""
    other = item.fields.get("with")
    return isinstance(other, str) and other != item.created_by \
        and _every(item.fields.get("every_days")) is not None


def _load(item: Item, *, settled: bool = True) -> Current[_State]:
    if not _valid(item):
        raise NotFound(f"no allies check-in {item.id}")
    return current(admitted(item, LIFECYCLE, _initial, _allows), LIFECYCLE, _initial,
                   settled=settled)


def propose_allies(by: str, other: str, every_days: int, focus: str) -> Draft:
    """``by`` proposes that they and ``other`` check in every ``every_days`` days."""
    by, other = v.member_id(by, "by"), v.member_id(other, "with")
    if by == other:
        raise InvalidInput("with: an ally is someone else")
    if _every(every_days) is None:
        raise InvalidInput(f"every_days: a whole number of days, 1 to {MAX_EVERY_DAYS}")
    return Draft(ALLIES, {"with": other, "every_days": every_days, "focus": v.title(focus, "focus")})


def _by_other(item: Item, by: str, op: str) -> Draft:
    by = v.member_id(by, "by")
    cur = _load(item)
    if by != cur.state.other:
        raise NotPermitted("only the ally asked accepts or declines")
    if cur.state.status != "proposed":
        raise TransitionRefused(f"this is {cur.state.status} already")
    return state_draft(cur, op)


def accept_allies(item: Item, by: str) -> Draft:
    return _by_other(item, by, "accept")


def decline_allies(item: Item, by: str) -> Draft:
    return _by_other(item, by, "decline")


def stop_allies(item: Item, by: str, note: str = "") -> Draft:
    """Either ally ends the recurrence."""
    by, note = v.member_id(by, "by"), v.text(note, "note", required=False)
    cur = _load(item)
    if by not in (cur.state.proposer, cur.state.other):
        raise NotPermitted("only the two allies end it")
    if cur.state.status not in ("proposed", "active"):
        raise TransitionRefused(f"this is {cur.state.status} already")
    return state_draft(cur, "stop", note=note)


def record_met(item: Item, by: str, note: str = "") -> Draft:
    """Either ally records that they checked in; the next one is due ``every_days`` later."""
    by, note = v.member_id(by, "by"), v.text(note, "note", required=False)
    cur = _load(item, settled=False)
    if by not in (cur.state.proposer, cur.state.other):
        raise NotPermitted("only the two allies record their check-in")
    if cur.state.status != "active":
        raise TransitionRefused(f"this is {cur.state.status}, not active")
    return event_draft(cur, "met", note=note)


def settle_allies(item: Item, by: str, choice: str) -> Draft:
    v.member_id(by, "by")
    return settle(_load(item, settled=False), choice)


# -- reading ------------------------------------------------------------------------


def derive(item: Item, now: _dt.datetime) -> Allies:
    """The allies item as of ``now``; total: whatever a signed record's body holds."""
    r = replay(admitted(item, LIFECYCLE, _initial, _allows).events, LIFECYCLE, _initial(item))
    s = r.state
    every = _every(item.fields.get("every_days")) or 0
    met = [e for e in chronological(item.events)
           if e.op == "met" and e.by in (s.proposer, s.other) and s.since and e.at >= s.since]
    last = met[-1] if met else None
    due_at = None
    if s.status == "active" and s.since and every and not r.needs_reconciliation:
        try:
            due_at = v.parse_at(last.at if last else s.since) + _dt.timedelta(days=every)
        except OverflowError:  # a signer's clock at the end of the calendar
            due_at = None
    return Allies(
        id=item.id, allies=[s.proposer, s.other], focus=v.shown(item.fields.get("focus")),
        every_days=every, state=s.status, created_at=item.created_at, since=s.since,
        last_met=last.at if last else None,
        met_note=v.shown(last.args.get("note")) if last else "",
        due_at=due_at.isoformat(timespec="seconds") if due_at else None,
        due=due_at is not None and now >= due_at, stopped_note=s.note,
        needs_reconciliation=r.needs_reconciliation, candidates=r.candidates,
        history=chronological(item.events))


def all_allies(items: dict[str, Item], now: _dt.datetime) -> list[Allies]:
    """Every allies item (``allies`` items), oldest first."""
    return sorted((derive(i, now) for i in items.values() if _valid(i)),
                  key=lambda a: (a.created_at, a.id))


def allies(items: dict[str, Item], allies_id: str, now: _dt.datetime) -> Allies:
    found = items.get(allies_id)
    if found is None or not _valid(found):
        raise NotFound(f"no allies check-in {allies_id}")
    return derive(found, now)


def due(items: dict[str, Item], member: str, now: _dt.datetime) -> list[Allies]:
    """The check-ins due now for ``member``: a gentle ask for their inbox."""
    return [a for a in all_allies(items, now) if a.due and member in a.allies]


def waiting_on(items: dict[str, Item], member: str, now: _dt.datetime) -> list[Waiting]:
    """What allies ask of ``member`` now: a check-in due (:func:`due`), or a
    proposal to be allies waiting for their word."""
    out = [Waiting("allies", a.id, "check_in", a.focus or "check in with your ally",
                   "a check-in with your ally is due: meet, then record it",
                   a.due_at or a.created_at, a.due_at) for a in due(items, member, now)]
    for a in all_allies(items, now):
        if a.state == "proposed" and not a.needs_reconciliation and a.allies[1:] == [member]:
            out.append(Waiting("allies", a.id, "proposed", a.focus or "be allies",
                               "you are asked to be allies: accept or decline", a.created_at))
    return out
