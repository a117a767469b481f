"""SIGKILL a writer at random moments; every change it reported durable must survive."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import automerge.core as am
import pytest

from podsync.ids import new_document_id
from podsync.store import DocumentStore

CRASH_WRITER = Path(__file__).with_name("crash_writer.py")
KILLS = 32
THREADS = 6
DOCS = 3
# Random delay before each kill, counted from the child's start: the low end
# kills it while it opens the store, the high end deep in its commit loop.
DELAY_S = (0.05, 1.0)


@pytest.mark.slow
def test_every_reported_change_survives_sigkill(tmp_path: Path) -> None:
    seed = int.from_bytes(os.urandom(4), "big")
    rng = random.Random(seed)
    db = tmp_path / "crash.db"
    doc_ids = [new_document_id() for _ in range(DOCS)]
    promised: dict[str, list[tuple[str, int, bytes]]] = {d: [] for d in doc_ids}
    runs_with_output = 0

    for run in range(KILLS):
        out_path, err_path = tmp_path / f"run{run}.out", tmp_path / f"run{run}.err"
        with open(out_path, "wb") as out, open(err_path, "wb") as err:
            child = subprocess.Popen(
                [
                    sys.executable,
                    str(CRASH_WRITER),
                    str(db),
                    str(run),
                    ",".join(doc_ids),
                    str(THREADS),
                ],
                stdout=out,
                stderr=err,
            )
        time.sleep(rng.uniform(*DELAY_S))
        child.send_signal(signal.SIGKILL)
        child.wait()
        context = f"seed {seed}, run {run}: {err_path.read_text()[-2000:]}"
        assert child.returncode == -signal.SIGKILL, context

        # Only complete lines count: the kill may cut the last one short.
        lines = out_path.read_text().split("\n")[:-1]
        reported = [line.split() for line in lines if line != "ready"]
        runs_with_output += bool(reported)
        for doc_id, key, value, hash_hex in reported:
            promised[doc_id].append((key, int(value), bytes.fromhex(hash_hex)))

        with DocumentStore(db) as store:
            assert store.damaged_documents() == [], context
            for doc_id, promises in promised.items():
                if not promises:
                    continue
                doc = store.load(doc_id)
                hashes = {c.hash for c in doc.get_changes([])}
                latest: dict[str, int] = {}
                for key, value, change_hash in promises:
                    assert change_hash in hashes, f"{context}: lost {key}={value}"
                    latest[key] = max(latest.get(key, 0), value)
                for key, value in latest.items():
                    got = doc.get(am.ROOT, key)
                    assert got is not None and got[0][1] >= value, f"{context}: {key}"
                assert store.heads(doc_id) == sorted(doc.get_heads()), context

    total = sum(len(p) for p in promised.values())
    assert runs_with_output >= KILLS // 3, f"seed {seed}: the child rarely got to write"
    assert total > 1000, f"seed {seed}: only {total} changes were reported"
