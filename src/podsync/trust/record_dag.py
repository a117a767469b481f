"""The pod document's records as a causal graph: those that descend from the
founding record with every record they follow known, in one deterministic order
with the ancestors of each, and at most :data:`MAX_POD_RECORDS` of them.
"""

from __future__ import annotations

import heapq
import logging
from collections.abc import Mapping

from podsync.records.format import Record, derived_id

log = logging.getLogger(__name__)

#: Records replayed from the pod document. A pod of fifty people writes a few
#: hundred membership, team, steward and share records a year; 20,000 is decades
#: of that, and keeps the replay's ancestry tables (records squared bits) near
#: 50 MB. Past it, the records of whichever device wrote the most are set aside
#: first, latest first: a member flooding the document loses their own records,
#: not everyone else's.
MAX_POD_RECORDS = 20_000


def over_limit(records: Mapping[str, Record], refused: dict[str, str]) -> set[str]:
    """The records set aside to keep at most MAX_POD_RECORDS: the heaviest writer's
    latest first."""
    excess = len(records) - MAX_POD_RECORDS
    if excess <= 0:
        return set()
    by_signer: dict[str, list[Record]] = {}
    for r in records.values():
        by_signer.setdefault(r.by, []).append(r)
    for rs in by_signer.values():
        rs.sort(key=lambda r: (r.at, r.id))
    heap = [(-len(rs), signer) for signer, rs in by_signer.items()]
    heapq.heapify(heap)
    dropped: set[str] = set()
    while excess > 0:
        _, signer = heapq.heappop(heap)
        record = by_signer[signer].pop()
        dropped.add(record.id)
        refused[record.id] = f"over the pod document's limit of {MAX_POD_RECORDS} records"
        excess -= 1
        heapq.heappush(heap, (-len(by_signer[signer]), signer))
    log.warning("the pod document holds %d records; %d of the heaviest writers' set aside",
                len(records), len(dropped))
    return dropped


class RecordDag:
    """The records that descend from the root with every parent known, in a
    deterministic topological order (ties: time, then id), with ancestor masks."""

    def __init__(self, root: Record, records: Mapping[str, Record], refused: dict[str, str],
                 set_aside: set[str]) -> None:
        self.records = dict(records)
        members = {root.id}
        for r in records.values():
            if r.id == root.id or r.id in set_aside:
                continue
            if r.pod != root_pod(root) or r.scope != root_pod(root):
                refused[r.id] = "belongs to another pod or document"
            elif not r.after:
                refused[r.id] = "follows no record of the pod"
            else:
                members.add(r.id)
        # A record set aside (over the limit) is passed through: what followed it
        # follows its parents instead, so honest records written after a flood stand.
        through: dict[str, list[str]] = {}

        def parents(rid: str) -> list[str]:
            out: list[str] = []
            stack = list(self.records[rid].after)
            seen: set[str] = set()
            while stack:
                p = stack.pop()
                if p in seen:
                    continue
                seen.add(p)
                if p in set_aside and p in self.records:
                    if p not in through:
                        through[p] = [q for q in self.records[p].after]
                    stack.extend(through[p])
                elif p not in out:
                    out.append(p)
            return out

        self.after = {rid: (parents(rid) if rid != root.id else []) for rid in members}
        # Records waiting for a parent this node does not hold (yet), transitively.
        changed = True
        while changed:
            changed = False
            for rid in list(members):
                if rid == root.id:
                    continue
                missing = [p for p in self.after[rid] if p not in members]
                if missing:
                    members.discard(rid)
                    refused[rid] = f"follows record {missing[0]}, which is not here or does not count"
                    changed = True
        children: dict[str, list[str]] = {rid: [] for rid in members}
        waiting: dict[str, int] = {}
        for rid in members:
            parents = set(self.after[rid])
            waiting[rid] = len(parents)
            for p in parents:
                children[p].append(rid)
        ready = [(self.records[rid].at, rid) for rid, n in waiting.items() if n == 0]
        heapq.heapify(ready)
        self.order: list[str] = []
        while ready:
            _, rid = heapq.heappop(ready)
            self.order.append(rid)
            for c in children[rid]:
                waiting[c] -= 1
                if waiting[c] == 0:
                    heapq.heappush(ready, (self.records[c].at, c))
        for rid in members - set(self.order):  # a cycle needs a hash collision: refuse it
            refused[rid] = "part of a cycle of records"
        self.index = {rid: i for i, rid in enumerate(self.order)}
        self.parents = [[self.index[p] for p in set(self.after[rid])] for rid in self.order]
        self.anc: list[int] = []
        for i, ps in enumerate(self.parents):
            mask = 0
            for p in ps:
                mask |= self.anc[p] | (1 << p)
            self.anc.append(mask)

    def is_ancestor(self, a: str, b: str) -> bool:
        """Whether record ``a`` is in ``b``'s causal past."""
        return bool(self.anc[self.index[b]] >> self.index[a] & 1)

    def heads(self) -> list[str]:
        referenced = 0
        for ps in self.parents:
            for p in ps:
                referenced |= 1 << p
        return sorted(self.order[i] for i in range(len(self.order)) if not referenced >> i & 1)


def root_pod(root: Record) -> str:
    return derived_id("pod", root.payload)
