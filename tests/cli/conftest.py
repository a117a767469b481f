"""Fixtures: a fresh home per test and ``podsync --home`` bound to it."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
from cli_helpers import Podsync, run_podsync


@pytest.fixture
def home_dir(tmp_path: Path) -> Path:
    return tmp_path / "node-a"


@pytest.fixture
def podsync(home_dir: Path) -> Podsync:
    """``podsync --home <home_dir> ARGS...``"""

    def run(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
        return run_podsync("--home", str(home_dir), *args, env=env)

    return run
