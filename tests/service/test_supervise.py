"""The restart supervisor (what the Windows task runs), with real child processes."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from podsync.node.runfile import pid_alive
from podsync.service.supervise import Supervisor

#: A child that logs each start, fails its first two runs, then runs until told
#: to stop (and stops cleanly, as `podsync up` does on SIGTERM).
CHILD = """import pathlib, signal, sys, time
log = pathlib.Path(sys.argv[1])
runs = len(log.read_text().splitlines()) if log.exists() else 0
with log.open("a") as f:
    f.write(f"{time.monotonic()}\\n")
if runs < 2:
    sys.exit(1)
signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
while True:
    time.sleep(0.05)
"""


def test_a_failing_node_is_restarted_with_a_growing_delay_until_stopped(tmp_path: Path) -> None:
    log = tmp_path / "starts"
    pids: list[int] = []
    supervisor = Supervisor([sys.executable, "-c", CHILD, str(log)], first_delay=0.2, max_delay=10,
                            on_start=pids.append)
    result: list[int] = []
    runner = threading.Thread(target=lambda: result.append(supervisor.run()))
    runner.start()
    deadline = time.monotonic() + 60
    while len(log.read_text().splitlines() if log.exists() else []) < 3 and time.monotonic() < deadline:
        time.sleep(0.05)
    starts = [float(t) for t in log.read_text().splitlines()]
    assert len(starts) == 3
    # Each wait is at least its delay: 0.2 s, then 0.4 s.
    assert starts[1] - starts[0] >= 0.2 and starts[2] - starts[1] >= 0.4
    time.sleep(0.3)
    assert supervisor.starts == 3 and pid_alive(pids[-1])

    supervisor.stop()
    runner.join(timeout=30)
    assert result == [0] and not pid_alive(pids[-1])
    assert len(log.read_text().splitlines()) == 3  # not started again after the stop


@pytest.mark.parametrize("code", [0, 2])
def test_a_clean_exit_or_a_usage_error_is_not_restarted(code: int) -> None:
    supervisor = Supervisor([sys.executable, "-c", f"import sys; sys.exit({code})"], first_delay=0.01)
    assert supervisor.run() == code and supervisor.starts == 1


@pytest.mark.slow
def test_podsync_service_run_keeps_a_real_node_and_stops_with_it(tmp_path: Path) -> None:
    home = tmp_path / "home"
    assert subprocess.run([sys.executable, "-m", "podsync", "--home", str(home), "init", "--name", "Ada"],
                          capture_output=True, timeout=60).returncode == 0
    proc = subprocess.Popen([sys.executable, "-m", "podsync", "--home", str(home), "service", "run",
                             "--listen", "127.0.0.1:0", "--api", "127.0.0.1:0", "--no-discovery"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        node = home / "node.json"
        deadline = time.monotonic() + 60
        while not node.exists() and time.monotonic() < deadline:
            time.sleep(0.1)
        assert node.exists(), proc.stderr
        first = int(json.loads(node.read_text())["pid"])
        assert first != proc.pid  # the node is the supervisor's child
    finally:
        proc.send_signal(signal.SIGTERM)
        out, err = proc.communicate(timeout=60)
    assert proc.returncode == 0, err
    assert not pid_alive(first) and not node.exists()
    assert (home / "token").read_text().strip() not in out + err
