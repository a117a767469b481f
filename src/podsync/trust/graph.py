"""The pod's membership as a signed causal graph, replayed into a roster.

Every record in the pod document is signed by a device and names in ``after``
the records of the pod document its author had seen as latest, so the records
form a graph that every node replays the same way. The graph starts at the
pod's founding record, whose hash is the pod id: nobody can found the same pod
twice or slip in another founder.

A record **counts** when (the rules every node applies alike):

1. its signature is its signer's, every record it follows is known and counts
   or not by these same rules, and it descends from the founding record;
2. its signer is an active device in the roster as it stood at the record's
   causal past (the records it follows, replayed) — so the time it carries
   decides nothing, and a record dated before its author's removal but written
   after it (it follows the removal) does not count;
3. what it does is allowed there: an admission names an invite of that past,
   not used, not expired on the admitter's clock, with the newcomer's proof of
   the invite's secret; a removal names a member or device of that past;
4. **strong removal**: a record whose signer is removed by a removal it is not
   an ancestor of (made while apart from it) does not count — a member removed
   while away cannot slip in an accomplice. The one exception is removals that
   remove each other's authors in a circle: when two (or more) members remove
   each other while apart, all those removals stand and all are removed. No
   seniority decides between them (the founder would become a quiet admin);
   removal only takes access away, and anyone removed can be invited again;
5. an invite is withdrawn by every removal that does not precede it: the
   removed device held the invite's verifier, so an admission with such an
   invite counts only if the removal's author had seen it;
6. two admissions with one invite made while apart both count; the later (by
   time, then device id) is marked ``contested`` for members to review.

Rules 4 and 5 can undo admissions, and with them what the admitted did; the
replay repeats until nothing changes (a few rounds at most, bounded by
:data:`MAX_ROUNDS` so hostile input cannot make it loop).

Records that do not count are kept and counted by reason, never used.
"""

from __future__ import annotations

import datetime as dt
import heapq
import logging
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from podsync.ids import parse_document_id
from podsync.errors import InvalidId
from podsync.records.format import Record, derived_id
from podsync.trust.identity import device_id_from_cert_der
from podsync.trust.invite import InviteRecord, check_join_proof
from podsync.trust.roster import (
    Device, InviteState, Member, Removal, Roster,
)

log = logging.getLogger(__name__)

FOUND = "pod.found"
INVITE = "member.invite"
ADMIT = "member.admit"
REMOVE = "member.remove"
MEMBERSHIP_TYPES = frozenset({FOUND, INVITE, ADMIT, REMOVE})
#: Replay rounds (rules 4-5 feeding back into 1-3). Honest graphs settle in two.
MAX_ROUNDS = 8
#: Records replayed from the pod document. A pod of fifty people writes a few
#: hundred membership, team, steward and share records a year; 20,000 is decades
#: of that, and keeps the replay's ancestry tables (records squared bits) near
#: 50 MB. Past it, the records of whichever device wrote the most are set aside
#: first, latest first: a member flooding the document loses their own records,
#: not everyone else's.
MAX_POD_RECORDS = 20_000
#: Longest name, invite id and member id read from a record.
MAX_FIELD_CHARS = 128


@dataclass(frozen=True)
class _MemberInfo:
    name: str
    added_by: str
    added_at: str


@dataclass(frozen=True)
class _DeviceInfo:
    member: str
    cert: bytes
    added_by: str
    added_at: str
    invite: str | None
    record: str


@dataclass(frozen=True)
class _InviteInfo:
    record: InviteRecord
    rid: str


@dataclass
class _State:
    """The roster at some causal point: what rules 2 and 3 consult."""

    members: dict[str, _MemberInfo] = field(default_factory=dict)
    devices: dict[str, _DeviceInfo] = field(default_factory=dict)
    removed: dict[str, str] = field(default_factory=dict)  # target id -> removal record id
    invites: dict[str, _InviteInfo] = field(default_factory=dict)
    used: dict[str, str] = field(default_factory=dict)  # invite id -> admitting record id

    def copy(self) -> _State:
        return _State(dict(self.members), dict(self.devices), dict(self.removed),
                      dict(self.invites), dict(self.used))

    def active_device(self, device_id: str) -> bool:
        d = self.devices.get(device_id)
        return d is not None and device_id not in self.removed and d.member not in self.removed

    def active_member(self, member_id: str) -> bool:
        return member_id in self.members and member_id not in self.removed


@dataclass(frozen=True)
class Replay:
    """The outcome of replaying the pod document's records."""

    roster: Roster | None
    #: Ids of every record that counts, in replay order (the founding record first).
    counted: list[str]
    #: Record id -> why it does not count.
    refused: dict[str, str]
    #: The graph's heads: what a new record should follow.
    heads: list[str]
    #: Device id -> member id for every device ever admitted (removed ones too).
    device_members: dict[str, str]
    #: The roster's state at the heads (what a new record is checked against).
    state: _State | None = None
    #: Record id -> position, and each position's ancestors as a bitmask.
    index: dict[str, int] = field(default_factory=dict)
    ancestors: list[int] = field(default_factory=list)


def is_ancestor(replay: Replay, a: str, b: str) -> bool:
    """Whether record ``a`` is in record ``b``'s causal past (both replayed)."""
    ia, ib = replay.index.get(a), replay.index.get(b)
    return ia is not None and ib is not None and bool(replay.ancestors[ib] >> ia & 1)


def replay(pod_id: str, records: Mapping[str, Record], signed: Mapping[str, bool | None]) -> Replay:
    """Replay ``records`` (parsed, with ``signed``: each one's signature check)."""
    refused: dict[str, str] = {}
    root = _find_root(pod_id, records, signed)
    if root is None:
        for rid in records:
            refused[rid] = "no founding record of this pod to start from"
        return Replay(None, [], refused, [], {}, None)
    graph = _Dag(root, records, refused, _over_limit(records, refused))
    excluded: set[str] = set()
    valid: list[str] = []
    for _ in range(MAX_ROUNDS):
        states, valid_now, reasons = _phase_rules(pod_id, graph, signed, excluded)
        strong = _strong_removal(graph, valid_now, states)
        now_excluded = set(strong)
        if now_excluded == excluded and valid_now == valid:
            break
        excluded, valid = now_excluded, valid_now
    else:
        log.warning("pod %s: membership replay did not settle in %d rounds", pod_id, MAX_ROUNDS)
    for rid in graph.order:
        if rid in strong:
            refused[rid] = strong[rid]
        elif rid not in valid_now:
            refused[rid] = reasons.get(rid, "not allowed")
    counted = [rid for rid in graph.order if rid in valid_now and rid not in strong]
    final = _fold(graph, counted)
    roster = _roster(pod_id, graph, counted, final, states)
    return Replay(roster, counted, refused, graph.heads(),
                  {d: info.member for d, info in final.devices.items()}, final,
                  graph.index, graph.anc)


def allows(replay: Replay, pod_id: str, record: Record) -> str:
    """Why ``record`` — signed here, following the current heads — would not
    count; "" when it would. The write path asks this before writing anything."""
    if replay.state is None or replay.roster is None:
        return "this node does not hold its pod's founding record yet"
    problem = _check(pod_id, record, replay.state, {record.id: True})
    if problem or record.type != ADMIT:
        return problem
    invite = next((i for i in replay.roster.invites
                   if i.record.invite_id == record.body.get("invite")), None)
    if invite is not None and invite.withdrawn:
        return "the invite was withdrawn"
    return ""


def _over_limit(records: Mapping[str, Record], refused: dict[str, str]) -> set[str]:
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


def _find_root(pod_id: str, records: Mapping[str, Record],
               signed: Mapping[str, bool | None]) -> Record | None:
    for r in records.values():
        if r.type != FOUND or r.pod or r.scope or r.after or r.prev is not None:
            continue
        cert, member = r.body.get("cert"), _text(r.body, "member")
        if (derived_id("pod", r.payload) == pod_id and isinstance(cert, bytes)
                and member is not None and _is_document_id(member)
                and device_id_from_cert_der(cert) == r.by and signed.get(r.id) is True):
            return r
    return None


class _Dag:
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


def _phase_rules(pod_id: str, graph: _Dag, signed: Mapping[str, bool | None],
                 excluded: set[str]) -> tuple[dict[str, _State], set[str], dict[str, str]]:
    """Rules 1-3 for every record, given the records ``excluded`` by rules 4-5:
    the state before each record, the records that count, and why others do not."""
    states: dict[str, _State] = {}
    after: dict[str, _State] = {}
    valid: set[str] = set()
    reasons: dict[str, str] = {}
    for i, rid in enumerate(graph.order):
        record = graph.records[rid]
        parents = graph.parents[i]
        if not parents:
            before = _State()
        elif len(parents) == 1:
            before = after[graph.order[parents[0]]]
        else:
            before = _fold(graph, [graph.order[j] for j in range(i) if graph.anc[i] >> j & 1
                                   and graph.order[j] in valid])
        states[rid] = before
        problem = _check(pod_id, record, before, signed) if rid not in excluded else "excluded"
        if problem:
            reasons[rid] = problem
            after[rid] = before
        else:
            valid.add(rid)
            state = before.copy()
            _apply(state, record)
            after[rid] = state
    return states, valid, reasons


def _fold(graph: _Dag, counted: Iterable[str]) -> _State:
    state = _State()
    for rid in counted:
        _apply(state, graph.records[rid])
    return state


def _text(body: Mapping[str, Any], key: str) -> str | None:
    value = body.get(key)
    if isinstance(value, str) and 0 < len(value) <= MAX_FIELD_CHARS:
        return value
    return None


def _check(pod_id: str, r: Record, s: _State, signed: Mapping[str, bool | None]) -> str:
    """Why ``r`` does not count given the state ``s`` before it; "" when it does."""
    ok = signed.get(r.id)
    if ok is None:
        return "signed by a device this node does not know"
    if not ok:
        return "its signature is not its signer's"
    if r.type == FOUND:
        return "" if not r.after else "a second founding record"
    if not s.active_device(r.by):
        return "its signer was not an active device of the pod at that point"
    body = r.body
    if r.type == INVITE:
        return _check_invite(r, s)
    if r.type == ADMIT:
        return _check_admit(pod_id, r, s)
    if r.type == REMOVE:
        target = _text(body, "target")
        if target is None or (target not in s.members and target not in s.devices):
            return "removes nobody of the pod"
        if target in s.removed:
            return "removes someone already removed"
    return ""


def _check_invite(r: Record, s: _State) -> str:
    invite_id = _text(r.body, "invite")
    verifier, expires = r.body.get("verifier"), _text(r.body, "expires")
    for_member = r.body.get("for_member")
    if invite_id is None or not isinstance(verifier, bytes) or expires is None:
        return "an invite without id, verifier or expiry"
    if invite_id in s.invites:
        return f"invite {invite_id} was already made"
    if for_member is not None and not (isinstance(for_member, str) and s.active_member(for_member)):
        return "an invite for a device of someone who is not an active member"
    if _when(expires) is None:
        return "an invite whose expiry is not a time"
    return ""


def _check_admit(pod_id: str, r: Record, s: _State) -> str:
    body = r.body
    invite_id, member_id = _text(body, "invite"), _text(body, "member")
    cert, proof = body.get("cert"), body.get("proof")
    if invite_id is None or member_id is None or not isinstance(cert, bytes) \
            or not isinstance(proof, bytes):
        return "an admission without invite, member, certificate or proof"
    invite = s.invites.get(invite_id)
    if invite is None:
        return f"admits with invite {invite_id}, which was not made before it"
    if invite_id in s.used:
        return f"invite {invite_id} was already used"
    admitted_at, expires = _when(r.at), invite.record.expires_at
    if admitted_at is None or admitted_at >= expires:
        return f"invite {invite_id} had expired"
    if not check_join_proof(invite.record, proof, pod_id, cert):
        return "the newcomer's proof does not match the invite"
    device_id = device_id_from_cert_der(cert)
    if device_id in s.devices:
        return f"device {device_id} is already in the pod"
    for_member = invite.record.for_member
    if for_member is not None:
        if member_id != for_member or not s.active_member(for_member):
            return "adds a device to someone other than the invite names"
        return ""
    if not _is_document_id(member_id):
        return "the new member's id is not valid"
    if member_id in s.members:
        return f"member {member_id} is already in the pod"
    if _text(body, "name") is None:
        return "a new member without a name"
    return ""


def _apply(s: _State, r: Record) -> None:
    body = r.body
    if r.type == FOUND:
        member_id = str(body.get("member"))
        s.members[member_id] = _MemberInfo(str(body.get("member_name", "")), member_id, r.at)
        s.devices[r.by] = _DeviceInfo(member_id, body["cert"], member_id, r.at, None, r.id)
        return
    signer = s.devices[r.by].member if r.by in s.devices else ""
    if r.type == INVITE:
        s.invites[body["invite"]] = _InviteInfo(InviteRecord(
            invite_id=body["invite"], verifier=body["verifier"],
            expires_at=_when(body["expires"]) or dt.datetime.min.replace(tzinfo=dt.timezone.utc),
            created_by=signer, created_at=_when(r.at) or _EPOCH,
            for_member=body.get("for_member")), r.id)
    elif r.type == ADMIT:
        member_id = body["member"]
        if member_id not in s.members:
            s.members[member_id] = _MemberInfo(str(body.get("name", "")), signer, r.at)
        device_id = device_id_from_cert_der(body["cert"])
        s.devices[device_id] = _DeviceInfo(member_id, body["cert"], signer, r.at,
                                           body["invite"], r.id)
        s.used.setdefault(body["invite"], r.id)
    elif r.type == REMOVE:
        s.removed.setdefault(body["target"], r.id)


_EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.timezone.utc)


def _is_document_id(text: str) -> bool:
    try:
        parse_document_id(text)
    except InvalidId:
        return False
    return True


def _when(text: str) -> dt.datetime | None:
    try:
        moment = dt.datetime.fromisoformat(text)
    except (TypeError, ValueError):
        return None
    if moment.tzinfo is None:
        return None
    return moment.astimezone(dt.timezone.utc)


def _strong_removal(graph: _Dag, valid: set[str], states: dict[str, _State]) -> dict[str, str]:
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


def _removal_cycles(graph: _Dag, removals: list[Record],
                    states: dict[str, _State]) -> dict[str, int]:
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


def _roster(pod_id: str, graph: _Dag, counted: list[str], final: _State,
            states: dict[str, _State]) -> Roster:
    root = graph.records[graph.order[0]]
    removal_of: dict[str, Removal] = {}
    removals: list[Removal] = []
    for rid in counted:
        r = graph.records[rid]
        if r.type == REMOVE:
            by = states[rid].devices[r.by].member
            removal = Removal(target=r.body["target"], by=by, at=_when(r.at) or _EPOCH)
            removals.append(removal)
            removal_of.setdefault(removal.target, removal)
    members = []
    for member_id, info in final.members.items():
        gone = removal_of.get(member_id)
        members.append(Member(member_id=member_id, name=info.name, added_by=info.added_by,
                              added_at=_when(info.added_at) or _EPOCH,
                              status="removed" if gone else "active",
                              removed_by=gone.by if gone else None,
                              removed_at=gone.at if gone else None))
    # One invite, two devices admitted while apart: the later admission is contested.
    by_invite: dict[str, list[tuple[str, str]]] = {}
    for device_id, d in final.devices.items():
        if d.invite is not None:
            by_invite.setdefault(d.invite, []).append((d.added_at, device_id))
    first = {inv: min(pairs) for inv, pairs in by_invite.items()}
    devices = []
    for device_id, d in final.devices.items():
        gone = removal_of.get(device_id) or removal_of.get(d.member)
        winner = first.get(d.invite) if d.invite else None
        devices.append(Device(device_id=device_id, member_id=d.member, cert=d.cert,
                              added_by=d.added_by, added_at=_when(d.added_at) or _EPOCH,
                              invite_id=d.invite, status="removed" if gone else "active",
                              contested=winner is not None and winner[1] != device_id,
                              removed_by=gone.by if gone else None,
                              removed_at=gone.at if gone else None))
    invites = []
    for invite_id, inv in final.invites.items():
        winner = first.get(invite_id)
        withdrawn = any(not graph.is_ancestor(graph_removal, inv.rid)
                        for graph_removal in (rid for rid in counted
                                              if graph.records[rid].type == REMOVE))
        invites.append(InviteState(
            record=inv.record, used_by=winner[1] if winner else None,
            used_at=_when(winner[0]) if winner else None,
            redemptions=len(by_invite.get(invite_id, [])),
            withdrawn=withdrawn or not final.active_member(inv.record.created_by)))
    return Roster(pod_id=pod_id, pod_name=str(root.body.get("name", "")), members=members,
                  devices=devices, invites=invites, removals=removals)


