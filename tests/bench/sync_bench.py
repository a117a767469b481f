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
import gc
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

from podsync.addresses import ADDRESS_BOOK_NAME  # noqa: E402
from podsync.api import ops  # noqa: E402
from podsync.api.ops_feedback import create_private  # noqa: E402
from podsync.cli.init import initialise  # noqa: E402
from podsync.home import Home  # noqa: E402
from podsync.node import Node, NodeOptions  # noqa: E402
from podsync.repo.values import put_value  # noqa: E402
from podsync.trust.join import join_pod  # noqa: E402

JS_PAIR = ROOT / "tests" / "bench" / "js_pair.mjs"


async def shared(node: Node, value: int = 0) -> str:
    """A new document every member reads: its creation record names the pod as its
    readers (a document the pod's own rules would not let travel is no benchmark)."""
    doc_id = await create_private(node.context, "bench", "pod", {}, node.context.now())
    await node.repo.change(doc_id, lambda tx: put_value(tx, am.ROOT, "n", value))
    return doc_id


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


class CountingProxy:
    """A TCP relay that counts every byte both ways (TLS, WebSocket framing and all),
    as the JS side's proxy does, so the two wire figures are measured alike."""

    def __init__(self, target: str) -> None:
        self.host, port = target.rsplit(":", 1)
        self.port = int(port)
        self.bytes = 0
        self.server: asyncio.base_events.Server | None = None

    async def start(self) -> str:
        self.server = await asyncio.start_server(self._relay, "127.0.0.1", 0)
        return f"127.0.0.1:{self.server.sockets[0].getsockname()[1]}"

    async def _relay(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        up_reader, up_writer = await asyncio.open_connection(self.host, self.port)

        async def pipe(src: asyncio.StreamReader, dst: asyncio.StreamWriter) -> None:
            while data := await src.read(65536):
                self.bytes += len(data)
                dst.write(data)
                await dst.drain()
            dst.close()

        await asyncio.gather(pipe(reader, up_writer), pipe(up_reader, writer), return_exceptions=True)

    def close(self) -> None:
        if self.server is not None:
            self.server.close()


async def start_pair(root: Path, tag: str) -> tuple[Node, Home]:
    """A running founder node, and the home of a member who joined its pod."""
    a_home = Home(root / f"{tag}-a")
    initialise(a_home, "Ada")
    a = Node(a_home, options())
    await a.start()
    invite = await ops.run(a.context, "invite.create", {})
    b_home = Home(root / f"{tag}-b")
    await join_pod(b_home, invite.code, "Bo")
    return a, b_home


async def bench_propagation(root: Path, rounds: int, gap: float) -> dict[str, float]:
    a, b_home = await start_pair(root, "prop")
    b = Node(b_home, options([a.listen_addresses[0]]))
    await b.start()
    try:
        doc = await shared(a)
        await until(lambda: b.repo.has(doc))
        arrived: dict[int, float] = {}

        def on_change(event) -> None:  # runs the moment B applies a remote change
            if event.doc_id == doc and event.origin == "remote":
                found = b.repo.get(doc).get(am.ROOT, "n")
                if found is not None:
                    arrived.setdefault(found[0][1], time.perf_counter())

        b.repo.listeners.append(on_change)
        samples = []
        for i in range(1, rounds + 1):
            start = time.perf_counter()
            # A's own durable write (its fsync) runs alongside; what is measured is
            # the time until B holds the change, as for the JS pair.
            write = asyncio.ensure_future(a.repo.change(doc, lambda tx, i=i: put_value(tx, am.ROOT, "n", i)))
            await until(lambda i=i: i in arrived, timeout=10)
            samples.append((arrived[i] - start) * 1000)
            await write
            await asyncio.sleep(gap)
        return {"p50_ms": statistics.median(samples), "p99_ms": percentile(samples, 0.99)}
    finally:
        await b.stop()
        await a.stop()


async def bench_cold_sync(root: Path, changes: int) -> dict[str, float]:
    a, b_home = await start_pair(root, "cold")
    try:
        doc_id = await shared(a)
        doc = a.repo.get(doc_id)
        before = doc.get_heads()
        for i in range(changes):
            with doc.transaction() as tx:
                tx.put(am.ROOT, "n", am.ScalarType.Int, i)
        a.store.append_changes(doc_id, [c.bytes for c in doc.get_changes(before)], doc.get_heads())
        # Compact now, as the store would soon on its own, so that compaction is
        # not running in the background while the clock runs.
        a.store.compact(doc_id)
        want = sorted(doc.get_heads())
        start = time.perf_counter()
        b = Node(b_home, options([a.listen_addresses[0]]))
        await b.start()
        try:
            await until(lambda: b.repo.has(doc_id) and sorted(b.repo.get(doc_id).get_heads()) == want)
            return {"seconds": time.perf_counter() - start}
        finally:
            await b.stop()
    finally:
        await a.stop()


async def bench_reconnect(root: Path, docs: int, changed: int = 10) -> dict[str, float]:
    a, b_home = await start_pair(root, "re")
    b = Node(b_home, options([a.listen_addresses[0]]))
    await b.start()
    ids = [await shared(a) for _ in range(docs)]
    await until(lambda: all(b.repo.has(d) for d in ids))
    await until(lambda: all(b.repo.get(d).get_heads() == a.repo.get(d).get_heads() for d in ids))
    await b.stop()
    for d in ids[:changed]:
        await a.repo.change(d, lambda tx: put_value(tx, am.ROOT, "n", 1))
    want = {d: sorted(a.repo.get(d).get_heads()) for d in ids[:changed]}
    # B must meet A only through the counting proxy: forget A's direct address.
    (b_home.root / ADDRESS_BOOK_NAME).unlink(missing_ok=True)
    proxy = CountingProxy(a.listen_addresses[0])
    via = await proxy.start()
    # As `podsync up` settles a running node's heap (podsync.cli.up): both nodes
    # live in this one process, and a full collection would walk both.
    gc.collect()
    gc.freeze()
    start = time.perf_counter()
    b = Node(b_home, options([via]))
    await b.start()
    try:
        await until(lambda: all(sorted(b.repo.get(d).get_heads()) == h for d, h in want.items()))
        took = time.perf_counter() - start
        await asyncio.sleep(0.2)  # let the last acknowledgements cross, then count
        return {"seconds": took, "bytes": proxy.bytes}
    finally:
        await b.stop()
        await a.stop()
        proxy.close()


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
            "propagation": await bench_propagation(root, args.rounds, args.gap_ms / 1000),
            "cold_sync": await bench_cold_sync(root, args.changes),
            "reconnect": await bench_reconnect(root, args.docs),
        }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--changes", type=int, default=20_000)
    parser.add_argument("--docs", type=int, default=2_000)
    parser.add_argument("--rounds", type=int, default=300)
    # The JS pair spaces its rounds 150 ms apart (automerge-repo throttles a
    # document's sync to one run per 100 ms); podsync is measured the same way.
    parser.add_argument("--gap-ms", type=float, default=150.0)
    args = parser.parse_args()

    py = asyncio.run(run_podsync(args))
    js = run_js(args)
    rows = [
        ("propagation p50 (ms)", py["propagation"]["p50_ms"], js["propagation"]["p50_ms"], "<= 2, <= 0.5x JS"),
        ("propagation p99 (ms)", py["propagation"]["p99_ms"], js["propagation"]["p99_ms"], "<= 10"),
        (f"cold sync {args.changes} changes (s)", py["cold_sync"]["seconds"],
         js["cold_sync"]["find_to_ready_ms"] / 1000, "<= 0.5, <= JS"),
        (f"reconnect {args.docs} docs, 10 changed (s)", py["reconnect"]["seconds"],
         js["reconnect"]["changes_arrived_ms"] / 1000, "<= 0.2"),
        (f"reconnect {args.docs} docs, 10 changed (KB)", py["reconnect"]["bytes"] / 1000,
         js["reconnect"]["wire_bytes_total"] / 1000, "<= 50"),
    ]
    print(f"sync benchmark, {datetime.date.today()}, {platform.node()}: {os.cpu_count()} cores, "
          f"Python {platform.python_version()}, node {subprocess.run(['node', '--version'], capture_output=True, text=True).stdout.strip()}")
    print("| workload | podsync | JS automerge-repo 2.5.6 | podsync / JS | target |")
    print("|---|---:|---:|---:|---|")
    for name, p, j, target in rows:
        ratio = p / j if j else float("nan")
        print(f"| {name} | {p:.3f} | {j:.3f} | {ratio:.2f} | {target} |")


if __name__ == "__main__":
    main()
