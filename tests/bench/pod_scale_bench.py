"""A pod with years of history, on real nodes: what each operation costs (a script).

    python tests/bench/pod_scale_bench.py [--samples N] [--runs N] [--factor F]

Builds two pods with a simulated three years of activity (:mod:`scale_pod`): the
full one (10,000 needs, 1,000 agreements, 2,000 decisions with advice, 500
feedback threads, team items, check-ins and asks) and one ``--factor`` its size
(default a tenth: 1,000 needs...). For each, ``podsync up`` runs on the pod's
home as a separate process, and this script measures, through the node's
loopback API as the web page and the commands reach it:

- each kind of single-item operation: p50 and p99 of ``--samples`` calls, on
  items picked across the whole history; the ratio of the full pod's p50 to the
  small pod's says whether an operation's cost grows with history;
- each listing, as the page asks for it (the live items) and with ``all``
  (archived ones too): median of ``--runs`` calls, and the first call;
- every read command (``podsync ...``) as a whole process through the running
  node: median of ``--runs``;
- a new member's first full sync: ``podsync join`` with an invite, then their node
  started until it holds every document they read at the founder's heads, and
  until it answers ``need list`` with the whole board;
- each node's memory (resident set now, and its peak) and the store's size.

Nothing here is asserted: it prints a table (Markdown) to paste in the README.
"""

from __future__ import annotations

import argparse
import datetime as dt
import http.client
import json
import os
import platform
import random
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.parse
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import cli_bench  # noqa: E402
import scale_pod  # noqa: E402

from podsync.home import Home  # noqa: E402

OP_TARGET_MS = 5.0
LIST_TARGET_MS = 100.0
SYNC_TARGET_S = 5.0
#: Generous for a busy machine; a node that takes longer is reported as stuck.
START_TIMEOUT_S = 120.0
SYNC_TIMEOUT_S = 120.0

LISTINGS = ["need.list", "agreement.list", "decision.list", "team.items", "capacity.list",
            "mobilizing.list", "feedback.threads", "team.list", "members.list"]
#: Listings that take ``all`` (archived items too).
ARCHIVED_LISTINGS = ["need.list", "agreement.list", "decision.list", "team.items",
                     "feedback.threads", "mobilizing.list"]


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q * (len(ordered) - 1))))]


def memory_of(pid: int) -> tuple[float, float]:
    """(resident now, peak resident) of a process, MiB."""
    fields = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        key, _, value = line.partition(":")
        fields[key] = value.strip()
    return int(fields["VmRSS"].split()[0]) / 1024, int(fields["VmHWM"].split()[0]) / 1024


def store_size(home: Home) -> float:
    """The home's store with its write-ahead log, MB."""
    return sum(p.stat().st_size for p in home.root.glob("podsync.db*")) / 1e6


class NodeProcess:
    """``podsync up`` for a home, as a member runs it."""

    def __init__(self, cli: cli_bench.Cli, *extra: str) -> None:
        started = time.perf_counter()
        self.proc = subprocess.Popen(
            [*cli.base, "up", "--listen", "127.0.0.1:0", "--api", "127.0.0.1:0",
             "--no-discovery", *extra],
            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, env=cli.env)
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            if "browser" in line:
                break
            if time.perf_counter() - started > START_TIMEOUT_S:
                break
        info_path = cli.home / "node.json"
        while not info_path.exists():
            if self.proc.poll() is not None or time.perf_counter() - started > START_TIMEOUT_S:
                raise SystemExit("podsync up did not start")
            time.sleep(0.01)
        self.start_s = time.perf_counter() - started
        info = json.loads(info_path.read_text())
        self.listen = info["listen"][0]
        self.api = Api(info["api_url"])

    @property
    def pid(self) -> int:
        return self.proc.pid

    def stop(self) -> None:
        self.api.close()
        self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(timeout=60)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()


class Api:
    """One kept-alive connection to a node's loopback API."""

    def __init__(self, api_url: str) -> None:
        parts = urllib.parse.urlsplit(api_url)
        self.host, self.port = parts.hostname or "127.0.0.1", parts.port
        token = urllib.parse.parse_qs(parts.query)["token"][0]
        self.headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
        self.conn = http.client.HTTPConnection(self.host, self.port, timeout=120)

    def timed(self, method: str, path: str, body: bytes | None = None) -> tuple[Any, float]:
        started = time.perf_counter()
        self.conn.request(method, path, body=body, headers=self.headers)
        response = self.conn.getresponse()
        data = response.read()
        took = (time.perf_counter() - started) * 1000
        if response.status >= 400:
            raise RuntimeError(f"{path}: HTTP {response.status}: {data[:300]!r}")
        return json.loads(data), took

    def call(self, name: str, args: dict[str, Any] | None = None) -> tuple[Any, float]:
        return self.timed("POST", f"/api/ops/{name}", json.dumps(args or {}).encode())

    def status(self) -> dict[str, Any]:
        return self.timed("GET", "/api/status")[0]

    def close(self) -> None:
        self.conn.close()


@dataclass
class Figures:
    records: int = 0
    build_s: float = 0.0
    start_s: float = 0.0
    ops: dict[str, list[float]] = field(default_factory=dict)
    listings: dict[str, tuple[float, float, int]] = field(default_factory=dict)  # first, median, items
    cli: dict[tuple[str, ...], float] = field(default_factory=dict)
    #: The same commands with no node running (after it stopped: on its store).
    cli_offline: dict[tuple[str, ...], float] = field(default_factory=dict)
    join_s: float = 0.0
    sync_s: float = 0.0
    sync_usable_s: float = 0.0
    #: Why the first full sync did not finish within SYNC_TIMEOUT_S ("" if it did).
    sync_failed: str = ""
    memory: dict[str, tuple[float, float]] = field(default_factory=dict)
    store_mb: float = 0.0


def run_ops(api: Api, built: scale_pod.Built, samples: int, rng: random.Random,
            figures: Figures) -> None:
    """``samples`` calls of each single-item operation, on items across the history."""
    ids = built.member_ids

    def timed(name: str, args: dict[str, Any]) -> Any:
        result, took = api.call(name, args)
        figures.ops.setdefault(name, []).append(took)
        return result

    def each(name: str, targets: list[Any], make: Callable[[Any], dict[str, Any]]) -> list[Any]:
        return [timed(name, make(t)) for t in targets[:samples]]

    board, _ = api.call("need.list", {"all": True})
    every_need = [n["id"] for n in board]
    takeable = [n["id"] for n in board if n["state"] in ("open", "held")
                and ids["Ada"] not in [h["member"] for h in n["holders"]]]
    rng.shuffle(takeable)
    each("need.get", rng.sample(every_need, min(samples, len(every_need))), lambda i: {"id": i})
    each("need.note", rng.sample(every_need, min(samples, len(every_need))),
         lambda i: {"id": i, "text": "seen this today"})
    added = [r["id"] for r in each("need.add", list(range(samples)),
                                   lambda i: {"title": f"benchmark need {i}", "detail": "added"})]
    taken = [r["id"] for r in each("need.take", takeable + added, lambda i: {"id": i})]
    each("need.done", taken, lambda i: {"id": i, "note": "done"})

    agreements, _ = api.call("agreement.list", {"all": True})
    every_agreement = [a["id"] for a in agreements]
    each("agreement.get", rng.sample(every_agreement, min(samples, len(every_agreement))),
         lambda i: {"id": i})
    each("agreement.note", rng.sample(every_agreement, min(samples, len(every_agreement))),
         lambda i: {"id": i, "text": "a word"})
    each("agreement.propose", list(range(samples)),
         lambda i: {"what": f"benchmark agreement {i}", "parties": [ids["Ada"], ids["Bo"]]})
    each("agreement.affirm", built.targets["affirm"], lambda i: {"id": i, "note": "yes"})

    decisions, _ = api.call("decision.list", {"all": True})
    every_decision = [d["id"] for d in decisions]
    each("decision.get", rng.sample(every_decision, min(samples, len(every_decision))),
         lambda i: {"id": i})
    deadline = (dt.datetime.now(dt.timezone.utc) + dt.timedelta(days=7)).isoformat()
    mine = [r["id"] for r in each("decision.start", list(range(2 * samples)),
                                  lambda i: {"title": f"benchmark decision {i}",
                                             "proposal": "as proposed", "deadline": deadline})]
    each("decision.ask", mine[:samples],
         lambda i: {"id": i, "member": ids["Bo"], "reason": "affected"})
    each("decision.decide", mine[samples:], lambda i: {"id": i, "text": "decided"})
    each("decision.advise", built.targets["advise"],
         lambda i: {"id": i, "stance": "support", "text": "go ahead"})

    teams, _ = api.call("team.list", {})
    made = [r["id"] for r in each("team.item_add", list(range(samples)),
                                  lambda i: {"team_id": teams[i % len(teams)]["id"],
                                             "title": f"benchmark item {i}"})]
    each("team.item_address", made, lambda i: {"id": i, "note": "done"})

    threads, _ = api.call("feedback.threads", {"all": True})
    stewarded = [t["thread_id"] for t in threads if ids["Ada"] in t["stewards"]]
    each("feedback.reply", rng.sample(stewarded, min(samples, len(stewarded))),
         lambda i: {"thread_id": i, "text": "thank you"})
    each("feedback.give", list(range(min(samples, 20))),
         lambda i: {"leader": ids["Bo"], "text": f"benchmark feedback {i}"})
    each("capacity.set", list(range(samples)), lambda i: {"level": "baseline"})
    # About a need Cy holds, picked across the whole history.
    cys = [n["id"] for n in board if ids["Cy"] in [h["member"] for h in n["holders"]]]
    each("mobilizing.ask", rng.sample(cys, min(samples, len(cys))),
         lambda i: {"member": ids["Cy"], "about": "held", "need_id": i})


def run_listings(api: Api, runs: int, figures: Figures) -> None:
    for name in LISTINGS:
        variants = [(name, {})]
        if name in ARCHIVED_LISTINGS:
            variants.append((f"{name} all", {"all": True}))
        for label, args in variants:
            result, first = api.call(name, args)
            times = [api.call(name, args)[1] for _ in range(runs)]
            figures.listings[label] = (first, statistics.median(times), len(result))


def run_cli(cli: cli_bench.Cli, runs: int, into: dict[tuple[str, ...], float]) -> None:
    for command in cli_bench.READ_COMMANDS + cli_bench.COPY_COMMANDS:
        into[command] = cli.time(command, runs)[0]


def first_sync(root: Path, node: NodeProcess, cli: cli_bench.Cli, figures: Figures) -> None:
    """A new member joins with an invite and their node syncs everything they read."""
    code = node.api.call("invite.create", {})[0]["code"]
    newcomer = cli_bench.Cli(root / "newcomer", root / "pycache")
    started = time.perf_counter()
    newcomer.run("join", code, "--name", "Newcomer", "--peer", node.listen)
    figures.join_s = time.perf_counter() - started
    founder_docs = {d["url"]: d["heads"] for d in node.api.status()["documents"]
                    if not d["kind"].startswith("feedback")}
    board_size = len(node.api.call("need.list", {"all": True})[0])
    started = time.perf_counter()
    new_node = NodeProcess(newcomer, "--peer", node.listen)
    try:
        deadline = started + SYNC_TIMEOUT_S
        while True:
            held = {d["url"]: d["heads"] for d in new_node.api.status()["documents"]}
            if all(held.get(url) == heads for url, heads in founder_docs.items()):
                break
            if time.perf_counter() > deadline:
                kinds = {d["url"]: d["kind"] for d in node.api.status()["documents"]}
                behind = [f"{kinds.get(url)} ({'none of it' if held.get(url) is None else 'behind'})"
                          for url, heads in founder_docs.items() if held.get(url) != heads]
                figures.sync_failed = (f"not in step after {SYNC_TIMEOUT_S:.0f} s: "
                                       + ", ".join(sorted(behind)))
                return
            time.sleep(0.02)
        figures.sync_s = time.perf_counter() - started
        while len(new_node.api.call("need.list", {"all": True})[0]) < board_size:
            time.sleep(0.02)
        figures.sync_usable_s = time.perf_counter() - started
        figures.memory["newcomer's node after its first sync"] = memory_of(new_node.pid)
    finally:
        new_node.stop()


def measure(root: Path, scale: scale_pod.Scale, args: argparse.Namespace,
            *, sync: bool) -> Figures:
    figures = Figures()
    started = time.perf_counter()
    built = scale_pod.build(root, scale, targets=args.samples)
    figures.build_s = time.perf_counter() - started
    figures.records = built.records
    cli = cli_bench.Cli(built.home.root, root / "pycache")
    node = NodeProcess(cli)
    figures.start_s = node.start_s
    try:
        figures.memory["founder's node, started"] = memory_of(node.pid)
        run_ops(node.api, built, args.samples, random.Random(2), figures)
        run_listings(node.api, args.runs, figures)
        run_cli(cli, args.runs, figures.cli)
        if sync:
            first_sync(root, node, cli, figures)
        figures.memory["founder's node at the end"] = memory_of(node.pid)
    finally:
        node.stop()
    run_cli(cli, args.runs, figures.cli_offline)
    figures.store_mb = store_size(built.home)
    return figures


def report(small: Figures, full: Figures, args: argparse.Namespace) -> None:
    print(f"pod scale benchmark ({dt.date.today()}, {platform.machine()} with "
          f"{os.cpu_count()} cores, Python {platform.python_version()}; load average "
          f"{os.getloadavg()[0]:.1f}; {args.samples} samples per operation, "
          f"median of {args.runs} per listing and command)")
    print()
    print(f"Pods: {full.records:,} records (built in {full.build_s:.0f} s) and "
          f"{small.records:,} records ({args.factor:g} of it); nodes started in "
          f"{full.start_s:.2f} s and {small.start_s:.2f} s.")
    print()
    print("| operation | small: p50 | p99 | full: p50 | p99 | full / small (p50) | target |")
    print("|---|---:|---:|---:|---:|---:|---|")
    for name in full.ops:
        s, f = small.ops.get(name, [float("nan")]), full.ops[name]
        print(f"| `{name}` | {statistics.median(s):.1f} | {percentile(s, 0.99):.1f} "
              f"| {statistics.median(f):.1f} | {percentile(f, 0.99):.1f} "
              f"| {statistics.median(f) / statistics.median(s):.2f} | ≤ {OP_TARGET_MS:.0f} ms |")
    print()
    print("| listing | items | first call (ms) | median (ms) | small pod: median | target |")
    print("|---|---:|---:|---:|---:|---|")
    for label, (first, median, count) in full.listings.items():
        print(f"| `{label}` | {count:,} | {first:.1f} | {median:.1f} "
              f"| {small.listings[label][1]:.1f} | ≤ {LIST_TARGET_MS:.0f} ms |")
    print()
    print("| command (ms) | full pod: node running | no node | small pod: node running "
          "| no node | target |")
    print("|---|---:|---:|---:|---:|---|")
    for command, ms in full.cli.items():
        print(f"| `podsync {' '.join(command)}` | {ms:.0f} | {full.cli_offline[command]:.0f} "
              f"| {small.cli[command]:.0f} | {small.cli_offline[command]:.0f} "
              f"| {cli_bench.target_of(command)} |")
    print()
    print("| measure | full pod | small pod | target |")
    print("|---|---:|---:|---|")
    print(f"| `podsync join` with an invite (s) | {full.join_s:.2f} | {small.join_s:.2f} | |")
    def synced(f: Figures, value: float) -> str:
        return f.sync_failed or f"{value:.2f}"

    print(f"| new member's first full sync: documents in step (s) | {synced(full, full.sync_s)} "
          f"| {synced(small, small.sync_s)} | ≤ {SYNC_TARGET_S:.0f} s |")
    print(f"| ... and its whole needs board listed (s) | {synced(full, full.sync_usable_s)} "
          f"| {synced(small, small.sync_usable_s)} | |")
    for label, (now, peak) in full.memory.items():
        s_now, s_peak = small.memory.get(label, (float("nan"), float("nan")))
        print(f"| {label}: resident / peak (MiB) | {now:.0f} / {peak:.0f} "
              f"| {s_now:.0f} / {s_peak:.0f} | |")
    print(f"| store size (MB) | {full.store_mb:.1f} | {small.store_mb:.1f} | |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--samples", type=int, default=100, help="calls per operation")
    parser.add_argument("--runs", type=int, default=5, help="calls per listing and command")
    parser.add_argument("--factor", type=float, default=0.1, help="the small pod's size")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="podsync-scale-") as tmp:
        root = Path(tmp)
        (root / "small").mkdir()
        (root / "full").mkdir()
        small = measure(root / "small", scale_pod.Scale().scaled(args.factor), args, sync=True)
        full = measure(root / "full", scale_pod.Scale(), args, sync=True)
    report(small, full, args)


if __name__ == "__main__":
    main()
