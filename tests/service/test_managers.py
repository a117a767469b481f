"""Installing and removing the service on each platform, as far as it can run here.

macOS's launchctl and Windows' schtasks cannot run on this machine: the tests
for them put a stand-in of that tool on PATH that records how it was called
and keeps the one fact podsync asks about (whether the job is loaded). The
systemd path runs the real systemctl; with no user manager reachable it must
fail cleanly and leave nothing behind (tests/service/test_systemd_unit.py runs
it against a real user manager).
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from podsync.cli.init import initialise
from podsync.home import Home
from podsync.service import definitions as defs
from podsync.service import managers

STAND_IN = """#!{python}
import json, pathlib, sys
state = pathlib.Path({state!r})
calls = state / "calls.jsonl"
loaded = state / "loaded"
args = sys.argv[1:]
with calls.open("a") as f:
    f.write(json.dumps([{tool!r}, *args]) + "\\n")
verb = args[0].lower() if args else ""
if verb in ("bootstrap", "/create"):
    loaded.write_text("yes")
elif verb in ("bootout", "/delete"):
    if not loaded.exists():
        sys.exit(3)
    loaded.unlink()
elif verb in ("print", "/query"):
    if not loaded.exists():
        sys.exit(113)
    print("state = waiting" if verb == "print" else '"podsync","N/A","Ready"')
"""


@pytest.fixture
def account(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A member account of its own: HOME, config and PATH point into tmp_path."""
    user = tmp_path / "account"
    user.mkdir()
    monkeypatch.setenv("HOME", str(user))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(user / ".config"))
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}{os.environ['PATH']}")
    return tmp_path


def stand_in(root: Path, tool: str) -> Path:
    state = root / f"{tool}-state"
    state.mkdir()
    script = root / "bin" / tool
    script.write_text(STAND_IN.format(python=sys.executable, state=str(state), tool=tool))
    script.chmod(script.stat().st_mode | stat.S_IXUSR)
    return state


def calls(state: Path) -> list[list[str]]:
    path = state / "calls.jsonl"
    return [json.loads(line) for line in path.read_text().splitlines()] if path.exists() else []


def fingerprint(home: Home) -> dict[str, str]:
    return {str(p.relative_to(home.root)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(home.root.rglob("*")) if p.is_file()}


@pytest.fixture
def home(account: Path) -> Home:
    home = Home(account / "pod home")
    initialise(home, "Ada")
    return home


def test_launchd_agent_is_loaded_once_and_removed_leaving_the_home(account: Path, home: Home) -> None:
    state = stand_in(account, "launchctl")
    agent = managers.LaunchdAgent()
    spec = defs.make_spec(home, ["--no-discovery"], platform="darwin")
    before = fingerprint(home)

    agent.register(spec)
    plist = agent.definition_path(spec)
    assert plist == account / "account" / "Library" / "LaunchAgents" / f"org.podsync.{spec.name}.plist"
    assert ["launchctl", "bootstrap", f"gui/{os.getuid()}", str(plist)] in calls(state)
    # Again with the same options: the loaded agent is left alone.
    count = len(calls(state))
    agent.register(spec)
    assert not any(c[1] in ("bootstrap", "bootout") for c in calls(state)[count:])
    assert agent.enabled(spec) is True
    # With other options it is reloaded (launchd reads the file at load only).
    agent.register(defs.make_spec(home, [], platform="darwin"))
    assert [c[1] for c in calls(state)[count:] if c[1] in ("bootstrap", "bootout")] == ["bootout", "bootstrap"]

    assert managers.uninstall(agent, spec)[0].startswith("Removed")
    assert not plist.exists() and agent.enabled(spec) is False
    assert fingerprint(home) == before


def test_scheduled_task_is_created_from_its_xml_and_deleted_leaving_the_home(account: Path, home: Home) -> None:
    state = stand_in(account, "schtasks")
    scheduler = managers.TaskScheduler()
    spec = defs.make_spec(home, [], platform="win32")
    before = fingerprint(home)

    assert scheduler.register(spec) is True
    xml = scheduler.definition_path(spec)
    assert ["schtasks", "/Create", "/TN", spec.name, "/XML", str(xml), "/F"] in calls(state)
    assert scheduler.register(spec) is False  # unchanged: /F replaces it with itself
    assert managers.state(scheduler, spec, home).installed

    managers.uninstall(scheduler, spec)
    assert ["schtasks", "/Delete", "/TN", spec.name, "/F"] in calls(state)
    assert not xml.exists()
    after = fingerprint(home)
    assert after == before


def test_without_a_user_manager_install_fails_in_one_line_and_leaves_no_unit(
        account: Path, home: Home, monkeypatch: pytest.MonkeyPatch) -> None:
    if not sys.platform.startswith("linux") or shutil.which("systemctl") is None:
        pytest.skip("systemctl is not installed here")
    runtime = account / "empty-runtime"
    runtime.mkdir(mode=0o700)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PODSYNC_", "DBUS_"))}
    env["XDG_RUNTIME_DIR"] = str(runtime)  # where no user manager listens
    done = subprocess.run([sys.executable, "-m", "podsync", "--home", str(home.root), "service", "install"],
                          capture_output=True, text=True, env=env, timeout=60)
    assert done.returncode == 3, (done.stdout, done.stderr)
    assert done.stderr.startswith("podsync: ") and len(done.stderr.strip().splitlines()) == 1
    assert "user manager" in done.stderr and "Traceback" not in done.stderr
    unit_dir = account / "account" / ".config" / "systemd" / "user"
    assert not unit_dir.exists() or not list(unit_dir.iterdir())


def test_service_commands_refuse_a_home_that_is_not_initialised(account: Path) -> None:
    done = subprocess.run([sys.executable, "-m", "podsync", "--home", str(account / "nothing"),
                           "service", "install"], capture_output=True, text=True, timeout=60)
    assert done.returncode == 1 and "podsync init" in done.stderr and "Traceback" not in done.stderr
