"""Run the real ``podsync`` entry point in a subprocess, as a member would."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable

# A cold start imports automerge, cryptography and rich; generous for a busy CI box.
COMMAND_TIMEOUT_S = 60

Podsync = Callable[..., subprocess.CompletedProcess[str]]


def podsync_env(extra: dict[str, str] | None = None) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PODSYNC_")}
    env.update(extra or {})
    return env


def run_podsync(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "podsync", *args],
        capture_output=True, text=True, env=podsync_env(env), timeout=COMMAND_TIMEOUT_S,
    )


def assert_clean_failure(result: subprocess.CompletedProcess[str], code: int, *needles: str) -> None:
    """Exit ``code``, one ``podsync: ...`` line on stderr naming ``needles``, no traceback."""
    assert result.returncode == code, (result.returncode, result.stdout, result.stderr)
    assert "Traceback" not in result.stderr
    assert result.stdout == ""
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("podsync: "), result.stderr
    for needle in needles:
        assert needle in lines[0], (needle, lines[0])
