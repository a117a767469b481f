"""Capacity: check-ins and each member's load.

Document kind ``capacity``. A **check-in** is one ``checkin`` record whose body
holds ``level`` (depleted / stretched / baseline / spacious) and ``note``; the
member is its signer and the time its record's. Check-ins are never changed,
so the history is kept; a member's latest check-in is their current capacity.
A check-in whose level is not one of the levels counts for nothing. The same
document holds "are you mobilizing?" asks (:mod:`.discernment`) and allies'
recurring check-ins (:mod:`.allies`).

Load is derived, never stored: the needs a member holds and the agreements they
are a party to (active, review due or renegotiating). An agreement a member
said is no longer within their capacity is listed apart (``strained``), not in
their load. It is listed by member id, never ranked — it exists to help the pod
discern together, not to compare. Checking in stretched or depleted brings up
each thing a member holds with "still within my capacity?" (:func:`review`).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING, Literal

import msgspec

from podsync.pod import common as v
from podsync.pod.events import Item
from podsync.records.format import Draft

if TYPE_CHECKING:
    from podsync.pod.agreements import Agreement
    from podsync.pod.needs import Need

KIND = "capacity"
CHECKIN = "checkin"
LEVELS = ("depleted", "stretched", "baseline", "spacious")
#: Check-ins that bring up "still within my capacity?" for each thing held.
REVIEW_LEVELS = ("depleted", "stretched")
#: Agreement states that ask something of their parties now.
LOAD_AGREEMENT_STATES = ("active", "review_due", "renegotiating")
#: Agreement states in which a party is still holding it (paused ones too).
HELD_AGREEMENT_STATES = LOAD_AGREEMENT_STATES + ("paused",)
STILL_WITHIN = "Still within my capacity?"


class CheckIn(msgspec.Struct, frozen=True):
    id: str
    member: str
    at: str
    level: str
    note: str


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
    #: Agreements they said are no longer within their capacity: not in the load.
    strained: list[LoadItem]


class ReviewItem(msgspec.Struct, frozen=True):
    """Something a member holds, with the question a low check-in brings up."""

    kind: Literal["agreement", "need"]
    id: str
    title: str
    question: str


class _Holder(msgspec.Struct, frozen=True):
    member: str


class HeldNeed(msgspec.Struct, frozen=True):
    """What load and review read of a need's view (the rest is not decoded)."""

    id: str
    title: str
    state: str
    holders: list[_Holder]


class _Party(msgspec.Struct, frozen=True):
    member: str
    no_longer: str | None
    withdrawn: bool = False


class HeldAgreement(msgspec.Struct, frozen=True):
    """What load and review read of an agreement's view (the rest is not decoded)."""

    id: str
    what: str
    state: str
    parties: list[_Party]


# -- check-ins -------------------------------------------------------------------


def check_in(level: str, note: str = "") -> Draft:
    """Say where the signer's capacity is now; earlier check-ins stay in the history."""
    return Draft(CHECKIN, {"level": v.choice(level, "level", LEVELS),
                           "note": v.text(note, "note", required=False)})


def checkin(item: Item) -> CheckIn | None:
    """A ``checkin`` item's check-in; None if its level is not a level (it counts
    for nothing)."""
    if item.fields.get("level") not in LEVELS:
        return None
    return CheckIn(id=item.id, member=item.created_by, at=item.created_at,
                   level=item.fields["level"], note=v.shown(item.fields.get("note")))


def checkins(items: dict[str, Item]) -> list[CheckIn]:
    """Every check-in (``checkin`` items), oldest first."""
    out = [c for c in map(checkin, items.values()) if c is not None]
    return sorted(out, key=lambda c: (c.at, c.id))


def current_capacity(history: Iterable[CheckIn]) -> dict[str, CheckIn]:
    """Each member's latest check-in, from the history oldest first."""
    return {c.member: c for c in history}


# -- load ------------------------------------------------------------------------


def loads(needs: Iterable[Need | HeldNeed], agreements: Iterable[Agreement | HeldAgreement],
          checkins: Iterable[CheckIn],
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
    strained: dict[str, list[LoadItem]] = {}
    for a in agreements:
        for p in a.parties:
            if p.withdrawn or a.state not in HELD_AGREEMENT_STATES:
                continue
            if p.no_longer is not None:
                strained.setdefault(p.member, []).append(LoadItem(a.id, a.what))
            elif a.state in LOAD_AGREEMENT_STATES:
                parties.setdefault(p.member, []).append(LoadItem(a.id, a.what))
    latest = {c.member: c for c in sorted(checkins, key=lambda c: (c.at, c.id))}
    everyone = set(members) | set(held) | set(parties) | set(strained) | set(latest)
    return [MemberLoad(member=m, capacity=latest[m].level if m in latest else None,
                       capacity_note=latest[m].note if m in latest else "",
                       checked_in_at=latest[m].at if m in latest else None,
                       needs=held.get(m, []), agreements=parties.get(m, []),
                       strained=strained.get(m, []))
            for m in sorted(everyone)]


def review(member: str, needs: Iterable[Need | HeldNeed],
           agreements: Iterable[Agreement | HeldAgreement]) -> list[ReviewItem]:
    """Everything ``member`` holds now — agreements they have not said are beyond
    them, needs they hold — each with "still within my capacity?"."""
    out = [ReviewItem("agreement", a.id, a.what, STILL_WITHIN) for a in agreements
           if a.state in HELD_AGREEMENT_STATES and any(
               p.member == member and not p.withdrawn and p.no_longer is None
               for p in a.parties)]
    out += [ReviewItem("need", n.id, n.title, STILL_WITHIN) for n in needs
            if n.state == "held" and any(h.member == member for h in n.holders)]
    return out
