"""Random interleavings of honest operations and forged records across three
replicas that merge in random orders.

For every item kind, on three replicas of a real pod (real keys, signed
records): honest operations are decided on whichever replica a member is at and
refused operations write nothing; forged records are planted anywhere — signed
by one member's device in another device's name, made for another pod or
another document, or signed by a member after their removal. Checked: the
derived state is always a lifecycle state, a disagreement shows at least two
candidates; no forged record ever counts on any replica; and once every replica
has exchanged everything with the others they all derive the same item.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from podsync.errors import PodsyncError
from podsync.pod import agreements as ag
from podsync.pod import capacity as c
from podsync.pod import decisions as d
from podsync.pod import needs as n
from podsync.pod import teams as t
from podsync.pod.events import Item
from podsync.records.format import Draft, build_payload
from podsync.trust.ledger import parse_own
from tests.pod.helpers import T0, Pod, at, merged

MEMBERS = st.sampled_from(["ana", "bo", "cy"])
NOTE = st.sampled_from(["", "a note", "another note"])
#: A decision, an operation's arguments: (item, member id, when, data) -> Draft.
Op = Callable[[Item, str, dt.datetime, st.DataObject], Draft]


@dataclass(frozen=True)
class Kind:
    name: str
    collection: str
    create_type: str
    create: Callable[[Pod], Draft]
    derive: Callable[[Item, dt.datetime], Any]
    settle: Callable[[Item, str, str], Draft]
    states: tuple[str, ...]
    ops: dict[str, Op]


def _m(pod: Pod, data: st.DataObject) -> str:
    return pod.id[data.draw(MEMBERS)]


def kinds(pod: Pod) -> list[Kind]:
    def member(data: st.DataObject) -> str:
        return _m(pod, data)

    def integrate(item: Item, m: str, w: dt.datetime, data: st.DataObject) -> Draft:
        advice = [e.id for e in item.events if e.op == "advise"]
        target = data.draw(st.sampled_from(advice + ["f" * 32]))
        return d.integrate_advice(item, m, target, data.draw(st.booleans()), "because")

    return [
        Kind("need", n.KIND, n.ADD, lambda p: n.add_need("A need"),
             n.derive, n.settle_need, n.STATES, {
                 "hold": lambda i, m, w, data: n.hold_need(i, m, data.draw(st.booleans())),
                 "release": lambda i, m, w, data: n.release_need(i, m),
                 "contact": lambda i, m, w, data: n.set_point_of_contact(i, m, member(data)),
                 "attend": lambda i, m, w, data: n.attend_need(i, m, data.draw(NOTE)),
                 "let_be": lambda i, m, w, data: n.let_need_be(i, m, data.draw(NOTE)),
                 "reopen": lambda i, m, w, data: n.reopen_need(i, m),
                 "note": lambda i, m, w, data: n.note_need(i, m, data.draw(NOTE)),
             }),
        Kind("agreement", ag.KIND, ag.PROPOSE,
             lambda p: ag.propose_agreement(at(), "Do a thing", [p.id["ana"], p.id["bo"]]),
             ag.derive, ag.settle_agreement, ag.STATES, {
                 "affirm": lambda i, m, w, data: ag.affirm_agreement(i, m, data.draw(NOTE)),
                 "no_longer": lambda i, m, w, data: ag.no_longer_within_capacity(i, m),
                 "renew": lambda i, m, w, data: ag.renew_agreement(
                     i, m, w, (w + dt.timedelta(days=data.draw(st.sampled_from([-1, 30])))).date()),
                 "revise": lambda i, m, w, data: ag.revise_agreement(
                     i, m, w, data.draw(st.sampled_from(["v-a", "v-b"])),
                     [pod.id[x] for x in data.draw(st.sampled_from(
                         [["ana"], ["ana", "bo"], ["bo", "cy"]]))]),
                 "pause": lambda i, m, w, data: ag.pause_agreement(i, m),
                 "resume": lambda i, m, w, data: ag.resume_agreement(i, m),
                 "retire": lambda i, m, w, data: ag.retire_agreement(i, m),
                 "remind": lambda i, m, w, data: ag.volunteer_reminder(i, m),
                 "unremind": lambda i, m, w, data: ag.stop_reminding(i, m),
                 "note": lambda i, m, w, data: ag.note_agreement(i, m, data.draw(NOTE) or "n"),
             }),
        Kind("decision", d.KIND, d.OPEN, lambda p: d.open_decision(at(), "T", "P", at(0, 2)),
             d.derive, d.settle_decision, d.STATES, {
                 "ask": lambda i, m, w, data: d.ask_advice(
                     i, m, member(data), data.draw(st.sampled_from(d.ASK_REASONS))),
                 "advise": lambda i, m, w, data: d.give_advice(
                     i, m, data.draw(st.sampled_from(d.STANCES)), data.draw(NOTE) or "t"),
                 "integrate": integrate,
                 "decide": lambda i, m, w, data: d.decide(
                     i, data.draw(st.sampled_from([pod.id["ana"]] * 2 + [m])), w,
                     data.draw(st.sampled_from(["yes", "no"]))),
                 "note": lambda i, m, w, data: d.note_decision(i, m, data.draw(NOTE) or "n"),
             }),
        Kind("ask", c.KIND, c.ASK,
             lambda p: c.ask_mobilizing(p.id["ana"], p.id["bo"], "a" * 32),
             lambda i, now: c.derive(i), c.settle_ask, c.ASK_STATES, {
                 "answer": lambda i, m, w, data: c.answer_ask(
                     i, data.draw(st.sampled_from([pod.id["bo"]] * 2 + [m])),
                     data.draw(st.sampled_from(["yes", "no"]))),
                 "discern": lambda i, m, w, data: c.record_discernment(
                     i, m, data.draw(st.sampled_from(c.DISCERNMENTS))),
                 "note": lambda i, m, w, data: c.note_ask(i, m, data.draw(NOTE) or "n"),
             }),
        Kind("team item", t.ITEMS_KIND, t.ITEM_ADD, lambda p: t.add_team_item("f" * 32, "X"),
             lambda i, now: t.derive(i), t.settle_team_item, t.ITEM_STATES, {
                 "address": lambda i, m, w, data: t.address_team_item(i, m, data.draw(NOTE) or "n"),
                 "reopen": lambda i, m, w, data: t.reopen_team_item(i, m),
                 "note": lambda i, m, w, data: t.note_team_item(i, m, data.draw(NOTE) or "n"),
             }),
    ]


KIND_NAMES = ["need", "agreement", "decision", "ask", "team item"]


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


@pytest.mark.parametrize("kind_name", KIND_NAMES)
@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_three_replicas_honest_and_forged_records(kind_name: str, data: st.DataObject) -> None:
    pod = Pod(("ana", "bo", "cy", "dee", "eve"))
    pod.remove(pod.id["eve"], "ana", T0 - dt.timedelta(days=5))
    other_pod = Pod(("ana",))
    kind = next(k for k in kinds(pod) if k.name == kind_name)
    doc_id = pod.collections[kind.collection]
    item_id = pod.do(doc_id, kind.create(pod), "ana", at()).id
    replicas = [pod, pod.fork(), pod.fork()]
    forged: set[str] = set()
    steps = data.draw(st.integers(1, 25), label="steps")
    for step in range(1, steps + 1):
        when = at(0, step)
        action = data.draw(st.sampled_from(["op"] * 5 + ["merge", "settle", "forge"]),
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
        item = replica.item(doc_id, item_id, kind.create_type)
        try:
            if action == "settle":
                current = kind.derive(item, when)
                choices = [x.id for x in current.candidates] + [x.state for x in current.candidates]
                draft = kind.settle(item, replica.id[name],
                                    data.draw(st.sampled_from(choices + ["nonsense"]), label="choice"))
            else:
                op = data.draw(st.sampled_from(sorted(kind.ops)), label="op")
                draft = kind.ops[op](item, replica.id[name], when, data)
        except PodsyncError:
            continue  # refused: there is no draft, so nothing is written
        replica.do(doc_id, draft, name, when)
        for r in replicas:
            _check(kind, kind.derive(r.item(doc_id, item_id, kind.create_type), when))
    for a, b in ((0, 1), (1, 2), (0, 2)):
        merged(replicas[a], replicas[b])
    end = at(1)
    views = [kind.derive(r.item(doc_id, item_id, kind.create_type), end) for r in replicas]
    assert views[0] == views[1] == views[2]
    for r in replicas:
        counted = {c.record.id for c in r.ledger.counted(doc_id)}
        assert not forged & counted, "a forged record counted"
        if forged:  # every one is held, and listed as unverifiable
            assert sum(r.ledger.unverifiable().get(doc_id, {}).values()) == len(forged)


def _check(kind: Kind, got: Any) -> None:
    assert got.state in kind.states
    if got.needs_reconciliation:
        assert len(got.candidates) >= 2
        assert all(x.state in kind.states for x in got.candidates)
    else:
        assert got.candidates == []
