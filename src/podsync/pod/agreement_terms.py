"""An agreement's terms as its records hold them: what it asks, of whom, what it
anchors and when it is reviewed.

The operations check terms before writing them (:func:`checked_terms`); replay
asks the same of any signed record's body (:func:`body_ok`) and reads versions
totally, leaving out what cannot be read (:func:`read_version`).
"""

from __future__ import annotations

import datetime as _dt
import re
from collections.abc import Iterable
from typing import Any, Literal

import msgspec

from podsync.errors import InvalidInput
from podsync.pod import common as v

ANCHOR_KINDS = ("principle", "need")
#: A need is named by its id, the id of the record that named it (32 hex digits).
_NEED_ID = re.compile(r"[0-9a-f]{32}")


class Anchor(msgspec.Struct, frozen=True):
    """What an agreement anchors: a principle (its words) or a need (its id)."""

    kind: Literal["principle", "need"]
    ref: str


class Version(msgspec.Struct, frozen=True):
    version: int
    what: str
    parties: list[str]
    anchors: list[Anchor]
    review_on: str | None
    at: str
    by: str


def body_ok(op: str, body: dict[str, Any]) -> bool:
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


def shown_day(value: Any) -> str | None:
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


def read_version(raw: dict[str, Any], number: int, at: str, by: str) -> Version:
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
                   anchors=anchors, review_on=shown_day(raw.get("review_on")), at=at, by=by)


def checked_terms(now: _dt.datetime, what: str, parties: Iterable[str], anchors: Iterable[Anchor],
           review_on: _dt.date | None) -> dict[str, Any]:
    anchor_list = list(anchors)
    if len(anchor_list) > v.MAX_LIST_ITEMS:
        raise InvalidInput(f"anchors: at most {v.MAX_LIST_ITEMS}")
    if not all(isinstance(a, Anchor) for a in anchor_list):
        raise InvalidInput("anchors: each anchor is a principle or a need")
    review = v.iso_date(review_on, "review_on")
    if review is not None and review <= today(now):
        raise InvalidInput("review_on: the review date must be after today")
    return {"what": v.text(what, "what"), "parties": v.member_ids(parties, "parties"),
            "anchors": [_anchor(a.kind, a.ref) for a in anchor_list], "review_on": review}


def today(now: _dt.datetime) -> str:
    return v.iso_at(now, "now")[:10]
