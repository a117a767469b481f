"""`status` reports a node started by `podsync up` from the node's record."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from cli_helpers import Podsync, assert_clean_failure

RECORD = {
    "listen": ["0.0.0.0:7777"],
    "api_url": "http://127.0.0.1:7778/?token=abc",
    "local_ws_url": "ws://127.0.0.1:7778/automerge?token=abc",
}


def _dead_pid() -> int:
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    return child.pid


def test_status_reports_a_live_node(podsync: Podsync, home_dir: Path) -> None:
    assert podsync("init", "--name", "Ada").returncode == 0
    # This test's own process stands in for the running node: its pid is alive.
    (home_dir / "node.json").write_text(json.dumps({"pid": os.getpid(), **RECORD}))
    status = json.loads(podsync("status", "--json").stdout)
    assert status["running"] is True
    assert status["listen"] == RECORD["listen"]
    assert status["api_url"] == RECORD["api_url"]
    assert status["local_ws_url"] == RECORD["local_ws_url"]
    human = podsync("status").stdout
    assert "running" in human and "not running" not in human


def test_status_ignores_the_record_of_a_dead_node(podsync: Podsync, home_dir: Path) -> None:
    assert podsync("init", "--name", "Ada").returncode == 0
    (home_dir / "node.json").write_text(json.dumps({"pid": _dead_pid(), **RECORD}))
    status = json.loads(podsync("status", "--json").stdout)
    assert status["running"] is False
    assert status["listen"] == [] and status["api_url"] is None


def test_corrupt_node_record_names_the_file(podsync: Podsync, home_dir: Path) -> None:
    assert podsync("init", "--name", "Ada").returncode == 0
    (home_dir / "node.json").write_text('{"pid": "twelve"}')
    assert_clean_failure(podsync("status", "--json"), 1, str(home_dir / "node.json"))
