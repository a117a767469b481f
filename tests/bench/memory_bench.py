"""A node holding 10,000 documents: how much memory it takes (a script).

    python tests/bench/memory_bench.py [--documents N] [--idle SECONDS]

Builds a pod (:mod:`scale_pod`) whose founder's home holds ``--documents``
documents: the pod document, the five collections (a thousand needs and their
kin) and public feedback statements, each a document every member reads, with
the leader's responses. Then, with real ``podsync up`` processes:

1. the founder's node starts on that store;
2. a new member joins with an invite and their node, started empty, syncs all
   the documents (a first full sync); both nodes read every one of them;
3. the new member's node is asked for every statement (``feedback received``),
   which reads the records of every document;
4. both nodes are left alone for ``--idle`` seconds, in which they let go of
   the documents and records nobody uses;
5. the new member's node restarts and reconnects (10,000 documents to compare).

It prints each node's resident memory (now, and its peak so far) after each
step: the target is 200 MiB. Nothing is asserted.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import platform
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import cli_bench  # noqa: E402
import scale_pod  # noqa: E402
from pod_scale_bench import NodeProcess, memory_of, store_size  # noqa: E402

TARGET_MIB = 200
#: Bounds a hung sync on a busy machine.
SYNC_TIMEOUT_S = 900.0


def in_step(new: NodeProcess, founder_docs: dict[str, list[str]]) -> bool:
    held = {d["url"]: d["heads"] for d in new.api.status()["documents"]}
    return all(held.get(url) == heads for url, heads in founder_docs.items())


def wait_in_step(new: NodeProcess, founder: NodeProcess) -> float:
    founder_docs = {d["url"]: d["heads"] for d in founder.api.status()["documents"]}
    started = time.perf_counter()
    while not in_step(new, founder_docs):
        if time.perf_counter() - started > SYNC_TIMEOUT_S:
            raise SystemExit("the new member's node did not catch up")
        time.sleep(0.5)
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--documents", type=int, default=10_000)
    parser.add_argument("--idle", type=float, default=300.0,
                        help="seconds both nodes are left alone before measuring again")
    args = parser.parse_args()
    rows: list[tuple[str, tuple[float, float], tuple[float, float] | None]] = []
    with tempfile.TemporaryDirectory(prefix="podsync-memory-") as tmp:
        root = Path(tmp)
        scale = scale_pod.Scale(needs=1000, agreements=100, decisions=200, threads=0,
                                team_items=30, asks=20, statements=args.documents - 6)
        started = time.perf_counter()
        built = scale_pod.build(root, scale)
        build_s = time.perf_counter() - started
        founder_cli = cli_bench.Cli(built.home.root, root / "pycache")
        founder = NodeProcess(founder_cli)
        new: NodeProcess | None = None
        try:
            rows.append(("founder's node started", memory_of(founder.pid), None))
            code = founder.api.call("invite.create", {})[0]["code"]
            newcomer = cli_bench.Cli(root / "newcomer", root / "pycache")
            newcomer.run("join", code, "--name", "Newcomer", "--peer", founder.listen)
            new = NodeProcess(newcomer, "--peer", founder.listen)
            sync_s = wait_in_step(new, founder)
            rows.append((f"first full sync ({sync_s:.1f} s)", memory_of(founder.pid),
                         memory_of(new.pid)))
            statements, took = new.api.call("feedback.received", {})
            rows.append((f"every statement read ({len(statements):,}, {took / 1000:.1f} s)",
                         memory_of(founder.pid), memory_of(new.pid)))
            time.sleep(args.idle)
            rows.append((f"after {args.idle:.0f} s left alone", memory_of(founder.pid),
                         memory_of(new.pid)))
            new.stop()
            new = NodeProcess(newcomer, "--peer", founder.listen)
            started = time.perf_counter()
            wait_in_step(new, founder)
            rows.append((f"new member's node restarted and in step "
                         f"({time.perf_counter() - started:.1f} s)",
                         memory_of(founder.pid), memory_of(new.pid)))
            docs = len(new.api.status()["documents"])
        finally:
            if new is not None:
                new.stop()
            founder.stop()
        size = store_size(built.home)

    print(f"memory of a node holding {args.documents:,} documents ({dt.date.today()}, "
          f"{platform.machine()} with {os.cpu_count()} cores, Python {platform.python_version()}; "
          f"{built.records:,} records, built in {build_s:.0f} s; founder's store {size:.0f} MB; "
          f"the new member holds {docs:,} documents)")
    print()
    print("| step | founder: resident / peak (MiB) | new member: resident / peak (MiB) | target |")
    print("|---|---:|---:|---|")
    for label, (f_now, f_peak), other in rows:
        theirs = f"{other[0]:.0f} / {other[1]:.0f}" if other else "—"
        print(f"| {label} | {f_now:.0f} / {f_peak:.0f} | {theirs} | ≤ {TARGET_MIB} MiB |")


if __name__ == "__main__":
    main()
