"""`status` reports a node started by `podsync up` from the node's record; other
commands go through the node's API, and its failures reach the member cleanly.

Where a test needs an answer a sound node never gives (a 500 that is not JSON),
or needs to see exactly what the command sent, a plain HTTP server on loopback
stands in for the node's API; commands through a real running node are tested
in tests/practices/test_cli_practices.py and tests/cli/test_cli_imports.py.
"""

from __future__ import annotations

import contextlib
import http.server
import json
import os
import socket
import subprocess
import sys
import threading
from collections.abc import Iterator
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


class _Answer(http.server.BaseHTTPRequestHandler):
    """Answers every request with the server's ``status`` and ``body``; keeps what it was sent."""

    def do_POST(self) -> None:  # noqa: N802 - the name http.server dispatches to
        self.server.seen.append((self.path, self.headers.get("Authorization"),  # type: ignore[attr-defined]
                                 self.rfile.read(int(self.headers["Content-Length"]))))
        self.send_response(self.server.status)  # type: ignore[attr-defined]
        self.send_header("Content-Length", str(len(self.server.body)))  # type: ignore[attr-defined]
        self.end_headers()
        self.wfile.write(self.server.body)  # type: ignore[attr-defined]

    def log_message(self, *args: object) -> None:
        pass


@contextlib.contextmanager
def _node_api(status: int, body: bytes) -> Iterator[tuple[str, list[tuple[str, str, bytes]]]]:
    """A real HTTP server on loopback standing in for a node's API: its URL and the requests."""
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Answer)
    server.status, server.body, server.seen = status, body, []  # type: ignore[attr-defined]
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/?token=tok3n", server.seen  # type: ignore[attr-defined]
    finally:
        server.shutdown()
        server.server_close()


def _record(home_dir: Path, api_url: str) -> None:
    (home_dir / "node.json").write_text(json.dumps({"pid": os.getpid(), "api_url": api_url}))


def test_a_command_goes_to_the_running_node_with_its_token(podsync: Podsync, home_dir: Path) -> None:
    assert podsync("init", "--name", "Ada").returncode == 0
    board = [{"id": "n1", "title": "From the node", "state": "open", "holders": []}]
    with _node_api(200, json.dumps(board).encode()) as (url, seen):
        _record(home_dir, url)
        result = podsync("need", "list", "--json")
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout) == board
    assert seen == [("/api/ops/need.list", "Bearer tok3n", b"{}")]


def test_the_node_refusing_a_request_is_the_command_failing(podsync: Podsync, home_dir: Path) -> None:
    assert podsync("init", "--name", "Ada").returncode == 0
    refusal = {"error": {"type": "UsageError", "message": "title: too long", "exit_code": 2}}
    with _node_api(400, json.dumps(refusal).encode()) as (url, _):
        _record(home_dir, url)
        assert_clean_failure(podsync("need", "add", "x"), 2, "title: too long")
    with _node_api(500, b"<html>proxy error</html>") as (url, _):
        _record(home_dir, url)
        assert_clean_failure(podsync("need", "list"), 1, "the node answered HTTP 500")
    # An error answer never makes the command succeed, whatever exit code it names.
    odd = {"error": {"type": "UsageError", "message": "no such thing", "exit_code": 0}}
    with _node_api(404, json.dumps(odd).encode()) as (url, _):
        _record(home_dir, url)
        assert_clean_failure(podsync("need", "list"), 1, "no such thing")


def test_an_answer_that_is_not_json_is_no_result(podsync: Podsync, home_dir: Path) -> None:
    assert podsync("init", "--name", "Ada").returncode == 0
    with _node_api(200, b"<html>a web server now has this port</html>") as (url, _):
        _record(home_dir, url)
        assert_clean_failure(podsync("need", "list", "--json"), 1, "not JSON")


def test_a_running_node_that_does_not_answer_is_unreachable(podsync: Podsync, home_dir: Path) -> None:
    assert podsync("init", "--name", "Ada").returncode == 0
    with socket.socket() as probe:  # a port nothing listens on: bound, never listening
        probe.bind(("127.0.0.1", 0))
        _record(home_dir, f"http://127.0.0.1:{probe.getsockname()[1]}/?token=x")
        assert_clean_failure(podsync("need", "list", "--json"), 3, "does not answer",
                             f"127.0.0.1:{probe.getsockname()[1]}")
