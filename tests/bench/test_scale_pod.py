"""The pod the scale benchmarks build (tests/bench/scale_pod.py) is made with
today's practices, and every kind of item in it is there for the node to read:
so the benchmarks measure the pod they describe, and break here rather than on
the day someone runs them."""

from __future__ import annotations

import asyncio
import dataclasses
from pathlib import Path

import msgspec

from podsync.api import ops
from podsync.api.context import PodContext, offline_context
from podsync.pod import feedback, stewards, teams
from tests.bench import scale_pod

FACTOR = 0.02  # 200 needs, 22 agreements, 42 decisions, 10 threads...
STATEMENTS = 4


async def listed(ctx: PodContext, op: str) -> list[dict]:
    got = await ops.run(ctx, op, {"all": True})  # a listing comes encoded (msgspec.Raw)
    return msgspec.json.decode(got) if isinstance(got, (bytes, msgspec.Raw)) else got


def test_the_benchmark_pod_holds_every_kind_of_item_as_the_practices_allow(
        tmp_path: Path) -> None:
    # With a few public statements, as the memory benchmark builds thousands.
    scale = dataclasses.replace(scale_pod.Scale().scaled(FACTOR), statements=STATEMENTS)
    built = scale_pod.build(tmp_path, scale, targets=3)  # runs its own event loops
    # Most steps the simulation takes are ones the practices allow.
    assert built.refused < built.records / 10, (built.refused, built.records)
    asyncio.run(read_back(built, scale))


async def read_back(built: scale_pod.Built, scale: scale_pod.Scale) -> None:
    async with offline_context(built.home) as ctx:
        assert len(await listed(ctx, "need.list")) == scale.needs
        assert len(await listed(ctx, "agreement.list")) >= scale.agreements
        assert len(await listed(ctx, "decision.list")) >= scale.decisions
        assert len(await listed(ctx, "team.items")) == scale.team_items
        assert len(await listed(ctx, "mobilizing.list")) == scale.asks
        # Threads are private: Ada reads those she is a steward in (Eli's).
        ada = built.member_ids["Ada"]
        threads = await listed(ctx, "feedback.threads")
        assert len(built.threads) == scale.threads and 0 < len(threads) < scale.threads
        assert all(ada in t["stewards"] and t["leader"] == built.member_ids["Eli"] for t in threads)
        pod = ctx.ledger.pod_records()
        for leader in (built.member_ids["Bo"], built.member_ids["Eli"]):
            assert len(stewards.stewards_of(pod, leader)) == 2
        assert [len(t.members) for t in teams.teams(pod)] == [4, 4, 4]
        public = [info.doc_id for info in ctx.repo.store.list_documents()
                  if info.kind == feedback.STATEMENT_KIND]
        assert len(public) == STATEMENTS
        for doc_id in public:  # every member reads them
            shown = await ops.run(ctx, "feedback.statement", {"statement_id": doc_id})
            assert shown["statement"], shown
