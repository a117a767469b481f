"""Side-by-side sync benchmark: a podsync pair against a JS automerge-repo pair.

Run: ``python tests/bench/sync_bench.py`` (after ``scripts/test`` has run ``npm ci``
in tests/interop). Both pairs run on this machine in the same run, over loopback
WebSockets, on the same workloads; the table shows both and the ratio.

Workloads:
  propagation  one small change on A until B's repo reports it; p50 and p99
  cold sync    a document of N single-change commits, to a peer that lacks it
  reconnect    D documents in sync, 10 changed while apart; time to catch up and
               bytes on the wire during the reconnect (both directions)
"""

from __future__ import annotations

import argparse
import asyncio
import datetime
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import automerge.core as am

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from podsync.cli.init import initialise  # noqa: E402
from podsync.home import Home  # noqa: E402
from podsync.node import Node, NodeOptions  # noqa: E402
from podsync.repo.values import put_value  # noqa: E402

JS_PAIR = ROOT / "tests" / "bench" / "js_pair.mjs"


def options(peers: list[str] | None = None) -> NodeOptions:
    return NodeOptions(listen="127.0.0.1:0", api="127.0.0.1:0", peers=peers or [], discovery=False)


async def until(predicate, timeout: float = 120.0) -> None:
    deadline = time.perf_counter() + timeout
    while not predicate():
        if time.perf_counter() > deadline:
            raise TimeoutError("benchmark condition not reached")
        await asyncio.sleep(0)


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q * (len(ordered) - 1))))]


def wire_bytes(node: Node) -> int:
    """WebSocket payload bytes, both directions, over the node's open links."""
    return sum(link.bytes_in + link.bytes_out for link in node._links.links.values())


async def bench_propagation(root: Path, rounds: int) -> dict[str, float]:
    a = Node(home(root, "prop-a"), options())
    await a.start()
    b = Node(home(root, "prop-b"), options([a.listen_addresses[0]]))
    await b.start()
    try:
        doc = await a.repo.create("bench", lambda tx: put_value(tx, am.ROOT, "n", 0))
        await until(lambda: b.repo.has(doc))
        events = b.repo.subscribe()
        samples = []
        for i in range(1, rounds + 1):
            start = time.perf_counter()
            await a.repo.change(doc, lambda tx, i=i: put_value(tx, am.ROOT, "n", i))
            while True:
                event = await events.get()
                if event.doc_id == doc and event.origin == "remote":
                    found = b.repo.get(doc).get(am.ROOT, "n")
                    if found is not None and found[0][1] == i:
                        break
            samples.append((time.perf_counter() - start) * 1000)
        return {"p50_ms": statistics.median(samples), "p99_ms": percentile(samples, 0.99)}
    finally:
        await b.stop()
        await a.stop()


async def bench_cold_sync(root: Path, changes: int) -> dict[str, float]:
    a = Node(home(root, "cold-a"), options())
    await a.start()
    try:
        doc_id = await a.repo.create("bench", lambda tx: put_value(tx, am.ROOT, "n", 0))
        doc = a.repo.get(doc_id)
        before = doc.get_heads()
        for i in range(changes):
            with doc.transaction() as tx:
                tx.put(am.ROOT, "n", am.ScalarType.Int, i)
        a.store.append_changes(doc_id, [c.bytes for c in doc.get_changes(before)], doc.get_heads())
        want = sorted(doc.get_heads())
        start = time.perf_counter()
        b = Node(home(root, "cold-b"), options([a.listen_addresses[0]]))
        await b.start()
        try:
            await until(lambda: b.repo.has(doc_id) and sorted(b.repo.get(doc_id).get_heads()) == want)
            return {"seconds": time.perf_counter() - start}
        finally:
            await b.stop()
    finally:
        await a.stop()


async def bench_reconnect(root: Path, docs: int, changed: int = 10) -> dict[str, float]:
    a = Node(home(root, "re-a"), options())
    await a.start()
    b = Node(home(root, "re-b"), options([a.listen_addresses[0]]))
    await b.start()
    ids = [await a.repo.create("bench", lambda tx: put_value(tx, am.ROOT, "n", 0)) for _ in range(docs)]
    await until(lambda: all(b.repo.has(d) for d in ids))
    await until(lambda: all(b.repo.get(d).get_heads() == a.repo.get(d).get_heads() for d in ids))
    await b.stop()
    for d in ids[:changed]:
        await a.repo.change(d, lambda tx: put_value(tx, am.ROOT, "n", 1))
    want = {d: sorted(a.repo.get(d).get_heads()) for d in ids[:changed]}
    start = time.perf_counter()
    b = Node(home(root, "re-b"), options([a.listen_addresses[0]]))
    await b.start()
    try:
        await until(lambda: all(sorted(b.repo.get(d).get_heads()) == h for d, h in want.items()))
        took = time.perf_counter() - start
        await asyncio.sleep(0.2)  # let the last acknowledgements cross, then count
        return {"seconds": took, "bytes": wire_bytes(b)}
    finally:
        await b.stop()
        await a.stop()


def home(root: Path, name: str) -> Home:
    h = Home(root / name)
    if not h.is_initialised():
        initialise(h, name)
    return h


def run_js(args: argparse.Namespace) -> dict:
    cmd = ["node", str(JS_PAIR), "--changes", str(args.changes), "--docs", str(args.docs),
           "--rounds", str(args.rounds)]
    out = subprocess.run(cmd, cwd=JS_PAIR.parent.parent / "interop", capture_output=True,
                         text=True, timeout=900)
    if out.returncode != 0:
        raise SystemExit(f"the JS pair failed:\n{out.stderr}")
    return json.loads(out.stdout.strip().splitlines()[-1])


async def run_podsync(args: argparse.Namespace) -> dict:
    with tempfile.TemporaryDirectory(prefix="podsync-bench-") as tmp:
        root = Path(tmp)
        return {
            "propagation": await bench_propagation(root, args.rounds),
            "cold_sync": await bench_cold_sync(root, args.changes),
            "reconnect": await bench_reconnect(root, args.docs),
        }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--changes", type=int, default=20_000)
    parser.add_argument("--docs", type=int, default=2_000)
    parser.add_argument("--rounds", type=int, default=300)
    args = parser.parse_args()

    py = asyncio.run(run_podsync(args))
    js = run_js(args)
    rows = [
        ("propagation p50 (ms)", py["propagation"]["p50_ms"], js["propagation"]["p50_ms"], "<= 2, <= 0.5x JS"),
        ("propagation p99 (ms)", py["propagation"]["p99_ms"], js["propagation"]["p99_ms"], "<= 10"),
        (f"cold sync {args.changes} changes (s)", py["cold_sync"]["seconds"], js["cold_sync"]["seconds"], "<= 0.5, <= JS"),
        (f"reconnect {args.docs} docs, 10 changed (s)", py["reconnect"]["seconds"], js["reconnect"]["seconds"], "<= 0.3"),
        (f"reconnect {args.docs} docs, 10 changed (KB)", py["reconnect"]["bytes"] / 1000, js["reconnect"]["bytes"] / 1000, "<= 100"),
    ]
    print(f"sync benchmark, {datetime.date.today()}, {platform.node()}: {os.cpu_count()} cores, "
          f"Python {platform.python_version()}, node {subprocess.run(['node', '--version'], capture_output=True, text=True).stdout.strip()}")
    print(f"| workload | podsync | JS automerge-repo 2.5.6 | podsync / JS | target |")
    print("|---|---:|---:|---:|---|")
    for name, p, j, target in rows:
        ratio = p / j if j else float("nan")
        print(f"| {name} | {p:.3f} | {j:.3f} | {ratio:.2f} | {target} |")


if __name__ == "__main__":
    main()
