"""Reading decisions: each one derived from its records as of a moment, and what
the decisions ask of a member now.
"""

from __future__ import annotations

import datetime as _dt
from collections.abc import Iterable

import msgspec

from podsync.errors import NotFound
from podsync.pod import common as v
from podsync.pod.common import Note, Waiting
from podsync.pod.decision_advice import (
    Advice, Asked, DeadlineMove, Link, asked_and_advice, deadline_moves, deadline_text, links_of,
)
from podsync.pod.decision_bodies import moment_of
from podsync.pod.decision_replay import LIFECYCLE, Basis, Review, counted, initial
from podsync.pod.events import Candidate, Event, Item, chronological, notes, replay


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
    basis: Basis | None
    withdrawn_note: str | None
    reviews: list[Review]
    links: list[Link]
    deadline_moves: list[DeadlineMove]
    notes: list[Note]
    needs_reconciliation: bool
    candidates: list[Candidate]
    history: list[Event]


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
    r = replay(counted(item).events, LIFECYCLE, initial(item))
    s = r.state
    state = s.status
    if state in ("decided", "revising") and v.date_reached(s.review_on, now):
        state = "review_due"
    asked, advice = asked_and_advice(item)
    return Decision(
        id=item.id, title=v.shown(raw.get("title"), v.MAX_TITLE_CHARS),
        proposal=v.shown(raw.get("proposal")), decider=item.created_by,
        created_at=item.created_at,
        deadline=deadline_text(item),
        state=state, asked=asked, advice=advice, decision=s.text, decided_at=s.at,
        review_on=s.review_on, basis=s.basis, withdrawn_note=s.withdrawn_note,
        reviews=list(s.reviews), links=links_of(item), deadline_moves=deadline_moves(item), notes=notes(events),
        needs_reconciliation=r.needs_reconciliation, candidates=r.candidates,
        history=chronological(events))


def waiting_on(found: Iterable[Decision], member: str, now: _dt.datetime) -> list[Waiting]:
    """What the decisions ask of ``member`` now: advice asked of them (until the
    deadline), and for the decider a deadline passed or a review due."""
    out = []
    for d in found:
        if d.needs_reconciliation:
            continue
        deadline = moment_of(d.deadline)
        if d.state == "gathering_advice":
            mine = next((a for a in d.asked if a.member == member), None)
            if mine is not None and not (mine.answered or mine.declined or mine.withdrawn) \
                    and (deadline is None or now < deadline):
                out.append(Waiting("decision", d.id, "advice_asked", d.title,
                                   "your advice is asked: give it, or decline to advise",
                                   mine.at, d.deadline or None))
            if member == d.decider and deadline is not None and now >= deadline:
                out.append(Waiting("decision", d.id, "deadline_passed", d.title,
                                   "the deadline for advice has passed: decide, move the "
                                   "deadline, or withdraw it", d.deadline, d.deadline))
        elif d.state == "review_due" and member == d.decider and d.review_on:
            due = v.day_start(d.review_on)
            out.append(Waiting("decision", d.id, "review_due", d.title,
                               "its review is due: keep it, revise it or retire it", due, due))
    return out
