"""Agreements: concrete actions, each within the capacity of every party, changed
only by all their parties.

Document kind ``agreements``. An agreement is created by a ``propose`` record
whose body holds version 1 (``what``, ``parties``, ``anchors``, ``review_on``);
who proposed it and when are its signer and time.

State events, each a party's (replay applies the rules the operations check —
:func:`.agreement_replay.refusal_of` and the body an operation would write — so
a signed record from a non-party, or one the rules refuse, changes nothing):

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

This module holds the operations, which return drafts. The state and the rules
replay applies are in :mod:`.agreement_replay`, the terms a record holds and
how they are checked in :mod:`.agreement_terms`, and reading in
:mod:`.agreement_view`; what callers use of those is importable from here.
"""

from __future__ import annotations

import datetime as _dt
from collections.abc import Iterable
from typing import Any

import msgspec

from podsync.errors import InvalidInput, TransitionRefused
from podsync.pod import common as v
from podsync.pod.agreement_replay import STATES, counted, load, refusal_of
from podsync.pod.agreement_terms import (
    ANCHOR_KINDS, Anchor, Version, body_date, checked_terms, today,
)
from podsync.pod.agreement_view import (
    Agreement, Awaiting, Party, Revision, agreement, agreements, awaiting, derive, reminders,
    waiting_on,
)
from podsync.pod.events import Item, event_draft, settle, state_draft
from podsync.records.format import Draft

KIND = "agreements"
PROPOSE = "propose"
#: Agreement states in which the version in force asks something of its parties.
IN_FORCE = ("active", "renegotiating", "paused")


def propose_agreement(now: _dt.datetime, what: str, parties: Iterable[str],
                      anchors: Iterable[Anchor] = (), review_on: _dt.date | None = None) -> Draft:
    """Propose an agreement; it is active once every party affirms."""
    return Draft(PROPOSE, checked_terms(now, what, parties, anchors, review_on))


def _party_draft(item: Item, by: str, op: str, **args: Any) -> Draft:
    cur = load(item)
    refusal = refusal_of(cur.state, op, by, args)
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
    if review is None or review <= today(now):
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
    cur = load(item)
    latest = cur.state.versions[-1]
    if review_on is msgspec.UNSET:
        review_on = _dt.date.fromisoformat(latest.review_on) if latest.review_on else None
        if review_on is not None and review_on.isoformat() <= today(now):
            review_on = None  # a review date already reached is not carried into a new version
    terms = checked_terms(now, latest.what if what is None else what,
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
    cur = load(item, settled=False)
    if by in reminders(cur.events):
        raise TransitionRefused("you already volunteer as a reminder for this agreement")
    return event_draft(cur, "remind")


def stop_reminding(item: Item, by: str) -> Draft:
    by = v.member_id(by, "by")
    cur = load(item, settled=False)
    if by not in reminders(cur.events):
        raise TransitionRefused("you are not a reminder for this agreement")
    return event_draft(cur, "unremind")


def note_agreement(item: Item, by: str, text: str) -> Draft:
    v.member_id(by, "by")
    return event_draft(load(item, settled=False), "note", text=v.text(text, "text"))


def settle_agreement(item: Item, by: str, choice: str) -> Draft:
    """Resolve concurrent, different changes by choosing one candidate state."""
    v.member_id(by, "by")
    return settle(load(item, settled=False), choice)

__all__ = [
    "ANCHOR_KINDS", "IN_FORCE", "KIND", "PROPOSE", "STATES", "Agreement", "Anchor", "Awaiting",
    "Party", "Revision", "Version", "affirm_agreement", "agreement", "agreements", "awaiting",
    "body_date", "counted", "decline_agreement", "derive", "no_longer_within_capacity",
    "note_agreement", "pause_agreement", "propose_agreement", "renew_agreement",
    "resume_agreement", "retire_agreement", "revise_agreement", "settle_agreement",
    "stop_reminding", "volunteer_reminder", "waiting_on", "withdraw_from_agreement",
]
