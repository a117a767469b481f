"""Poison that reached the disk: records a member's modified node (or a local app,
or a damaged write) left in the pod document and a collection. `podsync up`
starts, serves everything else, counts what it could not read in its status,
and starts again after a stop; records the store had not read from the document
are read at start. This is what once stopped every node for good:
a member entry whose `added_at` had no UTC offset made the roster raise at
start."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import automerge.core as am
import pytest

from podsync.api.context import offline_context
from podsync.home import Home
from podsync.records.format import MAX_BODY_DEPTH, Draft, build_payload, record_id, seal
from podsync.repo.values import put_value
from tests.trust_e2e.test_processes import UpProcess, cli

pytestmark = pytest.mark.slow


def nested(levels: int) -> Any:
    value: Any = "bottom"
    for _ in range(levels):
        value = {"v": value}
    return value


async def poison(home: Home) -> dict[str, int]:
    """Write poison offline; how many unreadable records each document holds."""
    async with offline_context(home) as ctx:
        needs = ctx.collection("needs")
        now = ctx.now()
        signer = ctx.ledger.signer
        assert signer is not None

        # A record signed by this member's own key, but with a body nested deeper
        # than podsync reads: podsync never writes one, a modified node could.
        payload = build_payload(Draft("add", {"title": nested(MAX_BODY_DEPTH + 4)}),
                                pod=ctx.pod_id, scope=needs, by=signer.device_id,
                                at=now, prev=None)
        too_deep = seal(payload, signer.sign(payload))
        # A record of another pod, and one about an item that does not exist.
        foreign = ctx.ledger.sign(needs, Draft("add", {"title": "Elsewhere"}), now,
                                  pod="P" * len(ctx.pod_id))
        await ctx.ledger.store_records(needs, [ctx.ledger.sign(
            needs, Draft("attend", {"note": {"not": ["text"]}}, "no-such-item"), now)])

        # A sound record in the document that the store's records never saw (as
        # after a crash between the document's write and its records' write).
        unseen = ctx.ledger.sign(needs, Draft("add", {"title": "Mend the fence"}), now)

        def write_needs(tx: Any) -> None:
            records = tx.get(am.ROOT, "records")[1]
            put_value(tx, records, unseen.id, unseen.sealed)
            put_value(tx, records, record_id(payload), too_deep)
            put_value(tx, records, foreign.id, foreign.sealed)
            put_value(tx, records, "junk", b"\x00not a record")
            put_value(tx, records, "text", "a string where sealed bytes belong")
            put_value(tx, records, "deep", nested(60))
            # Content outside the records map, as the first version kept it.
            put_value(tx, am.ROOT, "items", {"x": {"title": nested(40), "state": 7}})

        def write_pod(tx: Any) -> None:
            records = tx.get(am.ROOT, "records")[1]
            put_value(tx, records, "junk", b"\xff" * 64)
            # The entry that once stopped every node: a naive datetime.
            put_value(tx, am.ROOT, "members", {"m": {"name": "Mallory",
                                                    "added_at": "2024-01-01T00:00:00"}})

        await ctx.change(needs, write_needs)
        await ctx.change(ctx.pod_id, write_pod)
        return {needs: 5, ctx.pod_id: 1}


def unreadable(status: dict[str, Any]) -> dict[str, int]:
    return {d["url"].removeprefix("automerge:"): d["count"]
            for d in status["unverified_records"]["documents"]}


def test_podsync_up_starts_over_poisoned_records_and_counts_them(tmp_path: Path) -> None:
    home = tmp_path / "ada"
    cli(home, "init", "--name", "Ada", "--pod-name", "Garden")
    cli(home, "need", "add", "Water the garden")
    expected = asyncio.run(poison(Home(home)))

    for _ in range(2):  # starts, and starts again after a stop
        node = UpProcess(home)
        try:
            status = node.status()
            counted = unreadable(status)
            for doc_id, at_least in expected.items():
                assert counted.get(doc_id, 0) >= at_least, (doc_id, counted)
            assert status["damaged_documents"] == []
            needs = json.loads(cli(home, "need", "list", "--json").stdout)
            titles = [n["title"] for n in needs]
            assert "Water the garden" in titles and "Elsewhere" not in titles
            assert "Mend the fence" in titles  # read at start, although nothing changed
            cli(home, "need", "add", f"Fix the shed {_}")
            members = json.loads(cli(home, "members", "--json").stdout)
            assert [m["name"] for m in members] == ["Ada"]
            human = cli(home, "status").stdout
            assert "could not be verified" in human or "unverified" in human, human
            log = node.output()
            assert "Traceback" not in log, log
        finally:
            assert node.stop() == 0
    titles = {n["title"] for n in json.loads(cli(home, "need", "list", "--json").stdout)}
    assert {"Water the garden", "Fix the shed 0", "Fix the shed 1"} <= titles
    # Nothing was thrown away: the poison is still on disk, still counted.
    offline = json.loads(cli(home, "status", "--json").stdout)
    assert unreadable(offline).get(next(iter(expected)), 0) >= 5

