"""examples/household_pod.py as a person runs it: a real process that exits 0."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "household_pod.py"


@pytest.mark.slow
def test_the_household_example_runs_every_practice_and_exits_zero(tmp_path: Path) -> None:
    done = subprocess.run([sys.executable, str(EXAMPLE)], capture_output=True, text=True,
                          timeout=180, cwd=tmp_path)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "Traceback" not in done.stderr
    out = done.stdout
    for member in ("Ada", "Bo", "Cy"):
        assert f"---- What {member} sees ----" in out
    # Shared records are the same on all three nodes.
    assert out.count("[active] Bo cooks on Mondays, Cy on Thursdays and Sundays (v2)") == 3
    assert out.count("[decided] Get a compost bin by Cy") == 3
    assert out.count("→ We buy a lidded bin; it stands by the shed (after advice)") == 3
    assert out.count("(nobody else affected: It is my own room") == 3
    assert out.count("[attended] The gutter is blocked") == 3
    assert out.count("[held] Plan the street party (held by Cy, Bo)") == 3
    assert out.count("Ada asked Cy (3 views): ask_for_support, confirmed by Cy, Ada") == 3
    assert out.count("Bo, Cy, every 7 days: time for reading") == 3
    assert out.count("Bo for Ada [active]") == 3
    assert out.count("Where feedback ended up: leader: 1") == 3
    assert out.count("Ada posts bills over 100 to the pod before paying them (v1) — "
                     "Ada: within my capacity; reminders: Bo") == 3
    # The thread is seen by giver and steward only; the statement reaches Ada alone.
    assert out.count("from Cy for Ada: routed, 3 messages") == 2
    ada_sees = out.split("---- What Ada sees ----")[1].split("---- What Bo sees ----")[0]
    assert "Feedback threads I take part in:\n  none" in ada_sees
    assert out.count("Before committing shared money") == 1
    assert "Before committing shared money" in ada_sees and "my response: Fair." in ada_sees
