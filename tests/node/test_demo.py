"""`podsync demo` as a member runs it: a real process that must end converged."""

from __future__ import annotations

import subprocess
import sys

import pytest


@pytest.mark.slow
def test_demo_converges_and_exits_zero() -> None:
    done = subprocess.run([sys.executable, "-m", "podsync", "demo"],
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "All three nodes hold the same board." in done.stdout
    for need in ("Water the garden", "Fix the bike shed", "Plan Sunday's meal",
                 "Call the plumber", "Buy seeds"):
        assert done.stdout.count(need) == 3, need  # on each of the three nodes
    assert "Traceback" not in done.stderr
