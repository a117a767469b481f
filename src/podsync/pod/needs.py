"""The needs board: anyone names a need; anyone may take it on without permission.

Document kind ``needs``. A need is created by an ``add`` record whose body holds
``title``, ``detail`` and ``sensing`` (emergent / neglected / void); who named it
and when are its signer and time. State events: ``hold``, ``release``,
``contact`` (point of contact among holders), ``attend``, ``let_be``, ``reopen``,
``settle``; ``note`` changes no state. Replay applies the same rules the
operations check (only a holder marks a need attended, ...), so a signed record
that breaks them changes nothing.

States: ``open`` (no holder) → ``held`` (one or more holders) → ``attended``;
the last holder releasing returns it to ``open``; an open need may be *let be*
(a void left on purpose, with a reason); attended and let-be needs may be
reopened. Neglect is derived at read time against ``now``: open with no holder
for ``unheld_days``, a holder with no event on the need for ``silent_days``
(:class:`Neglect`; pod settings, :mod:`podsync.pod.settings`, with
:data:`NEED_UNHELD_DAYS` and :data:`HOLDER_SILENT_DAYS` as defaults).
"""

from __future__ import annotations

import datetime as _dt
from typing import Any, Literal

import msgspec
from msgspec.structs import replace

from podsync.errors import NotFound, NotPermitted, TransitionRefused
from podsync.pod import common as v
from podsync.pod.common import Note, Waiting
from podsync.pod.events import (
    Candidate, Current, Event, Item, Lifecycle, chronological, current, event_draft, notes,
    replay, settle, state_draft,
)
from podsync.records.format import Draft

KIND = "needs"
ADD = "add"
STATES = ("open", "held", "attended", "let_be")
SENSINGS = ("emergent", "neglected", "void")
#: Two weeks: a pod meeting at least fortnightly will have seen an unheld need
#: once; past that it is being stepped around rather than not yet noticed.
NEED_UNHELD_DAYS = 14
#: A month without a word from a holder: long enough for a busy stretch, short
#: enough that a quietly dropped need surfaces before it becomes a crisis.
HOLDER_SILENT_DAYS = 30


class Neglect(msgspec.Struct, frozen=True):
    """When a need shows as neglected (the pod's settings)."""

    unheld_days: int = NEED_UNHELD_DAYS
    silent_days: int = HOLDER_SILENT_DAYS


class Holder(msgspec.Struct, frozen=True):
    member: str
    since: str
    point_of_contact: bool


class NeglectSignal(msgspec.Struct, frozen=True):
    """``unheld``: open with no holder; ``holder_silent``: ``member`` said nothing."""

    signal: Literal["unheld", "holder_silent"]
    since: str
    days: int
    member: str | None = None


class Need(msgspec.Struct, frozen=True):
    id: str
    title: str
    detail: str
    sensing: str
    created_by: str
    created_at: str
    state: str
    since: str
    holders: list[Holder]
    reason: str
    neglect: list[NeglectSignal]
    notes: list[Note]
    needs_reconciliation: bool
    candidates: list[Candidate]
    history: list[Event]


class _State(msgspec.Struct, frozen=True):
    status: str  # "active" (open or held, by holders), "attended", "let_be"
    holders: tuple[tuple[str, str], ...]  # (member, since)
    contact: str | None
    reason: str
    since: str


def _name(s: _State) -> str:
    if s.status == "active":
        return "held" if s.holders else "open"
    return s.status


def _apply(s: _State, e: Event) -> _State:
    holders = dict(s.holders)
    after = s
    if e.op == "hold" and s.status == "active" and e.by not in holders:
        holders[e.by] = e.at
        after = replace(s, holders=tuple(holders.items()),
                        contact=e.by if e.args.get("point_of_contact") is True else s.contact)
    elif e.op == "release" and e.by in holders:
        del holders[e.by]
        after = replace(s, holders=tuple(holders.items()),
                        contact=None if s.contact == e.by else s.contact)
    elif e.op == "contact" and e.by in holders and e.args.get("member") in holders:
        after = replace(s, contact=e.args["member"])
    elif e.op == "attend" and s.status == "active" and e.by in holders:
        after = replace(s, status="attended", reason=str(e.args.get("note", "")))
    elif e.op == "let_be" and s.status == "active":
        after = replace(s, status="let_be", holders=(), contact=None,
                        reason=str(e.args.get("reason", "")))
    elif e.op == "reopen" and s.status != "active":
        after = replace(s, status="active", holders=(), contact=None, reason="")
    if _name(after) != _name(s):
        after = replace(after, since=e.at)
    return after


LIFECYCLE: Lifecycle[_State] = Lifecycle(
    states=STATES,
    state_ops=frozenset({"hold", "release", "contact", "attend", "let_be", "reopen"}),
    apply=_apply, name=_name, key=_name,
    summary=lambda s: {"holders": [m for m, _ in s.holders], "reason": s.reason},
)


def _initial(item: Item) -> _State:
    return _State("active", (), None, "", item.created_at)


def add_need(title: str, detail: str = "", sensing: str = "emergent", *,
             origin: str | None = None) -> Draft:
    """Name a need on the board. ``origin`` ties it to what it came from (a routed
    feedback proposal), so routing it twice lands on one need."""
    body: dict[str, Any] = {"title": v.title(title),
                            "detail": v.text(detail, "detail", required=False),
                            "sensing": v.choice(sensing, "sensing", SENSINGS)}
    if origin is not None:
        body["origin"] = v.item_id(origin, "origin")
    return Draft(ADD, body)


def _load(item: Item, *, settled: bool = True) -> Current[_State]:
    return current(item, LIFECYCLE, _initial, settled=settled)


def _refuse_unless(cur: Current[_State], allowed: tuple[str, ...], doing: str) -> None:
    state = _name(cur.state)
    if state not in allowed:
        raise TransitionRefused(f"cannot {doing}: the need is {state.replace('_', ' ')}")


def hold_need(item: Item, by: str, point_of_contact: bool = False) -> Draft:
    """``by`` takes the need on (co-holding if others hold it already)."""
    by = v.member_id(by, "by")
    cur = _load(item)
    _refuse_unless(cur, ("open", "held"), "take it on")
    if by in dict(cur.state.holders):
        raise TransitionRefused("you already hold this need")
    return state_draft(cur, "hold", point_of_contact=bool(point_of_contact))


def release_need(item: Item, by: str, note: str = "") -> Draft:
    """``by`` lets go of the need; with no holder left it is open again."""
    by, note = v.member_id(by, "by"), v.text(note, "note", required=False)
    cur = _load(item)
    if by not in dict(cur.state.holders):
        raise TransitionRefused("you do not hold this need")
    return state_draft(cur, "release", note=note)


def set_point_of_contact(item: Item, by: str, member: str) -> Draft:
    """Holders name one of themselves as the need's point of contact."""
    by, member = v.member_id(by, "by"), v.member_id(member)
    cur = _load(item)
    holders = dict(cur.state.holders)
    if by not in holders:
        raise NotPermitted("only a holder of the need can name its point of contact")
    if member not in holders:
        raise TransitionRefused(f"{member} does not hold this need")
    return state_draft(cur, "contact", member=member)


def attend_need(item: Item, by: str, note: str = "") -> Draft:
    """A holder records that the need has been attended."""
    by, note = v.member_id(by, "by"), v.text(note, "note", required=False)
    cur = _load(item)
    _refuse_unless(cur, ("held",), "mark it attended")
    if by not in dict(cur.state.holders):
        raise NotPermitted("only a holder can mark the need attended; take it on first")
    return state_draft(cur, "attend", note=note)


def let_need_be(item: Item, by: str, reason: str) -> Draft:
    """Leave an open need as a void on purpose, saying why."""
    v.member_id(by, "by")
    reason = v.text(reason, "reason")
    cur = _load(item)
    _refuse_unless(cur, ("open",), "let it be")
    return state_draft(cur, "let_be", reason=reason)


def reopen_need(item: Item, by: str, note: str = "") -> Draft:
    """An attended or let-be need is open again."""
    v.member_id(by, "by")
    note = v.text(note, "note", required=False)
    cur = _load(item)
    _refuse_unless(cur, ("attended", "let_be"), "reopen it")
    return state_draft(cur, "reopen", note=note)


def note_need(item: Item, by: str, text: str) -> Draft:
    v.member_id(by, "by")
    return event_draft(_load(item, settled=False), "note", text=v.text(text, "text"))


def settle_need(item: Item, by: str, choice: str) -> Draft:
    """Resolve concurrent, different changes by choosing one candidate state."""
    v.member_id(by, "by")
    return settle(_load(item, settled=False), choice)


# -- reading -------------------------------------------------------------------


def needs(items: dict[str, Item], now: _dt.datetime, limits: Neglect = Neglect()) -> list[Need]:
    """Every need on the board, oldest first, with neglect signals as of ``now``."""
    return sorted((derive(i, now, limits) for i in items.values()),
                  key=lambda n: (n.created_at, n.id))


def need(items: dict[str, Item], need_id: str, now: _dt.datetime,
         limits: Neglect = Neglect()) -> Need:
    item = items.get(need_id)
    if item is None:
        raise NotFound(f"no need {need_id}")
    return derive(item, now, limits)


def _after_days(at: str, days: int) -> str:
    try:
        return (v.parse_at(at) + _dt.timedelta(days=days)).isoformat()
    except (ValueError, OverflowError):  # a signer's clock at the end of the calendar
        return at


def waiting_on(found: list[Need], member: str, limits: Neglect = Neglect()) -> list[Waiting]:
    """What the board asks of ``member`` now: needs they hold that went quiet, and
    needs open with no holder past the pod's threshold (every member's)."""
    out = []
    for n in found:
        if n.needs_reconciliation:
            continue
        for signal in n.neglect:
            if signal.signal == "unheld":
                out.append(Waiting("need", n.id, "unheld", n.title,
                                   f"nobody has held it for {signal.days} days: take it on, "
                                   "or let it be", signal.since,
                                   _after_days(signal.since, limits.unheld_days)))
            elif signal.member == member:
                out.append(Waiting("need", n.id, "holder_silent", n.title,
                                   f"you hold it and said nothing for {signal.days} days: "
                                   "leave a note, mark it done, or release it", signal.since,
                                   _after_days(signal.since, limits.silent_days)))
    return out


def derive(item: Item, now: _dt.datetime, limits: Neglect = Neglect()) -> Need:
    """The need as of ``now``; total: whatever a signed record's body holds."""
    events = item.events
    raw = item.fields
    r = replay(events, LIFECYCLE, _initial(item))
    s, state = r.state, _name(r.state)
    neglect: list[NeglectSignal] = []
    if state == "open" and s.since and v.days_between(s.since, now) >= limits.unheld_days:
        neglect.append(NeglectSignal("unheld", s.since, v.days_between(s.since, now)))
    if state == "held":
        for member, since in s.holders:
            last = max([since] + [e.at for e in events if e.by == member])
            if v.days_between(last, now) >= limits.silent_days:
                neglect.append(NeglectSignal("holder_silent", last,
                                             v.days_between(last, now), member))
    return Need(
        id=item.id, title=v.shown(raw.get("title")), detail=v.shown(raw.get("detail")),
        sensing=v.shown(raw.get("sensing")), created_by=item.created_by,
        created_at=item.created_at, state=state, since=s.since,
        holders=[Holder(m, since, m == s.contact) for m, since in s.holders],
        reason=s.reason, neglect=neglect, notes=notes(events),
        needs_reconciliation=r.needs_reconciliation, candidates=r.candidates,
        history=chronological(events))
