"""`podsync open` and `podsync stop` when things are not as they should be."""

from __future__ import annotations

import socket
from pathlib import Path

from cli_helpers import Podsync, assert_clean_failure


def test_open_on_a_home_that_is_not_initialised_says_what_to_do(podsync: Podsync) -> None:
    assert_clean_failure(podsync("open"), 1, "podsync init")


def test_stop_with_no_node_running_is_harmless(podsync: Podsync) -> None:
    assert podsync("init", "--name", "Ada").returncode == 0
    done = podsync("stop")
    assert done.returncode == 0 and "No node is running" in done.stdout


def test_open_says_why_when_the_node_it_starts_cannot_come_up(podsync: Podsync, home_dir: Path) -> None:
    assert podsync("init", "--name", "Ada").returncode == 0
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        done = podsync("open", "--listen", "127.0.0.1:0", "--api", f"127.0.0.1:{port}", "--no-discovery",
                       env={"BROWSER": "false"})
    assert_clean_failure(done, 3, "did not start", f"127.0.0.1:{port}")
    assert not (home_dir / "node.json").exists()
