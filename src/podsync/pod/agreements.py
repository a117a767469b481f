"""Agreements: concrete actions, each within the capacity of every party.

Document kind ``agreements``; root map ``items`` holds one item per agreement.
Creation fields hold version 1 (``what``, ``parties``, ``anchors``,
``review_on``) and ``created_by`` / ``created_at``. A ``revise`` event carries a
whole new version; older versions stay in the history and in ``versions``.

State events: ``affirm`` (a party: within my capacity, with a note),
``no_longer`` (a party: no longer within my capacity), ``renew`` (new review
date), ``revise``, ``pause``, ``resume``, ``retire``, ``settle``. Events that
change no state: ``remind`` / ``unremind`` (volunteering as a reminder), ``note``.

States: ``proposed`` → ``active`` once every party of the current version has
affirmed → ``review_due`` (derived: active and the review date reached) →
renewed (active again, new review date) / revised (a new version, ``proposed``
again) / ``paused`` / ``retired``. A party saying it is no longer within their
capacity moves it to ``renegotiating`` — an agreement is never "broken"; it
becomes active again when that party affirms again, or is revised or retired.
"""

from __future__ import annotations

import datetime as _dt
from collections.abc import Iterable
from dataclasses import dataclass, replace
from typing import Any, Literal

import msgspec

from podsync.errors import InvalidInput, NotPermitted, TransitionRefused
from podsync.pod import common as v
from podsync.pod.common import ITEMS_KEY, Note
from podsync.pod.events import (
    Candidate, Current, Event, Lifecycle, chronological, load, notes, parse_events, replay,
    settle, write_event, write_state_event,
)

KIND = "agreements"
STATES = ("proposed", "active", "review_due", "renegotiating", "paused", "retired")
ANCHOR_KINDS = ("principle", "need")


class Anchor(msgspec.Struct, frozen=True):
    """What an agreement anchors: a principle (its words) or a need (its id)."""

    kind: Literal["principle", "need"]
    ref: str


class Party(msgspec.Struct, frozen=True):
    member: str
    affirmed: bool
    affirmed_at: str | None
    note: str
    #: Set when the party said it is no longer within their capacity (and has not
    #: affirmed since): the note they gave.
    no_longer: str | None


class Version(msgspec.Struct, frozen=True):
    version: int
    what: str
    parties: list[str]
    anchors: list[Anchor]
    review_on: str | None
    at: str
    by: str


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
    reminders: list[str]
    notes: list[Note]
    needs_reconciliation: bool
    candidates: list[Candidate]
    history: list[Event]


@dataclass(frozen=True)
class _State:
    status: str
    versions: tuple[Version, ...]
    version_event: str
    affirmed: tuple[tuple[str, str, str], ...]  # (member, at, note), current version
    no_longer: tuple[tuple[str, str], ...]  # (member, note), current version
    review_on: str | None
    renewed_at: str | None

    @property
    def parties(self) -> list[str]:
        return self.versions[-1].parties

    def has_affirmed(self, member: str) -> bool:
        return any(m == member for m, _, _ in self.affirmed)


def _apply(s: _State, e: Event) -> _State:
    a = e.args
    if e.op == "affirm" and s.status in ("proposed", "renegotiating") \
            and e.by in s.parties and not s.has_affirmed(e.by):
        affirmed = s.affirmed + ((e.by, e.at, str(a.get("note", ""))),)
        done = {m for m, _, _ in affirmed} >= set(s.parties)
        return replace(s, affirmed=affirmed, status="active" if done else s.status,
                       no_longer=tuple(x for x in s.no_longer if x[0] != e.by))
    if e.op == "no_longer" and s.status != "retired" and e.by in s.parties:
        return replace(s, status="renegotiating",
                       affirmed=tuple(x for x in s.affirmed if x[0] != e.by),
                       no_longer=tuple(x for x in s.no_longer if x[0] != e.by)
                       + ((e.by, str(a.get("note", ""))),))
    if e.op == "renew" and s.status == "active":
        return replace(s, review_on=a.get("review_on"), renewed_at=e.at)
    if e.op == "revise" and s.status != "retired":
        version = _version(a, len(s.versions) + 1, e.at, e.by)
        return replace(s, status="proposed", versions=s.versions + (version,), version_event=e.id,
                       affirmed=(), no_longer=(), review_on=version.review_on, renewed_at=None)
    if e.op == "pause" and s.status in ("active", "renegotiating"):
        return replace(s, status="paused")
    if e.op == "resume" and s.status == "paused":
        done = {m for m, _, _ in s.affirmed} >= set(s.parties)
        return replace(s, status="active" if done else "renegotiating")
    if e.op == "retire":
        return replace(s, status="retired")
    return s


def _version(raw: dict[str, Any], number: int, at: str, by: str) -> Version:
    anchors = [Anchor(kind=x.get("kind", "principle"), ref=str(x.get("ref", "")))
               for x in raw.get("anchors") or [] if isinstance(x, dict)]
    return Version(version=number, what=str(raw.get("what", "")),
                   parties=[p for p in raw.get("parties") or [] if isinstance(p, str)],
                   anchors=anchors, review_on=raw.get("review_on"), at=at, by=by)


LIFECYCLE: Lifecycle[_State] = Lifecycle(
    states=STATES,
    state_ops=frozenset({"affirm", "no_longer", "renew", "revise", "pause", "resume", "retire"}),
    apply=_apply, name=lambda s: s.status, key=lambda s: (s.status, s.version_event),
    summary=lambda s: {"version": len(s.versions), "what": s.versions[-1].what,
                       "affirmed": [m for m, _, _ in s.affirmed], "review_on": s.review_on},
)


def _initial(fields: dict[str, Any]) -> _State:
    first = _version(fields, 1, str(fields.get("created_at", "")),
                     str(fields.get("created_by", "")))
    return _State("proposed", (first,), "", (), (), first.review_on, None)


def _terms(what: str, parties: Iterable[str], anchors: Iterable[Anchor],
           review_on: _dt.date | None, at: str) -> dict[str, Any]:
    anchor_list = list(anchors)
    if len(anchor_list) > v.MAX_LIST_ITEMS:
        raise InvalidInput(f"anchors: at most {v.MAX_LIST_ITEMS}")
    checked = []
    for anchor in anchor_list:
        if not isinstance(anchor, Anchor):
            raise InvalidInput("anchors: each anchor is a principle or a need")
        checked.append({"kind": v.choice(anchor.kind, "anchor kind", ANCHOR_KINDS),
                        "ref": v.text(anchor.ref, "anchor")})
    review = v.iso_date(review_on, "review_on")
    if review is not None and review <= at[:10]:
        raise InvalidInput("review_on: the review date must be after today")
    return {"what": v.text(what, "what"), "parties": v.member_ids(parties, "parties"),
            "anchors": checked, "review_on": review}


def init_agreements(tx: Any) -> None:
    """Set up a new agreements document (call once, when the document is created)."""
    v.init_document(tx, KIND, maps=[ITEMS_KEY])


def propose_agreement(tx: Any, by: str, at: _dt.datetime, what: str, parties: Iterable[str],
                      anchors: Iterable[Anchor] = (), review_on: _dt.date | None = None) -> str:
    """Propose an agreement; returns its id. It is active once every party affirms."""
    by, when = v.member_id(by, "by"), v.iso_at(at)
    fields = {**_terms(what, parties, anchors, review_on, when),
              "created_by": by, "created_at": when}
    items = v.container(tx, ITEMS_KEY, KIND)
    new = v.new_id()
    v.create_item(tx, items, new, fields)
    return new


def _load(tx: Any, agreement_id: str, *, settled: bool = True) -> Current[_State]:
    return load(tx, v.container(tx, ITEMS_KEY, KIND), v.item_id(agreement_id, "agreement"),
                "agreement", LIFECYCLE, _initial, settled=settled)


def _party_op(tx: Any, agreement_id: str, by: str, allowed: tuple[str, ...],
              doing: str) -> Current[_State]:
    cur = _load(tx, agreement_id)
    if by not in cur.state.parties:
        raise NotPermitted(f"only a party to the agreement can {doing}")
    if cur.state.status not in allowed:
        raise TransitionRefused(f"cannot {doing}: the agreement is {cur.state.status}")
    return cur


def affirm_agreement(tx: Any, agreement_id: str, by: str, at: _dt.datetime, note: str = "") -> str:
    """A party records that the agreement is within their capacity."""
    by, when, note = v.member_id(by, "by"), v.iso_at(at), v.text(note, "note", required=False)
    cur = _party_op(tx, agreement_id, by, ("proposed", "renegotiating"), "affirm it")
    if cur.state.has_affirmed(by):
        raise TransitionRefused("you have already affirmed this version")
    return write_state_event(tx, cur, by=by, at=when, op="affirm", note=note)


def no_longer_within_capacity(tx: Any, agreement_id: str, by: str, at: _dt.datetime,
                              note: str = "") -> str:
    """A party says the agreement is no longer within their capacity: renegotiating."""
    by, when, note = v.member_id(by, "by"), v.iso_at(at), v.text(note, "note", required=False)
    cur = _party_op(tx, agreement_id, by, ("proposed", "active", "renegotiating", "paused"),
                    "say it is no longer within your capacity")
    if cur.state.status == "renegotiating" and not cur.state.has_affirmed(by):
        raise TransitionRefused("the agreement is already being renegotiated without you")
    return write_state_event(tx, cur, by=by, at=when, op="no_longer", note=note)


def renew_agreement(tx: Any, agreement_id: str, by: str, at: _dt.datetime,
                    review_on: _dt.date, note: str = "") -> str:
    """Keep the agreement as it is until a new review date."""
    by, when, note = v.member_id(by, "by"), v.iso_at(at), v.text(note, "note", required=False)
    review = v.iso_date(review_on, "review_on")
    if review is None or review <= when[:10]:
        raise InvalidInput("review_on: renewing needs a review date after today")
    cur = _party_op(tx, agreement_id, by, ("active",), "renew it")
    return write_state_event(tx, cur, by=by, at=when, op="renew", review_on=review, note=note)


def revise_agreement(tx: Any, agreement_id: str, by: str, at: _dt.datetime, what: str,
                     parties: Iterable[str], anchors: Iterable[Anchor] = (),
                     review_on: _dt.date | None = None, note: str = "") -> str:
    """A new version (the old one is kept); every party affirms it afresh."""
    by, when, note = v.member_id(by, "by"), v.iso_at(at), v.text(note, "note", required=False)
    terms = _terms(what, parties, anchors, review_on, when)
    cur = _party_op(tx, agreement_id, by,
                    ("proposed", "active", "renegotiating", "paused"), "revise it")
    return write_state_event(tx, cur, by=by, at=when, op="revise", note=note, **terms)


def pause_agreement(tx: Any, agreement_id: str, by: str, at: _dt.datetime, note: str = "") -> str:
    by, when, note = v.member_id(by, "by"), v.iso_at(at), v.text(note, "note", required=False)
    cur = _party_op(tx, agreement_id, by, ("active", "renegotiating"), "pause it")
    return write_state_event(tx, cur, by=by, at=when, op="pause", note=note)


def resume_agreement(tx: Any, agreement_id: str, by: str, at: _dt.datetime, note: str = "") -> str:
    by, when, note = v.member_id(by, "by"), v.iso_at(at), v.text(note, "note", required=False)
    cur = _party_op(tx, agreement_id, by, ("paused",), "resume it")
    return write_state_event(tx, cur, by=by, at=when, op="resume", note=note)


def retire_agreement(tx: Any, agreement_id: str, by: str, at: _dt.datetime, note: str = "") -> str:
    by, when, note = v.member_id(by, "by"), v.iso_at(at), v.text(note, "note", required=False)
    cur = _party_op(tx, agreement_id, by,
                    ("proposed", "active", "renegotiating", "paused"), "retire it")
    return write_state_event(tx, cur, by=by, at=when, op="retire", note=note)


def volunteer_reminder(tx: Any, agreement_id: str, by: str, at: _dt.datetime) -> str:
    """``by`` volunteers to remind the parties of the agreement."""
    by, when = v.member_id(by, "by"), v.iso_at(at)
    cur = _load(tx, agreement_id, settled=False)
    if by in _reminders(cur.events):
        raise TransitionRefused("you already volunteer as a reminder for this agreement")
    return write_event(tx, cur, by=by, at=when, op="remind")


def stop_reminding(tx: Any, agreement_id: str, by: str, at: _dt.datetime) -> str:
    by, when = v.member_id(by, "by"), v.iso_at(at)
    cur = _load(tx, agreement_id, settled=False)
    if by not in _reminders(cur.events):
        raise TransitionRefused("you are not a reminder for this agreement")
    return write_event(tx, cur, by=by, at=when, op="unremind")


def note_agreement(tx: Any, agreement_id: str, by: str, at: _dt.datetime, text: str) -> str:
    by, when, body = v.member_id(by, "by"), v.iso_at(at), v.text(text, "text")
    return write_event(tx, _load(tx, agreement_id, settled=False), by=by, at=when,
                       op="note", text=body)


def settle_agreement(tx: Any, agreement_id: str, by: str, at: _dt.datetime, choice: str) -> str:
    by, when = v.member_id(by, "by"), v.iso_at(at)
    return settle(tx, _load(tx, agreement_id, settled=False), by=by, at=when, choice=choice)


# -- reading -------------------------------------------------------------------


def _reminders(events: list[Event]) -> list[str]:
    out: list[str] = []
    for e in chronological(events):
        if e.op == "remind" and e.by not in out:
            out.append(e.by)
        elif e.op == "unremind" and e.by in out:
            out.remove(e.by)
    return out


def agreements(doc: Any, now: _dt.datetime) -> list[Agreement]:
    """Every agreement, oldest first; ``review_due`` is derived against ``now``."""
    return v.derive_items(doc, _derive, now)


def agreement(doc: Any, agreement_id: str, now: _dt.datetime) -> Agreement:
    return v.derive_item(doc, agreement_id, _derive, now, "agreement")


def _derive(raw: dict[str, Any], now: _dt.datetime) -> Agreement:
    events = parse_events(raw.get("events"))
    r = replay(events, LIFECYCLE, _initial(raw))
    s = r.state
    state = s.status
    if state == "active" and v.date_reached(s.review_on, now):
        state = "review_due"
    affirmed = {m: (at, note) for m, at, note in s.affirmed}
    no_longer = dict(s.no_longer)
    current = s.versions[-1]
    return Agreement(
        id=str(raw.get("id")), created_by=str(raw.get("created_by", "")),
        created_at=str(raw.get("created_at", "")), state=state, version=current.version,
        what=current.what,
        parties=[Party(m, m in affirmed, affirmed.get(m, (None, ""))[0],
                       affirmed.get(m, (None, ""))[1], no_longer.get(m))
                 for m in current.parties],
        anchors=current.anchors, review_on=s.review_on, renewed_at=s.renewed_at,
        versions=list(s.versions), reminders=_reminders(events), notes=notes(events),
        needs_reconciliation=r.needs_reconciliation, candidates=r.candidates,
        history=chronological(events))
