"""Capacity: check-ins, each member's load, and "are you mobilizing?" asks.

Document kind ``capacity``, holding two kinds of item:

- a **check-in** is one ``checkin`` record whose body holds ``level``
  (depleted / stretched / baseline / spacious) and ``note``; the member is its
  signer and the time its record's. Check-ins are never changed, so the history
  is kept; a member's latest check-in is their current capacity. A check-in
  whose level is not one of the levels counts for nothing.
- an **ask** is created by an ``ask`` record (the asker is its signer) whose body
  holds ``member`` (who is asked), ``need`` and ``question``. State events:
  ``answer`` (only the member asked), ``discern`` (only the asker or the member:
  continue / release / ask_for_support / take_on, with a note), ``settle``;
  ``note`` changes nothing. States: ``asked`` → ``answered`` → ``discerned``.
  Replay applies the same rules the operations check, so an answer signed by
  anyone else, or a discernment with another outcome, changes nothing; an ask
  of the asker themself is not an ask at all.

Load is derived, never stored: the needs a member holds and the agreements they
are a party to (active, review due or renegotiating). It is listed by member id,
never ranked — it exists to help the pod discern together, not to compare.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

import msgspec

from podsync.errors import NotFound, NotPermitted, TransitionRefused
from podsync.pod import common as v
from podsync.pod.common import Note
from podsync.pod.events import (
    Candidate, Current, Event, Item, Lifecycle, chronological, current, event_draft, notes,
    replay, settle, state_draft,
)
from podsync.records.format import Draft

if TYPE_CHECKING:
    from podsync.pod.agreements import Agreement
    from podsync.pod.needs import Need

KIND = "capacity"
CHECKIN = "checkin"
ASK = "ask"
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


# -- check-ins -------------------------------------------------------------------


def check_in(level: str, note: str = "") -> Draft:
    """Say where the signer's capacity is now; earlier check-ins stay in the history."""
    return Draft(CHECKIN, {"level": v.choice(level, "level", LEVELS),
                           "note": v.text(note, "note", required=False)})


def checkins(items: dict[str, Item]) -> list[CheckIn]:
    """Every check-in (``checkin`` items), oldest first; one whose level is not a
    level counts for nothing."""
    out = [CheckIn(id=i.id, member=i.created_by, at=i.created_at, level=i.fields["level"],
                   note=v.shown(i.fields.get("note")))
           for i in items.values() if i.fields.get("level") in LEVELS]
    return sorted(out, key=lambda c: (c.at, c.id))


def current_capacity(items: dict[str, Item]) -> dict[str, CheckIn]:
    """Each member's latest check-in."""
    return {c.member: c for c in checkins(items)}


# -- "are you mobilizing?" -------------------------------------------------------


@dataclass(frozen=True)
class _State:
    asker: str
    member: str
    status: str
    answer: str | None
    answered_at: str | None
    outcome: str | None
    note: str | None


def _apply(s: _State, e: Event) -> _State:
    if e.op == "answer" and s.status == "asked" and e.by == s.member:
        return replace(s, status="answered", answer=v.shown(e.args.get("text")), answered_at=e.at)
    if e.op == "discern" and s.status == "answered" and e.by in (s.asker, s.member) \
            and e.args.get("outcome") in DISCERNMENTS:
        return replace(s, status="discerned", outcome=e.args["outcome"],
                       note=v.shown(e.args.get("note")))
    return s


LIFECYCLE: Lifecycle[_State] = Lifecycle(
    states=ASK_STATES, state_ops=frozenset({"answer", "discern"}), apply=_apply,
    name=lambda s: s.status, key=lambda s: (s.status, s.answer, s.outcome, s.note),
    summary=lambda s: {"answer": s.answer, "discernment": s.outcome, "note": s.note},
)


def _initial(item: Item) -> _State:
    return _State(item.created_by, v.shown(item.fields.get("member")), "asked",
                  None, None, None, None)


def _is_ask(item: Item) -> bool:
    """An ask of the asker themself is refused when written; signed anyway, it is
    no ask."""
    return item.fields.get("member") != item.created_by


def ask_mobilizing(by: str, member: str, need_id: str, question: str = "") -> Draft:
    """``by`` asks ``member`` "are you mobilizing?" about a need."""
    body = {"member": v.member_id(member), "need": v.item_id(need_id, "need"),
            "question": v.text(question, "question", required=False)}
    if v.member_id(by, "by") == body["member"]:
        raise NotPermitted("this question is asked of someone else; check in instead")
    return Draft(ASK, body)


def _load(item: Item, *, settled: bool = True) -> Current[_State]:
    if not _is_ask(item):
        raise NotFound(f"no ask {item.id}")
    return current(item, LIFECYCLE, _initial, settled=settled)


def answer_ask(item: Item, by: str, text: str) -> Draft:
    """The asked member answers."""
    by, body = v.member_id(by, "by"), v.text(text, "text")
    cur = _load(item)
    if by != cur.state.member:
        raise NotPermitted("only the member asked can answer")
    if cur.state.status != "asked":
        raise TransitionRefused("this ask has already been answered")
    return state_draft(cur, "answer", text=body)


def record_discernment(item: Item, by: str, outcome: str, note: str = "") -> Draft:
    """What asker and member discerned together: continue / release / ask for support / take on."""
    by = v.member_id(by, "by")
    outcome = v.choice(outcome, "outcome", DISCERNMENTS)
    note = v.text(note, "note", required=False)
    cur = _load(item)
    if by not in (cur.state.asker, cur.state.member):
        raise NotPermitted("the discernment is recorded by the asker or the member asked")
    if cur.state.status != "answered":
        raise TransitionRefused(f"cannot record a discernment: the ask is {cur.state.status}")
    return state_draft(cur, "discern", outcome=outcome, note=note)


def note_ask(item: Item, by: str, text: str) -> Draft:
    v.member_id(by, "by")
    return event_draft(_load(item, settled=False), "note", text=v.text(text, "text"))


def settle_ask(item: Item, by: str, choice: str) -> Draft:
    v.member_id(by, "by")
    return settle(_load(item, settled=False), choice)


def asks(items: dict[str, Item]) -> list[Ask]:
    """Every ask (``ask`` items), oldest first."""
    out = [derive(i) for i in items.values() if _is_ask(i)]
    return sorted(out, key=lambda a: (a.created_at, a.id))


def ask(items: dict[str, Item], ask_id: str) -> Ask:
    found = items.get(ask_id)
    if found is None or not _is_ask(found):
        raise NotFound(f"no ask {ask_id}")
    return derive(found)


def derive(item: Item) -> Ask:
    """The ask as its records make it; total: whatever a signed record's body holds."""
    events = item.events
    r = replay(events, LIFECYCLE, _initial(item))
    s = r.state
    return Ask(
        id=item.id, asker=s.asker, member=s.member, need=v.shown(item.fields.get("need")),
        question=v.shown(item.fields.get("question")), created_at=item.created_at,
        state=s.status, answer=s.answer, answered_at=s.answered_at, discernment=s.outcome,
        discernment_note=s.note, notes=notes(events),
        needs_reconciliation=r.needs_reconciliation, candidates=r.candidates,
        history=chronological(events))


# -- load ------------------------------------------------------------------------


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
    latest = {c.member: c for c in sorted(checkins, key=lambda c: (c.at, c.id))}
    everyone = set(members) | set(held) | set(parties) | set(latest)
    return [MemberLoad(member=m, capacity=latest[m].level if m in latest else None,
                       capacity_note=latest[m].note if m in latest else "",
                       checked_in_at=latest[m].at if m in latest else None,
                       needs=held.get(m, []), agreements=parties.get(m, []))
            for m in sorted(everyone)]
