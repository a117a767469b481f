"""Counting only the state events the rules allowed where each was made.

Replay (:mod:`podsync.pod.events`) folds state events through a kind's
``apply``, which ignores a record its rules refuse. That is not enough on its
own: a record a member signs against the rules, naming no parents, would still
be a head of its own and make the item look disagreed about. :func:`admitted`
leaves such records out of the replay altogether, judging each state event
against the item as its author had it. Kind-independent: every practice whose
permissions depend on the item's state uses it.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

import msgspec

from podsync.pod.events import SETTLE, Event, Item, Lifecycle, Replayed, replay
from podsync.records.format import MAX_PARENTS

S = TypeVar("S")

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
