"""Command-line latency benchmark (a script, not a test).

    python tests/bench/cli_bench.py [--runs N]

Times every read command as a member runs it: the ``podsync`` entry point as a
whole process, from start to exit. Each command runs against a small pod (one
member, a few items of every practice), first with no node running (the command
opens the store itself), then with ``podsync up`` running for the home (the
command asks the node over its loopback API). ``podsync export`` is timed too, for
comparison: a copy of everything the pod holds, it costs what it writes, and
the 150 ms target of a read does not apply to it.

Each figure is the median of ``--runs`` runs after one warm-up run, in wall-clock
time and in CPU time (user + system) of the command's process: on a machine
others are busy on, wall time swings with their load, while CPU time shows what
the command itself costs. The load average is printed with the table. Python's
bytecode cache is warm, as it is for someone typing commands: an installed
podsync has its bytecode compiled, so here it is written to a cache beside the
temporary home even where PYTHONDONTWRITEBYTECODE is set.
"""

from __future__ import annotations

import argparse
import datetime
import os
import platform
import resource
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

TARGET_MS = 150.0
#: A cold start imports the whole offline stack; generous for a busy machine.
COMMAND_TIMEOUT_S = 60.0
#: `podsync up` prints its UI address once it listens; this bounds a busy machine.
NODE_START_TIMEOUT_S = 30.0

READ_COMMANDS: list[tuple[str, ...]] = [
    ("status", "--json"),
    ("status",),
    ("members", "--json"),
    ("members",),
    ("need", "list", "--json"),
    ("need", "list"),
    ("agreement", "list", "--json"),
    ("agreement", "list"),
    ("decision", "list", "--json"),
    ("decision", "list"),
    ("capacity", "list", "--json"),
    ("capacity", "list"),
    ("mobilizing", "list", "--json"),
    ("team", "list", "--json"),
    ("team", "list"),
    ("team", "items", "--json"),
    ("feedback", "threads", "--json"),
    ("feedback", "received", "--json"),
    ("feedback", "stewards", "Ada", "--json"),
    ("peer", "list", "--json"),
    ("peer", "list"),
]
#: Not a read but a copy of everything the pod holds (archived items and other
#: apps' documents too): it costs what it writes, and has no target.
COPY_COMMANDS: list[tuple[str, ...]] = [("export", "--format", "json")]
#: For comparison: what any command costs before it does anything of its own.
REFERENCE_COMMANDS: list[tuple[str, ...]] = [("--version",), ("--help",)]


def entry_point() -> list[str]:
    """The installed ``podsync`` script beside this interpreter, as a member runs it."""
    script = Path(sys.executable).with_name("podsync")
    if script.exists():
        return [str(script)]
    found = shutil.which("podsync")
    return [found] if found else [sys.executable, "-m", "podsync"]


class Cli:
    def __init__(self, home: Path, pycache: Path) -> None:
        self.home = home
        self.env = {k: v for k, v in os.environ.items()
                    if not k.startswith("PODSYNC_") and k != "PYTHONDONTWRITEBYTECODE"}
        self.env["PYTHONPYCACHEPREFIX"] = str(pycache)
        self.env["COLUMNS"] = "100"
        self.base = [*entry_point(), "--home", str(home)]

    def run(self, *args: str) -> subprocess.CompletedProcess[str]:
        result = subprocess.run([*self.base, *args], capture_output=True, text=True,
                                env=self.env, timeout=COMMAND_TIMEOUT_S)
        if result.returncode != 0:
            raise SystemExit(f"podsync {' '.join(args)} failed ({result.returncode}): "
                             f"{result.stderr.strip()}")
        return result

    def time(self, args: Sequence[str], runs: int) -> tuple[float, float]:
        """Median wall and CPU time of ``podsync ARGS``, in milliseconds."""
        self.run(*args)  # warm-up: bytecode and page cache
        wall, cpu = [], []
        for _ in range(runs):
            before = resource.getrusage(resource.RUSAGE_CHILDREN)
            started = time.perf_counter()
            self.run(*args)
            wall.append((time.perf_counter() - started) * 1000)
            after = resource.getrusage(resource.RUSAGE_CHILDREN)
            cpu.append((after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime) * 1000)
        return statistics.median(wall), statistics.median(cpu)


def seed(cli: Cli) -> None:
    """A one-member pod with a few items of every practice."""
    cli.run("init", "--name", "Ada", "--pod-name", "Bench pod")
    for i in range(5):
        cli.run("need", "add", f"Need number {i}", "--detail", "seeded for the benchmark")
    cli.run("agreement", "propose", "Bins out on Sunday", "--party", "Ada")
    cli.run("decision", "start", "Buy a van", "--proposal", "the blue one", "--deadline", "7d")
    cli.run("team", "add", "Kitchen", "--member", "Ada")
    cli.run("capacity", "set", "baseline")


def start_node(cli: Cli) -> subprocess.Popen[str]:
    proc = subprocess.Popen(
        [*cli.base, "up", "--listen", "127.0.0.1:0", "--api", "127.0.0.1:0", "--no-discovery"],
        stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, env=cli.env)
    assert proc.stdout is not None
    deadline = time.monotonic() + NODE_START_TIMEOUT_S
    for line in proc.stdout:
        if "browser" in line:
            return proc
        if time.monotonic() > deadline:
            break
    proc.kill()
    raise SystemExit("podsync up did not start")


def stop_node(proc: subprocess.Popen[str]) -> None:
    proc.send_signal(signal.SIGTERM)
    try:
        proc.wait(timeout=COMMAND_TIMEOUT_S)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


def python_startup_ms(cli: Cli, runs: int) -> float:
    samples = []
    for _ in range(runs):
        started = time.perf_counter()
        subprocess.run([sys.executable, "-c", "pass"], check=True, env=cli.env)
        samples.append((time.perf_counter() - started) * 1000)
    return statistics.median(samples)


def target_of(command: tuple[str, ...]) -> str:
    """The target column of ``command``'s row."""
    if command in READ_COMMANDS:
        return f"≤ {TARGET_MS:.0f} ms"
    return "(a copy: no target)" if command in COPY_COMMANDS else "(reference)"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=9, help="timed runs per command (median)")
    options = parser.parse_args()

    load_before = os.getloadavg()[0]
    with tempfile.TemporaryDirectory(prefix="podsync-cli-bench-") as tmp:
        cli = Cli(Path(tmp) / "ada", Path(tmp) / "pycache")
        seed(cli)
        commands = READ_COMMANDS + COPY_COMMANDS + REFERENCE_COMMANDS
        offline = {c: cli.time(c, options.runs) for c in commands}
        node = start_node(cli)
        try:
            online = {c: cli.time(c, options.runs) for c in commands}
        finally:
            stop_node(node)
        startup = python_startup_ms(cli, options.runs)

    print(f"podsync read commands, ms, median of {options.runs} "
          f"({datetime.date.today()}, {platform.machine()} with {os.cpu_count()} cores, "
          f"Python {platform.python_version()}; `python -c pass` takes {startup:.0f} ms; "
          f"load average {load_before:.1f} before, {os.getloadavg()[0]:.1f} after)")
    print()
    print("| command | no node: wall | cpu | node running: wall | cpu | target (wall) |")
    print("|---|---:|---:|---:|---:|---|")
    for c in commands:
        target = target_of(c)
        print(f"| `podsync {' '.join(c)}` | {offline[c][0]:.0f} | {offline[c][1]:.0f} "
              f"| {online[c][0]:.0f} | {online[c][1]:.0f} | {target} |")
    for label, figures in (("no node", offline), ("node running", online)):
        over = [" ".join(c) for c in READ_COMMANDS if figures[c][0] > TARGET_MS]
        print(f"{label}: {len(READ_COMMANDS) - len(over)} of {len(READ_COMMANDS)} read commands "
              f"within {TARGET_MS:.0f} ms wall" + (f"; over: {', '.join(over)}" if over else ""))


if __name__ == "__main__":
    main()
