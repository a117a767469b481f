"""A bug in a command reaches the member as one line, never a traceback.

No shipped command has a known bug to trigger, so the test registers one that
fails on the real app and runs it through the real ``run()`` wrapper.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from cli_helpers import COMMAND_TIMEOUT_S, podsync_env

SCRIPT = """
import sys
from podsync.cli.main import app, run

@app.command("explode")
def explode() -> None:
    raise ZeroDivisionError("kaboom")

run(sys.argv[1:])
"""


def _run(home: Path, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", SCRIPT, "--home", str(home), "explode"],
        capture_output=True, text=True, env=podsync_env(env), timeout=COMMAND_TIMEOUT_S,
    )


def test_unexpected_error_is_one_line_and_logged(tmp_path: Path) -> None:
    tmp_path.joinpath("home").mkdir()
    result = _run(tmp_path / "home")
    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1
    assert lines[0].startswith("podsync: unexpected error: ZeroDivisionError: kaboom")
    log = tmp_path / "home" / "last-error.log"
    assert str(log) in lines[0]
    assert "Traceback" in log.read_text() and "kaboom" in log.read_text()


def test_debug_shows_the_traceback(tmp_path: Path) -> None:
    result = _run(tmp_path / "absent", env={"PODSYNC_DEBUG": "1"})
    assert result.returncode == 1
    assert "Traceback" in result.stderr and "ZeroDivisionError: kaboom" in result.stderr
    assert not (tmp_path / "absent").exists()
