"""Document store benchmark (a script, not a test).

    python tests/bench/store_bench.py [--dir DIR] [--repeat N]

Measures, on the machine it runs on:
- durable single-change commits per second with 8 concurrent writers, each
  making a change, appending it and awaiting durability before the next
  (asyncio tasks, as the node runs; and plain threads);
- a cold load of 1,000 small documents from a freshly opened store.

Each figure is the median of ``--repeat`` runs, each in a fresh store.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime
import os
import platform
import sqlite3
import statistics
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from importlib.metadata import version
from pathlib import Path

import automerge.core as am

from podsync.store import DocumentStore

WRITERS = 8
CHANGES_PER_WRITER = 1500
COLD_DOCS = 1000
COLD_CHANGES_PER_DOC = 5  # after the creating snapshot: a small, lived-in document
TARGET_COMMITS_PER_S = 5000
TARGET_COLD_LOAD_S = 0.5


def change(doc: am.Document, key: str, value: int) -> bytes:
    with doc.transaction() as tx:
        tx.put(am.ROOT, key, am.ScalarType.Int, value)
    last = doc.get_last_local_change()
    assert last is not None
    return last.bytes


def commits_async(path: Path) -> float:
    store = DocumentStore(path)

    async def writer(w: int) -> None:
        doc = am.Document()
        for n in range(CHANGES_PER_WRITER):
            await store.append_changes_async(
                f"w{w}", [change(doc, f"k{n % 20}", n)], doc.get_heads()
            )

    async def run() -> float:
        start = time.perf_counter()
        await asyncio.gather(*(writer(w) for w in range(WRITERS)))
        return time.perf_counter() - start

    try:
        elapsed = asyncio.run(run())
    finally:
        store.close()
    return WRITERS * CHANGES_PER_WRITER / elapsed


def commits_threads(path: Path) -> float:
    store = DocumentStore(path)

    def writer(w: int) -> None:
        doc = am.Document()
        for n in range(CHANGES_PER_WRITER):
            store.append_changes(f"w{w}", [change(doc, f"k{n % 20}", n)], doc.get_heads())

    threads = [threading.Thread(target=writer, args=(w,)) for w in range(WRITERS)]
    start = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    elapsed = time.perf_counter() - start
    store.close()
    return WRITERS * CHANGES_PER_WRITER / elapsed


def fill_small_documents(path: Path) -> None:
    with DocumentStore(path) as store:
        for i in range(COLD_DOCS):
            doc = am.Document()
            with doc.transaction() as tx:
                tx.put(am.ROOT, "title", am.ScalarType.Str, f"need {i}")
                tx.put(am.ROOT, "state", am.ScalarType.Str, "open")
            store.create_document(f"doc{i:04}", "need", doc)
            for n in range(COLD_CHANGES_PER_DOC):
                store.append_changes(f"doc{i:04}", [change(doc, f"f{n}", n)], doc.get_heads())


def cold_load_all(path: Path) -> float:
    start = time.perf_counter()
    with DocumentStore(path) as store:
        loaded = store.load_all()
    elapsed = time.perf_counter() - start
    assert len(loaded.documents) == COLD_DOCS and not loaded.damaged
    return elapsed


def cold_load_each(path: Path) -> float:
    start = time.perf_counter()
    with DocumentStore(path) as store:
        for info in store.list_documents():
            store.load(info.doc_id)
    return time.perf_counter() - start


def median_of(repeat: int, directory: Path, fn: Callable[[Path], float], fresh: bool) -> float:
    results = []
    for i in range(repeat):
        path = directory / (f"run{i}-{fn.__name__}.db" if fresh else "cold.db")
        results.append(fn(path))
    return statistics.median(results)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--dir", type=Path, default=None, help="where the stores go (a temp dir)")
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(dir=args.dir, prefix="store-bench-") as tmp:
        directory = Path(tmp)
        rate_async = median_of(args.repeat, directory, commits_async, fresh=True)
        rate_threads = median_of(args.repeat, directory, commits_threads, fresh=True)
        fill_small_documents(directory / "cold.db")
        load_all_s = median_of(args.repeat, directory, cold_load_all, fresh=False)
        load_each_s = median_of(args.repeat, directory, cold_load_each, fresh=False)

    print("podsync store benchmark")
    print(f"  date      {datetime.datetime.now().astimezone().isoformat(timespec='seconds')}")
    print(f"  machine   {platform.machine()}, {os.cpu_count()} cores, {platform.platform()}")
    py, sq, amv = sys.version.split()[0], sqlite3.sqlite_version, version("automerge")
    print(f"  python    {py}, sqlite {sq}, automerge {amv}")
    print(f"  store dir {directory.parent} (WAL, synchronous=FULL); median of {args.repeat} runs")
    print()
    rows = [
        (
            f"durable commits/s, {WRITERS} asyncio tasks",
            f"{rate_async:,.0f}",
            f">= {TARGET_COMMITS_PER_S:,}",
            rate_async >= TARGET_COMMITS_PER_S,
        ),
        (
            f"durable commits/s, {WRITERS} threads",
            f"{rate_threads:,.0f}",
            f">= {TARGET_COMMITS_PER_S:,}",
            rate_threads >= TARGET_COMMITS_PER_S,
        ),
        (
            f"cold open + load_all, {COLD_DOCS:,} docs",
            f"{load_all_s:.3f} s",
            f"<= {TARGET_COLD_LOAD_S} s",
            load_all_s <= TARGET_COLD_LOAD_S,
        ),
        (
            f"cold open + load() each, {COLD_DOCS:,} docs",
            f"{load_each_s:.3f} s",
            f"<= {TARGET_COLD_LOAD_S} s",
            load_each_s <= TARGET_COLD_LOAD_S,
        ),
    ]
    print(f"  {'measure':<40} {'result':>10}   {'target':<10} met")
    for name, result, target, met in rows:
        print(f"  {name:<40} {result:>10}   {target:<10} {'yes' if met else 'NO'}")
    print()
    print(f"  each commit: one {WRITERS}-way concurrent writer makes a change, appends it and")
    print("  waits until it is fsync'd; the figure includes making the change.")
    print(f"  cold docs: a snapshot plus {COLD_CHANGES_PER_DOC} single-change chunks each.")


if __name__ == "__main__":
    main()
