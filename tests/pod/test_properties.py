"""Random interleavings of honest operations, refused operations signed anyway, and
forged records across three replicas that merge in random orders.

For every item kind, on three replicas of a real pod (real keys, signed
records): honest operations are decided on whichever replica a member is at and
refused operations write nothing; a *refused* operation is also signed anyway, as
a member's modified node would: the draft another member was allowed to write
(same arguments), signed by the member the operation refused; forged records are
planted anywhere — signed by one member's device in another device's name, made
for another pod or another document, or signed by a member after their removal.
Checked: the derived state is always a lifecycle state, a disagreement shows at
least two candidates; a refused record changes nothing but the history; no
forged record ever counts on any replica; and once every replica has exchanged
everything with the others they all derive the same item.

The pod document's practices (teams, stewards) are folded, not replayed as
lifecycles: :func:`test_pod_document_practices_converge_and_refused_records_change_nothing`
checks the same of them.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import msgspec
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from podsync.errors import PodsyncError
from podsync.pod import agreements as ag
from podsync.pod import allies as al
from podsync.pod import decisions as d
from podsync.pod import discernment as m
from podsync.pod import feedback as f
from podsync.pod import needs as n
from podsync.pod import stewards as sw
from podsync.pod import teams as t
from podsync.pod.events import Item
from podsync.records.format import Draft, build_payload
from podsync.trust.ledger import parse_own
from tests.pod.helpers import T0, Pod, at, merged
from tests.pod.test_feedback import create, document

NAMES = ("ana", "bo", "cy")
MEMBERS = st.sampled_from(NAMES)
NOTE = st.sampled_from(["", "a note", "another note"])
#: An operation's arguments, drawn from the item as it stands and the data.
Args = Callable[[Item, st.DataObject], tuple[Any, ...]]
#: An operation: (item, member id, when, arguments) -> Draft.
Op = Callable[..., Draft]


@dataclass(frozen=True)
class Kind:
    name: str
    #: Makes the item in a fresh pod: (document id, item id).
    setup: Callable[[Pod], tuple[str, str]]
    #: The item as a replica holds it.
    load: Callable[[Pod, str, str], Item]
    derive: Callable[[Item, dt.datetime], Any]
    settle: Callable[[Item, str, str], Draft]
    states: tuple[str, ...]
    ops: dict[str, tuple[Args, Op]]


def _collection(name: str, create_type: str, make: Callable[[Pod], Draft]) -> tuple[
        Callable[[Pod], tuple[str, str]], Callable[[Pod, str, str], Item]]:
    def setup(pod: Pod) -> tuple[str, str]:
        doc = pod.collections[name]
        return doc, pod.do(doc, make(pod), "ana", at()).id

    return setup, lambda pod, doc, iid: pod.item(doc, iid, create_type)


def _p(fn: Callable[..., Draft]) -> Op:
    """An operation that takes no ``now``, called as every operation here is."""
    return lambda item, member, when, *args: fn(item, member, *args)


def _ids(item: Item, op: str) -> list[str]:
    return [e.id for e in item.events if e.op == op] + ["f" * 32]


def kinds(pod: Pod) -> list[Kind]:
    ids = pod.id

    def who(data: st.DataObject) -> str:
        return ids[data.draw(MEMBERS)]

    def nothing(item: Item, data: st.DataObject) -> tuple[Any, ...]:
        return ()

    def note(item: Item, data: st.DataObject) -> tuple[Any, ...]:
        return (data.draw(NOTE) or "n",)

    def parties(data: st.DataObject) -> list[str] | None:
        picked = data.draw(st.sampled_from([None, ["ana"], ["ana", "bo"], ["bo", "cy"]]))
        return None if picked is None else [ids[x] for x in picked]

    def thread(pod: Pod) -> tuple[str, str]:
        tid = create(pod, f.give_feedback(ids["ana"], ids["cy"], [ids["bo"]], "raw"), "ana",
                     at())
        return tid, tid

    return [
        Kind("need", *_collection(n.KIND, n.ADD, lambda p: n.add_need("A need")),
             n.derive, n.settle_need, n.STATES, {
                 "hold": (lambda i, data: (data.draw(st.booleans()),), _p(n.hold_need)),
                 "release": (nothing, _p(n.release_need)),
                 "contact": (lambda i, data: (who(data),), _p(n.set_point_of_contact)),
                 "attend": (lambda i, data: (data.draw(NOTE),), _p(n.attend_need)),
                 "let_be": (lambda i, data: (data.draw(NOTE),), _p(n.let_need_be)),
                 "reopen": (nothing, _p(n.reopen_need)),
                 "note": (note, _p(n.note_need)),
             }),
        Kind("agreement", *_collection(ag.KIND, ag.PROPOSE, lambda p: ag.propose_agreement(
                 at(), "Do a thing", [p.id["ana"], p.id["bo"]])),
             ag.derive, ag.settle_agreement, ag.STATES, {
                 "affirm": (lambda i, data: (data.draw(NOTE), data.draw(
                     st.sampled_from([None, 2, 3]))), _p(ag.affirm_agreement)),
                 "decline": (lambda i, data: (data.draw(NOTE), data.draw(
                     st.sampled_from([None, 2]))), _p(ag.decline_agreement)),
                 "no_longer": (nothing, _p(ag.no_longer_within_capacity)),
                 "withdraw": (nothing, _p(ag.withdraw_from_agreement)),
                 "renew": (lambda i, data: (data.draw(st.sampled_from([-1, 30])),),
                           lambda i, mb, w, days: ag.renew_agreement(
                               i, mb, w, (w + dt.timedelta(days=days)).date())),
                 "revise": (lambda i, data: (data.draw(st.sampled_from([None, "v-a", "v-b"])),
                                             parties(data)),
                            lambda i, mb, w, what, who_: ag.revise_agreement(i, mb, w, what, who_)),
                 "pause": (nothing, _p(ag.pause_agreement)),
                 "resume": (nothing, _p(ag.resume_agreement)),
                 "retire": (nothing, _p(ag.retire_agreement)),
                 "remind": (nothing, _p(ag.volunteer_reminder)),
                 "unremind": (nothing, _p(ag.stop_reminding)),
                 "note": (note, _p(ag.note_agreement)),
             }),
        Kind("decision", *_collection(d.KIND, d.OPEN, lambda p: d.open_decision(
                 at(), "T", "P", at(0, 2))),
             d.derive, d.settle_decision, d.STATES, {
                 "ask": (lambda i, data: (who(data), data.draw(st.sampled_from(d.ASK_REASONS))),
                         _p(d.ask_advice)),
                 "unask": (lambda i, data: (who(data),), _p(d.withdraw_ask)),
                 "decline": (nothing, _p(d.decline_to_advise)),
                 "advise": (lambda i, data: (data.draw(st.sampled_from(d.STANCES)),
                                             data.draw(NOTE) or "t"), _p(d.give_advice)),
                 "integrate": (lambda i, data: (data.draw(st.sampled_from(_ids(i, "advise"))),
                                                data.draw(st.booleans()), "because"),
                               _p(d.integrate_advice)),
                 "deadline": (lambda i, data: (data.draw(st.sampled_from([1, 3])),),
                              lambda i, mb, w, mins: d.move_deadline(
                                  i, mb, w, w + dt.timedelta(minutes=mins))),
                 "withdraw": (note, _p(d.withdraw_decision)),
                 "decide": (lambda i, data: (data.draw(st.sampled_from(["yes", "no"])),
                                             data.draw(st.sampled_from(["", "only me"]))),
                            lambda i, mb, w, text, why: d.decide(i, mb, w, text, None, why)),
                 "note": (note, _p(d.note_decision)),
             }),
        Kind("ask", *_collection(m.KIND, m.ASK, lambda p: m.ask_mobilizing(
                 p.id["ana"], p.id["bo"], "held", "a" * 32)),
             lambda i, now: m.derive(i), m.settle_ask, m.STATES, {
                 "view": (lambda i, data: (data.draw(NOTE) or "purpose",), _p(m.add_view)),
                 "propose": (lambda i, data: (data.draw(st.sampled_from(m.OUTCOMES)),),
                             _p(m.propose_outcome)),
                 "confirm": (lambda i, data: (data.draw(st.sampled_from(_ids(i, "propose"))),),
                             _p(m.confirm_outcome)),
                 "note": (note, _p(m.note_ask)),
             }),
        Kind("allies", *_collection(al.KIND, al.ALLIES, lambda p: al.propose_allies(
                 p.id["ana"], p.id["bo"], 1, "co-holding")),
             al.derive, al.settle_allies, al.STATES, {
                 "accept": (nothing, _p(al.accept_allies)),
                 "decline": (nothing, _p(al.decline_allies)),
                 "stop": (nothing, _p(al.stop_allies)),
                 "met": (nothing, _p(al.record_met)),
             }),
        Kind("feedback thread", thread,
             lambda p, doc, iid: document(p, doc), lambda i, now: f.thread(i), f.settle_thread,
             f.STATES, {
                 "reply": (note, _p(f.reply)),
                 "clarify": (note, _p(f.clarify)),
                 "propose": (lambda i, data: (data.draw(st.sampled_from(["dissolved", "leader"])),
                                              "clear words"), _p(f.propose_route)),
                 "answer": (lambda i, data: (data.draw(st.sampled_from(_ids(i, "propose"))),
                                             data.draw(st.booleans())), _p(f.answer_route)),
                 "withdraw": (nothing, _p(f.withdraw_thread)),
                 "route": (lambda i, data: (data.draw(st.sampled_from(_ids(i, "propose"))),),
                           lambda i, mb, w, pid: f.record_route(
                               i, mb, pid, *(() if any(
                                   e.id == pid and e.args.get("route") == "dissolved"
                                   for e in i.events) else (pod.collections[n.KIND],)))),
             }),
        Kind("team item", *_collection(t.ITEMS_KIND, t.ITEM_ADD,
                                       lambda p: t.add_team_item("f" * 32, "X")),
             lambda i, now: t.derive(i), t.settle_team_item, t.ITEM_STATES, {
                 "address": (note, _p(t.address_team_item)),
                 "reopen": (nothing, _p(t.reopen_team_item)),
                 "note": (note, _p(t.note_team_item)),
             }),
    ]


KIND_NAMES = ["need", "agreement", "decision", "ask", "allies", "feedback thread", "team item"]


def forge(pod: Pod, doc_id: str, item_id: str, data: st.DataObject, when: dt.datetime,
          other_pod: Pod, kind: Kind) -> Any:
    """A record that must never count, planted in ``pod``'s copy of ``doc_id``."""
    how = data.draw(st.sampled_from(["impostor", "other-pod", "other-doc", "removed"]), label="forge")
    op = data.draw(st.sampled_from(sorted(kind.ops) + ["settle"]), label="forged op")
    draft = Draft(op, {"note": "forged", "text": "forged", "member": pod.id["dee"]},
                  item=item_id, after=())
    if how == "impostor":  # Dee signs a record that says Ana's device made it
        payload = build_payload(draft, pod=pod.pod_id, scope=doc_id,
                                by=pod.signers["ana"].device_id, at=when, prev=None)
        record = parse_own(payload, pod.signers["dee"].sign(payload))
    elif how == "other-pod":  # a record Ana signed for another pod, copied here
        payload = build_payload(draft, pod=other_pod.pod_id, scope=doc_id,
                                by=pod.signers["ana"].device_id, at=when, prev=None)
        record = parse_own(payload, pod.signers["ana"].sign(payload))
    elif how == "other-doc":  # made for the pod document, copied into this one
        record = pod.sign(pod.pod_id, draft, "ana", when)
    else:  # Eve was removed before the pod began; her device still signs
        record = pod.sign(doc_id, draft, "eve", when)
    pod.store(doc_id, record)
    return record.id


def _without_history(view: Any) -> Any:
    return msgspec.structs.replace(view, history=[])


@pytest.mark.parametrize("kind_name", KIND_NAMES)
@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_three_replicas_honest_refused_and_forged_records(kind_name: str,
                                                          data: st.DataObject) -> None:
    pod = Pod(("ana", "bo", "cy", "dee", "eve"))
    pod.remove(pod.id["eve"], "ana", T0 - dt.timedelta(days=5))
    other_pod = Pod(("ana",))
    kind = next(k for k in kinds(pod) if k.name == kind_name)
    doc_id, item_id = kind.setup(pod)
    replicas = [pod, pod.fork(), pod.fork()]
    forged: set[str] = set()
    steps = data.draw(st.integers(1, 25), label="steps")
    for step in range(1, steps + 1):
        when = at(0, step)
        action = data.draw(st.sampled_from(["op"] * 5 + ["merge", "settle", "forge"] + ["refused"] * 2),
                           label="action")
        replica = replicas[data.draw(st.integers(0, 2), label="replica")]
        if action == "merge":
            a, b = data.draw(st.sampled_from([(0, 1), (1, 2), (0, 2)]), label="pair")
            merged(replicas[a], replicas[b])
            continue
        if action == "forge":
            forged.add(forge(replica, doc_id, item_id, data, when, other_pod, kind))
            continue
        name = data.draw(MEMBERS, label="member")
        item = kind.load(replica, doc_id, item_id)
        if action == "refused":
            _sign_refused(replica, kind, doc_id, item_id, item, name, when, data)
            continue
        try:
            if action == "settle":
                current = kind.derive(item, when)
                choices = [x.id for x in current.candidates] + [x.state for x in current.candidates]
                draft = kind.settle(item, replica.id[name],
                                    data.draw(st.sampled_from(choices + ["nonsense"]), label="choice"))
            else:
                op = data.draw(st.sampled_from(sorted(kind.ops)), label="op")
                args, fn = kind.ops[op]
                draft = fn(item, replica.id[name], when, *args(item, data))
        except PodsyncError:
            continue  # refused: there is no draft, so nothing is written
        replica.do(doc_id, draft, name, when)
        for r in replicas:
            _check(kind, kind.derive(kind.load(r, doc_id, item_id), when))
    for a, b in ((0, 1), (1, 2), (0, 2)):
        merged(replicas[a], replicas[b])
    end = at(1)
    views = [kind.derive(kind.load(r, doc_id, item_id), end) for r in replicas]
    assert views[0] == views[1] == views[2]
    for r in replicas:
        counted = {c.record.id for c in r.ledger.counted(doc_id)}
        assert not forged & counted, "a forged record counted"
        if forged:  # every one is held, and listed as unverifiable
            assert sum(r.ledger.unverifiable().get(doc_id, {}).values()) == len(forged)


def _sign_refused(replica: Pod, kind: Kind, doc_id: str, item_id: str, item: Item, name: str,
                  when: dt.datetime, data: st.DataObject) -> None:
    """If the operation refuses ``name`` but allows another member the same arguments,
    sign that member's draft as ``name`` (a modified node): it must change nothing."""
    op = data.draw(st.sampled_from(sorted(kind.ops)), label="refused op")
    args_of, fn = kind.ops[op]
    args = args_of(item, data)
    try:
        fn(item, replica.id[name], when, *args)
        return  # allowed: nothing refused to sign
    except PodsyncError:
        pass
    for other in NAMES:
        try:
            draft = fn(item, replica.id[other], when, *args)
        except PodsyncError:
            continue
        before = _without_history(kind.derive(item, when))
        replica.do(doc_id, draft, name, when)
        after = kind.derive(kind.load(replica, doc_id, item_id), when)
        assert _without_history(after) == before, f"{op} refused to {name} changed the item"
        return


def _check(kind: Kind, got: Any) -> None:
    assert got.state in kind.states
    if got.needs_reconciliation:
        assert len(got.candidates) >= 2
        assert all(x.state in kind.states for x in got.candidates)
    else:
        assert got.candidates == []


# -- the pod document: teams and stewards -------------------------------------------


def _pod_ops(pod: Pod) -> dict[str, tuple[Callable[[list[Any], st.DataObject], tuple[Any, ...]],
                                          Callable[..., Draft]]]:
    ids = pod.id

    def team(records: list[Any], data: st.DataObject) -> str:
        return data.draw(st.sampled_from([x.id for x in t.teams(records)] + ["f" * 32]))

    def nomination(records: list[Any], data: st.DataObject) -> str:
        return data.draw(st.sampled_from([x.id for x in sw.nominations(records)] + ["f" * 32]))

    return {
        "team.create": (lambda r, data: (data.draw(st.sampled_from(["A", "B"])),
                                         [ids[x] for x in data.draw(st.sampled_from(
                                             [[], ["ana"], ["ana", "bo"]]))]),
                        lambda r, mb, name, members: t.create_team(r, mb, name, members)),
        "team.add": (lambda r, data: (team(r, data), ids[data.draw(MEMBERS)]),
                     lambda r, mb, tid, member: t.add_team_member(r, tid, mb, member)),
        "team.accept": (lambda r, data: (team(r, data),),
                        lambda r, mb, tid: t.accept_team(r, tid, mb)),
        "team.decline": (lambda r, data: (team(r, data),),
                         lambda r, mb, tid: t.decline_team(r, tid, mb)),
        "team.remove": (lambda r, data: (team(r, data), ids[data.draw(MEMBERS)]),
                        lambda r, mb, tid, member: t.remove_team_member(r, tid, mb, member)),
        "steward.propose": (lambda r, data: (ids[data.draw(MEMBERS)], ids[data.draw(MEMBERS)]),
                            lambda r, mb, leader, steward: sw.propose_steward(r, mb, leader,
                                                                              steward)),
        **{op: (lambda r, data: (nomination(r, data),),
                lambda r, mb, nid, fn=fn: fn(r, nid, mb))
           for op, fn in (("steward.affirm", sw.affirm_role),
                          ("steward.consent", sw.consent_to_steward),
                          ("steward.decline", sw.decline_nomination),
                          ("steward.step_down", sw.step_down), ("steward.remove", sw.end_role))},
    }


def _pod_views(pod: Pod) -> tuple[Any, Any]:
    records = pod.ledger.pod_records(t.TEAM_TYPES | sw.STEWARD_TYPES)
    return t.teams(records), sw.nominations(records)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_pod_document_practices_converge_and_refused_records_change_nothing(
        data: st.DataObject) -> None:
    pod = Pod(("ana", "bo", "cy"))
    ops = _pod_ops(pod)
    replicas = [pod, pod.fork(), pod.fork()]
    for step in range(1, data.draw(st.integers(1, 20), label="steps") + 1):
        when = at(0, step)
        action = data.draw(st.sampled_from(["op"] * 4 + ["merge", "refused"]), label="action")
        replica = replicas[data.draw(st.integers(0, 2), label="replica")]
        if action == "merge":
            a, b = data.draw(st.sampled_from([(0, 1), (1, 2), (0, 2)]), label="pair")
            merged(replicas[a], replicas[b])
            continue
        name = data.draw(MEMBERS, label="member")
        records = replica.ledger.pod_records(t.TEAM_TYPES | sw.STEWARD_TYPES)
        op = data.draw(st.sampled_from(sorted(ops)), label="op")
        args_of, fn = ops[op]
        args = args_of(records, data)
        try:
            draft = fn(records, replica.id[name], *args)
        except PodsyncError:
            if action != "refused":
                continue
            for other in NAMES:  # the same change, allowed to someone else, signed by name
                try:
                    draft = fn(records, replica.id[other], *args)
                except PodsyncError:
                    continue
                before = _pod_views(replica)
                replica.do(replica.pod_id, draft, name, when)
                assert _pod_views(replica) == before, f"{op} refused to {name} changed the pod"
                break
            continue
        replica.do(replica.pod_id, draft, name, when)
        teams, nominations = _pod_views(replica)
        assert all(x.state in sw.STATES and x.leader != x.steward for x in nominations)
        assert all(not set(x.members) & set(x.invited) for x in teams)
    for a, b in ((0, 1), (1, 2), (0, 2)):
        merged(replicas[a], replicas[b])
    assert _pod_views(replicas[0]) == _pod_views(replicas[1]) == _pod_views(replicas[2])
