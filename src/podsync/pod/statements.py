"""What comes out of a feedback thread: the statement a leader receives, and the
pod's summary of where feedback ended up.

**Statement** (``feedback-statement``), a private document whose ``doc.create``
record a steward signs when carrying out a ``leader`` route::

    {kind: "feedback-statement", readers: [leader, stewards..., (giver)] | "pod",
     leader, stewards, statement, parts?, origin, giver?}

The giver's member id is in the body and among the readers only when the giver
chose that their name travels; otherwise nothing the leader's node receives
about it names them (a steward signs everything written outside the thread).
``readers`` is ``"pod"`` when the agreed proposal made it public; ``origin`` is
the proposal's id, so routing again finds the statement already written. Later
records: ``respond`` (``text``, and ``agreement`` when the response became an
agreement), by the leader only.

**Summary.** Each routing is also recorded in the pod document as
``feedback.outcome`` {``ref``, ``route``, ``days``}: a hash of the thread id
(so a retry is counted once, and nobody who cannot read the thread can tell
which it was), where it went, and how many whole days it took from the thread's
opening. No content, no names. Such a record counts only when its signer was a
steward of someone at that point (:class:`podsync.pod.stewards.Roles`).
"""

from __future__ import annotations

import hashlib
import statistics
from collections.abc import Iterable
from typing import Any, Literal

import msgspec

from podsync.errors import InvalidInput, NotPermitted
from podsync.pod import common as v
from podsync.pod.common import Waiting
from podsync.pod.events import Item, Source, chronological
from podsync.pod.feedback import (
    ROUTES, STATEMENT_KIND, Opening, Parts, RoutePlan, Routed, members_of, parts_body,
)
from podsync.pod.stewards import STEWARD_TYPES, Roles
from podsync.records.format import Draft
from podsync.trust.ledger import POD

OUTCOME = "feedback.outcome"
_OUTCOME_TAG = b"podsync-feedback-outcome\x00"
#: A thread answered within minutes or kept open for a year; past ten years a
#: figure is no honest measure of anything.
MAX_OUTCOME_DAYS = 3650


class Response(msgspec.Struct, frozen=True):
    id: str
    at: str
    by: str
    text: str
    #: The agreement this response became, when it did.
    agreement: str | None


class Statement(msgspec.Struct, frozen=True):
    leader: str
    #: The giver, when they chose that their name travels; None otherwise.
    giver: str | None
    stewards: list[str]
    statement: str
    parts: Parts | None
    public: bool
    created_by: str
    created_at: str
    responses: list[Response]


class RouteSummary(msgspec.Struct, frozen=True):
    route: str
    count: int
    #: Whole days from a thread's opening to its routing: the middle value and the longest.
    median_days: float | None
    longest_days: int | None


class Summary(msgspec.Struct, frozen=True):
    total: int
    routes: list[RouteSummary]


# -- the statement ------------------------------------------------------------------


def statement_opening(plan: RoutePlan) -> Opening:
    """A leader route's statement: a new document, signed by the steward routing it."""
    if plan.route != "leader":
        raise InvalidInput(f"route: a {plan.route} route delivers no statement to the leader")
    people = {plan.leader, *plan.stewards} | ({plan.giver} if plan.named else set())
    readers: list[str] | Literal["pod"] = POD if plan.public else sorted(people)
    fields: dict[str, Any] = {"leader": plan.leader, "stewards": list(plan.stewards),
                              "statement": plan.statement, "origin": plan.proposal}
    if plan.parts is not None:
        fields["parts"] = msgspec.to_builtins(plan.parts)
    if plan.named:
        fields["giver"] = plan.giver
    return Opening(STATEMENT_KIND, readers, fields)


def respond_to_statement(item: Item, by: str, text: str, agreement: str | None = None) -> Draft:
    """The leader's response to the statement delivered to them; ``agreement`` names
    the agreement it became."""
    by, body = v.member_id(by, "by"), v.text(text, "text")
    if by != item.fields.get("leader"):
        raise NotPermitted("only the leader the statement is for responds to it")
    args: dict[str, Any] = {"text": body}
    if agreement is not None:
        args["agreement"] = v.item_id(agreement, "agreement")
    return Draft("respond", args, item=item.id)


def statement(item: Item) -> Statement:
    """The statement as its counted records make it; total, whatever their bodies hold."""
    raw = item.fields
    leader = v.shown(raw.get("leader"))
    giver = raw.get("giver")
    try:
        parts = Parts(**parts_body(raw["parts"])) if "parts" in raw else None
    except InvalidInput:
        parts = None
    responses = []
    for e in chronological(item.events):
        if e.op == "respond" and leader and e.by == leader:
            agreement = e.args.get("agreement")
            responses.append(Response(e.id, e.at, e.by, v.shown(e.args.get("text")),
                                      agreement if isinstance(agreement, str) else None))
    return Statement(
        leader=leader, giver=giver if isinstance(giver, str) and giver else None,
        stewards=[s for s in members_of(raw.get("stewards")) if s != leader],
        statement=v.shown(raw.get("statement")), parts=parts, public=raw.get("readers") == POD,
        created_by=item.created_by, created_at=item.created_at, responses=responses)


# -- where feedback ended up ----------------------------------------------------------


def outcome_ref(thread_id: str) -> str:
    """How the summary names a thread: a hash, so the id itself stays private."""
    return hashlib.sha256(_OUTCOME_TAG + thread_id.encode()).digest()[:16].hex()


def outcome_draft(thread_id: str, opened_at: str, routed: Routed) -> Draft:
    """The pod-document record of where thread ``thread_id`` went and how long it took."""
    days = (v.parse_at(routed.at) - v.parse_at(opened_at)).days
    return Draft(OUTCOME, {"ref": outcome_ref(thread_id), "route": routed.route,
                           "days": min(max(days, 0), MAX_OUTCOME_DAYS)})


def recorded(records: Iterable[Source], thread_id: str) -> bool:
    """Whether thread ``thread_id``'s outcome is already among the pod's records."""
    ref = outcome_ref(thread_id)
    return any(c.record.type == OUTCOME and c.record.body.get("ref") == ref for c in records)


def summary(records: Iterable[Source]) -> Summary:
    """Where feedback ended up: counts per route and days taken, from the pod's
    counted records in replay order. Only a steward's record counts, once per thread."""
    roles = Roles()
    seen: set[str] = set()
    days: dict[str, list[int]] = {route: [] for route in ROUTES}
    for c in records:
        r = c.record
        if r.type in STEWARD_TYPES:
            roles.apply(c)
            continue
        if r.type != OUTCOME or r.item is not None or not roles.is_steward(c.member):
            continue
        ref, route, taken = r.body.get("ref"), r.body.get("route"), r.body.get("days")
        if not isinstance(ref, str) or ref in seen or route not in days \
                or type(taken) is not int or not 0 <= taken <= MAX_OUTCOME_DAYS:
            continue
        seen.add(ref)
        days[route].append(taken)
    routes = [RouteSummary(route, len(d), statistics.median(d) if d else None,
                           max(d) if d else None) for route, d in days.items()]
    return Summary(total=len(seen), routes=routes)


def waiting_on(statement_id: str, s: Statement, member: str) -> list[Waiting]:
    """A statement delivered to ``member`` as its leader, not yet responded to."""
    if s.leader != member or s.responses:
        return []
    return [Waiting("statement", statement_id, "respond", s.statement[:80] or "feedback",
                    "feedback was delivered to you: read it and respond", s.created_at)]
