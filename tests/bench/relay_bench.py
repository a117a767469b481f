"""Relay benchmark: podsync members who reach each other only through the
automerge project's sync server (tests/interop/relay.mjs, run by this script).

Run: ``python tests/bench/relay_bench.py`` (after ``scripts/test`` has run
``npm ci`` in tests/interop). Prints one table; asserts nothing.

Workloads:
  propagation  an edit (``need add``) on one member until the other member's node
               holds it, through the relay; p50 and p99. Beside it, in the same
               run and through the same server, two JS automerge-repo clients
               (tests/bench/js_relay_pair.mjs) timing an edit the same way.
  catch-up     a member away while another makes 1,000 changes across 50
               documents; from the returning node's start until it holds them all
  year         a pod of three members working through the relay for a simulated
               year (a few edits a day each); the relay's disk use, what of it the
               members still read (current outboxes and indexes), and the pod's
               own state for comparison
"""

from __future__ import annotations

import argparse
import asyncio
import datetime
import json
import os
import platform
import random
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import automerge.core as am

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from podsync.api import ops  # noqa: E402
from podsync.node import Node  # noqa: E402
from podsync.relay.changes import holds  # noqa: E402
from podsync.repo.values import put_value  # noqa: E402
from tests.interop.jsdriver import INTEROP_DIR, require_node  # noqa: E402
from tests.relay.conftest import JsRelay, NodeFactory, relay_pod  # noqa: E402

JS_PAIR = ROOT / "tests" / "bench" / "js_relay_pair.mjs"
#: As the JS side: an edit every 150 ms, wider than automerge-repo's 100 ms throttle.
ROUND_GAP_SECONDS = 0.15
WAIT_SECONDS = 120.0


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q * (len(ordered) - 1))))]


async def arrives(node: Node, doc_id: str, heads: list[bytes]) -> None:
    """Until ``node`` holds ``heads`` of ``doc_id`` (woken by its change events)."""
    queue = node.repo.subscribe()
    try:
        deadline = time.perf_counter() + WAIT_SECONDS
        while not (node.repo.has(doc_id) and holds(node.repo.get(doc_id), heads)):
            remaining = deadline - time.perf_counter()
            if remaining <= 0:
                raise TimeoutError(f"{doc_id} did not arrive")
            try:
                await asyncio.wait_for(queue.get(), min(remaining, 0.5))
            except asyncio.TimeoutError:
                pass
    finally:
        node.repo.unsubscribe(queue)


async def settled(node: Node) -> None:
    """Until the node's relay holds everything it wrote."""
    deadline = time.perf_counter() + WAIT_SECONDS
    while True:
        relays, _ = node.relays.status()
        if relays and all(r["behind"] == {"documents": 0, "unwritten": 0} for r in relays):
            return
        if time.perf_counter() > deadline:
            raise TimeoutError("the relay did not settle")
        await asyncio.sleep(0.05)


async def stop_all(nodes: NodeFactory) -> None:
    for node in nodes.nodes:
        await node.stop()
    nodes.nodes.clear()


async def propagation(root: Path, relay: JsRelay, rounds: int) -> list[float]:
    nodes = NodeFactory(root)
    try:
        ada, bo = await relay_pod(nodes, relay.url)
        needs = ada.ledger.collections()["needs"]
        times = []
        for i in range(rounds + 1):
            await asyncio.sleep(ROUND_GAP_SECONDS)
            started = time.perf_counter()
            await ops.run(ada.context, "need.add", {"title": f"edit {i}"})
            await arrives(bo, needs, ada.repo.get(needs).get_heads())
            if i:  # the first round warms both sides up
                times.append((time.perf_counter() - started) * 1000)
        return times
    finally:
        await stop_all(nodes)


async def catch_up(root: Path, relay: JsRelay, changes: int, docs: int) -> dict[str, float]:
    nodes = NodeFactory(root)
    try:
        ada, bo = await relay_pod(nodes, relay.url)
        ids = []
        for _ in range(docs):
            doc_id = await ada.repo.create("bench", lambda tx: put_value(tx, am.ROOT, "n", 0))
            await ada.ledger.share(doc_id, "pod", datetime.datetime.now(datetime.timezone.utc))
            ids.append(doc_id)
        for doc_id in ids:
            await arrives(bo, doc_id, ada.repo.get(doc_id).get_heads())
        await bo.stop()
        nodes.nodes.remove(bo)
        for i in range(changes):
            await ada.repo.change(ids[i % docs], lambda tx, i=i: put_value(tx, am.ROOT, f"k{i}", i))
        await settled(ada)
        started = time.perf_counter()
        bo = await nodes.start("bo")
        up = time.perf_counter()
        for doc_id in ids:
            await arrives(bo, doc_id, ada.repo.get(doc_id).get_heads())
        done = time.perf_counter()
        return {"from_start": done - started, "node_start": up - started}
    finally:
        await stop_all(nodes)


async def simulated_year(root: Path, relay: JsRelay, days: int, seed: int) -> dict[str, Any]:
    rng = random.Random(seed)
    nodes = NodeFactory(root)
    try:
        group = await relay_pod(nodes, relay.url, ("ada", "bo", "cy"))
        open_needs: list[str] = []
        held: list[tuple[Node, str]] = []
        edits = 0
        for _ in range(days):
            for _ in range(rng.randint(2, 7)):  # a few edits a day across the pod
                who = rng.choice(group)
                roll = rng.random()
                if roll < 0.3 or not open_needs:
                    got = await ops.run(who.context, "need.add", {"title": f"need {edits}"})
                    open_needs.append(got.id if hasattr(got, "id") else got["id"])
                elif roll < 0.55:
                    need = open_needs.pop(rng.randrange(len(open_needs)))
                    await _tolerant(ops.run(who.context, "need.take", {"id": need}))
                    held.append((who, need))
                elif roll < 0.75 and held:
                    holder, need = held.pop(rng.randrange(len(held)))
                    await _tolerant(ops.run(holder.context, "need.done", {"id": need, "note": "done"}))
                else:
                    level = rng.choice(["depleted", "stretched", "baseline", "spacious"])
                    await ops.run(who.context, "capacity.set", {"level": level, "note": f"day note {edits}"})
                edits += 1
            await asyncio.sleep(0.02)  # let the relay carry the day's edits
        for node in group:
            await settled(node)
        live = set()
        for node in group:
            ctx, inbox = node.relays.ctx, node.relays.inbox
            assert ctx is not None and inbox is not None
            live.update(d for s in inbox.sources.values() for d in (s.index_id, s.outbox) if d)
        pod_state = sum(len(node_doc.save()) for node_doc in
                        (group[0].repo.get(i.doc_id) for i in group[0].store.list_documents()))
        rotations = [n.relays.writer.gen for n in group]
        return {"edits": edits, "disk": relay.disk_bytes(), "live": _doc_bytes(relay, live),
                "pod_state": pod_state, "generations_now": rotations,
                "documents_on_relay": len(_doc_dirs(relay))}
    finally:
        await stop_all(nodes)


async def _tolerant(call: Any) -> None:
    """Ops a random schedule may make impossible (taking a need someone else
    finished) are part of a real year too: refused, nothing else."""
    try:
        await call
    except Exception:  # noqa: BLE001
        pass


def _doc_dirs(relay: JsRelay) -> dict[str, Path]:
    """NodeFS storage keeps a document under DIR/<first 2 chars>/<the rest>/."""
    out = {}
    for first in relay.directory.iterdir():
        if first.is_dir() and len(first.name) == 2:
            for rest in first.iterdir():
                out[first.name + rest.name] = rest
    return out


def _doc_bytes(relay: JsRelay, doc_ids: set[str]) -> int:
    dirs = _doc_dirs(relay)
    return sum(p.stat().st_size for d in doc_ids if d in dirs for p in dirs[d].rglob("*") if p.is_file())


def js_pair(url: str, rounds: int) -> dict[str, Any]:
    out = subprocess.run([require_node(), str(JS_PAIR), url, "--rounds", str(rounds)],
                         cwd=INTEROP_DIR, capture_output=True, text=True, timeout=600, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=100)
    parser.add_argument("--changes", type=int, default=1000)
    parser.add_argument("--docs", type=int, default=50)
    parser.add_argument("--days", type=int, default=365)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        results: dict[str, Any] = {}
        for name in ("propagation", "catch-up", "year"):
            relay = JsRelay(root / f"{name}-relay", None, "127.0.0.1", 0, "all", ())
            relay.start()
            try:
                if name == "propagation":
                    results["podsync"] = asyncio.run(propagation(root / name, relay, args.rounds))
                    results["js"] = js_pair(relay.url, args.rounds)
                elif name == "catch-up":
                    results[name] = asyncio.run(catch_up(root / name, relay, args.changes, args.docs))
                else:
                    results[name] = asyncio.run(simulated_year(root / name, relay, args.days, args.seed))
            finally:
                relay.stop()
    p, js, up, year = results["podsync"], results["js"], results["catch-up"], results["year"]
    print(f"relay benchmark, {datetime.date.today()}, {platform.node()}: {os.cpu_count()} cores, "
          f"Python {platform.python_version()}; relay: automerge-repo 2.5.6 sync server "
          f"(NodeFS storage, WebSocket server adapter) on loopback")
    print()
    print("| workload | podsync | JS automerge-repo clients | target |")
    print("|---|---:|---:|---|")
    print(f"| edit through the relay, p50 (ms) | {percentile(p, 0.5):.0f} | {js['p50_ms']:.0f} | ≤ 300 |")
    print(f"| edit through the relay, p99 (ms) | {percentile(p, 0.99):.0f} | {js['p99_ms']:.0f} | |")
    print(f"| catch-up: {args.changes} changes across {args.docs} documents, from node start (s) "
          f"| {up['from_start']:.2f} | | ≤ 2 |")
    print(f"| ... of which the node's own start (s) | {up['node_start']:.2f} | | |")
    print(f"| year: {year['edits']} edits by 3 members over {args.days} days: relay disk (KiB) "
          f"| {year['disk'] / 1024:.0f} | | O(state) |")
    print(f"| ... of which documents members still read (KiB) | {year['live'] / 1024:.0f} | | |")
    print(f"| ... the pod's own state, saved (KiB) | {year['pod_state'] / 1024:.0f} | | |")
    print(f"| ... relay documents in all | {year['documents_on_relay']} | | |")
    print()
    print(f"propagation: {len(p)} rounds, mean {statistics.mean(p):.0f} ms; JS {js['rounds']} rounds.")


if __name__ == "__main__":
    main()
