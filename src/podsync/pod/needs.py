"""The needs board: anyone names a need; anyone may take it on without permission.

Document kind ``needs``; root map ``items`` holds one item per need. Creation
fields (immutable): ``title``, ``detail``, ``sensing`` (emergent / neglected /
void), ``created_by``, ``created_at``. State events: ``hold``, ``release``,
``contact`` (point of contact among holders), ``attend``, ``let_be``, ``reopen``,
``settle``; ``note`` changes no state.

States: ``open`` (no holder) → ``held`` (one or more holders) → ``attended``;
the last holder releasing returns it to ``open``; an open need may be *let be*
(a void left on purpose, with a reason); attended and let-be needs may be
reopened. Neglect is derived at read time against ``now``: open with no holder
for :data:`NEED_UNHELD_DAYS`, a holder with no event on the need for
:data:`HOLDER_SILENT_DAYS`.
"""

from __future__ import annotations

import datetime as _dt
from dataclasses import dataclass, replace
from typing import Any, Literal

import msgspec

from podsync.errors import NotPermitted, TransitionRefused
from podsync.pod import common as v
from podsync.pod.common import ITEMS_KEY, Note
from podsync.pod.events import (
    Candidate, Current, Event, Lifecycle, chronological, load, notes, parse_events, replay,
    settle, write_event, write_state_event,
)

KIND = "needs"
STATES = ("open", "held", "attended", "let_be")
SENSINGS = ("emergent", "neglected", "void")
#: Two weeks: a pod meeting at least fortnightly will have seen an unheld need
#: once; past that it is being stepped around rather than not yet noticed.
NEED_UNHELD_DAYS = 14
#: A month without a word from a holder: long enough for a busy stretch, short
#: enough that a quietly dropped need surfaces before it becomes a crisis.
HOLDER_SILENT_DAYS = 30


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


@dataclass(frozen=True)
class _State:
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
                        contact=e.by if e.args.get("point_of_contact") else s.contact)
    elif e.op == "release" and e.by in holders:
        del holders[e.by]
        after = replace(s, holders=tuple(holders.items()),
                        contact=None if s.contact == e.by else s.contact)
    elif e.op == "contact" and e.args.get("member") in holders:
        after = replace(s, contact=e.args["member"])
    elif e.op == "attend" and s.status == "active":
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


def _initial(fields: dict[str, Any]) -> _State:
    return _State("active", (), None, "", str(fields.get("created_at", "")))


def init_needs(tx: Any) -> None:
    """Set up a new needs document (call once, when the document is created)."""
    v.init_document(tx, KIND, maps=[ITEMS_KEY])


def add_need(tx: Any, by: str, at: _dt.datetime, title: str, detail: str = "",
             sensing: str = "emergent", need_id: str | None = None) -> str:
    """Name a need on the board; returns its id. ``need_id`` is for derived ids."""
    fields = {"title": v.title(title), "detail": v.text(detail, "detail", required=False),
              "sensing": v.choice(sensing, "sensing", SENSINGS),
              "created_by": v.member_id(by, "by"), "created_at": v.iso_at(at)}
    new = v.item_id(need_id) if need_id is not None else v.new_id()
    items = v.container(tx, ITEMS_KEY, KIND)
    if tx.get(items, new) is not None:
        raise TransitionRefused(f"need {new} already exists")
    v.create_item(tx, items, new, fields)
    return new


def _load(tx: Any, need_id: str, *, settled: bool = True) -> Current[_State]:
    return load(tx, v.container(tx, ITEMS_KEY, KIND), v.item_id(need_id, "need"), "need",
                LIFECYCLE, _initial, settled=settled)


def _refuse_unless(cur: Current[_State], allowed: tuple[str, ...], doing: str) -> None:
    state = _name(cur.state)
    if state not in allowed:
        raise TransitionRefused(f"cannot {doing}: the need is {state.replace('_', ' ')}")


def hold_need(tx: Any, need_id: str, by: str, at: _dt.datetime,
              point_of_contact: bool = False) -> str:
    """``by`` takes the need on (co-holding if others hold it already)."""
    by, when = v.member_id(by, "by"), v.iso_at(at)
    cur = _load(tx, need_id)
    _refuse_unless(cur, ("open", "held"), "take it on")
    if by in dict(cur.state.holders):
        raise TransitionRefused("you already hold this need")
    return write_state_event(tx, cur, by=by, at=when, op="hold",
                             point_of_contact=bool(point_of_contact))


def release_need(tx: Any, need_id: str, by: str, at: _dt.datetime, note: str = "") -> str:
    """``by`` lets go of the need; with no holder left it is open again."""
    by, when, note = v.member_id(by, "by"), v.iso_at(at), v.text(note, "note", required=False)
    cur = _load(tx, need_id)
    if by not in dict(cur.state.holders):
        raise TransitionRefused("you do not hold this need")
    return write_state_event(tx, cur, by=by, at=when, op="release", note=note)


def set_point_of_contact(tx: Any, need_id: str, by: str, at: _dt.datetime, member: str) -> str:
    """Holders name one of themselves as the need's point of contact."""
    by, when, member = v.member_id(by, "by"), v.iso_at(at), v.member_id(member)
    cur = _load(tx, need_id)
    holders = dict(cur.state.holders)
    if by not in holders:
        raise NotPermitted("only a holder of the need can name its point of contact")
    if member not in holders:
        raise TransitionRefused(f"{member} does not hold this need")
    return write_state_event(tx, cur, by=by, at=when, op="contact", member=member)


def attend_need(tx: Any, need_id: str, by: str, at: _dt.datetime, note: str = "") -> str:
    """A holder records that the need has been attended."""
    by, when, note = v.member_id(by, "by"), v.iso_at(at), v.text(note, "note", required=False)
    cur = _load(tx, need_id)
    _refuse_unless(cur, ("held",), "mark it attended")
    if by not in dict(cur.state.holders):
        raise NotPermitted("only a holder can mark the need attended; take it on first")
    return write_state_event(tx, cur, by=by, at=when, op="attend", note=note)


def let_need_be(tx: Any, need_id: str, by: str, at: _dt.datetime, reason: str) -> str:
    """Leave an open need as a void on purpose, saying why."""
    by, when, reason = v.member_id(by, "by"), v.iso_at(at), v.text(reason, "reason")
    cur = _load(tx, need_id)
    _refuse_unless(cur, ("open",), "let it be")
    return write_state_event(tx, cur, by=by, at=when, op="let_be", reason=reason)


def reopen_need(tx: Any, need_id: str, by: str, at: _dt.datetime, note: str = "") -> str:
    """An attended or let-be need is open again."""
    by, when, note = v.member_id(by, "by"), v.iso_at(at), v.text(note, "note", required=False)
    cur = _load(tx, need_id)
    _refuse_unless(cur, ("attended", "let_be"), "reopen it")
    return write_state_event(tx, cur, by=by, at=when, op="reopen", note=note)


def note_need(tx: Any, need_id: str, by: str, at: _dt.datetime, text: str) -> str:
    by, when, body = v.member_id(by, "by"), v.iso_at(at), v.text(text, "text")
    return write_event(tx, _load(tx, need_id, settled=False), by=by, at=when, op="note", text=body)


def settle_need(tx: Any, need_id: str, by: str, at: _dt.datetime, choice: str) -> str:
    """Resolve concurrent, different changes by choosing one candidate state."""
    by, when = v.member_id(by, "by"), v.iso_at(at)
    return settle(tx, _load(tx, need_id, settled=False), by=by, at=when, choice=choice)


# -- reading -------------------------------------------------------------------


def needs(doc: Any, now: _dt.datetime) -> list[Need]:
    """Every need on the board, oldest first, with neglect signals as of ``now``."""
    return v.derive_items(doc, _derive, now)


def need(doc: Any, need_id: str, now: _dt.datetime) -> Need:
    return v.derive_item(doc, need_id, _derive, now, "need")


def _derive(raw: dict[str, Any], now: _dt.datetime) -> Need:
    events = parse_events(raw.get("events"))
    r = replay(events, LIFECYCLE, _initial(raw))
    s, state = r.state, _name(r.state)
    neglect: list[NeglectSignal] = []
    if state == "open" and s.since and v.days_between(s.since, now) >= NEED_UNHELD_DAYS:
        neglect.append(NeglectSignal("unheld", s.since, v.days_between(s.since, now)))
    if state == "held":
        for member, since in s.holders:
            last = max([since] + [e.at for e in events if e.by == member])
            if v.days_between(last, now) >= HOLDER_SILENT_DAYS:
                neglect.append(NeglectSignal("holder_silent", last,
                                             v.days_between(last, now), member))
    return Need(
        id=str(raw.get("id")), title=str(raw.get("title", "")), detail=str(raw.get("detail", "")),
        sensing=str(raw.get("sensing", "")), created_by=str(raw.get("created_by", "")),
        created_at=str(raw.get("created_at", "")), state=state, since=s.since,
        holders=[Holder(m, since, m == s.contact) for m, since in s.holders],
        reason=s.reason, neglect=neglect, notes=notes(events),
        needs_reconciliation=r.needs_reconciliation, candidates=r.candidates,
        history=chronological(events))
