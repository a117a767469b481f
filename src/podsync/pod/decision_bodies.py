"""What each decision record's body must be: the operations write these, and replay
reads a signed record only if its body is one an operation would have written.
"""

from __future__ import annotations

import datetime as _dt
from collections.abc import Callable
from typing import Any

from podsync.errors import InvalidInput
from podsync.pod import common as v
from podsync.pod.agreement_terms import body_date

REVIEW_OUTCOMES = ("keep", "revise", "retire")
ASK_REASONS = ("affected", "expertise")
STANCES = ("support", "concern", "discourage", "no_advice")
LINK_KINDS = ("need", "agreement")


def ask_body(member: Any, reason: Any, note: Any) -> dict[str, Any]:
    return {"member": v.member_id(member), "reason": v.choice(reason, "reason", ASK_REASONS),
            "note": v.text(note, "note", required=False)}


def unask_body(member: Any, note: Any) -> dict[str, Any]:
    return {"member": v.member_id(member), "note": v.text(note, "note", required=False)}


def advice_body(stance: Any, text: Any) -> dict[str, Any]:
    stance = v.choice(stance, "stance", STANCES)
    return {"stance": stance, "text": v.text(text, "text", required=stance != "no_advice")}


def integration_body(advice: Any, integrated: Any, why: Any) -> dict[str, Any]:
    if not isinstance(integrated, bool):
        raise InvalidInput("integrated: yes or no")
    return {"advice": v.item_id(advice, "advice_id"), "integrated": integrated,
            "why": v.text(why, "why")}


def link_body(kind: Any, ref: Any) -> dict[str, str]:
    return {"kind": v.choice(kind, "link kind", LINK_KINDS), "ref": v.item_id(ref, "link")}


def deadline_body(deadline: Any, note: Any) -> dict[str, Any]:
    if moment_of(deadline) is None:
        raise InvalidInput("deadline: a date and time with its offset")
    return {"deadline": deadline, "note": v.text(note, "note", required=False)}


def decide_body(text: Any, review_on: Any, advice: Any, reason: Any) -> dict[str, Any]:
    if not isinstance(advice, list) or len(advice) > v.MAX_LIST_ITEMS:
        raise InvalidInput("advice: the advice the decision follows, as a list of ids")
    reason = v.text(reason, "reason", required=False)
    if not advice and not reason:
        raise InvalidInput("reason: with no advice from anyone asked, say why nobody else "
                           "is affected")
    return {"text": v.text(text, "text"), "review_on": body_date(review_on, "review_on"),
            "advice": [v.item_id(a, "advice") for a in advice], "reason": reason}


def review_body(outcome: Any, note: Any, review_on: Any) -> dict[str, Any]:
    outcome = v.choice(outcome, "outcome", REVIEW_OUTCOMES)
    review = body_date(review_on, "review_on")
    if outcome == "retire" and review is not None:
        raise InvalidInput("review_on: a retired decision has no next review")
    return {"outcome": outcome, "note": v.text(note, "note"), "review_on": review}


def checked_body(body: Callable[..., dict[str, Any]], *args: Any) -> dict[str, Any] | None:
    """``body(*args)`` for a record being replayed; None when an operation would refuse it."""
    try:
        return body(*args)
    except InvalidInput:
        return None


def moment_of(value: Any) -> _dt.datetime | None:
    """A time with its offset, from a record's body; None for anything else."""
    try:
        moment = _dt.datetime.fromisoformat(value) if isinstance(value, str) else None
    except ValueError:
        return None
    return moment if moment is not None and moment.tzinfo is not None else None
