"""Random operation sequences on two replicas that fork and merge.

For every item kind: the derived state is always one of the lifecycle's states;
a refused operation leaves heads and content exactly as they were; a
disagreement always shows at least two candidates from the lifecycle; and after
both replicas exchange everything they derive the same item.
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
from podsync.pod import feedback as f
from podsync.pod import needs as n
from podsync.pod import teams as t
from podsync.ids import new_document_id
from tests.pod.helpers import at, merged, new_doc, run, snapshot

DOC = new_document_id()
MEMBERS = st.sampled_from(["ana", "bo", "cy"])
NOTE = st.sampled_from(["", "a note", "another note"])
Op = Callable[[Any, str, str, dt.datetime, st.DataObject], Any]


@dataclass(frozen=True)
class Kind:
    name: str
    init: Callable[[Any], Any]
    create: Callable[[Any], str]
    derive: Callable[[Any, str, dt.datetime], Any]
    settle: Callable[[Any, str, str, dt.datetime, str], Any]
    states: tuple[str, ...]
    ops: dict[str, Op]


def _m(data: st.DataObject) -> str:
    return data.draw(MEMBERS)


NEEDS = Kind(
    "need", n.init_needs, lambda tx: n.add_need(tx, "ana", at(), "A need"),
    lambda doc, i, now: n.need(doc, i, now), n.settle_need, n.STATES, {
        "hold": lambda tx, i, m, w, data: n.hold_need(tx, i, m, w, data.draw(st.booleans())),
        "release": lambda tx, i, m, w, data: n.release_need(tx, i, m, w),
        "contact": lambda tx, i, m, w, data: n.set_point_of_contact(tx, i, m, w, _m(data)),
        "attend": lambda tx, i, m, w, data: n.attend_need(tx, i, m, w, data.draw(NOTE)),
        "let_be": lambda tx, i, m, w, data: n.let_need_be(tx, i, m, w, data.draw(NOTE)),
        "reopen": lambda tx, i, m, w, data: n.reopen_need(tx, i, m, w),
        "note": lambda tx, i, m, w, data: n.note_need(tx, i, m, w, data.draw(NOTE)),
    })

PARTIES = st.sampled_from([["ana"], ["ana", "bo"], ["bo", "cy"]])
AGREEMENTS = Kind(
    "agreement", ag.init_agreements,
    lambda tx: ag.propose_agreement(tx, "ana", at(), "Do a thing", ["ana", "bo"]),
    lambda doc, i, now: ag.agreement(doc, i, now), ag.settle_agreement, ag.STATES, {
        "affirm": lambda tx, i, m, w, data: ag.affirm_agreement(tx, i, m, w, data.draw(NOTE)),
        "no_longer": lambda tx, i, m, w, data: ag.no_longer_within_capacity(tx, i, m, w),
        "renew": lambda tx, i, m, w, data: ag.renew_agreement(
            tx, i, m, w, (w + dt.timedelta(days=data.draw(st.sampled_from([-1, 30])))).date()),
        "revise": lambda tx, i, m, w, data: ag.revise_agreement(
            tx, i, m, w, data.draw(st.sampled_from(["v-a", "v-b"])), data.draw(PARTIES)),
        "pause": lambda tx, i, m, w, data: ag.pause_agreement(tx, i, m, w),
        "resume": lambda tx, i, m, w, data: ag.resume_agreement(tx, i, m, w),
        "retire": lambda tx, i, m, w, data: ag.retire_agreement(tx, i, m, w),
        "remind": lambda tx, i, m, w, data: ag.volunteer_reminder(tx, i, m, w),
        "unremind": lambda tx, i, m, w, data: ag.stop_reminding(tx, i, m, w),
        "note": lambda tx, i, m, w, data: ag.note_agreement(tx, i, m, w, data.draw(NOTE)),
    })


def _integrate(tx: Any, i: str, m: str, w: dt.datetime, data: st.DataObject) -> Any:
    advice = [e.id for e in d._load(tx, i, settled=False).events if e.op == "advise"]
    target = data.draw(st.sampled_from(advice + ["missing"]))
    return d.integrate_advice(tx, i, m, w, target, data.draw(st.booleans()), "because")


DECISIONS = Kind(
    "decision", d.init_decisions,
    lambda tx: d.open_decision(tx, "ana", at(), "T", "P", at(0, 2)),
    lambda doc, i, now: d.decision(doc, i, now), d.settle_decision, d.STATES, {
        "ask": lambda tx, i, m, w, data: d.ask_advice(
            tx, i, m, w, _m(data), data.draw(st.sampled_from(d.ASK_REASONS))),
        "advise": lambda tx, i, m, w, data: d.give_advice(
            tx, i, m, w, data.draw(st.sampled_from(d.STANCES)), data.draw(NOTE)),
        "integrate": _integrate,
        # Mostly the decider, so that decisions (and disagreements about them) happen.
        "decide": lambda tx, i, m, w, data: d.decide(
            tx, i, data.draw(st.sampled_from(["ana", "ana", m])), w,
            data.draw(st.sampled_from(["yes", "no"]))),
        "note": lambda tx, i, m, w, data: d.note_decision(tx, i, m, w, data.draw(NOTE)),
    })

ASKS = Kind(
    "ask", c.init_capacity, lambda tx: c.ask_mobilizing(tx, "ana", at(), "bo", "need-1"),
    lambda doc, i, now: c.ask(doc, i), c.settle_ask, c.ASK_STATES, {
        "answer": lambda tx, i, m, w, data: c.answer_ask(
            tx, i, data.draw(st.sampled_from(["bo", "bo", m])), w,
            data.draw(st.sampled_from(["yes", "no"]))),
        "discern": lambda tx, i, m, w, data: c.record_discernment(
            tx, i, m, w, data.draw(st.sampled_from(c.DISCERNMENTS))),
        "note": lambda tx, i, m, w, data: c.note_ask(tx, i, m, w, data.draw(NOTE)),
    })

TEAM_ITEMS = Kind(
    "team item", t.init_team_items, lambda tx: t.add_team_item(tx, "ana", at(), "team", "X"),
    lambda doc, i, now: t.team_item(doc, i), t.settle_team_item, t.ITEM_STATES, {
        "address": lambda tx, i, m, w, data: t.address_team_item(tx, i, m, w, data.draw(NOTE)),
        "reopen": lambda tx, i, m, w, data: t.reopen_team_item(tx, i, m, w),
        "note": lambda tx, i, m, w, data: t.note_team_item(tx, i, m, w, data.draw(NOTE)),
    })


def _proposal(tx: Any, data: st.DataObject) -> tuple[str, str | None]:
    """A proposal id (mostly an existing one) and its route."""
    found = [(e.id, e.args.get("route")) for e in f._load(tx, settled=False).events
             if e.op == "propose"]
    return data.draw(st.sampled_from(found * 4 + [("missing", None)]))


def _route(tx: Any, i: str, m: str, w: dt.datetime, data: st.DataObject) -> Any:
    proposal, route = _proposal(tx, data)
    fitting = None if route == "dissolved" else DOC
    return f.record_route(tx, m, w, proposal,
                          data.draw(st.sampled_from([fitting, fitting, DOC, None])))


THREADS = Kind(
    "feedback thread", lambda tx: None,
    lambda tx: f.give_feedback(tx, "ana", at(), "lee", ["bo", "cy"], "raw") or "",
    lambda doc, i, now: f.thread(doc),
    lambda tx, i, m, w, choice: f.settle_thread(tx, m, w, choice), f.STATES, {
        "reply": lambda tx, i, m, w, data: f.reply(tx, m, w, "words"),
        "propose": lambda tx, i, m, w, data: f.propose_route(
            tx, m, w, data.draw(st.sampled_from(["dissolved", "leader"])), "statement"),
        # Mostly the giver, so that consent (and routing) happens.
        "answer": lambda tx, i, m, w, data: f.answer_route(
            tx, data.draw(st.sampled_from(["ana", "ana", m])), w, _proposal(tx, data)[0],
            data.draw(st.booleans())),
        "route": _route,
    })


@pytest.mark.parametrize("kind", [NEEDS, AGREEMENTS, DECISIONS, ASKS, TEAM_ITEMS, THREADS],
                         ids=lambda k: k.name)
@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_random_operations_on_two_replicas(kind: Kind, data: st.DataObject) -> None:
    doc = new_doc(kind.init)
    item = run(doc, kind.create)
    replicas = [doc, doc.fork()]
    steps = data.draw(st.integers(1, 30), label="steps")
    for step in range(1, steps + 1):
        when = at(0, step)
        action = data.draw(st.sampled_from(["op"] * 6 + ["merge", "settle"]), label="action")
        replica = replicas[data.draw(st.integers(0, 1), label="replica")]
        if action == "merge":
            merged(*replicas)
            continue
        member = data.draw(MEMBERS, label="member")
        if action == "settle":
            current = kind.derive(replica, item, when)
            choices = [x.id for x in current.candidates] + [x.state for x in current.candidates]
            choice = data.draw(st.sampled_from(choices + ["nonsense"]), label="choice")
            call: Callable[[Any], Any] = lambda tx: kind.settle(tx, item, member, when, choice)
        else:
            name = data.draw(st.sampled_from(sorted(kind.ops)), label="op")
            call = lambda tx: kind.ops[name](tx, item, member, when, data)  # noqa: B023
        before = snapshot(replica)
        try:
            with replica.transaction() as tx:
                call(tx)
        except PodsyncError:
            assert snapshot(replica) == before, "a refused operation changed the document"
        for r in replicas:
            _check(kind, kind.derive(r, item, when))
    merged(*replicas)
    end = at(1)
    assert kind.derive(replicas[0], item, end) == kind.derive(replicas[1], item, end)


def _check(kind: Kind, got: Any) -> None:
    assert got.state in kind.states
    if got.needs_reconciliation:
        assert len(got.candidates) >= 2
        assert all(x.state in kind.states for x in got.candidates)
    else:
        assert got.candidates == []
