"""Event-sourced items: replaying events into a state, and finding disagreements.

An item is the signed record that created it plus every counted record about it
(:class:`Item`; records are :mod:`podsync.records`). Each later record is an
*event*: ``{id, at, by (the signer's member), op (the record type), after, args
(its body)}``. A *state event* (an op listed in the kind's :class:`Lifecycle`)
names in ``after`` the state events its author's node had as latest (its
*heads*), so state events form a causal graph whatever order records arrive in.
Operations never write: they read an item and return a :class:`Draft` that the
caller signs and stores.

Replaying: state events are put in a topological order (ties broken by time,
then id, so every node computes the same order) and folded through the kind's
``apply``. ``apply`` is total: a merge can line up events that were each valid
where they were made but odd side by side, and derivation never fails on them.

Disagreement: when there are several heads (events made while apart), the state
at each head is replayed from its own history. If those states differ by the
kind's ``key`` (usually the state's name), the item *needs reconciliation*: the
derived item shows the state that all branches share plus one candidate per
distinct state, and only a ``settle`` event resolves it. Heads that agree are
merged by replaying all their events together (two members taking on the same
need both end up holding it).

Settling: a ``settle`` event names every head in ``after`` and the heads of the
chosen candidate in ``keep``. Replay drops the events that only the other
branches had; they stay in the history. Settles are read latest first so that a
settle which was itself set aside by a later settle drops nothing.
"""

from __future__ import annotations

import heapq
import logging
from collections.abc import Callable, Hashable, Iterable, Sequence
from typing import Any, Generic, Protocol, TypeVar

import msgspec

from podsync.errors import InvalidInput, TransitionRefused
from podsync.pod.common import Note, shown
from podsync.records.format import Draft, Record

log = logging.getLogger(__name__)

S = TypeVar("S")

SETTLE = "settle"
#: State events replayed per item. Finding which events are void replays each
#: one's past, so the cost grows with the square of this; an item changes state
#: a handful of times a year, and a thousand changes is far past any honest one.
MAX_STATE_EVENTS = 1000


class Event(msgspec.Struct, frozen=True):
    """One recorded change; ``args`` holds the op's own fields."""

    id: str
    at: str
    by: str
    op: str
    after: list[str]
    args: dict[str, Any]
    #: The signer's previous record in this document (what they had done just before).
    prev: str | None = None


class Candidate(msgspec.Struct, frozen=True):
    """One of the states an item could settle to, with who made it and when."""

    id: str
    state: str
    by: list[str]
    at: list[str]
    events: list[str]
    fields: dict[str, Any]


class Lifecycle(msgspec.Struct, Generic[S], frozen=True):
    """What a kind's events mean: which ops change state and how."""

    states: tuple[str, ...]
    state_ops: frozenset[str]
    apply: Callable[[S, Event], S]
    name: Callable[[S], str]
    #: States with equal keys are the same outcome; differing keys need a person.
    key: Callable[[S], Hashable]
    #: The fields a member needs to tell candidates apart.
    summary: Callable[[S], dict[str, Any]]


class Replayed(msgspec.Struct, Generic[S], frozen=True):
    state: S
    heads: list[str]
    candidates: list[Candidate]

    @property
    def needs_reconciliation(self) -> bool:
        return bool(self.candidates)


def chronological(events: Sequence[Event]) -> list[Event]:
    """``events`` in the order they happened: each after the events it names in
    ``after`` and after its signer's previous record (``prev``), so two things done
    within one clock tick keep their order; events neither orders (made apart) by
    time, then id, the same on every node."""
    by_id = {e.id: e for e in events}
    parents = {e.id: {p for p in [*e.after, e.prev] if p in by_id and p != e.id}
               for e in by_id.values()}
    order = _topological(by_id, parents)
    if len(order) < len(by_id):  # a cycle only a malformed writer makes: time order
        placed = {e.id for e in order}
        order += sorted((e for e in by_id.values() if e.id not in placed),
                        key=lambda e: (e.at, e.id))
    return order


def _topological(by_id: dict[str, Event], parents: dict[str, set[str]]) -> list[Event]:
    """Events after all their ``parents``, ties by time then id (those in a cycle
    are left out)."""
    children: dict[str, list[str]] = {eid: [] for eid in by_id}
    for eid, ps in parents.items():
        for p in ps:
            children[p].append(eid)
    waiting = {eid: len(ps) for eid, ps in parents.items()}
    ready = [(by_id[eid].at, eid) for eid, n in waiting.items() if n == 0]
    heapq.heapify(ready)
    order: list[Event] = []
    while ready:
        _, eid = heapq.heappop(ready)
        order.append(by_id[eid])
        for c in children[eid]:
            waiting[c] -= 1
            if waiting[c] == 0:
                heapq.heappush(ready, (by_id[c].at, c))
    return order


def replay(events: Sequence[Event], lc: Lifecycle[S], initial: S) -> Replayed[S]:
    """The item's state after ``events`` (all of them; non-state ones are ignored)."""
    state_events = [e for e in events if e.op in lc.state_ops or e.op == SETTLE]
    if len(state_events) > MAX_STATE_EVENTS:
        log.warning("an item has %d state events; replaying the first %d",
                    len(state_events), MAX_STATE_EVENTS)
        state_events = chronological(state_events)[:MAX_STATE_EVENTS]
    graph = _Graph(_effective(state_events, lc, initial))
    everything = (1 << len(graph.order)) - 1
    heads = graph.heads()
    if len(heads) <= 1:
        return Replayed(graph.run(everything, lc, initial), [graph.order[i].id for i in heads], [])
    branches: dict[Hashable, tuple[S, list[int]]] = {}
    for i in heads:
        state = graph.run(graph.anc[i], lc, initial)
        branches.setdefault(lc.key(state), (state, []))[1].append(i)
    head_ids = [graph.order[i].id for i in heads]
    if len(branches) == 1:
        return Replayed(graph.run(everything, lc, initial), head_ids, [])
    shared = everything
    for i in heads:
        shared &= graph.anc[i]
    candidates = []
    for state, members in branches.values():
        evs = [graph.order[i] for i in members]
        candidates.append(Candidate(
            id=evs[0].id, state=lc.name(state), by=[e.by for e in evs], at=[e.at for e in evs],
            events=[e.id for e in evs], fields=lc.summary(state)))
    return Replayed(graph.run(shared, lc, initial), head_ids, candidates)


def _effective(events: list[Event], lc: Lifecycle[S], initial: S) -> list[Event]:
    """The state events that change the state of their own causal past.

    The others — a release by someone who holds nothing, a signed record that
    breaks the kind's rules — are void: never applied and never a head, so a
    refused record cannot make an item look disputed. Events that followed a void
    one follow its parents instead."""
    graph = _Graph(events)
    void = 0
    for i, event in enumerate(graph.order):
        if event.op == SETTLE:
            continue
        before = graph.run(graph.anc[i] & ~(1 << i) & ~void, lc, initial)
        if lc.apply(before, event) == before:
            void |= 1 << i
    if not void:
        return events
    resolved: dict[int, list[int]] = {}

    def parents_of(i: int) -> list[int]:
        if i not in resolved:
            out: list[int] = []
            for p in graph.parents[i]:
                for q in ([p] if not void >> p & 1 else parents_of(p)):
                    if q not in out:
                        out.append(q)
            resolved[i] = out
        return resolved[i]

    return [msgspec.structs.replace(e, after=[graph.order[p].id for p in parents_of(i)])
            for i, e in enumerate(graph.order) if not void >> i & 1]


class _Graph:
    """State events in topological order, with ancestor sets as int bitmasks."""

    def __init__(self, events: list[Event]) -> None:
        by_id = {e.id: e for e in events}
        parents = {e.id: {p for p in e.after if p in by_id and p != e.id} for e in events}
        order = _topological(by_id, parents)
        # A cycle can only come from a malformed writer: keep its events, in time order.
        placed = {e.id for e in order}
        order += chronological([e for e in events if e.id not in placed])
        self.order = order
        self.index = {e.id: i for i, e in enumerate(order)}
        self.parents = [[self.index[p] for p in parents[e.id] if self.index[p] < i]
                        for i, e in enumerate(order)]
        self.anc: list[int] = []
        for i, ps in enumerate(self.parents):
            mask = 1 << i
            for p in ps:
                mask |= self.anc[p]
            self.anc.append(mask)

    def heads(self) -> list[int]:
        referenced = 0
        for ps in self.parents:
            for p in ps:
                referenced |= 1 << p
        return [i for i in range(len(self.order)) if not referenced >> i & 1]

    def run(self, mask: int, lc: Lifecycle[S], initial: S) -> S:
        dropped = 0
        for i in reversed(range(len(self.order))):
            event = self.order[i]
            if event.op != SETTLE or not mask >> i & 1 or dropped >> i & 1:
                continue
            kept = 0
            for k in event.args.get("keep") or []:
                if isinstance(k, str) and k in self.index:
                    kept |= self.anc[self.index[k]]
            if kept:
                branches = 0
                for p in self.parents[i]:
                    branches |= self.anc[p]
                dropped |= branches & ~kept
        state = initial
        for i, event in enumerate(self.order):
            if mask >> i & 1 and not dropped >> i & 1 and event.op != SETTLE:
                state = lc.apply(state, event)
        return state


# -- items and writing --------------------------------------------------------


class Item(msgspec.Struct, frozen=True):
    """An item as its counted records make it: the creation record's fields and
    every later record about it, oldest first."""

    id: str
    created_by: str
    created_at: str
    fields: dict[str, Any]
    events: list[Event]


class Source(Protocol):
    """A counted record and its signer's member (podsync.trust.ledger.Counted)."""

    @property
    def record(self) -> Record: ...

    @property
    def member(self) -> str: ...


def event_of(c: Source) -> Event:
    r = c.record
    return Event(id=r.id, at=r.at, by=c.member, op=r.type, after=list(r.after),
                 args=dict(r.body), prev=r.prev)


def items_from(counted: Iterable[Source], create: str) -> dict[str, Item]:
    """Every item created by a ``create`` record among ``counted``, with its events."""
    created: dict[str, Item] = {}
    later: list[Source] = []
    for c in counted:
        if c.record.item is None and c.record.type == create:
            created[c.record.id] = Item(c.record.id, c.member, c.record.at,
                                        dict(c.record.body), [])
        elif c.record.item is not None:
            later.append(c)
    for c in later:
        item = created.get(c.record.item or "")
        if item is not None:
            item.events.append(event_of(c))
    for item in created.values():
        item.events[:] = chronological(item.events)
    return created


def already_written(counted: Iterable[Source], draft: Draft) -> str | None:
    """The item a retry of creation ``draft`` finds written already: created by the
    same type with the same body (one carrying its ``origin`` is written once)."""
    for c in counted:
        if c.record.item is None and c.record.type == draft.type and c.record.body == draft.body:
            return c.record.id
    return None


class Current(msgspec.Struct, Generic[S], frozen=True):
    """An item as an operation reads it, before deciding what to write."""

    item: Item
    replayed: Replayed[S]

    @property
    def fields(self) -> dict[str, Any]:
        return self.item.fields

    @property
    def events(self) -> list[Event]:
        return self.item.events

    @property
    def state(self) -> S:
        return self.replayed.state


def current(item: Item, lc: Lifecycle[S], initial: Callable[[Item], S],
            *, settled: bool = True) -> Current[S]:
    """Replay ``item``; with ``settled``, refuse while it needs reconciliation."""
    cur = Current(item, replay(item.events, lc, initial(item)))
    if settled and cur.replayed.needs_reconciliation:
        raise TransitionRefused(
            "this item has concurrent, different changes; settle it (choose one of its "
            "candidate states) before changing its state again")
    return cur


def state_draft(cur: Current[S], op: str, **args: Any) -> Draft:
    """A state event following the item's current heads (``cur`` read with ``settled``)."""
    return Draft(op, args, item=cur.item.id, after=tuple(cur.replayed.heads))


def event_draft(cur: Current[S], op: str, **args: Any) -> Draft:
    """An event that changes no state (a note, advice, a volunteer)."""
    return Draft(op, args, item=cur.item.id, after=tuple(cur.replayed.heads))


def settle(cur: Current[S], choice: str) -> Draft:
    """Resolve a disagreement: ``choice`` is a candidate's state name or its id."""
    candidates = cur.replayed.candidates
    if not candidates:
        raise TransitionRefused("this item has no disagreement to settle")
    chosen = ([c for c in candidates if c.id == choice]
              or [c for c in candidates if c.state == choice])
    if not chosen:
        options = ", ".join(f"{c.state} ({c.id})" for c in candidates)
        raise InvalidInput(f"choice: {choice!r} is not one of the candidates: {options}")
    if len(chosen) > 1:
        raise InvalidInput(f"choice: several candidates are {choice!r}; name one by its id: "
                           + ", ".join(c.id for c in chosen))
    return Draft(SETTLE, {"state": chosen[0].state, "keep": list(chosen[0].events)},
                 item=cur.item.id, after=tuple(cur.replayed.heads))


def notes(events: Sequence[Event], op: str = "note") -> list[Note]:
    """The notes among ``events``, oldest first."""
    return [Note(id=e.id, at=e.at, by=e.by, text=shown(e.args.get("text")))
            for e in chronological(events) if e.op == op]
