"""``podsync service run``: keep ``podsync up`` running, restarting it with a back-off.

Used where the platform's scheduler cannot restart a process that exits with an
error (Windows Task Scheduler restarts a task that fails to start, not one whose
program ends with a failure code). systemd and launchd restart the node
themselves and run ``podsync up`` directly.
"""

from __future__ import annotations

import logging
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path

from podsync.service.definitions import RESTART_FIRST_SECONDS, RESTART_MAX_SECONDS, USAGE_EXIT_CODE

log = logging.getLogger(__name__)

#: A node that ran this long was healthy: its next failure starts the back-off afresh.
STABLE_RUN_SECONDS = 60.0
#: How long a node asked to stop gets to flush before it is killed.
STOP_GRACE_SECONDS = 30.0


class Supervisor:
    """Runs ``argv`` until it exits 0 (a deliberate stop) or with a usage error;
    any other exit starts it again after a delay that doubles up to a cap."""

    def __init__(self, argv: list[str], *, first_delay: float = RESTART_FIRST_SECONDS,
                 max_delay: float = RESTART_MAX_SECONDS,
                 on_start: Callable[[int], None] | None = None) -> None:
        self.argv = argv
        self.first_delay = first_delay
        self.max_delay = max_delay
        self.on_start = on_start
        self.starts = 0
        self._stopping = threading.Event()
        self._child: subprocess.Popen[bytes] | None = None

    def stop(self) -> None:
        """Stop the node (gracefully) and do not start it again."""
        self._stopping.set()
        child = self._child
        if child is not None and child.poll() is None:
            child.terminate()

    def run(self) -> int:
        delay = self.first_delay
        while True:
            started = time.monotonic()
            self._child = subprocess.Popen(self.argv, stdin=subprocess.DEVNULL)
            self.starts += 1
            if self.on_start is not None:
                self.on_start(self._child.pid)
            if self._stopping.is_set():  # asked to stop while it started
                self._child.terminate()
            code = self._wait(self._child)
            if self._stopping.is_set() or code == 0:
                return 0
            if code == USAGE_EXIT_CODE:
                log.error("podsync up refused its options (exit %d); not restarting", code)
                return code
            if time.monotonic() - started >= STABLE_RUN_SECONDS:
                delay = self.first_delay
            log.warning("podsync up exited with %d; starting it again in %.0f s", code, delay)
            if self._stopping.wait(delay):
                return 0
            delay = min(delay * 2, self.max_delay)

    def _wait(self, child: subprocess.Popen[bytes]) -> int:
        while True:
            try:
                return child.wait(timeout=0.5)
            except subprocess.TimeoutExpired:
                if self._stopping.is_set():
                    try:
                        return child.wait(timeout=STOP_GRACE_SECONDS)
                    except subprocess.TimeoutExpired:
                        child.kill()
                        return child.wait()


def supervise(home: Path, up_args: list[str]) -> int:
    """Run the node for ``home`` under a :class:`Supervisor` until told to stop."""
    argv = [sys.executable, "-m", "podsync", "--home", str(home), "up", "--service", *up_args]
    supervisor = Supervisor(argv)
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: supervisor.stop())
    return supervisor.run()
