"""A decision's state, replayed from its records: decided, reviewed or withdrawn, and
only by its decider when the rules allow it.
"""

from __future__ import annotations

from typing import Any, Literal

import msgspec
from msgspec.structs import replace

from podsync.pod import common as v
from podsync.pod.admission import admitted
from podsync.pod.decision_advice import asked_and_advice
from podsync.pod.decision_bodies import checked_body, decide_body, review_body
from podsync.pod.events import Current, Event, Item, Lifecycle, Replayed, current

STATES = ("gathering_advice", "decided", "review_due", "revising", "retired", "withdrawn")
#: The review outcome -> the state it leaves the decision in.
_REVIEWED = {"keep": "decided", "revise": "revising", "retire": "retired"}


class Review(msgspec.Struct, frozen=True):
    """The decider's review of a decision made: keep, revise or retire it."""

    id: str
    at: str
    outcome: str
    note: str
    #: The next review date it set, if any.
    review_on: str | None


class Basis(msgspec.Struct, frozen=True):
    """Why the decider could decide: advice from members asked, or a reason why
    nobody else is affected."""

    kind: Literal["advice", "no_one_affected"]
    advice: list[str]
    reason: str


class State(msgspec.Struct, frozen=True):
    decider: str
    #: Ids of advice given by members the decider asked (a decision may follow them).
    asked_advice: frozenset[str]
    status: str = "gathering_advice"
    text: str | None = None
    at: str | None = None
    review_on: str | None = None
    basis: Basis | None = None
    withdrawn_note: str | None = None
    reviews: tuple[Review, ...] = ()


def _decided(s: State, e: Event) -> dict[str, Any] | None:
    """The body of ``e`` if it is a decision the rules allow in state ``s``."""
    if e.op != "decide" or e.by != s.decider or s.status != "gathering_advice":
        return None
    a = e.args
    body = checked_body(decide_body, a.get("text"), a.get("review_on"), a.get("advice"),
                    a.get("reason"))
    if body is None or not set(body["advice"]) <= s.asked_advice:
        return None
    return body


def _apply(s: State, e: Event) -> State:
    if e.op == "withdraw" and e.by == s.decider and s.status == "gathering_advice":
        return replace(s, status="withdrawn", withdrawn_note=v.shown(e.args.get("note")))
    if e.op == "review":
        a = e.args
        body = checked_body(review_body, a.get("outcome"), a.get("note"), a.get("review_on"))
        if body is None or e.by != s.decider or s.status not in ("decided", "revising"):
            return s
        review = Review(e.id, e.at, body["outcome"], body["note"], body["review_on"])
        return replace(s, status=_REVIEWED[body["outcome"]], review_on=body["review_on"],
                       reviews=s.reviews + (review,))
    body = _decided(s, e)
    if body is None:
        return s
    basis = Basis("advice", body["advice"], body["reason"]) if body["advice"] \
        else Basis("no_one_affected", [], body["reason"])
    return replace(s, status="decided", text=body["text"], at=e.at, review_on=body["review_on"],
                   basis=basis)


def _allows(past: Replayed[State], e: Event) -> bool:
    """What :func:`decide` and :func:`withdraw_decision` check of who and when,
    asked where the record was made."""
    return not past.needs_reconciliation and _apply(past.state, e) != past.state


LIFECYCLE: Lifecycle[State] = Lifecycle(
    states=STATES, state_ops=frozenset({"decide", "withdraw", "review"}), apply=_apply,
    name=lambda s: s.status, key=lambda s: (s.status, s.text, s.review_on, len(s.reviews)),
    summary=lambda s: {"decision": s.text, "review_on": s.review_on,
                       "withdrawn": s.withdrawn_note},
)


def initial(item: Item) -> State:
    asked, advice = asked_and_advice(item)
    ever = {a.member for a in asked}
    return State(item.created_by, frozenset(x.id for x in advice if x.by in ever))


def counted(item: Item) -> Item:
    return admitted(item, LIFECYCLE, initial, _allows)


def load(item: Item, *, settled: bool = True) -> Current[State]:
    return current(counted(item), LIFECYCLE, initial, settled=settled)
