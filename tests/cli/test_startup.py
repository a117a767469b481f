"""The entry point keeps what its imports make out of the collector's way
(podsync.startup), and leaves the collector running for what the command makes."""

from __future__ import annotations

import json
import subprocess
import sys

from cli_helpers import COMMAND_TIMEOUT_S, podsync_env

#: Runs the real entry point; as the interpreter exits, prints the collector's state.
PROBE = """
import atexit, gc, json, sys
atexit.register(lambda: sys.stderr.write(
    "\\nGC " + json.dumps([gc.isenabled(), gc.get_freeze_count()]) + "\\n"))
from podsync.cli.entry import main
main()
"""

#: The same helper used as a library (not started by the entry point): no effect.
LIBRARY = """
import gc, json
from podsync import startup
with startup.long_lived():
    enabled_inside = gc.isenabled()
    import podsync.cli.main
print(json.dumps([enabled_inside, gc.isenabled(), gc.get_freeze_count()]))
"""


def gc_state(*args: str) -> tuple[subprocess.CompletedProcess[str], list[object]]:
    result = subprocess.run([sys.executable, "-c", PROBE, *args], capture_output=True, text=True,
                            env=podsync_env(), timeout=COMMAND_TIMEOUT_S)
    marker = result.stderr.rfind("\nGC ")
    assert marker >= 0, result.stderr
    return result, json.loads(result.stderr[marker + len("\nGC "):])


def test_the_entry_point_freezes_its_imports_and_keeps_collecting() -> None:
    result, (enabled, frozen) = gc_state("--version")
    assert result.returncode == 0 and result.stdout.startswith("podsync ")
    assert enabled is True
    assert isinstance(frozen, int) and frozen > 10_000  # typer, click, msgspec, podsync's CLI


def test_a_failing_command_leaves_the_collector_running() -> None:
    result, (enabled, frozen) = gc_state("no-such-command")
    assert result.returncode == 2
    assert enabled is True and isinstance(frozen, int) and frozen > 0


def test_as_a_library_nothing_is_frozen_or_paused() -> None:
    done = subprocess.run([sys.executable, "-c", LIBRARY], capture_output=True, text=True,
                          env=podsync_env(), timeout=COMMAND_TIMEOUT_S)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout) == [True, True, 0]


def test_started_by_the_entry_point_the_collector_waits_then_freezes() -> None:
    code = LIBRARY.replace("from podsync import startup",
                           "from podsync import startup\nstartup.started_by_entry_point()")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          env=podsync_env(), timeout=COMMAND_TIMEOUT_S)
    assert done.returncode == 0, done.stderr
    inside, after, frozen = json.loads(done.stdout)
    assert inside is False and after is True and frozen > 10_000
