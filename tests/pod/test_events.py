"""The replay engine: causal order, disagreement, settling (with a toy lifecycle)."""

from __future__ import annotations

from typing import Any

from podsync.pod.events import MAX_STATE_EVENTS, SETTLE, Event, Lifecycle, replay

TOY: Lifecycle[str] = Lifecycle(
    states=("a", "b", "c"), state_ops=frozenset({"set"}),
    apply=lambda s, e: str(e.args["to"]), name=lambda s: s, key=lambda s: s,
    summary=lambda s: {"value": s},
)


def ev(eid: str, to: str, after: list[str], at: str = "2026-01-01T00:00:00+00:00",
       op: str = "set", **args: Any) -> Event:
    return Event(id=eid, at=at, by="m", op=op, after=after,
                 args={"to": to, **args} if op == "set" else args)


def test_linear_history_replays_in_causal_order_not_time_order() -> None:
    # The second event carries an earlier clock (a skewed device) but comes after.
    events = [ev("1", "b", [], at="2026-01-02T00:00:00+00:00"),
              ev("2", "c", ["1"], at="2026-01-01T00:00:00+00:00")]
    r = replay(events, TOY, "a")
    assert (r.state, r.heads, r.candidates) == ("c", ["2"], [])


def test_concurrent_identical_transitions_are_not_a_disagreement() -> None:
    r = replay([ev("0", "b", []), ev("1", "c", ["0"]), ev("2", "c", ["0"])], TOY, "a")
    assert r.state == "c" and not r.needs_reconciliation and sorted(r.heads) == ["1", "2"]


def test_concurrent_different_transitions_show_both_and_the_shared_state() -> None:
    r = replay([ev("0", "b", []), ev("1", "c", ["0"]), ev("2", "a", ["0"])], TOY, "a")
    assert r.needs_reconciliation
    assert r.state == "b"  # what both branches agree on
    assert sorted((c.state, c.events[0]) for c in r.candidates) == [("a", "2"), ("c", "1")]


def test_settle_keeps_the_chosen_branch_and_history_keeps_the_other() -> None:
    events = [ev("0", "b", []), ev("1", "c", ["0"]), ev("2", "a", ["0"]),
              ev("s", "", ["1", "2"], op=SETTLE, state="a", keep=["2"])]
    r = replay(events, TOY, "a")
    assert (r.state, r.heads, r.needs_reconciliation) == ("a", ["s"], False)


def test_two_settles_made_apart_disagree_and_a_third_settles_them() -> None:
    base = [ev("0", "b", []), ev("1", "c", ["0"]), ev("2", "a", ["0"]),
            ev("s1", "", ["1", "2"], op=SETTLE, keep=["1"]),
            ev("s2", "", ["1", "2"], op=SETTLE, keep=["2"])]
    r = replay(base, TOY, "a")
    assert r.needs_reconciliation and {c.state for c in r.candidates} == {"a", "c"}
    final = replay(base + [ev("s3", "", ["s1", "s2"], op=SETTLE, keep=["s1"])], TOY, "a")
    # s3 sets s2 aside, so s2's own choice (drop branch 1) no longer applies.
    assert (final.state, final.needs_reconciliation) == ("c", False)


def test_a_later_change_after_settling_builds_on_the_settled_state() -> None:
    events = [ev("0", "b", []), ev("1", "c", ["0"]), ev("2", "a", ["0"]),
              ev("s", "", ["1", "2"], op=SETTLE, keep=["1"]), ev("3", "b", ["s"])]
    assert replay(events, TOY, "a").state == "b"


def test_a_cycle_does_not_hang() -> None:
    events = [ev("1", "b", ["2"], at="2026-01-01T00:00:00+00:00"),
              ev("2", "c", ["1"], at="2026-01-02T00:00:00+00:00")]
    assert replay(events, TOY, "a").state in TOY.states


def test_an_event_that_changes_nothing_is_void_and_never_a_branch() -> None:
    """A refused record (here: setting the state it already has, made apart) must
    not make the item look disputed, and what follows it follows its parents."""
    events = [ev("0", "b", []), ev("1", "c", ["0"]), ev("2", "a", [])]
    r = replay(events, TOY, "a")
    assert (r.state, r.heads, r.needs_reconciliation) == ("c", ["1"], False)
    later = replay(events + [ev("3", "a", ["2", "1"])], TOY, "a")
    assert (later.state, later.heads, later.needs_reconciliation) == ("a", ["3"], False)


def test_replay_is_bounded_by_its_named_limit() -> None:
    events = [ev(str(i), "bc"[i % 2], [str(i - 1)] if i else [],
                 at=f"2026-01-01T00:00:00.{i:06d}+00:00") for i in range(MAX_STATE_EVENTS + 50)]
    r = replay(events, TOY, "a")
    assert r.heads == [str(MAX_STATE_EVENTS - 1)]
