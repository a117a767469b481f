"""Reading agreements: each one derived from its records as of a moment, and what
the agreements ask of a member now.
"""

from __future__ import annotations

import datetime as _dt
from collections.abc import Iterable
from typing import Literal

import msgspec

from podsync.errors import NotFound
from podsync.pod import common as v
from podsync.pod.agreement_replay import LIFECYCLE, Affirmed, Said, counted, initial
from podsync.pod.agreement_terms import Anchor, Version
from podsync.pod.common import Note, Waiting
from podsync.pod.events import Candidate, Event, Item, chronological, notes, replay


class Party(msgspec.Struct, frozen=True):
    member: str
    affirmed: bool
    affirmed_at: str | None
    note: str
    #: Set when the party said it is no longer within their capacity (and has not
    #: affirmed since): the note they gave.
    no_longer: str | None
    #: Set when the party declined the proposed version: their note.
    declined: str | None = None
    #: The party took themselves out of it.
    withdrawn: bool = False
    #: The party consents to retire it.
    retiring: bool = False


class Revision(msgspec.Struct, frozen=True):
    """A proposed version, waiting for every one of its parties to affirm it."""

    version: int
    what: str
    parties: list[Party]
    anchors: list[Anchor]
    review_on: str | None
    at: str
    by: str
    #: Parties of the version in force this revision leaves out.
    leaving: list[str]


class Agreement(msgspec.Struct, frozen=True):
    id: str
    created_by: str
    created_at: str
    state: str
    version: int
    what: str
    parties: list[Party]
    anchors: list[Anchor]
    review_on: str | None
    renewed_at: str | None
    versions: list[Version]
    revision: Revision | None
    reminders: list[str]
    notes: list[Note]
    needs_reconciliation: bool
    candidates: list[Candidate]
    history: list[Event]


def reminders(events: list[Event]) -> list[str]:
    out: list[str] = []
    for e in chronological(events):
        if e.op == "remind" and e.by not in out:
            out.append(e.by)
        elif e.op == "unremind" and e.by in out:
            out.remove(e.by)
    return out


def agreements(items: dict[str, Item], now: _dt.datetime) -> list[Agreement]:
    """Every agreement, oldest first; ``review_due`` is derived against ``now``."""
    return sorted((derive(i, now) for i in items.values()), key=lambda a: (a.created_at, a.id))


def agreement(items: dict[str, Item], agreement_id: str, now: _dt.datetime) -> Agreement:
    item = items.get(agreement_id)
    if item is None:
        raise NotFound(f"no agreement {agreement_id}")
    return derive(item, now)


def _parties(members: list[str], affirmed: Affirmed, no_longer: Said, declined: Said,
             withdrawn: tuple[str, ...] = (), retiring: tuple[str, ...] = ()) -> list[Party]:
    said = {m: (at, note) for m, at, note in affirmed}
    strained, refused = dict(no_longer), dict(declined)
    return [Party(m, m in said, said.get(m, (None, ""))[0], said.get(m, (None, ""))[1],
                  strained.get(m), refused.get(m), m in withdrawn, m in retiring)
            for m in members]


def derive(item: Item, now: _dt.datetime) -> Agreement:
    """The agreement as of ``now``; total: whatever a signed record's body holds."""
    events = item.events
    r = replay(counted(item).events, LIFECYCLE, initial(item))
    s = r.state
    state = s.status
    if state == "active" and v.date_reached(s.review_on, now):
        state = "review_due"
    latest = s.versions[-1]
    revision = None
    if s.revision is not None and s.status != "retired":
        revision = Revision(
            version=s.revision.version, what=s.revision.what,
            parties=_parties(s.revision.parties, s.revision_affirmed, (), s.revision_declined),
            anchors=s.revision.anchors, review_on=s.revision.review_on, at=s.revision.at,
            by=s.revision.by, leaving=[m for m in s.parties if m not in s.revision.parties])
    return Agreement(
        id=item.id, created_by=item.created_by, created_at=item.created_at, state=state,
        version=latest.version, what=latest.what,
        parties=_parties(latest.parties, s.affirmed, s.no_longer, s.declined, s.withdrawn,
                         s.retiring),
        anchors=latest.anchors, review_on=s.review_on, renewed_at=s.renewed_at,
        versions=list(s.versions), revision=revision, reminders=reminders(events),
        notes=notes(events), needs_reconciliation=r.needs_reconciliation, candidates=r.candidates,
        history=chronological(events))


class Awaiting(msgspec.Struct, frozen=True):
    """An agreement that asks something of a member now, and why."""

    agreement: str
    what: str
    #: ``affirm``: a proposed version waits for their word; ``removed``: a proposed
    #: revision leaves them out; ``retire``: other parties consent to retire it.
    reason: Literal["affirm", "removed", "retire"]
    version: int


def awaiting(found: Iterable[Agreement], member: str) -> list[Awaiting]:
    """What the agreements ask of ``member`` now (an inbox reads this)."""
    out = []
    for a in found:
        if a.needs_reconciliation or a.state == "retired":
            continue
        me = next((p for p in a.parties if p.member == member and not p.withdrawn), None)
        if me is not None and a.state in ("proposed", "declined", "renegotiating") \
                and not me.affirmed and me.declined is None and me.no_longer is None:
            out.append(Awaiting(a.id, a.what, "affirm", a.version))
        if me is not None and any(p.retiring for p in a.parties) and not me.retiring:
            out.append(Awaiting(a.id, a.what, "retire", a.version))
        r = a.revision
        if r is None:
            continue
        mine = next((p for p in r.parties if p.member == member), None)
        if mine is not None and not mine.affirmed and mine.declined is None:
            out.append(Awaiting(a.id, r.what, "affirm", r.version))
        if member in r.leaving:
            out.append(Awaiting(a.id, r.what, "removed", r.version))
    return out


_AWAITING_ACTIONS = {
    "affirm": "affirm it if it is within your capacity, or decline it",
    "removed": "a proposed revision leaves you out: see it, and say so if that is wrong",
    "retire": "other parties consent to retire it: consent too, or say why not",
}


def waiting_on(found: Iterable[Agreement], member: str) -> list[Waiting]:
    """What the agreements ask of ``member`` now, with since when: :func:`awaiting`,
    plus a review due or a renegotiation where they are a party or a reminder."""
    out = []
    for a in found:
        if a.needs_reconciliation or a.state == "retired":
            continue
        waits = awaiting([a], member)
        for w in waits:
            since = a.revision.at if a.revision is not None and w.version == a.revision.version \
                else a.versions[-1].at if a.versions else a.created_at
            out.append(Waiting("agreement", a.id, w.reason, w.what, _AWAITING_ACTIONS[w.reason],
                               since))
        party = any(p.member == member and not p.withdrawn for p in a.parties)
        reminder = member in a.reminders
        if not (party or reminder):
            continue
        if a.state == "review_due" and a.review_on:
            out.append(Waiting(
                "agreement", a.id, "review_due", a.what,
                "its review is due: renew it, revise it or retire it" if party else
                "its review is due: remind its parties (you volunteered)",
                v.day_start(a.review_on), v.day_start(a.review_on)))
        elif a.state == "renegotiating" and not any(w.reason == "affirm" for w in waits):
            since = max([a.created_at] + [e.at for e in a.history
                                          if e.op in ("no_longer", "withdraw")])
            out.append(Waiting(
                "agreement", a.id, "renegotiating", a.what,
                "it is being renegotiated: revise it together, or retire it" if party else
                "it is being renegotiated: remind its parties (you volunteered)", since))
    return out
