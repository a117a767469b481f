"""What the store keeps for saved views (podsync.api.views): a count of the writes
of each document's records that only grows, and views written and read by item."""

from __future__ import annotations

from pathlib import Path

import automerge.core as am

from podsync.store import DocumentStore


def test_every_write_of_records_counts_and_the_count_outlives_the_document(
        tmp_path: Path, edit) -> None:
    with DocumentStore(tmp_path / "s.db") as store:
        doc = am.Document()
        store.append_changes("d", [edit(doc, "k", 1)], doc.get_heads())
        assert store.record_writes(["d", "other"]) == {"d": 0, "other": 0}
        store.submit_records("d", [("r1", b"one", None)]).result()
        store.submit_records("d", [("r1", b"one", True)]).result()  # an answer: a write too
        store.submit_records("d", [], heads=doc.get_heads()).result()
        assert store.record_writes(["d"]) == {"d": 3}
        assert store.load_records("d").writes == 3
        assert store.load_records_by_id("d", ["r1", "r2"]) == [("r1", b"one", True)]
        store.save_views("d", "need", b"basis", [("i1", None, b"e1")], []).result()
        store.delete_later(["d"])
        assert store.delete_noted() == ["d"]
        # Views saved before can never look current for records stored after.
        assert store.record_writes(["d"]) == {"d": 3}
        assert store.views_basis("d", "need") is None and store.load_views("d", "need") == []
        store.submit_records("d", [("r9", b"nine", True)]).result()
        assert store.record_writes(["d"]) == {"d": 4}


def test_views_are_written_by_item_and_read_live_or_all(tmp_path: Path) -> None:
    with DocumentStore(tmp_path / "s.db") as store:
        rows = [("open", None, b"o"), ("quiet-long", 100.0, b"q1"), ("quiet-lately", 900.0, b"q2")]
        store.save_views("d", "need", b"b1", rows, []).result()
        assert store.views_basis("d", "need") == b"b1"
        assert sorted(store.load_views("d", "need")) == [
            ("open", b"o"), ("quiet-lately", b"q2"), ("quiet-long", b"q1")]
        assert sorted(store.load_views("d", "need", quiet_after=500.0)) == [
            ("open", b"o"), ("quiet-lately", b"q2")]
        # One item changes, one goes: the others stay as they were.
        store.save_views("d", "need", b"b2", [("open", 950.0, b"o2")], ["quiet-long"]).result()
        assert sorted(store.load_views("d", "need")) == [("open", b"o2"), ("quiet-lately", b"q2")]
        assert store.views_basis("d", "need") == b"b2"
        assert store.load_views("d", "agreement") == [] and store.views_basis("d", "x") is None
        # Replaced: nothing saved before stays.
        store.save_views("d", "need", b"b3", [("new", None, b"n")], [], replace=True).result()
        assert store.load_views("d", "need") == [("new", b"n")]
