"""What inputs from outside cost, with and without podsync's bounds: the figures
behind MAX_INPUT_ENTRIES, MAX_INPUT_BYTES, CHUNK_ENTRY_WEIGHT and
LOOP_BUDGET_SECONDS in src/podsync/sync/limits.py.

Each measurement runs in a fresh child process, so its peak memory is its own.
Run: python tests/bench/intake_bench.py [--quick]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

PRELUDE = r"""
import json, sys, time
sys.path.insert(0, %r)
import automerge.core as am
def peak():
    for line in open("/proc/self/status"):
        if line.startswith("VmHWM:"): return int(line.split()[1]) / 1024
def reset():
    open("/proc/self/clear_refs", "w").write("5")
def rss():
    for line in open("/proc/self/status"):
        if line.startswith("VmRSS:"): return int(line.split()[1]) / 1024
""" % str(ROOT)

SHAPES = {
    "list insertions": """
doc = am.Document()
with doc.transaction() as tx:
    items = tx.put_object(am.ROOT, "l", am.ObjType.List)
    for i in range(N): tx.insert(items, i, am.ScalarType.Int, i)
""",
    "text typed at once": """
doc = am.Document()
with doc.transaction() as tx:
    t = tx.put_object(am.ROOT, "t", am.ObjType.Text)
    tx.splice_text(t, 0, 0, "a" * N)
""",
    "one-op changes": """
doc = am.Document()
for i in range(N // 10):
    with doc.transaction() as tx: tx.put(am.ROOT, "k%d" % (i % 50), am.ScalarType.Int, i)
""",
    "map keys": """
doc = am.Document()
with doc.transaction() as tx:
    m = tx.put_object(am.ROOT, "m", am.ObjType.Map)
    for i in range(N): tx.put(m, "key%d" % i, am.ScalarType.F64, i / 7)
""",
}

MEASURE_SHAPE = """
from podsync.sync.cost import chunks_cost
from podsync.sync.limits import CHUNK_ENTRY_WEIGHT
N = %d
%s
saved = doc.save()
changes = b"".join(c.bytes for c in doc.get_changes([]))
big = 1 << 62
out = {}
for form, data in (("saved", saved), ("changes", changes)):
    t = time.perf_counter(); cost = chunks_cost(data, max_bytes=big, max_entries=big, chunk_weight=CHUNK_ENTRY_WEIGHT)
    walk = time.perf_counter() - t
    base = rss(); reset()
    t = time.perf_counter(); am.Document.load(data); load = time.perf_counter() - t
    out[form] = dict(bytes=len(data), entries=cost.entries, walk_s=walk, load_s=load, peak_mib=peak() - base)
print(json.dumps(out))
"""

BOMBS = """
from tests.sync.bombs import deflate_bomb, run_length_bomb, list_change, sync_message
from podsync.sync.intake import message_cost
from podsync.sync.messages import Sync, WholeDoc
from podsync.errors import ProtocolError
kind, size = sys.argv[1], int(sys.argv[2])
data = deflate_bomb(size) if kind == "deflate" else (run_length_bomb(size) if kind == "run-length" else list_change(size, "x"))
msg = WholeDoc("p", "q", "2CwC5we9uWrHFSYVgRSmwhdab8TZ", data) if kind == "deflate" else Sync("p", "q", "2CwC5we9uWrHFSYVgRSmwhdab8TZ", sync_message([data]))
base = rss(); reset()
t = time.perf_counter()
try:
    message_cost(msg); verdict = "taken"
except ProtocolError as e:
    verdict = "refused: " + str(e)
check_s, check_mib = time.perf_counter() - t, peak() - base
out = dict(wire=len(data), verdict=verdict, check_s=check_s, check_mib=check_mib)
if sys.argv[3] == "load":
    base = rss(); reset(); t = time.perf_counter()
    try:
        am.Document.load(data)
    except Exception as e:
        out["load_error"] = str(e)[:60]
    out.update(load_s=time.perf_counter() - t, load_mib=peak() - base)
print(json.dumps(out))
"""

CBOR = """
import cbor2
from podsync.sync.messages import decode
from podsync.errors import ProtocolError
frame = cbor2.dumps({"type": "sync", "junk": [None] * (4 * 1024 * 1024)})
base = rss(); reset(); t = time.perf_counter()
cbor2.loads(frame)
plain = dict(s=time.perf_counter() - t, mib=peak() - base)
base = rss(); reset(); t = time.perf_counter()
try:
    decode(frame)
except ProtocolError as e:
    verdict = str(e)
bounded = dict(s=time.perf_counter() - t, mib=peak() - base, verdict=verdict)
print(json.dumps(dict(frame=len(frame), plain=plain, bounded=bounded)))
"""


def child(code: str, *args: str) -> dict:  # type: ignore[type-arg]
    done = subprocess.run([sys.executable, "-c", PRELUDE + code, *args], capture_output=True, text=True,
                          timeout=1800)
    if done.returncode != 0:
        raise RuntimeError(done.stderr[-2000:])
    return json.loads(done.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="smaller inputs, no unprotected bomb loads")
    args = parser.parse_args()
    n = 50_000 if args.quick else 200_000
    from podsync.sync import limits  # noqa: PLC0415

    print(f"# Honest documents of {n} operations: column entries, and what loading costs")
    print(f"{'shape':22} {'form':8} {'bytes':>9} {'entries':>9} {'walk ms':>8} {'load ms':>8} "
          f"{'us/entry':>8} {'peak MiB':>8}")
    worst = 0.0
    for name, build in SHAPES.items():
        for form, m in child(MEASURE_SHAPE % (n, build)).items():
            per = m["load_s"] / max(1, m["entries"]) * 1e6
            worst = max(worst, per)
            print(f"{name:22} {form:8} {m['bytes']:9} {m['entries']:9} {m['walk_s'] * 1e3:8.1f} "
                  f"{m['load_s'] * 1e3:8.1f} {per:8.3f} {m['peak_mib']:8.1f}")

    print("\n# Bombs: refused from their headers, and what loading them would have cost")
    cases = [("deflate", 250_000_000 if not args.quick else 64_000_000),
             ("run-length", 1_000_000), ("run-length", 10 * limits.MAX_INPUT_ENTRIES),
             ("canonical list", 420_000)]
    for kind, size in cases:
        load = "load" if not (args.quick and kind == "deflate") and size <= 250_000_000 \
            and not (kind == "run-length" and size > 2_000_000) else "skip"
        m = child(BOMBS, kind if kind != "canonical list" else "list", str(size), load)
        line = (f"{kind:15} size {size:>11}: {m['wire']:>7} bytes on the wire; check {m['check_s'] * 1e3:7.1f} ms, "
                f"+{m['check_mib']:.0f} MiB -> {m['verdict'][:60]}")
        if "load_s" in m:
            line += f"\n{'':15} loading it anyway: {m['load_s']:.2f} s, +{m['load_mib']:.0f} MiB"
            if kind == "run-length":
                worst = max(worst, m["load_s"] / (9 * size) * 1e6)
        print(line)

    print("\n# CBOR of a 4 Mi-item frame")
    c = child(CBOR)
    print(f"frame {c['frame']} bytes: cbor2 alone +{c['plain']['mib']:.0f} MiB in {c['plain']['s'] * 1e3:.0f} ms; "
          f"bounded: +{c['bounded']['mib']:.1f} MiB in {c['bounded']['s'] * 1e3:.1f} ms ({c['bounded']['verdict']})")

    print("\n# Limits")
    print(f"MAX_INPUT_ENTRIES {limits.MAX_INPUT_ENTRIES:,} x worst {worst:.3f} us/entry measured = "
          f"{limits.MAX_INPUT_ENTRIES * worst / 1e6:.2f} s (LOOP_BUDGET_SECONDS {limits.LOOP_BUDGET_SECONDS})")
    print(f"MAX_INPUT_BYTES {limits.MAX_INPUT_BYTES // 2**20} MiB inflated; MAX_FRAME_BYTES "
          f"{limits.MAX_FRAME_BYTES // 2**20} MiB; SEND_BACKLOG_LIMIT_BYTES {limits.SEND_BACKLOG_LIMIT_BYTES // 2**20} MiB")


if __name__ == "__main__":
    main()
