"""A feedback thread's state, replayed from the records its giver and stewards
signed: the proposals that count, each side's word on them, and whether it was
routed or withdrawn.
"""

from __future__ import annotations

from typing import Any

import msgspec
from msgspec.structs import replace

from podsync.errors import InvalidInput
from podsync.pod import common as v
from podsync.pod.events import Current, Event, Item, Lifecycle, chronological, current
from podsync.pod.feedback_bodies import proposal_args, targets
from podsync.pod.feedback_documents import people

STATES = ("open", "routed", "withdrawn")


class Routed(msgspec.Struct, frozen=True):
    proposal: str
    route: str
    by: str
    at: str
    target_doc: str | None
    target_item: str | None


class Withdrawn(msgspec.Struct, frozen=True):
    at: str
    note: str


class _Proposed(msgspec.Struct, frozen=True):
    id: str
    by: str
    at: str
    args: dict[str, Any]


class State(msgspec.Struct, frozen=True):
    giver: str
    stewards: frozenset[str]
    #: Proposals that count (by the giver or a steward, well formed); fixed for the thread.
    proposals: dict[str, _Proposed]
    #: Proposal id -> the other side's latest word: (yes, note, by, the giver's name travels).
    answers: dict[str, tuple[bool, str, str, bool]]
    routed: Routed | None
    withdrawn: Withdrawn | None

    @property
    def open(self) -> bool:
        return self.routed is None and self.withdrawn is None

    def answering(self, proposal: _Proposed, by: str) -> bool:
        """Whether ``by`` gives the other side's word on ``proposal``."""
        if proposal.by == self.giver:
            return by in self.stewards
        return by == self.giver

    def agreed(self, pid: str) -> bool:
        """Both sides are for it: the proposer, and the answer from the other side."""
        return self.answers.get(pid, (False, "", "", False))[0] is True

    def named(self, pid: str) -> bool:
        p = self.proposals[pid]
        if p.by == self.giver:
            return bool(p.args["named"])
        return self.answers.get(pid, (False, "", "", False))[3]


def _apply(s: State, e: Event) -> State:
    a = e.args
    if not s.open:
        return s
    if e.op == "withdraw" and e.by == s.giver:
        return replace(s, withdrawn=Withdrawn(e.at, v.shown(a.get("note"))))
    proposal = s.proposals.get(a.get("proposal")) if isinstance(a.get("proposal"), str) else None
    if proposal is None:
        return s
    if e.op == "answer" and s.answering(proposal, e.by) and isinstance(a.get("consent"), bool):
        named = a.get("named", False)
        if not isinstance(named, bool) or (named and e.by != s.giver):
            return s
        return replace(s, answers={**s.answers, proposal.id: (
            a["consent"], v.shown(a.get("note")), e.by, named)})
    if e.op == "route" and e.by in s.stewards and s.agreed(proposal.id):
        route = proposal.args["route"]
        try:
            target_doc, target_item = targets(route, a.get("target_doc"), a.get("target_item"))
        except InvalidInput:
            return s
        return replace(s, routed=Routed(proposal.id, route, e.by, e.at, target_doc, target_item))
    return s


def state_name(s: State) -> str:
    return "routed" if s.routed else "withdrawn" if s.withdrawn else "open"


LIFECYCLE: Lifecycle[State] = Lifecycle(
    states=STATES, state_ops=frozenset({"answer", "route", "withdraw"}), apply=_apply,
    name=state_name,
    # One proposal routed into two places (two needs written apart) is two outcomes.
    key=lambda s: (s.routed.proposal, s.routed.target_doc, s.routed.target_item)
    if s.routed else state_name(s),
    summary=lambda s: {"route": s.routed.route if s.routed else None,
                       "proposal": s.routed.proposal if s.routed else None},
)


def initial(item: Item) -> State:
    giver, _, stewards = people(item)
    proposals = {}
    for e in chronological(item.events):
        if e.op == "propose" and (e.by == giver or e.by in stewards):
            a = e.args
            try:
                args = proposal_args(a.get("route"), a.get("statement"), a.get("title"),
                                      a.get("team"), a.get("public", False), a.get("parts"),
                                      a.get("named", False))
            except InvalidInput:
                continue
            if args["named"] and e.by != giver:
                continue
            proposals[e.id] = _Proposed(e.id, e.by, e.at, args)
    return State(giver, frozenset(stewards), proposals, {}, None, None)


def participants_only(item: Item) -> Item:
    """The thread with only the records its giver and stewards signed."""
    giver, _, stewards = people(item)
    return msgspec.structs.replace(item, events=[e for e in item.events
                                                 if e.by == giver or e.by in stewards])


def load(item: Item, *, settled: bool = True) -> Current[State]:
    return current(participants_only(item), LIFECYCLE, initial, settled=settled)
