"""The node's cache of derived views: reused while nothing changed, derived again
when an item's records, the roster or the time say so; the archive and the pod
setting that decides it."""

from __future__ import annotations

import datetime as dt

import msgspec
import pytest

from podsync.api.views import Kind, Views, stable_until
from podsync.errors import InvalidInput
from podsync.pod import agreements, decisions, needs
from podsync.pod import settings as pod_settings
from podsync.pod.events import Event, Item
from podsync.records.format import Draft
from tests.pod.helpers import Pod, at


class Counting:
    """A kind of item whose derivations are counted."""

    def __init__(self, derive=needs.derive, create=needs.ADD, collection=needs.KIND) -> None:
        self.calls: list[str] = []
        self._derive = derive
        view = {needs.KIND: needs.Need, agreements.KIND: agreements.Agreement}[collection]
        self.kind = Kind("counted " + collection, collection, create, self.derive,
                         msgspec.to_builtins, view)

    def derive(self, item: Item, now: dt.datetime, tuned: object):
        self.calls.append(item.id)
        return self._derive(item, now)


@pytest.fixture
def pod() -> Pod:
    return Pod()


def add_need(pod: Pod, title: str, who: str = "ana", when: dt.datetime | None = None) -> str:
    return pod.do(pod.collections[needs.KIND], needs.add_need(title), who, when or at()).id


def act(pod: Pod, need_id: str, who: str, op, *args, when: dt.datetime) -> None:
    doc = pod.collections[needs.KIND]
    pod.do(doc, op(pod.item(doc, need_id, needs.ADD), pod.id[who], *args), who, when)


def fresh(pod: Pod, need_id: str, now: dt.datetime) -> needs.Need:
    return needs.derive(pod.item(pod.collections[needs.KIND], need_id, needs.ADD), now)


def test_items_are_derived_once_and_again_only_when_their_records_change(pod: Pod) -> None:
    ids = [add_need(pod, f"need {i}") for i in range(5)]
    counting, views, doc = Counting(), Views(pod.ledger), pod.collections[needs.KIND]
    first = views.views(doc, counting.kind, at(1))
    assert sorted(counting.calls) == sorted(ids)
    assert [v.id for v in first] == sorted(ids, key=lambda i: (fresh(pod, i, at(1)).created_at, i))

    counting.calls.clear()
    views.views(doc, counting.kind, at(1, minutes=5))
    assert counting.calls == []  # nothing changed

    act(pod, ids[2], "bo", needs.hold_need, when=at(1))
    again = views.views(doc, counting.kind, at(1, minutes=10))
    assert counting.calls == [ids[2]]
    assert next(v for v in again if v.id == ids[2]) == fresh(pod, ids[2], at(1, minutes=10))
    new = add_need(pod, "one more", when=at(1))
    counting.calls.clear()
    assert [v.id for v in views.views(doc, counting.kind, at(1, minutes=20))][-1] == new
    assert counting.calls == [new]


def test_a_removal_reads_every_item_again_and_what_no_longer_counts_leaves_the_view(pod: Pod) -> None:
    doc = pod.collections[needs.KIND]
    nid, other = add_need(pod, "gutter"), add_need(pod, "gate")
    act(pod, nid, "bo", needs.hold_need, when=at(2))
    counting, views = Counting(), Views(pod.ledger)
    before = {v.id: v for v in views.views(doc, counting.kind, at(3))}
    assert before[nid].state == "held" and before[other].state == "open"
    counting.calls.clear()
    pod.remove(pod.id["bo"], by="ana", when=at(1))  # Bo's hold was signed after it
    after = {v.id: v for v in views.views(doc, counting.kind, at(3))}
    assert after[nid].state == "open" and after[nid] == fresh(pod, nid, at(3))
    assert counting.calls == [nid]  # the other need's counted records are the same


def test_views_follow_the_clock_to_the_microsecond(pod: Pod) -> None:
    """Neglect starts at 14 whole days and its count moves each day; the cached
    view matches a fresh derivation at every moment, forwards and backwards."""
    doc = pod.collections[needs.KIND]
    nid = add_need(pod, "unheld", when=at(0))
    held = add_need(pod, "held then silent", when=at(0, minutes=7))
    act(pod, held, "cy", needs.hold_need, when=at(3, minutes=1))
    counting, views = Counting(), Views(pod.ledger)
    edge = dt.timedelta(days=needs.NEED_UNHELD_DAYS)
    tick = dt.timedelta(microseconds=1)
    moments = [at(1), at(0) + edge - tick, at(0) + edge, at(0) + edge + tick, at(15), at(16),
               at(2), at(3, minutes=1) + dt.timedelta(days=needs.HOLDER_SILENT_DAYS) - tick,
               at(3, minutes=1) + dt.timedelta(days=needs.HOLDER_SILENT_DAYS), at(40), at(14)]
    for now in moments:
        got = {v.id: v for v in views.views(doc, counting.kind, now)}
        assert got[nid] == fresh(pod, nid, now), now
        assert got[held] == fresh(pod, held, now), now
    unheld = {v.id: v for v in views.views(doc, counting.kind, at(0) + edge)}[nid]
    assert unheld.neglect[0].days == 14
    derived = len(counting.calls)
    views.views(doc, counting.kind, at(14))
    assert len(counting.calls) == derived  # same moment again: nothing derived


def test_a_review_date_is_reached_at_midnight_in_the_cached_view(pod: Pod) -> None:
    doc = pod.collections[agreements.KIND]
    review = (at(0) + dt.timedelta(days=20)).date()
    aid = pod.do(doc, agreements.propose_agreement(at(0), "bins", [pod.id["ana"]],
                                                   review_on=review), "ana", at(0)).id
    item = pod.item(doc, aid, agreements.PROPOSE)
    pod.do(doc, agreements.affirm_agreement(item, pod.id["ana"]), "ana", at(0, minutes=1))
    counting = Counting(agreements.derive, agreements.PROPOSE, agreements.KIND)
    views = Views(pod.ledger)
    midnight = dt.datetime.combine(review, dt.time(), dt.timezone.utc)
    for now, state in ((at(5), "active"), (midnight - dt.timedelta(microseconds=1), "active"),
                       (midnight, "review_due"), (at(2), "active")):
        [view] = views.views(doc, counting.kind, now)
        assert view.state == state, now


def test_stable_until_is_the_next_midnight_or_whole_day_since_any_time_the_item_holds() -> None:
    now = dt.datetime(2026, 3, 10, 15, 0, tzinfo=dt.timezone.utc)
    quiet = Item("i", "m", "2026-03-01T00:00:00.000000+00:00", {}, [])
    assert stable_until(quiet, now) == dt.datetime(2026, 3, 11, tzinfo=dt.timezone.utc)
    afternoon = Item("i", "m", "2026-03-01T16:30:00.000000+00:00", {}, [])
    assert stable_until(afternoon, now) == dt.datetime(2026, 3, 10, 16, 30, tzinfo=dt.timezone.utc)
    event = Event("e", "2026-03-09T15:00:00.000001+00:00", "m", "note", [], {})
    assert stable_until(Item("i", "m", quiet.created_at, {}, [event]), now) == \
        dt.datetime(2026, 3, 10, 15, 0, 0, 1, tzinfo=dt.timezone.utc)
    deadline = Item("i", "m", quiet.created_at, {"deadline": "2026-03-10T18:00:00+00:00"}, [])
    assert stable_until(deadline, now) == dt.datetime(2026, 3, 10, 18, tzinfo=dt.timezone.utc)


def test_a_decision_view_holds_until_its_deadline(pod: Pod) -> None:
    doc = pod.collections[decisions.KIND]
    deadline = at(0, minutes=90)
    did = pod.do(doc, decisions.open_decision(at(0), "van", "buy one", deadline), "ana", at(0)).id
    item = pod.item(doc, did, decisions.OPEN)
    assert stable_until(item, at(0, minutes=30)) <= deadline


# -- the archive and the setting that decides it ----------------------------------


def attended(pod: Pod, when: dt.datetime) -> str:
    nid = add_need(pod, "done long ago", when=when)
    act(pod, nid, "bo", needs.hold_need, when=when)
    act(pod, nid, "bo", needs.attend_need, "fixed", when=when + dt.timedelta(hours=1))
    return nid


def listed(views: Views, pod: Pod, kind: Kind, now: dt.datetime, everything: bool = False) -> dict:
    raw = views.listing(pod.collections[needs.KIND], kind, now, everything=everything)
    return {i["id"]: i["archived"] for i in msgspec.json.decode(msgspec.json.encode(raw))}


def test_a_closed_quiet_item_moves_to_the_archive_and_a_note_brings_it_back(pod: Pod) -> None:
    done, still_open = attended(pod, at(0)), add_need(pod, "still open", when=at(0))
    views, kind = Views(pod.ledger), Counting().kind
    quiet = at(0, minutes=60)
    days = pod_settings.SPECS[pod_settings.ARCHIVE_AFTER_DAYS].default
    assert listed(views, pod, kind, quiet + dt.timedelta(days=days) - dt.timedelta(seconds=1)) == \
        {done: False, still_open: False}
    later = quiet + dt.timedelta(days=days)
    assert listed(views, pod, kind, later) == {still_open: False}
    assert listed(views, pod, kind, later, everything=True) == {done: True, still_open: False}
    act(pod, done, "cy", needs.note_need, "the same thing again?", when=later)
    assert listed(views, pod, kind, later + dt.timedelta(days=days - 1))[done] is False
    assert done not in listed(views, pod, kind, later + dt.timedelta(days=days))


def setting(pod: Pod, who: str, body: dict, when: dt.datetime) -> None:
    pod.do(pod.pod_id, Draft(pod_settings.SETTING, body), who, when)


def test_any_member_changes_the_archive_setting_and_the_latest_counts(pod: Pod) -> None:
    done = attended(pod, at(0))
    views, kind = Views(pod.ledger), Counting().kind
    assert views.archive_after_days() == 90
    setting(pod, "bo", {"name": "archive_after_days", "value": 10}, at(1))
    assert views.archive_after_days() == 10
    assert listed(views, pod, kind, at(12)) == {}
    setting(pod, "cy", {"name": "archive_after_days", "value": 30}, at(2))
    found = views.settings()["archive_after_days"]
    assert (found.value, found.set_by, found.default) == (30, pod.id["cy"], 90)
    assert listed(views, pod, kind, at(12)) == {done: False}


@pytest.mark.parametrize("body", [
    {"name": "archive_after_days", "value": 0},
    {"name": "archive_after_days", "value": 3651},
    {"name": "archive_after_days", "value": "5"},
    {"name": "archive_after_days", "value": True},
    {"name": "archive_after_days", "value": 5.0},
    {"name": "archive_after_days"},
    {"name": "archive_every_thing", "value": 5},
    {"name": ["archive_after_days"], "value": 5},
    {},
])
def test_a_signed_setting_out_of_its_rules_changes_nothing(pod: Pod, body: dict) -> None:
    setting(pod, "bo", {"name": "archive_after_days", "value": 45}, at(1))
    setting(pod, "cy", body, at(2))
    assert Views(pod.ledger).archive_after_days() == 45


def test_changing_a_setting_is_checked_before_anything_is_signed() -> None:
    draft = pod_settings.change_setting("archive_after_days", 120)
    assert draft.body == {"name": "archive_after_days", "value": 120}
    for name, value in (("archive_after_days", 0), ("archive_after_days", 4000),
                        ("nope", 10), ("archive_after_days", True)):
        with pytest.raises(InvalidInput):
            pod_settings.change_setting(name, value)


def test_a_neglect_threshold_the_pod_moves_reaches_every_cached_need(pod: Pod) -> None:
    """The needs board's thresholds are pod settings: when a member moves one, the
    cached views are derived again under it, on this node, without a restart."""
    from podsync.api.ops_needs import NEEDS

    doc = pod.collections[needs.KIND]
    quiet = add_need(pod, "nobody took it", when=at(0))
    views, now = Views(pod.ledger), at(5)
    assert [v.neglect for v in views.views(doc, NEEDS, now) if v.id == quiet] == [[]]
    setting(pod, "bo", {"name": "need_unheld_days", "value": 3}, at(1))
    [after] = [v for v in views.views(doc, NEEDS, now) if v.id == quiet]
    assert after.neglect and after.neglect[0].days == 5
    assert after == needs.derive(pod.item(doc, quiet, needs.ADD), now, views.neglect())
