"""Agreements: concrete actions, each within the capacity of every party, changed
only by all their parties.

Document kind ``agreements``. An agreement is created by a ``propose`` record
whose body holds version 1 (``what``, ``parties``, ``anchors``, ``review_on``);
who proposed it and when are its signer and time.

State events, each a party's (replay applies the rules the operations check —
:func:`_refusal` and the body an operation would write — so a signed record
from a non-party, or one the rules refuse, changes nothing):

- ``affirm`` {``note``, ``version``}: within my capacity. Without ``version``,
  or naming the version in force, it is about that version; naming a proposed
  revision (below), about that revision.
- ``decline`` {``note``, ``version``}: a proposed version is not within my
  capacity. The agreement (or the revision) cannot start while a decline
  stands; the party may still affirm later.
- ``no_longer`` {``note``}: an agreement a party affirmed is no longer within
  their capacity → ``renegotiating``, never "broken".
- ``withdraw`` {``note``}: a party takes themselves out (always possible): the
  others affirm again without them → ``renegotiating``; nobody left → retired.
- ``revise`` {whole terms, ``note``}: a new version. One that changes the
  parties or the text, of an agreement in force, is a *proposed revision*: the
  version in force stays until every party of the revision affirms it, and a
  party it leaves out sees that (:func:`awaiting`). Of an agreement not yet in
  force, it replaces the proposal. Changing only anchors or the review date
  takes effect at once, keeping every affirmation.
- ``renew`` {``review_on``}, ``pause``, ``resume``.
- ``retire``: each party's consent to retire; retired once every party has
  consented, or at once when it is being renegotiated or was never in force.
- ``settle``. Events that change no state: ``remind`` / ``unremind``, ``note``.

States: ``proposed`` (or ``declined``) → ``active`` once every party affirmed →
``review_due`` (derived: active and the review date reached) → renewed /
revised / ``paused`` / ``renegotiating`` / ``retired``.
"""

from __future__ import annotations

import datetime as _dt
import re
from collections.abc import Iterable
from dataclasses import dataclass, replace
from typing import Any, Literal

import msgspec

from podsync.errors import InvalidInput, NotFound, NotPermitted, PodsyncError, TransitionRefused
from podsync.pod import common as v
from podsync.pod.admission import admitted
from podsync.pod.common import Note, Waiting
from podsync.pod.events import (
    Candidate, Current, Event, Item, Lifecycle, Replayed, chronological, current, event_draft,
    notes, replay, settle, state_draft,
)
from podsync.records.format import Draft

KIND = "agreements"
PROPOSE = "propose"
STATES = ("proposed", "declined", "active", "review_due", "renegotiating", "paused", "retired")
ANCHOR_KINDS = ("principle", "need")
#: A need is named by its id, the id of the record that named it (32 hex digits).
_NEED_ID = re.compile(r"[0-9a-f]{32}")
#: Agreement states in which the version in force asks something of its parties.
IN_FORCE = ("active", "renegotiating", "paused")

#: The states each party operation acts in (``review_due`` is ``active``, derived);
#: ``affirm`` and ``decline`` of a proposed revision act in any state but retired.
_ACTS_IN: dict[str, tuple[str, ...]] = {
    "affirm": ("proposed", "declined", "renegotiating"),
    "decline": ("proposed", "declined"),
    "no_longer": ("active", "renegotiating", "paused"),
    "withdraw": ("proposed", "declined", "active", "renegotiating", "paused"),
    "renew": ("active",),
    "revise": ("proposed", "declined", "active", "renegotiating", "paused"),
    "pause": ("active", "renegotiating"),
    "resume": ("paused",),
    "retire": ("proposed", "declined", "active", "renegotiating", "paused"),
}
_DOING = {"affirm": "affirm it", "decline": "decline it",
          "no_longer": "say it is no longer within your capacity",
          "withdraw": "withdraw from it", "renew": "renew it", "revise": "revise it",
          "pause": "pause it", "resume": "resume it", "retire": "retire it"}


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
    #: Set when the party declined the proposed version: their note.
    declined: str | None = None
    #: The party took themselves out of it.
    withdrawn: bool = False
    #: The party consents to retire it.
    retiring: bool = False


class Version(msgspec.Struct, frozen=True):
    version: int
    what: str
    parties: list[str]
    anchors: list[Anchor]
    review_on: str | None
    at: str
    by: str


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


Said = tuple[tuple[str, str], ...]  # (member, note)
Affirmed = tuple[tuple[str, str, str], ...]  # (member, at, note)


@dataclass(frozen=True)
class _State:
    status: str
    versions: tuple[Version, ...]
    version_event: str
    affirmed: Affirmed
    no_longer: Said
    declined: Said
    withdrawn: tuple[str, ...]
    retiring: tuple[str, ...]
    review_on: str | None
    renewed_at: str | None
    #: The highest version number given so far (revisions replaced keep theirs).
    numbered: int = 1
    revision: Version | None = None
    revision_event: str = ""
    revision_affirmed: Affirmed = ()
    revision_declined: Said = ()

    @property
    def parties(self) -> list[str]:
        """The parties of the version in force who have not withdrawn."""
        return [m for m in self.versions[-1].parties if m not in self.withdrawn]

    def has_affirmed(self, member: str) -> bool:
        return any(m == member for m, _, _ in self.affirmed)

    @property
    def all_affirmed(self) -> bool:
        return {m for m, _, _ in self.affirmed} >= set(self.parties)


def _about_revision(s: _State, args: dict[str, Any]) -> bool:
    """Whether an ``affirm`` or ``decline`` names the proposed revision."""
    return s.revision is not None and args.get("version") == s.revision.version


def _refusal(s: _State, op: str, by: str, args: dict[str, Any]) -> PodsyncError | None:
    """Why ``by`` may not ``op`` the agreement in state ``s`` (None: they may).
    The operations raise it; replay skips a record it refuses."""
    if op in ("affirm", "decline") and _about_revision(s, args):
        assert s.revision is not None
        if by not in s.revision.parties:
            return NotPermitted(f"only a party to version {s.revision.version} can {_DOING[op]}")
        if s.status == "retired":
            return TransitionRefused("the agreement is retired")
        done = s.revision_affirmed if op == "affirm" else s.revision_declined
        if any(x[0] == by for x in done):
            did = "affirmed" if op == "affirm" else "declined"
            return TransitionRefused(f"you have already {did} version {s.revision.version}")
        return None
    if "version" in args and args["version"] != s.versions[-1].version:
        return TransitionRefused(f"version {args['version']} is not the version in force "
                                 "nor a proposed revision")
    if by not in s.parties:
        return NotPermitted(f"only a party to the agreement can {_DOING[op]}")
    if s.status not in _ACTS_IN[op]:
        hint = "; decline it instead" if op == "no_longer" and s.status == "proposed" else ""
        return TransitionRefused(f"cannot {_DOING[op]}: the agreement is {s.status}{hint}")
    if op == "affirm" and s.has_affirmed(by):
        return TransitionRefused("you have already affirmed this version")
    if op == "decline" and any(m == by for m, _ in s.declined):
        return TransitionRefused("you have already declined this version")
    if op == "no_longer" and not s.has_affirmed(by):
        return TransitionRefused("you have not affirmed it; it is being renegotiated already"
                                 if s.status == "renegotiating" else
                                 "you have not affirmed it")
    if op == "retire" and by in s.retiring:
        return TransitionRefused("you have already consented to retire it")
    return None


def _without(said: Any, member: str) -> Any:
    return tuple(x for x in said if x[0] != member)


def _apply(s: _State, e: Event) -> _State:
    a = e.args
    if e.op not in _ACTS_IN or _refusal(s, e.op, e.by, a) is not None or not _body_ok(e.op, a):
        return s
    note = a.get("note") or ""
    if e.op in ("affirm", "decline") and _about_revision(s, a):
        return _on_revision(s, e, note)
    if e.op == "affirm":
        after = replace(s, affirmed=s.affirmed + ((e.by, e.at, note),),
                        no_longer=_without(s.no_longer, e.by), declined=_without(s.declined, e.by))
        if after.declined:
            return after
        return replace(after, status="active" if after.all_affirmed else
                       "proposed" if s.status == "declined" else s.status)
    if e.op == "decline":
        return replace(s, status="declined", affirmed=_without(s.affirmed, e.by),
                       declined=s.declined + ((e.by, note),))
    if e.op == "no_longer":
        return replace(s, status="renegotiating", affirmed=_without(s.affirmed, e.by),
                       no_longer=_without(s.no_longer, e.by) + ((e.by, note),), retiring=())
    if e.op == "withdraw":
        after = replace(s, withdrawn=s.withdrawn + (e.by,), affirmed=(), retiring=(),
                        no_longer=_without(s.no_longer, e.by), declined=_without(s.declined, e.by))
        return replace(after, status="renegotiating" if after.parties else "retired")
    if e.op == "renew":
        return replace(s, review_on=_shown_day(a.get("review_on")), renewed_at=e.at)
    if e.op == "revise":
        return _revised(s, e)
    if e.op == "pause":
        return replace(s, status="paused")
    if e.op == "resume":
        return replace(s, status="active" if s.all_affirmed else "renegotiating")
    # retire
    if s.status in ("proposed", "declined", "renegotiating") \
            or set(s.retiring + (e.by,)) >= set(s.parties):
        return replace(s, status="retired", revision=None, retiring=s.retiring + (e.by,))
    return replace(s, retiring=s.retiring + (e.by,))


def _on_revision(s: _State, e: Event, note: str) -> _State:
    """An affirmation or a decline of the proposed revision."""
    assert s.revision is not None
    if e.op == "decline":
        return replace(s, revision_affirmed=_without(s.revision_affirmed, e.by),
                       revision_declined=s.revision_declined + ((e.by, note),))
    affirmed = s.revision_affirmed + ((e.by, e.at, note),)
    declined = _without(s.revision_declined, e.by)
    if declined or {m for m, _, _ in affirmed} < set(s.revision.parties):
        return replace(s, revision_affirmed=affirmed, revision_declined=declined)
    # Every party of the revision affirmed it: it is the version in force.
    return _State("active", s.versions + (s.revision,), s.revision_event, affirmed, (), (), (), (),
                  s.revision.review_on, None, s.numbered)


def _revised(s: _State, e: Event) -> _State:
    current = s.versions[-1]
    number = s.numbered + 1
    version = _version(e.args, number, e.at, e.by)
    if (version.what, version.parties) == (current.what, current.parties):
        # Anchors or the review date only: nothing anyone affirmed has changed.
        return replace(s, versions=s.versions + (version,), review_on=version.review_on,
                       numbered=number)
    if s.status in ("proposed", "declined"):
        return _State("proposed", s.versions + (version,), e.id, (), (), (), (), (),
                      version.review_on, None, number)
    return replace(s, revision=version, revision_event=e.id, revision_affirmed=(),
                   revision_declined=(), numbered=number)


def _body_ok(op: str, body: dict[str, Any]) -> bool:
    """Whether ``body`` is one the operation ``op`` would write."""
    try:
        v.text(body.get("note"), "note", required=False)
        if op in ("affirm", "decline") and "version" in body and type(body["version"]) is not int:
            return False
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
    raise InvalidInput(f"{field}: expected a date like \"2027-03-01\"")


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
    apply=_apply, name=lambda s: s.status,
    key=lambda s: (s.status, s.version_event, s.revision_event if s.revision else ""),
    summary=lambda s: {"version": s.versions[-1].version, "what": s.versions[-1].what,
                       "affirmed": [m for m, _, _ in s.affirmed], "review_on": s.review_on,
                       "revision": s.revision.what if s.revision else None},
)


def _initial(item: Item) -> _State:
    first = _version(item.fields, 1, item.created_at, item.created_by)
    return _State("proposed", (first,), "", (), (), (), (), (), first.review_on, None)


def _allows(past: Replayed[_State], e: Event) -> bool:
    """What the operations check, asked of a state event where it was made."""
    return not past.needs_reconciliation and e.op in _ACTS_IN \
        and _refusal(past.state, e.op, e.by, e.args) is None and _body_ok(e.op, e.args)


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
    refusal = _refusal(cur.state, op, by, args)
    if refusal is not None:
        raise refusal
    return state_draft(cur, op, **args)


def _version_arg(version: int | None) -> dict[str, int]:
    if version is None:
        return {}
    if type(version) is not int or version < 1:
        raise InvalidInput("version: a version number (1, 2, ...)")
    return {"version": version}


def affirm_agreement(item: Item, by: str, note: str = "", version: int | None = None) -> Draft:
    """A party records that the agreement (or its proposed revision ``version``) is
    within their capacity."""
    by, note = v.member_id(by, "by"), v.text(note, "note", required=False)
    return _party_draft(item, by, "affirm", note=note, **_version_arg(version))


def decline_agreement(item: Item, by: str, note: str = "", version: int | None = None) -> Draft:
    """A party says a proposed agreement (or revision ``version``) is not within their
    capacity: it does not start while that stands."""
    by, note = v.member_id(by, "by"), v.text(note, "note", required=False)
    return _party_draft(item, by, "decline", note=note, **_version_arg(version))


def no_longer_within_capacity(item: Item, by: str, note: str = "") -> Draft:
    """A party says the agreement is no longer within their capacity: renegotiating."""
    by, note = v.member_id(by, "by"), v.text(note, "note", required=False)
    return _party_draft(item, by, "no_longer", note=note)


def withdraw_from_agreement(item: Item, by: str, note: str = "") -> Draft:
    """A party takes themselves out: the others renegotiate it without them."""
    by, note = v.member_id(by, "by"), v.text(note, "note", required=False)
    return _party_draft(item, by, "withdraw", note=note)


def renew_agreement(item: Item, by: str, now: _dt.datetime, review_on: _dt.date,
                    note: str = "") -> Draft:
    """Keep the agreement as it is until a new review date."""
    by, note = v.member_id(by, "by"), v.text(note, "note", required=False)
    review = v.iso_date(review_on, "review_on")
    if review is None or review <= _today(now):
        raise InvalidInput("review_on: renewing needs a review date after today")
    return _party_draft(item, by, "renew", review_on=review, note=note)


def revise_agreement(item: Item, by: str, now: _dt.datetime, what: str | None = None,
                     parties: Iterable[str] | None = None, anchors: Iterable[Anchor] | None = None,
                     review_on: _dt.date | None | msgspec.UnsetType = msgspec.UNSET,
                     note: str = "") -> Draft:
    """A new version. What is not given (None, or UNSET for ``review_on``) carries over
    from the version in force. Changing the parties or the text of an agreement in
    force proposes a revision that every one of its parties affirms."""
    by, note = v.member_id(by, "by"), v.text(note, "note", required=False)
    cur = _load(item)
    latest = cur.state.versions[-1]
    if review_on is msgspec.UNSET:
        review_on = _dt.date.fromisoformat(latest.review_on) if latest.review_on else None
        if review_on is not None and review_on.isoformat() <= _today(now):
            review_on = None  # a review date already reached is not carried into a new version
    terms = _terms(now, latest.what if what is None else what,
                   latest.parties if parties is None else parties,
                   latest.anchors if anchors is None else anchors, review_on)
    if terms == {"what": latest.what, "parties": latest.parties,
                 "anchors": [msgspec.to_builtins(a) for a in latest.anchors],
                 "review_on": latest.review_on}:
        raise TransitionRefused("this revision changes nothing")
    return _party_draft(item, by, "revise", note=note, **terms)


def pause_agreement(item: Item, by: str, note: str = "") -> Draft:
    by, note = v.member_id(by, "by"), v.text(note, "note", required=False)
    return _party_draft(item, by, "pause", note=note)


def resume_agreement(item: Item, by: str, note: str = "") -> Draft:
    by, note = v.member_id(by, "by"), v.text(note, "note", required=False)
    return _party_draft(item, by, "resume", note=note)


def retire_agreement(item: Item, by: str, note: str = "") -> Draft:
    """A party consents to retire the agreement: retired once every party has, or at
    once when it is being renegotiated or was never in force."""
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
    r = replay(counted(item).events, LIFECYCLE, _initial(item))
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
        versions=list(s.versions), revision=revision, reminders=_reminders(events),
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
