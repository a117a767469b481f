"""Agreements: concrete actions, each within the capacity of every party.

Document kind ``agreements``. An agreement is created by a ``propose`` record
whose body holds version 1 (``what``, ``parties``, ``anchors``, ``review_on``);
who proposed it and when are its signer and time. A ``revise`` record carries a
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

Every state event is a party's: replay applies the same rules the operations
check (:func:`_refusal`, and the body an operation would write), so a signed
record from a non-party, or one the rules refuse, changes nothing.
"""

from __future__ import annotations

import datetime as _dt
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, replace
from typing import Any, Literal, TypeVar

import msgspec

from podsync.errors import InvalidInput, NotFound, NotPermitted, PodsyncError, TransitionRefused
from podsync.pod import common as v
from podsync.pod.common import Note
from podsync.pod.events import (
    SETTLE, Candidate, Current, Event, Item, Lifecycle, Replayed, chronological, current,
    event_draft, notes, replay, settle, state_draft,
)
from podsync.records.format import MAX_PARENTS, Draft

S = TypeVar("S")

KIND = "agreements"
PROPOSE = "propose"
STATES = ("proposed", "active", "review_due", "renegotiating", "paused", "retired")
ANCHOR_KINDS = ("principle", "need")
#: A need is named by its id, the id of the record that named it (32 hex digits).
_NEED_ID = re.compile(r"[0-9a-f]{32}")

#: The states each party operation acts in (``review_due`` is ``active``, derived).
_ACTS_IN: dict[str, tuple[str, ...]] = {
    "affirm": ("proposed", "renegotiating"),
    "no_longer": ("proposed", "active", "renegotiating", "paused"),
    "renew": ("active",),
    "revise": ("proposed", "active", "renegotiating", "paused"),
    "pause": ("active", "renegotiating"),
    "resume": ("paused",),
    "retire": ("proposed", "active", "renegotiating", "paused"),
}
_DOING = {"affirm": "affirm it", "no_longer": "say it is no longer within your capacity",
          "renew": "renew it", "revise": "revise it", "pause": "pause it",
          "resume": "resume it", "retire": "retire it"}


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

    @property
    def all_affirmed(self) -> bool:
        return {m for m, _, _ in self.affirmed} >= set(self.parties)


def _refusal(s: _State, op: str, by: str) -> PodsyncError | None:
    """Why ``by`` may not ``op`` the agreement in state ``s`` (None: they may).
    The operations raise it; replay skips a record it refuses."""
    if by not in s.parties:
        return NotPermitted(f"only a party to the agreement can {_DOING[op]}")
    if s.status not in _ACTS_IN[op]:
        return TransitionRefused(f"cannot {_DOING[op]}: the agreement is {s.status}")
    if op == "affirm" and s.has_affirmed(by):
        return TransitionRefused("you have already affirmed this version")
    if op == "no_longer" and s.status == "renegotiating" and not s.has_affirmed(by):
        return TransitionRefused("the agreement is already being renegotiated without you")
    return None


def _apply(s: _State, e: Event) -> _State:
    a = e.args
    if e.op not in _ACTS_IN or _refusal(s, e.op, e.by) is not None or not _body_ok(e.op, a):
        return s
    if e.op == "affirm":
        affirmed = s.affirmed + ((e.by, e.at, a.get("note") or ""),)
        after = replace(s, affirmed=affirmed,
                        no_longer=tuple(x for x in s.no_longer if x[0] != e.by))
        return replace(after, status="active" if after.all_affirmed else s.status)
    if e.op == "no_longer":
        return replace(s, status="renegotiating",
                       affirmed=tuple(x for x in s.affirmed if x[0] != e.by),
                       no_longer=tuple(x for x in s.no_longer if x[0] != e.by)
                       + ((e.by, a.get("note") or ""),))
    if e.op == "renew":
        return replace(s, review_on=_shown_day(a.get("review_on")), renewed_at=e.at)
    if e.op == "revise":
        version = _version(a, len(s.versions) + 1, e.at, e.by)
        return replace(s, status="proposed", versions=s.versions + (version,), version_event=e.id,
                       affirmed=(), no_longer=(), review_on=version.review_on, renewed_at=None)
    if e.op == "pause":
        return replace(s, status="paused")
    if e.op == "resume":
        return replace(s, status="active" if s.all_affirmed else "renegotiating")
    return replace(s, status="retired")


def _body_ok(op: str, body: dict[str, Any]) -> bool:
    """Whether ``body`` is one the operation ``op`` would write."""
    try:
        v.text(body.get("note"), "note", required=False)
        if op == "renew":
            if body_date(body.get("review_on"), "review_on") is None:
                return False
        elif op == "revise":
            _terms_of(body)
    except InvalidInput:
        return False
    return True


def body_date(value: Any, field: str) -> str | None:
    """An optional calendar date (``YYYY-MM-DD``) as a record's body holds it;
    InvalidInput for anything else."""
    if value is None:
        return None
    try:
        if isinstance(value, str) and len(value) == 10:
            return _dt.date.fromisoformat(value).isoformat()
    except ValueError:
        pass
    raise InvalidInput(f"{field}: expected a date (YYYY-MM-DD)")


def _shown_day(value: Any) -> str | None:
    try:
        return body_date(value, "review_on")
    except InvalidInput:
        return None


def _anchor(kind: Any, ref: Any) -> dict[str, str]:
    kind = v.choice(kind, "anchor kind", ANCHOR_KINDS)
    ref = v.text(ref, "anchor")
    if kind == "need" and not _NEED_ID.fullmatch(ref):
        raise InvalidInput(f"anchor: {ref[:40]!r} is not a need's id (32 hex digits)")
    return {"kind": kind, "ref": ref}


def _terms_of(body: dict[str, Any]) -> dict[str, Any]:
    """A version's terms from a record's body, checked as an operation checks them."""
    anchors = body.get("anchors") or []
    if not isinstance(anchors, list):
        raise InvalidInput("anchors: expected a list")
    if len(anchors) > v.MAX_LIST_ITEMS:
        raise InvalidInput(f"anchors: at most {v.MAX_LIST_ITEMS}")
    parties = body.get("parties")
    if not isinstance(parties, list):
        raise InvalidInput("parties: give a list of member ids")
    return {"what": v.text(body.get("what"), "what"), "parties": v.member_ids(parties, "parties"),
            "anchors": [_anchor(x.get("kind"), x.get("ref")) if isinstance(x, dict)
                        else _anchor(None, None) for x in anchors],
            "review_on": body_date(body.get("review_on"), "review_on")}


def _listed(raw: dict[str, Any], key: str) -> list[Any]:
    value = raw.get(key)
    return value if isinstance(value, list) else []


def _version(raw: dict[str, Any], number: int, at: str, by: str) -> Version:
    """A version as a record's body gives it; total: what cannot be read is left out."""
    parties: list[str] = []
    for p in _listed(raw, "parties"):
        try:
            member = v.member_id(p, "parties")
        except InvalidInput:
            continue
        if member not in parties and len(parties) < v.MAX_LIST_ITEMS:
            parties.append(member)
    anchors = []
    for x in _listed(raw, "anchors"):
        try:
            checked = _anchor(x.get("kind"), x.get("ref")) if isinstance(x, dict) else None
        except InvalidInput:
            checked = None
        if checked is not None and len(anchors) < v.MAX_LIST_ITEMS:
            anchors.append(Anchor(kind=checked["kind"], ref=checked["ref"]))  # type: ignore[arg-type]
    return Version(version=number, what=v.shown(raw.get("what")), parties=parties,
                   anchors=anchors, review_on=_shown_day(raw.get("review_on")), at=at, by=by)


LIFECYCLE: Lifecycle[_State] = Lifecycle(
    states=STATES, state_ops=frozenset(_ACTS_IN),
    apply=_apply, name=lambda s: s.status, key=lambda s: (s.status, s.version_event),
    summary=lambda s: {"version": len(s.versions), "what": s.versions[-1].what,
                       "affirmed": [m for m, _, _ in s.affirmed], "review_on": s.review_on},
)


def _initial(item: Item) -> _State:
    first = _version(item.fields, 1, item.created_at, item.created_by)
    return _State("proposed", (first,), "", (), (), first.review_on, None)


# -- counting only what the rules allow -------------------------------------------
#
# Kind-independent: the needs board, teams and capacity would use it as well.

#: Judging a state event that joins branches (a settle, or a change made after
#: nodes that were apart met) means replaying the item up to it. An honest item
#: joins branches a handful of times over a few dozen events; 20,000 replayed
#: events (about 0.2 s here) is far past that, and bounds what one view costs
#: when a member signs records that join branches over and over. Past it, joins
#: do not count.
MAX_JOIN_REPLAY = 20_000


def admitted(item: Item, lc: Lifecycle[S], initial: Callable[[Item], S],
             allows: Callable[[Replayed[S], Event], bool]) -> Item:
    """``item`` with only the state events the rules allowed where each was made.

    Each state event is judged against the item as its author had it: the replay
    of its causal past (its ``after``). ``allows(past, event)`` decides for state
    ops; a ``settle`` counts only if its past needs reconciliation and it keeps
    exactly one candidate. A refused event is left out of the replay altogether,
    not merely ignored by ``apply``: otherwise a record a member signs against
    the rules, naming no parents, would be a head of its own and make the item
    look disagreed about. The verdicts depend on each event's past only, so every
    node reaches the same ones. Other events (notes, advice...) pass as they are.
    """
    graph_ops = lc.state_ops | {SETTLE}
    start = initial(item)
    kept: list[Event] = []
    masks: dict[str, int] = {}  # kept id -> its kept ancestors and itself, as bits of ``kept``
    after: dict[str, Replayed[S]] = {}  # kept id -> the item just after it
    via: dict[str, list[str]] = {}  # refused id -> the kept heads it followed
    budget = MAX_JOIN_REPLAY
    for e in _parents_first([e for e in item.events if e.op in graph_ops]):
        named: set[str] = set()
        for p in e.after:
            named.update([p] if p in masks else via.get(p, []))
        if len(named) > MAX_PARENTS:  # only through refused records: keeps ``via`` small
            via[e.id] = []
            continue
        # The heads among what it follows (the rest are their ancestors), latest first.
        heads, union = [], 0
        for p in sorted(named, key=lambda p: masks[p].bit_length(), reverse=True):
            if not union >> (masks[p].bit_length() - 1) & 1:
                heads.append(p)
                union |= masks[p]
        # Replays this costs: of its past when it joins branches, of itself if a settle.
        size = union.bit_count()
        cost = (size if len(heads) > 1 else 0) + (size + 1 if e.op == SETTLE else 0)
        if cost > budget:
            via[e.id] = heads
            continue
        budget -= cost
        if not heads:
            past: Replayed[S] = Replayed(start, [], [])
        elif len(heads) == 1:
            past = after[heads[0]]
        else:
            past = replay(_selected(kept, union), lc, start)
        if not (_settles(past, e) if e.op == SETTLE else allows(past, e)):
            via[e.id] = heads
            continue
        masks[e.id] = union | 1 << len(kept)
        if set(e.after) != set(heads):
            # Replay follows ``after``: through refused events, to what they followed.
            e = msgspec.structs.replace(e, after=heads)
        kept.append(e)
        if e.op == SETTLE:
            after[e.id] = replay(_selected(kept, masks[e.id]), lc, start)
        else:
            after[e.id] = Replayed(lc.apply(past.state, e), [e.id], [])
    counted = {e.id: e for e in kept}
    return Item(item.id, item.created_by, item.created_at, item.fields,
                [counted.get(e.id, e) for e in item.events
                 if e.op not in graph_ops or e.id in counted])


def _settles(past: Replayed[Any], e: Event) -> bool:
    """Whether ``e`` is a settle its author could write: a disagreement, one candidate kept."""
    keep = e.args.get("keep")
    if not past.needs_reconciliation or not isinstance(keep, list) \
            or not all(isinstance(k, str) for k in keep):
        return False
    return any(set(keep) == set(c.events) for c in past.candidates)


def _selected(events: list[Event], mask: int) -> list[Event]:
    return [e for i, e in enumerate(events) if mask >> i & 1]


def _parents_first(events: list[Event]) -> list[Event]:
    """``events`` with every event after the events it names (record ids are hashes
    of what they name, so there are no cycles)."""
    by_id = {e.id: e for e in events}
    waiting = {e.id: len({p for p in e.after if p in by_id}) for e in events}
    children: dict[str, list[str]] = {}
    for e in events:
        for p in {p for p in e.after if p in by_id}:
            children.setdefault(p, []).append(e.id)
    ready = sorted(eid for eid, n in waiting.items() if n == 0)
    order: list[Event] = []
    while ready:
        eid = ready.pop()
        order.append(by_id[eid])
        for c in children.get(eid, []):
            waiting[c] -= 1
            if waiting[c] == 0:
                ready.append(c)
    return order


def _allows(past: Replayed[_State], e: Event) -> bool:
    """What the operations check, asked of a state event where it was made."""
    return not past.needs_reconciliation and e.op in _ACTS_IN \
        and _refusal(past.state, e.op, e.by) is None and _body_ok(e.op, e.args)


# -- operations ------------------------------------------------------------------


def _terms(now: _dt.datetime, what: str, parties: Iterable[str], anchors: Iterable[Anchor],
           review_on: _dt.date | None) -> dict[str, Any]:
    anchor_list = list(anchors)
    if len(anchor_list) > v.MAX_LIST_ITEMS:
        raise InvalidInput(f"anchors: at most {v.MAX_LIST_ITEMS}")
    if not all(isinstance(a, Anchor) for a in anchor_list):
        raise InvalidInput("anchors: each anchor is a principle or a need")
    review = v.iso_date(review_on, "review_on")
    if review is not None and review <= _today(now):
        raise InvalidInput("review_on: the review date must be after today")
    return {"what": v.text(what, "what"), "parties": v.member_ids(parties, "parties"),
            "anchors": [_anchor(a.kind, a.ref) for a in anchor_list], "review_on": review}


def _today(now: _dt.datetime) -> str:
    return v.iso_at(now, "now")[:10]


def propose_agreement(now: _dt.datetime, what: str, parties: Iterable[str],
                      anchors: Iterable[Anchor] = (), review_on: _dt.date | None = None) -> Draft:
    """Propose an agreement; it is active once every party affirms."""
    return Draft(PROPOSE, _terms(now, what, parties, anchors, review_on))


def counted(item: Item) -> Item:
    """``item`` with the state events that count (:func:`admitted` by this practice's rules)."""
    return admitted(item, LIFECYCLE, _initial, _allows)


def _load(item: Item, *, settled: bool = True) -> Current[_State]:
    return current(counted(item), LIFECYCLE, _initial, settled=settled)


def _party_draft(item: Item, by: str, op: str, **args: Any) -> Draft:
    cur = _load(item)
    refusal = _refusal(cur.state, op, by)
    if refusal is not None:
        raise refusal
    return state_draft(cur, op, **args)


def affirm_agreement(item: Item, by: str, note: str = "") -> Draft:
    """A party records that the agreement is within their capacity."""
    by, note = v.member_id(by, "by"), v.text(note, "note", required=False)
    return _party_draft(item, by, "affirm", note=note)


def no_longer_within_capacity(item: Item, by: str, note: str = "") -> Draft:
    """A party says the agreement is no longer within their capacity: renegotiating."""
    by, note = v.member_id(by, "by"), v.text(note, "note", required=False)
    return _party_draft(item, by, "no_longer", note=note)


def renew_agreement(item: Item, by: str, now: _dt.datetime, review_on: _dt.date,
                    note: str = "") -> Draft:
    """Keep the agreement as it is until a new review date."""
    by, note = v.member_id(by, "by"), v.text(note, "note", required=False)
    review = v.iso_date(review_on, "review_on")
    if review is None or review <= _today(now):
        raise InvalidInput("review_on: renewing needs a review date after today")
    return _party_draft(item, by, "renew", review_on=review, note=note)


def revise_agreement(item: Item, by: str, now: _dt.datetime, what: str, parties: Iterable[str],
                     anchors: Iterable[Anchor] = (), review_on: _dt.date | None = None,
                     note: str = "") -> Draft:
    """A new version (the old one is kept); every party affirms it afresh."""
    by, note = v.member_id(by, "by"), v.text(note, "note", required=False)
    terms = _terms(now, what, parties, anchors, review_on)
    return _party_draft(item, by, "revise", note=note, **terms)


def pause_agreement(item: Item, by: str, note: str = "") -> Draft:
    by, note = v.member_id(by, "by"), v.text(note, "note", required=False)
    return _party_draft(item, by, "pause", note=note)


def resume_agreement(item: Item, by: str, note: str = "") -> Draft:
    by, note = v.member_id(by, "by"), v.text(note, "note", required=False)
    return _party_draft(item, by, "resume", note=note)


def retire_agreement(item: Item, by: str, note: str = "") -> Draft:
    by, note = v.member_id(by, "by"), v.text(note, "note", required=False)
    return _party_draft(item, by, "retire", note=note)


def volunteer_reminder(item: Item, by: str) -> Draft:
    """``by`` volunteers to remind the parties of the agreement."""
    by = v.member_id(by, "by")
    cur = _load(item, settled=False)
    if by in _reminders(cur.events):
        raise TransitionRefused("you already volunteer as a reminder for this agreement")
    return event_draft(cur, "remind")


def stop_reminding(item: Item, by: str) -> Draft:
    by = v.member_id(by, "by")
    cur = _load(item, settled=False)
    if by not in _reminders(cur.events):
        raise TransitionRefused("you are not a reminder for this agreement")
    return event_draft(cur, "unremind")


def note_agreement(item: Item, by: str, text: str) -> Draft:
    v.member_id(by, "by")
    return event_draft(_load(item, settled=False), "note", text=v.text(text, "text"))


def settle_agreement(item: Item, by: str, choice: str) -> Draft:
    """Resolve concurrent, different changes by choosing one candidate state."""
    v.member_id(by, "by")
    return settle(_load(item, settled=False), choice)


# -- reading -------------------------------------------------------------------


def _reminders(events: list[Event]) -> list[str]:
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


def derive(item: Item, now: _dt.datetime) -> Agreement:
    """The agreement as of ``now``; total: whatever a signed record's body holds."""
    events = item.events
    r = replay(counted(item).events, LIFECYCLE, _initial(item))
    s = r.state
    state = s.status
    if state == "active" and v.date_reached(s.review_on, now):
        state = "review_due"
    affirmed = {m: (at, note) for m, at, note in s.affirmed}
    no_longer = dict(s.no_longer)
    latest = s.versions[-1]
    return Agreement(
        id=item.id, created_by=item.created_by, created_at=item.created_at, state=state,
        version=latest.version, what=latest.what,
        parties=[Party(m, m in affirmed, affirmed.get(m, (None, ""))[0],
                       affirmed.get(m, (None, ""))[1], no_longer.get(m))
                 for m in latest.parties],
        anchors=latest.anchors, review_on=s.review_on, renewed_at=s.renewed_at,
        versions=list(s.versions), reminders=_reminders(events), notes=notes(events),
        needs_reconciliation=r.needs_reconciliation, candidates=r.candidates,
        history=chronological(events))
