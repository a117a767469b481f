"""Installing, removing and asking about the login service, per platform.

Each manager writes its platform's definition (:mod:`podsync.service.definitions`)
where the platform looks for it, and drives the platform's own tool:
``systemctl --user`` (Linux), ``launchctl`` (macOS), ``schtasks`` (Windows).
Everything happens in the member's own account; nothing needs root. Nothing
here reads or writes the member's pod data: uninstalling removes the
definition and stops the service, and the home stays as it was.
"""

from __future__ import annotations

import getpass
import os
import re
import subprocess
import sys
import time
from pathlib import Path
from typing import Protocol

import msgspec

from podsync.errors import PodsyncError, UnreachableError
from podsync.home import DIR_MODE, Home, atomic_write
from podsync.node.runfile import running_node
from podsync.service import definitions as defs

#: A platform tool answers in well under a second; one that takes longer is hung.
TOOL_TIMEOUT_SECONDS = 30.0
#: A node starts in a second or two; a busy machine, or a first start that
#: creates the store, may take several.
START_WAIT_SECONDS = 30.0


class ServiceState(msgspec.Struct):
    """What ``podsync service status --json`` prints."""

    platform: str  # "systemd" | "launchd" | "task-scheduler"
    name: str
    definition: str  # where the definition file is (or would be)
    installed: bool
    enabled: bool | None  # None: the platform's tool could not say
    active: bool | None
    log_file: str
    node_running: bool
    node_pid: int | None
    notes: list[str] = []


def run_tool(argv: list[str]) -> subprocess.CompletedProcess[str]:
    """Run a platform tool; a missing tool is the member's to know about."""
    try:
        return subprocess.run(argv, capture_output=True, text=True, timeout=TOOL_TIMEOUT_SECONDS,
                              stdin=subprocess.DEVNULL)
    except FileNotFoundError:
        raise PodsyncError(f"`{argv[0]}` is not on this computer, so podsync cannot install a "
                           "login service here; run `podsync up` from your desktop's autostart instead") from None
    except subprocess.TimeoutExpired:
        raise UnreachableError(f"`{' '.join(argv[:3])}` did not answer within "
                               f"{TOOL_TIMEOUT_SECONDS:.0f} s") from None


def _said(done: subprocess.CompletedProcess[str]) -> str:
    """The tool's last word on what went wrong."""
    text = (done.stderr or done.stdout).strip()
    return text.splitlines()[-1] if text else f"exit {done.returncode}"


def write_if_changed(path: Path, data: bytes) -> bool:
    """Write ``data`` to ``path`` unless it already holds exactly that."""
    try:
        if path.read_bytes() == data:
            return False
    except FileNotFoundError:
        pass
    path.parent.mkdir(parents=True, exist_ok=True)
    atomic_write(path, data, mode=0o644)
    return True


class Manager(Protocol):
    platform: str

    def definition_path(self, spec: defs.ServiceSpec) -> Path: ...

    def register(self, spec: defs.ServiceSpec) -> bool:
        """Write the definition and make the platform start it at login; True
        when the definition changed (a running service must restart)."""

    def start(self, spec: defs.ServiceSpec, *, restart: bool) -> None: ...

    def unregister(self, spec: defs.ServiceSpec) -> None: ...

    def active(self, spec: defs.ServiceSpec) -> bool | None: ...

    def enabled(self, spec: defs.ServiceSpec) -> bool | None: ...

    def notes(self) -> list[str]: ...


class SystemdUser:
    """A systemd user unit, enabled for ``default.target`` (the member's login)."""

    platform = "systemd"

    def unit_dir(self) -> Path:
        config = os.environ.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
        return Path(config) / "systemd" / "user"

    def definition_path(self, spec: defs.ServiceSpec) -> Path:
        return self.unit_dir() / f"{spec.name}.service"

    def version(self) -> int:
        done = run_tool(["systemctl", "--version"])
        found = re.match(r"systemd (\d+)", done.stdout)
        return int(found.group(1)) if found else 0

    def _ctl(self, *args: str) -> subprocess.CompletedProcess[str]:
        done = run_tool(["systemctl", "--user", *args])
        if done.returncode != 0 and re.search(r"Failed to connect to bus|No medium found|"
                                              r"\$XDG_RUNTIME_DIR|Failed to connect to user", done.stderr):
            raise UnreachableError(
                f"systemd's user manager for this account does not answer ({_said(done)}); "
                "install the service from a terminal of your desktop session")
        return done

    def register(self, spec: defs.ServiceSpec) -> bool:
        path = self.definition_path(spec)
        existed = path.exists()
        changed = write_if_changed(path, defs.systemd_unit(spec, self.version()).encode())
        try:
            for args in (("daemon-reload",), ("enable", path.name)):
                done = self._ctl(*args)
                if done.returncode != 0:
                    raise PodsyncError(f"`systemctl --user {' '.join(args)}` failed: {_said(done)}")
        except PodsyncError:
            if not existed:  # leave nothing half-installed behind
                path.unlink(missing_ok=True)
            raise
        return changed

    def start(self, spec: defs.ServiceSpec, *, restart: bool) -> None:
        done = self._ctl("restart" if restart else "start", f"{spec.name}.service")
        if done.returncode != 0:
            raise PodsyncError(f"systemd could not start {spec.name}.service: {_said(done)}")

    def unregister(self, spec: defs.ServiceSpec) -> None:
        path = self.definition_path(spec)
        self._ctl("disable", "--now", path.name)  # fails harmlessly when not loaded
        path.unlink(missing_ok=True)
        self._ctl("daemon-reload")

    def active(self, spec: defs.ServiceSpec) -> bool | None:
        try:
            done = self._ctl("is-active", f"{spec.name}.service")
        except PodsyncError:
            return None
        return done.stdout.strip() in ("active", "activating", "reloading")

    def enabled(self, spec: defs.ServiceSpec) -> bool | None:
        try:
            done = self._ctl("is-enabled", f"{spec.name}.service")
        except PodsyncError:
            return None
        return done.stdout.strip() == "enabled"

    def notes(self) -> list[str]:
        """Whether the node also runs while the member is logged out."""
        try:
            done = run_tool(["loginctl", "show-user", str(os.getuid()), "--property=Linger", "--value"])
        except PodsyncError:
            return []
        if done.returncode == 0 and done.stdout.strip() == "no":
            return ["The node runs while you are logged in. To keep it syncing while you are logged "
                    "out (and from boot, before you log in), run `loginctl enable-linger` once; it "
                    "lets your own services run without a login session and may ask for your password."]
        return []


class LaunchdAgent:
    """A launchd agent in ~/Library/LaunchAgents, loaded into the member's GUI session."""

    platform = "launchd"

    def definition_path(self, spec: defs.ServiceSpec) -> Path:
        return Path.home() / "Library" / "LaunchAgents" / f"{spec.launchd_label}.plist"

    @staticmethod
    def _target(spec: defs.ServiceSpec) -> str:
        return f"gui/{os.getuid()}/{spec.launchd_label}"

    def _loaded(self, spec: defs.ServiceSpec) -> subprocess.CompletedProcess[str]:
        return run_tool(["launchctl", "print", self._target(spec)])

    def register(self, spec: defs.ServiceSpec) -> bool:
        path = self.definition_path(spec)
        changed = write_if_changed(path, defs.launchd_plist(spec))
        loaded = self._loaded(spec).returncode == 0
        if loaded and changed:
            run_tool(["launchctl", "bootout", self._target(spec)])
            loaded = False
        if not loaded:  # RunAtLoad: loading starts it
            done = run_tool(["launchctl", "bootstrap", f"gui/{os.getuid()}", str(path)])
            if done.returncode != 0:
                raise PodsyncError(f"launchd could not load {path}: {_said(done)}")
        return False  # reloading already restarted it

    def start(self, spec: defs.ServiceSpec, *, restart: bool) -> None:
        done = run_tool(["launchctl", "kickstart", *(["-k"] if restart else []), self._target(spec)])
        if done.returncode != 0:
            raise PodsyncError(f"launchd could not start {spec.launchd_label}: {_said(done)}")

    def unregister(self, spec: defs.ServiceSpec) -> None:
        run_tool(["launchctl", "bootout", self._target(spec)])  # fails harmlessly when not loaded
        self.definition_path(spec).unlink(missing_ok=True)

    def active(self, spec: defs.ServiceSpec) -> bool | None:
        done = self._loaded(spec)
        return done.returncode == 0 and "state = running" in done.stdout

    def enabled(self, spec: defs.ServiceSpec) -> bool | None:
        return self._loaded(spec).returncode == 0

    def notes(self) -> list[str]:
        return []


class TaskScheduler:
    """A Task Scheduler task run at the member's logon, in their session."""

    platform = "task-scheduler"

    def definition_path(self, spec: defs.ServiceSpec) -> Path:
        # schtasks keeps its own copy; this one shows what was registered.
        return spec.home / "service" / f"{spec.name}.xml"

    @staticmethod
    def user() -> str:
        domain = os.environ.get("USERDOMAIN")
        name = os.environ.get("USERNAME") or getpass.getuser()
        return f"{domain}\\{name}" if domain else name

    def register(self, spec: defs.ServiceSpec) -> bool:
        path = self.definition_path(spec)
        path.parent.mkdir(mode=DIR_MODE, exist_ok=True)
        changed = write_if_changed(path, defs.windows_task(spec, self.user()))
        done = run_tool(["schtasks", "/Create", "/TN", spec.name, "/XML", str(path), "/F"])
        if done.returncode != 0:
            raise PodsyncError(f"Task Scheduler refused the task: {_said(done)}")
        return changed

    def start(self, spec: defs.ServiceSpec, *, restart: bool) -> None:
        if restart:
            run_tool(["schtasks", "/End", "/TN", spec.name])
        done = run_tool(["schtasks", "/Run", "/TN", spec.name])
        if done.returncode != 0:
            raise PodsyncError(f"Task Scheduler could not start {spec.name}: {_said(done)}")

    def unregister(self, spec: defs.ServiceSpec) -> None:
        run_tool(["schtasks", "/End", "/TN", spec.name])
        run_tool(["schtasks", "/Delete", "/TN", spec.name, "/F"])
        self.definition_path(spec).unlink(missing_ok=True)

    def _query(self, spec: defs.ServiceSpec) -> subprocess.CompletedProcess[str]:
        return run_tool(["schtasks", "/Query", "/TN", spec.name, "/FO", "CSV", "/NH"])

    def active(self, spec: defs.ServiceSpec) -> bool | None:
        done = self._query(spec)
        return done.returncode == 0 and '"Running"' in done.stdout

    def enabled(self, spec: defs.ServiceSpec) -> bool | None:
        done = self._query(spec)
        return done.returncode == 0 and '"Disabled"' not in done.stdout

    def notes(self) -> list[str]:
        return []


def manager_for(platform: str = sys.platform) -> Manager:
    if platform.startswith("linux"):
        return SystemdUser()
    if platform == "darwin":
        return LaunchdAgent()
    if platform == "win32":
        return TaskScheduler()
    raise PodsyncError(f"podsync cannot install a login service on {platform}; "
                       "start `podsync up` from your system's autostart instead")


def _node_pid(home: Home) -> int | None:
    record = running_node(home)
    return int(record["pid"]) if record is not None else None


def wait_for_node(home: Home, seconds: float = START_WAIT_SECONDS) -> int | None:
    """The pid of the node once it runs for ``home`` (None if not within ``seconds``)."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        record = running_node(home)
        if record is not None and record.get("api_url"):
            return int(record["pid"])
        time.sleep(0.1)
    return None


def install(manager: Manager, spec: defs.ServiceSpec, home: Home) -> list[str]:
    """Install (or update) the service and bring the node up under it. Running it
    again with the same options changes nothing."""
    outside = _node_pid(home) if not manager.active(spec) else None
    changed = manager.register(spec)
    where = manager.definition_path(spec)
    if outside is not None:
        return [f"Installed {spec.name} ({where}); it starts the node at every login.",
                f"A node already runs for this home outside the service (pid {outside}). Stop it "
                "(`podsync stop`) and run `podsync service install` again to hand it over now; "
                "otherwise the service takes over at your next login.", *manager.notes()]
    manager.start(spec, restart=changed)
    pid = wait_for_node(home)
    if pid is None:
        raise PodsyncError(f"installed {spec.name} ({where}), but the node did not come up within "
                           f"{START_WAIT_SECONDS:.0f} s; see {spec.log_file}")
    return [f"Installed {spec.name} ({where}); it starts the node at every login.",
            f"The node is running (pid {pid}); its log is {spec.log_file}.",
            "Open the pod's page with `podsync open`.", *manager.notes()]


def uninstall(manager: Manager, spec: defs.ServiceSpec) -> list[str]:
    path = manager.definition_path(spec)
    if not path.exists() and manager.enabled(spec) is not True:
        return [f"No podsync service is installed for {spec.home}; nothing to do."]
    manager.unregister(spec)
    return [f"Removed {spec.name} and stopped its node. Your pod's data in {spec.home} is untouched; "
            "`podsync up` or `podsync open` runs the node by hand."]


def state(manager: Manager, spec: defs.ServiceSpec, home: Home) -> ServiceState:
    installed = manager.definition_path(spec).exists()
    pid = _node_pid(home)
    return ServiceState(
        platform=manager.platform, name=spec.name, definition=str(manager.definition_path(spec)),
        installed=installed,
        enabled=manager.enabled(spec) if installed else False,
        active=manager.active(spec) if installed else False,
        log_file=str(spec.log_file), node_running=pid is not None, node_pid=pid,
        notes=manager.notes() if installed else [])
