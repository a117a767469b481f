"""Strong removal (rules 4 and 5 of :mod:`.graph`): the records undone by removals
they were made apart from, except where removals remove one another's authors in
a circle.
"""

from __future__ import annotations

from podsync.records.format import Record
from podsync.trust.record_dag import RecordDag
from podsync.trust.roster_state import ADMIT, REMOVE, RosterState


def strong_removal(graph: RecordDag, valid: set[str], states: dict[str, RosterState]) -> dict[str, str]:
    """Rules 4 and 5: records undone by removals they were made apart from."""
    out: dict[str, str] = {}
    removals = [graph.records[rid] for rid in graph.order
                if rid in valid and graph.records[rid].type == REMOVE]
    if not removals:
        return out
    cycle = _removal_cycles(graph, removals, states)
    for x in removals:
        target = x.body["target"]
        for rid in graph.order:
            if rid not in valid or rid == x.id or graph.is_ancestor(rid, x.id):
                continue  # the removal's author had seen it
            r = graph.records[rid]
            if r.type == ADMIT:
                invite = states[rid].invites.get(r.body["invite"])
                if invite is not None and not graph.is_ancestor(x.id, invite.rid):
                    out[rid] = "redeems an invite that a later removal withdrew"
                    continue
            if graph.is_ancestor(x.id, rid):
                continue  # rule 2 judged its signer with the removal in its past
            signer = states[rid].devices.get(r.by)
            if signer is None or (r.by != target and signer.member != target):
                continue
            if cycle.get(rid) is not None and cycle.get(rid) == cycle.get(x.id):
                continue  # removals that remove each other's authors: all stand
            out[rid] = "made by a member or device while apart from its removal"
    return out


def _removal_cycles(graph: RecordDag, removals: list[Record],
                    states: dict[str, RosterState]) -> dict[str, int]:
    """Removals that undo one another in a circle (A removes B while B removes A,
    or around three members): record id -> the circle it is in. Every removal in a
    circle stands, so all their targets are removed (strong removal, no seniority)."""
    edges: dict[str, list[str]] = {x.id: [] for x in removals}
    for x in removals:
        target = x.body["target"]
        for r in removals:
            if r.id == x.id or graph.is_ancestor(r.id, x.id) or graph.is_ancestor(x.id, r.id):
                continue
            signer = states[r.id].devices.get(r.by)
            if signer is not None and (r.by == target or signer.member == target):
                edges[x.id].append(r.id)
    # Tarjan's strongly connected components, iteratively (graphs from peers are hostile).
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    on_stack: set[str] = set()
    stack: list[str] = []
    out: dict[str, int] = {}
    counter = 0
    for start in edges:
        if start in index:
            continue
        work = [(start, 0)]
        while work:
            node, i = work.pop()
            if i == 0:
                index[node] = low[node] = counter
                counter += 1
                stack.append(node)
                on_stack.add(node)
            if i < len(edges[node]):
                work.append((node, i + 1))
                nxt = edges[node][i]
                if nxt not in index:
                    work.append((nxt, 0))
                elif nxt in on_stack:
                    low[node] = min(low[node], index[nxt])
                continue
            if work:
                parent = work[-1][0]
                low[parent] = min(low[parent], low[node])
            if low[node] == index[node]:
                component = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.append(member)
                    if member == node:
                        break
                if len(component) > 1:
                    for member in component:
                        out[member] = index[node]
    return out
