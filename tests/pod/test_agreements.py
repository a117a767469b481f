"""Agreements: within everyone's capacity, reviewed, revised, never broken."""

from __future__ import annotations

import datetime as dt

import pytest

from podsync.errors import InvalidInput, NotPermitted, TransitionRefused
from podsync.pod import agreements as ag
from podsync.pod.agreements import Anchor
from tests.pod.helpers import at, merged, new_doc, refused, run

REVIEW = dt.date(2026, 6, 1)


@pytest.fixture
def proposed():
    doc = new_doc(ag.init_agreements)
    aid = run(doc, ag.propose_agreement, "ana", at(), "Cook on Tuesdays", ["ana", "bo"],
              [Anchor("principle", "leave voids instead of forcing"), Anchor("need", "n1")],
              REVIEW)
    return doc, aid


def active(doc, aid):
    run(doc, ag.affirm_agreement, aid, "ana", at(1), "fits my week")
    run(doc, ag.affirm_agreement, aid, "bo", at(1))


def test_active_once_every_party_affirmed_within_capacity(proposed) -> None:
    doc, aid = proposed
    run(doc, ag.affirm_agreement, aid, "ana", at(1), "fits my week")
    assert ag.agreement(doc, aid, at(1)).state == "proposed"
    run(doc, ag.affirm_agreement, aid, "bo", at(1))
    got = ag.agreement(doc, aid, at(2))
    assert got.state == "active"
    assert [(p.member, p.affirmed, p.note) for p in got.parties] == \
        [("ana", True, "fits my week"), ("bo", True, "")]
    assert got.anchors[1] == Anchor("need", "n1") and got.review_on == "2026-06-01"


def test_review_due_is_derived_from_the_date_and_renewal_moves_it(proposed) -> None:
    doc, aid = proposed
    active(doc, aid)
    assert ag.agreement(doc, aid, dt.datetime(2026, 5, 31, 23, tzinfo=dt.timezone.utc)).state \
        == "active"
    june = dt.datetime(2026, 6, 1, 8, tzinfo=dt.timezone.utc)
    assert ag.agreement(doc, aid, june).state == "review_due"
    refused(doc, InvalidInput, ag.renew_agreement, aid, "bo", june, dt.date(2026, 6, 1))
    run(doc, ag.renew_agreement, aid, "bo", june, dt.date(2026, 9, 1), "still good")
    got = ag.agreement(doc, aid, june)
    assert (got.state, got.review_on, got.renewed_at) == ("active", "2026-09-01", june.isoformat())


def test_no_longer_within_capacity_means_renegotiating_never_broken(proposed) -> None:
    doc, aid = proposed
    active(doc, aid)
    run(doc, ag.no_longer_within_capacity, aid, "bo", at(5), "new job")
    got = ag.agreement(doc, aid, at(5))
    assert got.state == "renegotiating"
    assert [(p.member, p.affirmed, p.no_longer) for p in got.parties] == \
        [("ana", True, None), ("bo", False, "new job")]
    refused(doc, TransitionRefused, ag.no_longer_within_capacity, aid, "bo", at(6))
    run(doc, ag.affirm_agreement, aid, "bo", at(7), "sorted it out")
    assert ag.agreement(doc, aid, at(7)).state == "active"


def test_revision_makes_a_new_version_and_keeps_the_old(proposed) -> None:
    doc, aid = proposed
    active(doc, aid)
    run(doc, ag.no_longer_within_capacity, aid, "bo", at(5))
    run(doc, ag.revise_agreement, aid, "ana", at(6), "Cook on Tuesdays, fortnightly",
        ["ana", "bo", "cy"], [], None, "lighter")
    got = ag.agreement(doc, aid, at(6))
    assert (got.state, got.version, got.what) == ("proposed", 2, "Cook on Tuesdays, fortnightly")
    assert [v.what for v in got.versions] == ["Cook on Tuesdays", "Cook on Tuesdays, fortnightly"]
    assert not any(p.affirmed for p in got.parties) and len(got.parties) == 3
    for m in ("ana", "bo", "cy"):
        run(doc, ag.affirm_agreement, aid, m, at(7))
    assert ag.agreement(doc, aid, at(7)).state == "active"


def test_pause_resume_retire(proposed) -> None:
    doc, aid = proposed
    refused(doc, TransitionRefused, ag.pause_agreement, aid, "ana", at(1))  # not active yet
    active(doc, aid)
    run(doc, ag.pause_agreement, aid, "ana", at(2), "summer")
    assert ag.agreement(doc, aid, at(2)).state == "paused"
    refused(doc, TransitionRefused, ag.renew_agreement, aid, "ana", at(3), REVIEW)
    run(doc, ag.resume_agreement, aid, "bo", at(3))
    assert ag.agreement(doc, aid, at(3)).state == "active"
    run(doc, ag.retire_agreement, aid, "bo", at(4), "done its job")
    assert ag.agreement(doc, aid, at(4)).state == "retired"
    for op, args in [(ag.affirm_agreement, ()), (ag.retire_agreement, ()),
                     (ag.revise_agreement, ("x", ["ana"])), (ag.resume_agreement, ()),
                     (ag.no_longer_within_capacity, ())]:
        refused(doc, TransitionRefused, op, aid, "ana", at(5), *args)


def test_only_parties_act_on_it_and_inputs_are_checked(proposed) -> None:
    doc, aid = proposed
    for op in (ag.affirm_agreement, ag.no_longer_within_capacity, ag.retire_agreement):
        refused(doc, NotPermitted, op, aid, "zed", at(1))
    run(doc, ag.affirm_agreement, aid, "ana", at(1))
    refused(doc, TransitionRefused, ag.affirm_agreement, aid, "ana", at(1))
    refused(doc, InvalidInput, ag.propose_agreement, "ana", at(), "x", [])
    refused(doc, InvalidInput, ag.propose_agreement, "ana", at(), "x", "ana")
    refused(doc, InvalidInput, ag.propose_agreement, "ana", at(), "x", ["ana"],
            [Anchor("value", "y")])  # type: ignore[arg-type]
    refused(doc, InvalidInput, ag.propose_agreement, "ana", at(), "x", ["ana"], [],
            at().date())


def test_reminders_are_volunteers(proposed) -> None:
    doc, aid = proposed
    run(doc, ag.volunteer_reminder, aid, "cy", at(1))
    refused(doc, TransitionRefused, ag.volunteer_reminder, aid, "cy", at(1))
    run(doc, ag.volunteer_reminder, aid, "dee", at(2))
    run(doc, ag.stop_reminding, aid, "cy", at(3))
    assert ag.agreement(doc, aid, at(3)).reminders == ["dee"]
    refused(doc, TransitionRefused, ag.stop_reminding, aid, "cy", at(4))


def test_affirmations_apart_merge_and_concurrent_revisions_need_settling(proposed) -> None:
    doc, aid = proposed
    other = doc.fork()
    run(doc, ag.affirm_agreement, aid, "ana", at(1))
    run(other, ag.affirm_agreement, aid, "bo", at(1))
    run(other, ag.volunteer_reminder, aid, "cy", at(1))
    run(doc, ag.note_agreement, aid, "ana", at(1), "see you tuesday")
    merged(doc, other)
    got = ag.agreement(doc, aid, at(2))
    assert (got.state, got.reminders, len(got.notes)) == ("active", ["cy"], 1)

    run(doc, ag.revise_agreement, aid, "ana", at(3), "Cook Mondays", ["ana", "bo"])
    run(other, ag.revise_agreement, aid, "bo", at(3), "Cook Wednesdays", ["ana", "bo"])
    merged(doc, other)
    got = ag.agreement(doc, aid, at(4))
    assert got.needs_reconciliation
    assert sorted(c.fields["what"] for c in got.candidates) == ["Cook Mondays", "Cook Wednesdays"]
    # Both candidates are "proposed": the choice names one by its id.
    refused(doc, InvalidInput, ag.settle_agreement, aid, "cy", at(4), "proposed")
    wednesday = next(c.id for c in got.candidates if c.fields["what"] == "Cook Wednesdays")
    run(doc, ag.settle_agreement, aid, "cy", at(4), wednesday)
    got = ag.agreement(doc, aid, at(4))
    assert (got.needs_reconciliation, got.what, got.version) == (False, "Cook Wednesdays", 2)
    # Every event is kept, the set-aside revision included.
    assert sorted(e.op for e in got.history) == \
        ["affirm", "affirm", "note", "remind", "revise", "revise", "settle"]
