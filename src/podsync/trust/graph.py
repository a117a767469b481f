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

The graph itself is :mod:`.record_dag`, the roster at a causal point and rules
2-3 are :mod:`.roster_state`, rules 4-5 :mod:`.strong_removal`; this module
replays them together.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping

import msgspec

from podsync.ids import is_document_id
from podsync.records.format import Record, derived_id
from podsync.trust.identity import device_id_from_cert_der
from podsync.trust.record_dag import MAX_POD_RECORDS, RecordDag, over_limit, root_pod
from podsync.trust.roster import (
    Device, InviteState, Member, Removal, Roster,
)
from podsync.trust.roster_state import (
    ADMIT, EPOCH, FOUND, INVITE, MAX_FIELD_CHARS, MEMBERSHIP_TYPES, REMOVE, RosterState,
    apply_record, check_record, field_text, utc_time,
)
from podsync.trust.strong_removal import strong_removal

log = logging.getLogger(__name__)
#: Replay rounds (rules 4-5 feeding back into 1-3). Honest graphs settle in two.
MAX_ROUNDS = 8


class Replay(msgspec.Struct, frozen=True):
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
    state: RosterState | None = None
    #: Record id -> position, and each position's ancestors as a bitmask.
    index: dict[str, int] = msgspec.field(default_factory=dict)
    ancestors: list[int] = msgspec.field(default_factory=list)


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
    graph = RecordDag(root, records, refused, over_limit(records, refused))
    excluded: set[str] = set()
    valid: list[str] = []
    for _ in range(MAX_ROUNDS):
        states, valid_now, reasons = _phase_rules(pod_id, graph, signed, excluded)
        strong = strong_removal(graph, valid_now, states)
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
    problem = check_record(pod_id, record, replay.state, {record.id: True})
    if problem or record.type != ADMIT:
        return problem
    invite = next((i for i in replay.roster.invites
                   if i.record.invite_id == record.body.get("invite")), None)
    if invite is not None and invite.withdrawn:
        return "the invite was withdrawn"
    return ""


def _find_root(pod_id: str, records: Mapping[str, Record],
               signed: Mapping[str, bool | None]) -> Record | None:
    for r in records.values():
        if r.type != FOUND or r.pod or r.scope or r.after or r.prev is not None:
            continue
        cert, member = r.body.get("cert"), field_text(r.body, "member")
        if (derived_id("pod", r.payload) == pod_id and isinstance(cert, bytes)
                and member is not None and is_document_id(member)
                and device_id_from_cert_der(cert) == r.by and signed.get(r.id) is True):
            return r
    return None


def _phase_rules(pod_id: str, graph: RecordDag, signed: Mapping[str, bool | None],
                 excluded: set[str]) -> tuple[dict[str, RosterState], set[str], dict[str, str]]:
    """Rules 1-3 for every record, given the records ``excluded`` by rules 4-5:
    the state before each record, the records that count, and why others do not."""
    states: dict[str, RosterState] = {}
    after: dict[str, RosterState] = {}
    valid: set[str] = set()
    reasons: dict[str, str] = {}
    for i, rid in enumerate(graph.order):
        record = graph.records[rid]
        parents = graph.parents[i]
        if not parents:
            before = RosterState()
        elif len(parents) == 1:
            before = after[graph.order[parents[0]]]
        else:
            before = _fold(graph, [graph.order[j] for j in range(i) if graph.anc[i] >> j & 1
                                   and graph.order[j] in valid])
        states[rid] = before
        problem = check_record(pod_id, record, before, signed) if rid not in excluded else "excluded"
        if problem:
            reasons[rid] = problem
            after[rid] = before
        else:
            valid.add(rid)
            state = before.copy()
            apply_record(state, record)
            after[rid] = state
    return states, valid, reasons


def _fold(graph: RecordDag, counted: Iterable[str]) -> RosterState:
    state = RosterState()
    for rid in counted:
        apply_record(state, graph.records[rid])
    return state


def _roster(pod_id: str, graph: RecordDag, counted: list[str], final: RosterState,
            states: dict[str, RosterState]) -> Roster:
    root = graph.records[graph.order[0]]
    removal_of: dict[str, Removal] = {}
    removals: list[Removal] = []
    for rid in counted:
        r = graph.records[rid]
        if r.type == REMOVE:
            by = states[rid].devices[r.by].member
            removal = Removal(target=r.body["target"], by=by, at=utc_time(r.at) or EPOCH)
            removals.append(removal)
            removal_of.setdefault(removal.target, removal)
    members = []
    for member_id, info in final.members.items():
        gone = removal_of.get(member_id)
        members.append(Member(member_id=member_id, name=info.name, added_by=info.added_by,
                              added_at=utc_time(info.added_at) or EPOCH,
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
                              added_by=d.added_by, added_at=utc_time(d.added_at) or EPOCH,
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
            used_at=utc_time(winner[0]) if winner else None,
            redemptions=len(by_invite.get(invite_id, [])),
            withdrawn=withdrawn or not final.active_member(inv.record.created_by)))
    return Roster(pod_id=pod_id, pod_name=str(root.body.get("name", "")), members=members,
                  devices=devices, invites=invites, removals=removals)


__all__ = [
    "ADMIT", "FOUND", "INVITE", "MAX_FIELD_CHARS", "MAX_POD_RECORDS", "MAX_ROUNDS",
    "MEMBERSHIP_TYPES", "REMOVE", "Replay", "allows", "is_ancestor", "replay", "root_pod",
]
