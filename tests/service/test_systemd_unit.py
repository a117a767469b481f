"""The unit started for real by a systemd user manager: the node comes up under
it, a crashed node is started again, installing twice changes nothing, and
uninstalling stops the node and leaves the pod's data as it was.

This machine (a container) has no user manager of its own, so the test starts
a private one (tests/service/user_manager.py); where that cannot be done it is
skipped, saying why.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from podsync.node.runfile import pid_alive

pytestmark = pytest.mark.slow

HELPER = Path(__file__).with_name("user_manager.py")
#: systemd restarts after RestartSec (5 s); generous for a loaded machine.
RESTART_DEADLINE = 45.0


def _unavailable() -> str | None:
    if not sys.platform.startswith("linux"):
        return "systemd user units exist on Linux only"
    if os.geteuid() != 0:
        return ("no systemd user manager to use: this test runs a private one, which needs root "
                "(it never touches this account's own manager)")
    for tool in ("unshare", "nsenter", "mount", "systemctl"):
        if shutil.which(tool) is None:
            return f"no systemd user manager can run here: `{tool}` is missing"
    return None


class UserManager:
    def __init__(self, root: Path) -> None:
        self.runtime = root / "runtime"
        self.runtime.mkdir(mode=0o700)
        self.user_home = root / "account"
        self.env = {k: v for k, v in os.environ.items() if not k.startswith("PODSYNC_")}
        self.env.update(HOME=str(self.user_home), XDG_CONFIG_HOME=str(self.user_home / ".config"),
                        XDG_RUNTIME_DIR=str(self.runtime))
        self.proc = subprocess.Popen(["unshare", "-m", "--propagation", "private", sys.executable,
                                      str(HELPER), str(self.runtime)],
                                     stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, env=self.env)
        assert self.proc.stdout is not None
        self.said = self.proc.stdout.readline().strip()

    def run(self, *argv: str) -> subprocess.CompletedProcess[str]:
        """``argv`` where the manager is reachable (its mount namespace)."""
        return subprocess.run(["nsenter", "--target", str(self.proc.pid), "--mount", "--", *argv],
                              capture_output=True, text=True, env=self.env, timeout=120)

    def podsync(self, home: Path, *args: str) -> subprocess.CompletedProcess[str]:
        return self.run(sys.executable, "-m", "podsync", "--home", str(home), *args)

    def close(self) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.close()
        self.proc.wait(timeout=60)


@pytest.fixture
def manager(tmp_path: Path) -> Iterator[UserManager]:
    reason = _unavailable()
    if reason:
        pytest.skip(reason)
    um = UserManager(tmp_path)
    try:
        if um.said != "ready":
            pytest.skip(f"no systemd user manager here: {um.said}")
        yield um
    finally:
        um.close()


def _node_pid(home: Path) -> int | None:
    try:
        pid = int(json.loads((home / "node.json").read_text())["pid"])
    except (FileNotFoundError, ValueError, KeyError):
        return None
    return pid if pid_alive(pid) else None


def _data(home: Path) -> dict[str, str]:
    """What the member cannot get back: identity, config, token."""
    files = [*sorted((home / "identity").iterdir()), home / "config.json", home / "token"]
    return {f.name: hashlib.sha256(f.read_bytes()).hexdigest() for f in files}


def test_the_unit_runs_the_node_restarts_it_and_uninstalls_cleanly(manager: UserManager, tmp_path: Path) -> None:
    home = tmp_path / "home"
    init = manager.podsync(home, "init", "--name", "Ada")
    assert init.returncode == 0, init.stderr
    need = manager.podsync(home, "need", "add", "Water the seedlings")
    assert need.returncode == 0, need.stderr
    before = _data(home)

    options = ("--listen", "127.0.0.1:0", "--api", "127.0.0.1:0", "--no-discovery")
    installed = manager.podsync(home, "service", "install", *options)
    assert installed.returncode == 0, installed.stdout + installed.stderr
    assert "The node is running" in installed.stdout
    state = json.loads(manager.podsync(home, "service", "status", "--json").stdout)
    unit = Path(state["definition"])
    assert unit.parent == manager.user_home / ".config" / "systemd" / "user"
    assert state["installed"] and state["enabled"] and state["active"] and state["node_running"]
    first = _node_pid(home)
    assert first is not None and state["node_pid"] == first
    main_pid = manager.run("systemctl", "--user", "show", "--property=MainPID", "--value", unit.name)
    assert main_pid.stdout.strip() == str(first)  # the node is the unit's own process

    # Installing again with the same options: same unit, same node.
    written = unit.stat().st_mtime_ns
    again = manager.podsync(home, "service", "install", *options)
    assert again.returncode == 0, again.stderr
    assert unit.stat().st_mtime_ns == written and _node_pid(home) == first

    # A node that dies is started again, by systemd, after its back-off.
    os.kill(first, signal.SIGKILL)
    deadline = time.monotonic() + RESTART_DEADLINE
    while (_node_pid(home) in (None, first)) and time.monotonic() < deadline:
        time.sleep(0.2)
    second = _node_pid(home)
    assert second not in (None, first), manager.run("systemctl", "--user", "status", unit.name).stdout
    listed = json.loads(manager.podsync(home, "need", "list", "--json").stdout)
    assert [n["title"] for n in listed] == ["Water the seedlings"]

    log = home / "logs" / "node.log"
    token = (home / "token").read_text().strip()
    assert "up: peers on" in log.read_text() and token not in log.read_text()

    removed = manager.podsync(home, "service", "uninstall")
    assert removed.returncode == 0, removed.stderr
    assert not unit.exists()
    assert second is not None and not pid_alive(second) and _node_pid(home) is None
    assert _data(home) == before
    listed = json.loads(manager.podsync(home, "need", "list", "--json").stdout)
    assert [n["title"] for n in listed] == ["Water the seedlings"]
    # Uninstalling what is not installed is harmless too.
    assert manager.podsync(home, "service", "uninstall").returncode == 0
