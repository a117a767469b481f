"""Agreements: within everyone's capacity, reviewed, revised, never broken; signed
records that break the rules change nothing; agreements changed on two nodes apart."""

from __future__ import annotations

import datetime as dt

import pytest

from podsync.errors import InvalidInput, NotFound, NotPermitted, TransitionRefused
from podsync.pod import agreements as ag
from podsync.pod.admission import MAX_JOIN_REPLAY
from podsync.pod.agreements import Anchor
from podsync.pod.events import SETTLE
from podsync.records.format import Draft
from tests.pod.helpers import Pod, at, merged, refused

REVIEW = dt.date(2026, 6, 1)
JUNE = dt.datetime(2026, 6, 1, 8, tzinfo=dt.timezone.utc)


class Agreements:
    """The agreements of a real pod, with one agreement Ana proposed to herself and
    Bo, anchored to a principle and to a need on the pod's needs board."""

    def __init__(self, pod: Pod) -> None:
        self.pod = pod
        self.doc = pod.collections[ag.KIND]
        self.need = pod.do(pod.collections["needs"], Draft("add", {"title": "Dinner"}), "ana").id
        self.aid = pod.do(self.doc, ag.propose_agreement(
            at(), "Cook on Tuesdays", [pod.id["ana"], pod.id["bo"]],
            [Anchor("principle", "leave voids instead of forcing"), Anchor("need", self.need)],
            REVIEW), "ana", at()).id

    def item(self):
        return self.pod.item(self.doc, self.aid, ag.PROPOSE)

    def get(self, now=None) -> ag.Agreement:
        return ag.derive(self.item(), now or at(1))

    def do(self, who: str, op, *args, when=None):
        return self.pod.do(self.doc, op(self.item(), self.pod.id[who], *args), who,
                           when or at(1))

    def forge(self, who: str, op: str, *, seen: bool = True, **body):
        """A record ``who`` signs without the operation's checks (a modified node),
        following what it has ``seen`` of the agreement or naming nothing."""
        after = ag.note_agreement(self.item(), self.pod.id[who], "-").after if seen else ()
        return self.pod.do(self.doc, Draft(op, body, item=self.aid, after=after), who, at(1))

    def active(self) -> None:
        self.do("ana", ag.affirm_agreement, "fits my week")
        self.do("bo", ag.affirm_agreement)

    def apart(self) -> Agreements:
        """The same agreements on another node, from now on apart from this one."""
        other = Agreements.__new__(Agreements)
        other.__dict__.update(self.__dict__)
        other.pod = self.pod.fork()
        return other


@pytest.fixture
def agr() -> Agreements:
    return Agreements(Pod())


def test_active_once_every_party_affirmed_within_capacity(agr: Agreements) -> None:
    ids = agr.pod.id
    got = agr.get()
    assert (got.created_by, got.state, got.version, got.what) == \
        (ids["ana"], "proposed", 1, "Cook on Tuesdays")
    agr.do("ana", ag.affirm_agreement, "fits my week")
    assert agr.get().state == "proposed"
    agr.do("bo", ag.affirm_agreement, when=at(1, minutes=1))
    got = agr.get(at(2))
    assert got.state == "active"
    assert [(p.member, p.affirmed, p.note) for p in got.parties] == \
        [(ids["ana"], True, "fits my week"), (ids["bo"], True, "")]
    assert got.anchors[1] == Anchor("need", agr.need) and got.review_on == "2026-06-01"


def test_review_due_is_derived_from_the_date_and_renewal_moves_it(agr: Agreements) -> None:
    agr.active()
    assert agr.get(dt.datetime(2026, 5, 31, 23, tzinfo=dt.timezone.utc)).state == "active"
    assert agr.get(JUNE).state == "review_due"
    refused(InvalidInput, ag.renew_agreement, agr.item(), agr.pod.id["bo"], JUNE,
            dt.date(2026, 6, 1))
    agr.do("bo", ag.renew_agreement, JUNE, dt.date(2026, 9, 1), "still good", when=JUNE)
    got = agr.get(JUNE)
    assert (got.state, got.review_on, got.renewed_at) == \
        ("active", "2026-09-01", JUNE.isoformat(timespec="microseconds"))


def test_no_longer_within_capacity_means_renegotiating_never_broken(agr: Agreements) -> None:
    ids = agr.pod.id
    agr.active()
    agr.do("bo", ag.no_longer_within_capacity, "new job", when=at(5))
    got = agr.get(at(5))
    assert got.state == "renegotiating"
    assert [(p.member, p.affirmed, p.no_longer) for p in got.parties] == \
        [(ids["ana"], True, None), (ids["bo"], False, "new job")]
    refused(TransitionRefused, ag.no_longer_within_capacity, agr.item(), ids["bo"])
    agr.do("bo", ag.affirm_agreement, "sorted it out", when=at(7))
    assert agr.get(at(7)).state == "active"


def test_a_revision_of_an_agreement_in_force_waits_for_every_party_of_it(
        agr: Agreements) -> None:
    ids = agr.pod.id
    agr.active()
    agr.do("bo", ag.no_longer_within_capacity, when=at(5))
    agr.do("ana", ag.revise_agreement, at(6), "Cook on Tuesdays, fortnightly",
           [ids["ana"], ids["bo"], ids["cy"]], [], None, "lighter", when=at(6))
    got = agr.get(at(6))
    # The version in force stays in force: the revision is only proposed.
    assert (got.state, got.version, got.what) == ("renegotiating", 1, "Cook on Tuesdays")
    rev = got.revision
    assert (rev.version, rev.what, rev.leaving) == (2, "Cook on Tuesdays, fortnightly", [])
    assert [(p.member, p.affirmed) for p in rev.parties] == \
        [(ids["ana"], False), (ids["bo"], False), (ids["cy"], False)]
    # Cy, not yet a party of the agreement, may affirm the version she is a party to.
    agr.do("cy", ag.affirm_agreement, "", 2, when=at(7))
    agr.do("ana", ag.affirm_agreement, "", 2, when=at(7, minutes=1))
    assert agr.get(at(7)).revision.parties[2].affirmed
    assert agr.get(at(7)).state == "renegotiating"
    refused(TransitionRefused, ag.affirm_agreement, agr.item(), ids["cy"], "", 2)
    refused(TransitionRefused, ag.affirm_agreement, agr.item(), ids["ana"], "", 9)
    agr.do("bo", ag.affirm_agreement, "", 2, when=at(7, minutes=2))
    got = agr.get(at(8))
    assert (got.state, got.version, got.what, got.revision) == \
        ("active", 2, "Cook on Tuesdays, fortnightly", None)
    assert [v.what for v in got.versions] == ["Cook on Tuesdays", "Cook on Tuesdays, fortnightly"]
    assert [(p.member, p.affirmed) for p in got.parties] == \
        [(ids["ana"], True), (ids["bo"], True), (ids["cy"], True)]


def test_a_party_left_out_by_a_revision_sees_it_and_nothing_changes_until_affirmed(
        agr: Agreements) -> None:
    ids = agr.pod.id
    agr.active()
    agr.do("ana", ag.revise_agreement, at(2), None, [ids["ana"], ids["cy"]], when=at(2))
    got = agr.get(at(2))
    assert (got.state, [p.member for p in got.parties]) == ("active", [ids["ana"], ids["bo"]])
    assert got.revision.leaving == [ids["bo"]]
    # Unchanged fields carried over: the text, the anchors, the review date.
    assert (got.revision.what, got.revision.anchors, got.revision.review_on) == \
        ("Cook on Tuesdays", got.anchors, "2026-06-01")
    for_bo = ag.awaiting([got], ids["bo"])
    assert [(x.reason, x.version) for x in for_bo] == [("removed", 2)]
    assert [x.reason for x in ag.awaiting([got], ids["cy"])] == ["affirm"]
    refused(NotPermitted, ag.affirm_agreement, agr.item(), ids["bo"], "", 2)  # not a party of v2
    # Cy says no: the revision does not start while her decline stands.
    agr.do("cy", ag.decline_agreement, "Tuesdays are my class", 2, when=at(3))
    agr.do("ana", ag.affirm_agreement, "", 2, when=at(3))
    got = agr.get(at(3))
    assert (got.state, got.version, got.revision.parties[1].declined) == \
        ("active", 1, "Tuesdays are my class")


def test_changing_only_anchors_or_the_review_date_keeps_every_affirmation(
        agr: Agreements) -> None:
    agr.active()
    agr.do("bo", ag.revise_agreement, at(2), None, None, [], dt.date(2026, 8, 1), when=at(2))
    got = agr.get(at(2))
    assert (got.state, got.version, got.anchors, got.review_on, got.revision) == \
        ("active", 2, [], "2026-08-01", None)
    assert all(p.affirmed for p in got.parties)
    refused(TransitionRefused, ag.revise_agreement, agr.item(), agr.pod.id["bo"], at(2))


def test_revising_a_proposal_not_yet_in_force_replaces_it(agr: Agreements) -> None:
    ids = agr.pod.id
    agr.do("ana", ag.affirm_agreement)
    agr.do("bo", ag.revise_agreement, at(2), "Cook on Wednesdays", when=at(2))
    got = agr.get(at(2))
    assert (got.state, got.version, got.what, got.revision) == \
        ("proposed", 2, "Cook on Wednesdays", None)
    assert not any(p.affirmed for p in got.parties)
    assert [p.member for p in got.parties] == [ids["ana"], ids["bo"]]


def test_declining_a_proposed_agreement_is_not_straining_an_active_one(agr: Agreements) -> None:
    ids = agr.pod.id
    refused(TransitionRefused, ag.no_longer_within_capacity, agr.item(), ids["bo"], "x")
    agr.do("ana", ag.affirm_agreement, when=at(1))
    agr.do("bo", ag.decline_agreement, "not with my shifts", when=at(2))
    got = agr.get(at(2))
    assert got.state == "declined"
    assert [(p.member, p.affirmed, p.declined, p.no_longer) for p in got.parties] == \
        [(ids["ana"], True, None, None), (ids["bo"], False, "not with my shifts", None)]
    refused(TransitionRefused, ag.decline_agreement, agr.item(), ids["bo"])
    refused(TransitionRefused, ag.pause_agreement, agr.item(), ids["ana"])
    # Bo's shifts change: his affirmation lifts his decline, and it starts.
    agr.do("bo", ag.affirm_agreement, "new rota", when=at(3))
    assert agr.get(at(3)).state == "active"
    refused(TransitionRefused, ag.decline_agreement, agr.item(), ids["bo"])


def test_retiring_needs_every_party_unless_it_is_being_renegotiated(agr: Agreements) -> None:
    ids = agr.pod.id
    agr.active()
    agr.do("ana", ag.retire_agreement, "done its job", when=at(2))
    got = agr.get(at(2))
    assert (got.state, [p.retiring for p in got.parties]) == ("active", [True, False])
    assert [x.reason for x in ag.awaiting([got], ids["bo"])] == ["retire"]
    refused(TransitionRefused, ag.retire_agreement, agr.item(), ids["ana"])
    agr.do("bo", ag.retire_agreement, when=at(3))
    assert agr.get(at(3)).state == "retired"
    # Another agreement: once renegotiating, one party's retirement ends it.
    other = Agreements.__new__(Agreements)
    other.__dict__.update(agr.__dict__)
    other.aid = agr.pod.do(agr.doc, ag.propose_agreement(
        at(), "Shop on Fridays", [ids["ana"], ids["bo"]]), "bo", at()).id
    other.active()
    other.do("bo", ag.no_longer_within_capacity, "new job", when=at(4))
    other.do("ana", ag.retire_agreement, when=at(5))
    assert other.get(at(5)).state == "retired"


def test_a_party_can_always_withdraw_and_the_others_renegotiate(agr: Agreements) -> None:
    ids = agr.pod.id
    agr.active()
    agr.do("bo", ag.withdraw_from_agreement, "moving out", when=at(2))
    got = agr.get(at(2))
    assert got.state == "renegotiating"
    assert [(p.member, p.withdrawn, p.affirmed) for p in got.parties] == \
        [(ids["ana"], False, False), (ids["bo"], True, False)]
    refused(NotPermitted, ag.affirm_agreement, agr.item(), ids["bo"])
    refused(NotPermitted, ag.withdraw_from_agreement, agr.item(), ids["bo"])
    assert [x.reason for x in ag.awaiting([got], ids["ana"])] == ["affirm"]
    agr.do("ana", ag.affirm_agreement, "I carry it alone", when=at(3))
    assert agr.get(at(3)).state == "active"
    agr.do("ana", ag.withdraw_from_agreement, when=at(4))
    assert agr.get(at(4)).state == "retired"  # nobody is left to hold it


def test_pause_resume_retire(agr: Agreements) -> None:
    ana = agr.pod.id["ana"]
    refused(TransitionRefused, ag.pause_agreement, agr.item(), ana)  # not active yet
    agr.active()
    agr.do("ana", ag.pause_agreement, "summer", when=at(2))
    assert agr.get(at(2)).state == "paused"
    refused(TransitionRefused, ag.renew_agreement, agr.item(), ana, at(3), REVIEW)
    agr.do("bo", ag.resume_agreement, when=at(3))
    assert agr.get(at(3)).state == "active"
    agr.do("bo", ag.retire_agreement, "done its job", when=at(4))
    agr.do("ana", ag.retire_agreement, when=at(4, minutes=1))
    assert agr.get(at(4)).state == "retired"
    item = agr.item()
    for op, args in [(ag.affirm_agreement, ()), (ag.retire_agreement, ()),
                     (ag.revise_agreement, (at(5), "x", [ana])), (ag.resume_agreement, ()),
                     (ag.no_longer_within_capacity, ()), (ag.withdraw_from_agreement, ())]:
        refused(TransitionRefused, op, item, ana, *args)


def test_only_parties_act_on_it_and_inputs_are_checked(agr: Agreements) -> None:
    ids = agr.pod.id
    item = agr.item()
    for op, args in [(ag.affirm_agreement, ()), (ag.no_longer_within_capacity, ()),
                     (ag.retire_agreement, ()), (ag.revise_agreement, (at(1), "x", [ids["cy"]])),
                     (ag.pause_agreement, ()), (ag.resume_agreement, ()),
                     (ag.renew_agreement, (at(1), REVIEW)), (ag.decline_agreement, ()),
                     (ag.withdraw_from_agreement, ())]:
        refused(NotPermitted, op, item, ids["cy"], *args)
    agr.do("ana", ag.affirm_agreement)
    refused(TransitionRefused, ag.affirm_agreement, agr.item(), ids["ana"])
    refused(InvalidInput, ag.propose_agreement, at(), "x", [])
    refused(InvalidInput, ag.propose_agreement, at(), "x", ids["ana"])
    refused(InvalidInput, ag.propose_agreement, at(), "x", [ids["ana"]],
            [Anchor("value", "y")])  # type: ignore[arg-type]
    refused(InvalidInput, ag.propose_agreement, at(), "x", [ids["ana"]],
            [Anchor("need", "Dinner")])  # a need is named by its id
    refused(InvalidInput, ag.propose_agreement, at(), "x", [ids["ana"]], [], at().date())
    refused(InvalidInput, ag.affirm_agreement, item, "has space")
    with pytest.raises(NotFound):
        ag.agreement(agr.pod.items(agr.doc, ag.PROPOSE), "nope", at(1))


def test_reminders_are_volunteers(agr: Agreements) -> None:
    agr.do("cy", ag.volunteer_reminder, when=at(1))
    refused(TransitionRefused, ag.volunteer_reminder, agr.item(), agr.pod.id["cy"])
    agr.do("dee", ag.volunteer_reminder, when=at(2))
    agr.do("cy", ag.stop_reminding, when=at(3))
    assert agr.get(at(3)).reminders == [agr.pod.id["dee"]]
    refused(TransitionRefused, ag.stop_reminding, agr.item(), agr.pod.id["cy"])


def test_signed_records_that_break_the_rules_change_nothing(agr: Agreements) -> None:
    """A member whose node skips the checks can sign anything in their own name;
    replay applies the same rules as the operations, so nothing moves."""
    ids = agr.pod.id
    # Cy is no party: her affirmation, revision, pause and retirement count for nothing.
    agr.forge("cy", "affirm", note="within my capacity")
    agr.forge("cy", "revise", what="Cy decides", parties=[ids["cy"]], anchors=[], review_on=None)
    agr.forge("cy", "retire", note="gone")
    agr.forge("cy", "decline", note="no")
    agr.forge("cy", "withdraw", note="leaving what I never held")
    got = agr.get()
    assert (got.state, got.version, [p.affirmed for p in got.parties]) == \
        ("proposed", 1, [False, False])
    agr.active()
    before = agr.get(at(2))
    agr.forge("cy", "pause")
    agr.forge("cy", "renew", review_on="2027-01-01")
    # Parties' records the operations would refuse: a second affirmation while
    # active, a resume of what is not paused, and bodies no operation writes.
    agr.forge("ana", "affirm", note="again")
    agr.forge("ana", "affirm", note="a version that is none", version=7)
    agr.forge("ana", "affirm", note="a version that is no number", version="2")
    agr.forge("ana", "decline", note="too late: it is active")
    agr.forge("ana", "resume")
    agr.forge("bo", "revise", what=["x"], parties=[ids["bo"]], anchors=[])
    agr.forge("bo", "revise", what="x", parties=[ids["bo"]], anchors=[{"kind": "need", "ref": 7}])
    agr.forge("bo", "renew", review_on="next spring")
    agr.forge("bo", "renew")
    agr.forge("bo", "pause", note=["not", "text"])
    # Records naming nothing they had seen (as if made apart) are judged where they
    # claim to be made; refused there, they are not even a branch to settle.
    agr.forge("cy", "no_longer", note="not mine", seen=False)
    agr.forge("cy", "retire", seen=False)
    agr.forge("bo", "revise", what="Nobody cooks", parties=[], anchors=[], seen=False)
    agr.forge("bo", "settle", state="proposed", keep=[], seen=False)  # nothing to settle
    got = agr.get(at(2))
    assert (got.state, got.version, got.review_on, got.parties, got.needs_reconciliation) == \
        ("active", 1, before.review_on, before.parties, False)
    assert [v.what for v in got.versions] == ["Cook on Tuesdays"]
    # A record about an agreement that does not exist, and one of an unknown type.
    agr.pod.do(agr.doc, Draft("affirm", {}, item="f" * 32), "bo")
    agr.forge("bo", "teleport")
    assert agr.get(at(2)).state == "active"
    assert list(agr.pod.items(agr.doc, ag.PROPOSE)) == [agr.aid]
    # What the rules allow where it claims to be made counts, as a change made apart.
    agr.forge("bo", "retire", note="made apart", seen=False)
    got = agr.get(at(2))
    assert got.needs_reconciliation
    assert sorted(c.state for c in got.candidates) == ["active", "retired"]


def test_a_record_following_a_refused_one_is_judged_by_what_that_one_followed(
        agr: Agreements) -> None:
    agr.active()
    cy = agr.forge("cy", "pause")
    agr.pod.do(agr.doc, Draft("pause", {"note": "summer"}, item=agr.aid, after=(cy.id,)),
               "ana", at(2))
    got = agr.get(at(2))
    assert (got.state, got.needs_reconciliation) == ("paused", False)
    agr.do("bo", ag.resume_agreement, when=at(3))
    assert agr.get(at(3)).state == "active"


def test_joining_branches_over_and_over_costs_at_most_max_join_replay(agr: Agreements) -> None:
    """Ana signs a retirement naming nothing (a branch made apart) and Bo settles
    it away, again and again. Judging the i-th settle replays its past twice (2i
    events to join, 2i + 1 with itself), so joins count while the total stays
    within MAX_JOIN_REPLAY; the next ones do not."""
    within = max(k for k in range(1, 1000)
                 if sum(4 * i + 1 for i in range(1, k + 1)) <= MAX_JOIN_REPLAY)
    head = agr.do("ana", ag.affirm_agreement).id
    for i in range(within + 3):
        side = agr.forge("ana", "retire", note=f"apart {i}", seen=False).id
        head = agr.pod.do(agr.doc, Draft(SETTLE, {"state": "proposed", "keep": [head]},
                                         item=agr.aid, after=(head, side)), "bo", at(2)).id
        if i == within - 1:
            assert not agr.get(at(2)).needs_reconciliation
    counted = ag.counted(agr.item()).events
    assert sum(e.op == SETTLE for e in counted) == within
    got = agr.get(at(2))
    assert got.needs_reconciliation and len(got.history) == 1 + 2 * (within + 3)


def test_a_creation_record_with_a_hostile_body_is_shown_totally(agr: Agreements) -> None:
    bo = agr.pod.id["bo"]
    rid = agr.pod.do(agr.doc, Draft(ag.PROPOSE, {
        "what": {"not": "text"}, "parties": [bo, 7, "has space", bo, None, "x" * 500],
        "anchors": [{"kind": "value", "ref": "y"}, "loose", {"kind": "need", "ref": "n1"},
                    {"kind": "principle", "ref": "care"}, {"kind": "principle"}],
        "review_on": 20260601}), "bo").id
    got = ag.agreement(agr.pod.items(agr.doc, ag.PROPOSE), rid, at(1))
    assert (got.what, [p.member for p in got.parties], got.anchors, got.review_on, got.state) == \
        ("", [bo], [Anchor("principle", "care")], None, "proposed")
    for review_on in ("2026-99-01", "soon", ["2026-06-01"], None):
        rid = agr.pod.do(agr.doc, Draft(ag.PROPOSE, {"review_on": review_on, "parties": "bo",
                                                     "anchors": {"kind": "need"}}), "bo").id
        got = ag.agreement(agr.pod.items(agr.doc, ag.PROPOSE), rid, JUNE)
        assert (got.what, got.parties, got.anchors, got.review_on, got.state) == \
            ("", [], [], None, "proposed")
    huge = agr.pod.do(agr.doc, Draft(ag.PROPOSE, {"what": "w" * 40_000}), "bo").id
    assert len(ag.agreement(agr.pod.items(agr.doc, ag.PROPOSE), huge, at(1)).what) == 20_000
    assert len(ag.agreements(agr.pod.items(agr.doc, ag.PROPOSE), at(1))) == 7


# -- two nodes apart -----------------------------------------------------------


def test_affirmations_apart_merge_and_concurrent_revisions_need_settling(
        agr: Agreements) -> None:
    ids = agr.pod.id
    other = agr.apart()
    agr.do("ana", ag.affirm_agreement)
    other.do("bo", ag.affirm_agreement)
    other.do("cy", ag.volunteer_reminder)
    agr.do("ana", ag.note_agreement, "see you tuesday")
    merged(agr.pod, other.pod)
    got = agr.get(at(2))
    assert (got.state, got.reminders, len(got.notes)) == ("active", [ids["cy"]], 1)
    assert other.get(at(2)) == got

    agr.do("ana", ag.revise_agreement, at(3), "Cook Mondays", [ids["ana"], ids["bo"]],
           when=at(3))
    other.do("bo", ag.revise_agreement, at(3), "Cook Wednesdays", [ids["ana"], ids["bo"]],
             when=at(3))
    merged(agr.pod, other.pod)
    got = agr.get(at(4))
    assert got.needs_reconciliation
    assert sorted(c.fields["revision"] for c in got.candidates) == \
        ["Cook Mondays", "Cook Wednesdays"]
    refused(TransitionRefused, ag.pause_agreement, agr.item(), ids["ana"])  # settle first
    agr.forge("ana", "pause", note="following both")  # only a settle joins the branches
    assert agr.get(at(4)).needs_reconciliation
    # Both candidates are "active": the choice names one by its id.
    refused(InvalidInput, ag.settle_agreement, agr.item(), ids["cy"], "active")
    wednesday = next(c.id for c in got.candidates if c.fields["revision"] == "Cook Wednesdays")
    agr.do("cy", ag.settle_agreement, wednesday, when=at(4))
    got = agr.get(at(4))
    assert (got.needs_reconciliation, got.what, got.version) == (False, "Cook on Tuesdays", 1)
    assert (got.state, got.revision.what, got.revision.version) == \
        ("active", "Cook Wednesdays", 2)
    # Every record is kept in the history: the set-aside revision, and the pause
    # that counted for nothing.
    assert sorted(e.op for e in got.history) == \
        ["affirm", "affirm", "note", "pause", "remind", "revise", "revise", "settle"]
    merged(agr.pod, other.pod)
    assert other.get(at(4)) == got


def test_a_revision_and_an_affirmation_of_the_old_version_made_apart_are_reconciled(
        agr: Agreements) -> None:
    ids = agr.pod.id
    agr.do("ana", ag.affirm_agreement, when=at(1))
    other = agr.apart()
    # Apart: Ana changes the proposal while Bo affirms the version he had seen.
    agr.do("ana", ag.revise_agreement, at(2), "Cook on Thursdays", when=at(2))
    other.do("bo", ag.affirm_agreement, "Tuesdays suit me", when=at(2))
    assert other.get(at(2)).state == "active"
    merged(agr.pod, other.pod)
    got = agr.get(at(3))
    assert got.needs_reconciliation and other.get(at(3)) == got
    assert sorted((c.state, c.fields["what"]) for c in got.candidates) == \
        [("active", "Cook on Tuesdays"), ("proposed", "Cook on Thursdays")]
    refused(TransitionRefused, ag.affirm_agreement, agr.item(), ids["bo"])  # settle first
    thursday = next(c.id for c in got.candidates if c.state == "proposed")
    agr.do("bo", ag.settle_agreement, thursday, when=at(3))
    got = agr.get(at(3))
    assert (got.state, got.what, got.needs_reconciliation) == \
        ("proposed", "Cook on Thursdays", False)
    agr.do("bo", ag.affirm_agreement, when=at(4))
    agr.do("ana", ag.affirm_agreement, when=at(4, minutes=1))
    assert agr.get(at(5)).state == "active"
