"""The archive on a real node: closed, quiet items leave the live listings and are
still reached by ``all``, ``get``, search and the export; the pod's setting moves
the line, and any member may change it."""

from __future__ import annotations

import datetime as dt
import json

from podsync.api import ops
from podsync.api.context import PodContext
from podsync.errors import InvalidInput
from podsync.node import Node
from tests.node.conftest import NodeFactory
from tests.practices.helpers import by_id, call, holds_collections, until


def later(node: Node, days: float) -> PodContext:
    """The node's member acting ``days`` from now (its own documents, a moved clock)."""
    moment = dt.datetime.now(dt.timezone.utc) + dt.timedelta(days=days)
    return PodContext(node.home, node.repo, node.config, node.identity, node.ledger, node=node,
                      clock=lambda: moment)


async def run(ctx: PodContext, name: str, **args: object) -> object:
    return json.loads(ops.to_json(await ops.run(ctx, name, args)))


async def test_closed_items_move_to_the_archive_and_stay_within_reach(nodes: NodeFactory) -> None:
    ada = await nodes.start("ada")
    bo = await nodes.start("bo", peers=[ada.listen_addresses[0]])
    await holds_collections(bo)
    me = ada.config.member_id
    done = (await call(ada, "need.add", title="Mend the gutter", detail="north corner"))["id"]
    await call(ada, "need.take", id=done)
    await call(ada, "need.done", id=done, note="cleared the leaves")
    still = (await call(ada, "need.add", title="Paint the shed"))["id"]
    retired = (await call(ada, "agreement.propose", what="Bins on Sunday", parties=[me]))["id"]
    await call(ada, "agreement.retire", id=retired)
    decided = (await call(ada, "decision.start", title="Buy a van", proposal="the blue one",
                          deadline=(dt.datetime.now(dt.timezone.utc)
                                    + dt.timedelta(days=2)).isoformat()))["id"]
    await call(ada, "decision.decide", id=decided, text="we buy the blue van",
               no_one_affected="only the car-share uses it")
    team = (await call(ada, "team.add", name="Garden"))["id"]
    addressed = (await call(ada, "team.item_add", team_id=team, title="Prune the pear"))["id"]
    await call(ada, "team.item_address", id=addressed, note="pruned")

    soon, season = later(ada, 30), later(ada, 91)
    assert {n["id"]: n["archived"] for n in await run(soon, "need.list")} == \
        {done: False, still: False}
    assert [n["id"] for n in await run(season, "need.list")] == [still]
    every = {n["id"]: n for n in await run(season, "need.list", all=True)}
    assert (every[done]["archived"], every[done]["state"], every[still]["archived"]) == \
        (True, "attended", False)
    assert (await run(season, "need.get", id=done))["archived"] is True
    for listing, item_id, args in (("agreement.list", retired, {}),
                                   ("decision.list", decided, {}),
                                   ("team.items", addressed, {"team_id": team})):
        assert by_id(await run(soon, listing, **args), item_id), listing
        assert not by_id(await run(season, listing, **args), item_id), listing
        assert by_id(await run(season, listing, all=True, **args), item_id)["archived"], listing

    found = await run(season, "pod.search", text="GUTTER north")
    assert [(f["kind"], f["id"], f["archived"]) for f in found] == [("need", done, True)]
    assert [f["id"] for f in await run(season, "pod.search", text="blue van")] == [decided]
    assert await run(season, "pod.search", text="gutter shed") == []
    exported = (await run(season, "pod.export", format="json"))["content"]
    assert by_id(exported["needs"], done) and by_id(exported["agreements"], retired)

    # Any member moves the line; the setting syncs with the pod document.
    settings = await call(bo, "pod.setting", name="archive_after_days", value=365)
    assert [(s["value"], s["set_by"]) for s in settings if s["name"] == "archive_after_days"] \
        == [(365, bo.config.member_id)]
    await until(ada, "pod.settings",
                lambda found: {s["name"]: s["value"] for s in found}["archive_after_days"] == 365)
    assert {n["id"] for n in await run(season, "need.list")} == {done, still}
    assert [n["id"] for n in await run(later(ada, 400), "need.list")] == [still]


async def test_a_setting_out_of_range_or_unknown_is_refused_and_nothing_is_written(
        nodes: NodeFactory) -> None:
    ada = await nodes.start("ada")
    before = len(ada.ledger.pod_records())
    for args in ({"name": "archive_after_days", "value": 0},
                 {"name": "archive_after_days", "value": 100_000},
                 {"name": "archive_all_the_things", "value": 3}):
        try:
            await call(ada, "pod.setting", **args)
        except InvalidInput as err:
            assert "archive_after_days" in str(err) or "no setting" in str(err)
        else:
            raise AssertionError(f"{args} was taken")
    assert len(ada.ledger.pod_records()) == before
    assert (await call(ada, "pod.settings"))[0]["value"] == 90


async def test_a_restarted_node_derives_its_items_before_anyone_asks(nodes: NodeFactory) -> None:
    ada = await nodes.start("ada")
    made = {(await call(ada, "need.add", title=f"need {i}"))["id"] for i in range(3)}
    await ada.stop()
    nodes.nodes.remove(ada)
    again = await nodes.start("ada")
    await again.warmed.wait()
    needs_doc = again.context.collection("needs")
    [cache] = [c for (doc_id, kind), c in again.context.views._collections.items()
               if doc_id == needs_doc and kind == "need"]
    assert set(cache.entries) == made and not cache.pending
