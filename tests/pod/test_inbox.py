"""The inbox from the practices' own records, with the clock moved (never slept):
reminders appear on their day for the right member and leave once acted on; the
neglect thresholds are pod settings any member changes on record."""

from __future__ import annotations

import datetime as dt

from podsync.pod import agreements as ag
from podsync.pod import decisions as d
from podsync.pod import inbox, needs, settings
from podsync.pod.events import items_from
from podsync.records.format import Draft
from tests.pod.helpers import Pod, at
from tests.pod.test_agreements import Agreements
from tests.pod.test_decisions import Decisions


def _decisions_inbox(dec: Decisions, who: str, now: dt.datetime) -> list[inbox.Entry]:
    found = d.decisions(dec.pod.items(dec.doc, d.OPEN), now)
    return inbox.inbox(d.waiting_on(found, dec.pod.id[who], now), now)


def _reasons(entries: list[inbox.Entry]) -> list[tuple[str, str]]:
    return [(e.kind, e.reason) for e in entries]


def test_advice_asked_until_answered_then_the_deadline_then_the_review() -> None:
    dec = Decisions(Pod())  # Ana asked Bo and Cy; advice until day 7
    assert _reasons(_decisions_inbox(dec, "bo", at(1))) == [("decision", "advice_asked")]
    [entry] = _decisions_inbox(dec, "bo", at(1))
    assert entry.due == at(7).isoformat(timespec="seconds") and not entry.overdue
    assert entry.command == f"podsync decision advise {dec.did} --stance STANCE"
    assert _decisions_inbox(dec, "ana", at(1)) == [] and _decisions_inbox(dec, "dee", at(1)) == []
    dec.do("bo", d.give_advice, "support", "yes")
    assert _decisions_inbox(dec, "bo", at(2)) == []
    # Cy never answered: on day 7 the ask is no longer theirs, the deadline is Ana's.
    assert _reasons(_decisions_inbox(dec, "cy", at(6.9))) == [("decision", "advice_asked")]
    assert _decisions_inbox(dec, "cy", at(7)) == []
    assert _decisions_inbox(dec, "ana", at(6.9)) == []
    [passed] = _decisions_inbox(dec, "ana", at(7))
    assert (passed.reason, passed.overdue) == ("deadline_passed", True)
    dec.do("ana", d.decide, at(8), "Buying model X", dt.date(2026, 4, 1), when=at(8))
    assert _decisions_inbox(dec, "ana", at(8)) == []
    day = dt.datetime(2026, 4, 1, tzinfo=dt.timezone.utc)
    assert _decisions_inbox(dec, "ana", day - dt.timedelta(seconds=1)) == []
    assert _reasons(_decisions_inbox(dec, "ana", day)) == [("decision", "review_due")]
    assert _decisions_inbox(dec, "bo", day) == []
    dec.do("ana", d.review_decision, day, "keep", "still right", dt.date(2026, 7, 1), when=day)
    assert _decisions_inbox(dec, "ana", day + dt.timedelta(days=30)) == []


def test_agreements_ask_their_parties_and_remind_the_reminders_on_the_day() -> None:
    agr = Agreements(Pod())  # Ana proposed to Ana and Bo, review on REVIEW

    def box(who: str, now: dt.datetime) -> list[tuple[str, str]]:
        found = ag.agreements(agr.pod.items(agr.doc, ag.PROPOSE), now)
        return _reasons(inbox.inbox(ag.waiting_on(found, agr.pod.id[who]), now))

    assert box("ana", at(1)) == [("agreement", "affirm")] == box("bo", at(1))
    agr.do("ana", ag.affirm_agreement, "fits")
    assert box("ana", at(1)) == [] and box("bo", at(1)) == [("agreement", "affirm")]
    agr.do("bo", ag.affirm_agreement)
    agr.do("cy", ag.volunteer_reminder)
    review = agr.get().review_on
    assert review is not None
    day = dt.datetime.fromisoformat(review + "T00:00:00+00:00")
    for who in ("ana", "bo", "cy", "dee"):
        assert box(who, day - dt.timedelta(seconds=1)) == []
    assert box("ana", day) == box("bo", day) == box("cy", day) == [("agreement", "review_due")]
    assert box("dee", day) == []
    agr.do("bo", ag.renew_agreement, day, (day + dt.timedelta(days=60)).date(), when=day)
    assert [box(w, day) for w in ("ana", "bo", "cy")] == [[], [], []]
    agr.do("bo", ag.no_longer_within_capacity, "new job", when=day)
    assert box("cy", day) == box("ana", day) == box("bo", day) == \
        [("agreement", "renegotiating")]
    assert box("dee", day) == []


def test_neglect_thresholds_are_pod_settings_with_todays_defaults() -> None:
    pod = Pod()
    doc = pod.collections[needs.KIND]
    open_need = pod.do(doc, needs.add_need("Fix the gate"), "ana", at()).id
    held = pod.do(doc, needs.add_need("Water plants"), "ana", at()).id
    pod.do(doc, needs.hold_need(pod.item(doc, held, needs.ADD), pod.id["bo"]), "bo", at())

    def box(who: str, now: dt.datetime) -> list[tuple[str, str]]:
        found = settings.settings(pod.ledger.pod_records([settings.SETTING]))
        limits = settings.neglect(found)
        board = needs.needs(pod.items(doc, needs.ADD), now, limits)
        return _reasons(inbox.inbox(needs.waiting_on(board, pod.id[who], limits), now))

    found = settings.settings(pod.ledger.pod_records([settings.SETTING]))
    assert settings.neglect(found) == needs.Neglect(needs.NEED_UNHELD_DAYS,
                                                    needs.HOLDER_SILENT_DAYS)
    assert found[settings.NEED_UNHELD_DAYS].set_by is None
    assert box("cy", at(needs.NEED_UNHELD_DAYS - 1)) == []
    assert box("cy", at(needs.NEED_UNHELD_DAYS)) == [("need", "unheld")]  # everyone's
    assert box("bo", at(needs.HOLDER_SILENT_DAYS)) == [("need", "unheld"), ("need", "holder_silent")]
    assert ("need", "holder_silent") not in box("cy", at(needs.HOLDER_SILENT_DAYS))
    pod.do(pod.pod_id, settings.change_setting(settings.NEED_UNHELD_DAYS, 3), "dee", at())
    found = settings.settings(pod.ledger.pod_records([settings.SETTING]))
    assert (found[settings.NEED_UNHELD_DAYS].value, found[settings.NEED_UNHELD_DAYS].set_by) == \
        (3, pod.id["dee"])
    assert box("cy", at(3)) == [("need", "unheld")]
    pod.do(doc, needs.hold_need(pod.item(doc, open_need, needs.ADD), pod.id["cy"]), "cy", at(3))
    assert box("cy", at(3)) == []


def test_setting_records_that_break_the_rules_change_nothing() -> None:
    pod = Pod()
    for body in ({"name": "need_unheld_days", "value": 0}, {"name": "nope", "value": 3},
                 {"name": "need_unheld_days", "value": True},
                 {"name": "holder_silent_days", "value": "7"}, {"value": 9}):
        pod.do(pod.pod_id, Draft(settings.SETTING, body), "bo", at())
    found = settings.settings(pod.ledger.pod_records([settings.SETTING]))
    assert all(s.set_by is None and s.value == s.default for s in found.values())


def test_the_most_pressing_comes_first() -> None:
    from podsync.pod.common import Waiting

    now = at(10)
    entries = inbox.inbox([
        Waiting("decision", "b", "advice_asked", "later", "x", at(1).isoformat(),
                at(12).isoformat()),
        Waiting("agreement", "a", "affirm", "waiting", "x", at(2).isoformat()),
        Waiting("decision", "c", "deadline_passed", "overdue", "x", at(5).isoformat(),
                at(5).isoformat()),
        Waiting("agreement", "a", "affirm", "a duplicate", "x", at(2).isoformat()),
    ], now)
    assert [e.title for e in entries] == ["waiting", "overdue", "later"]
    assert [e.overdue for e in entries] == [False, True, False]
    assert items_from([], "x") == {}
