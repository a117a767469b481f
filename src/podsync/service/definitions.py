"""The service definitions that start a node at login, one per platform.

Each is generated from one :class:`ServiceSpec` (what to run, for which home,
where it logs) and written by :mod:`podsync.service.managers`. They are plain
text the platform's own tools read: a systemd user unit, a launchd agent
property list, a Task Scheduler task (XML). Nothing here touches the system.
"""

from __future__ import annotations

import hashlib
import re
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

from podsync.home import Home, default_home
from podsync.service.logs import log_file

#: Restart delays. A node exits with an error when its port is taken or its
#: disk is full: conditions that take minutes to change, so after a quick first
#: retry the delay grows (Syncthing: "don't retry too frenetically") up to a cap
#: that still brings the pod back within minutes of the cause going away.
RESTART_FIRST_SECONDS = 5
RESTART_MAX_SECONDS = 300
#: systemd grows the delay itself from version 254 (RestartSteps=); before that
#: it restarts at RESTART_FIRST_SECONDS every time.
SYSTEMD_BACKOFF_VERSION = 254
RESTART_STEPS = 6
#: launchd respawns a job that exited with an error no sooner than this.
LAUNCHD_THROTTLE_SECONDS = 30
#: `podsync up` exits 2 on bad usage (CONTRACT.md): restarting cannot fix that.
USAGE_EXIT_CODE = 2
#: How long systemd waits for the node to flush and stop before killing it;
#: a stop normally takes well under a second.
STOP_TIMEOUT_SECONDS = 30
TASK_NAMESPACE = "http://schemas.microsoft.com/windows/2004/02/mit/task"
#: Task Scheduler restarts a failed task at most 255 times (the schema's
#: unsignedByte), no sooner than a minute apart (its minimum).
TASK_RESTART_INTERVAL = "PT1M"
TASK_RESTART_COUNT = 255


@dataclass(frozen=True)
class ServiceSpec:
    """What the service runs: ``podsync up`` for one home, with the member's options."""

    name: str  # systemd unit / Task Scheduler task name; launchd label derives from it
    home: Path
    argv: list[str]  # the full command line, interpreter first
    log_file: Path
    description: str
    up_args: list[str] = field(default_factory=list)

    @property
    def launchd_label(self) -> str:
        return "org.podsync." + self.name


def service_name(home: Home) -> str:
    """``podsync`` for the platform's default home, ``podsync-<hash>`` for any
    other, so each home on one account can have its own service."""
    root = home.root.expanduser().resolve()
    if root == default_home().expanduser().resolve():
        return "podsync"
    return "podsync-" + hashlib.sha256(str(root).encode()).hexdigest()[:8]


def up_arguments(listen: str | None, api: str | None, peers: list[str], discovery: bool) -> list[str]:
    """The member's ``podsync up`` options, as arguments."""
    args: list[str] = []
    if listen is not None:
        args += ["--listen", listen]
    if api is not None:
        args += ["--api", api]
    for peer in peers:
        args += ["--peer", peer]
    if not discovery:
        args.append("--no-discovery")
    return args


def make_spec(home: Home, up_args: list[str], *, platform: str = sys.platform,
              python: str = sys.executable) -> ServiceSpec:
    """The spec for ``home``: ``podsync up --service`` with ``up_args``, or on
    Windows the restart supervisor ``podsync service run`` (Task Scheduler's own
    restart does not cover a node that exits with an error)."""
    root = home.root.expanduser().resolve()
    if platform == "win32":
        windowless = Path(python).with_name("pythonw.exe")
        interpreter = str(windowless) if windowless.exists() else python
        argv = [interpreter, "-m", "podsync", "--home", str(root), "service", "run", *up_args]
    else:
        argv = [python, "-m", "podsync", "--home", str(root), "up", "--service", *up_args]
    return ServiceSpec(name=service_name(home), home=root, argv=argv,
                       log_file=log_file(Home(root)),
                       description=f"podsync node for {root}", up_args=list(up_args))


# -- systemd ------------------------------------------------------------------

_SYSTEMD_PLAIN = re.compile(r"[A-Za-z0-9/._:=@+,-]+")


def systemd_quote(arg: str) -> str:
    """One ExecStart= argument: systemd splits on spaces, honours double quotes
    with C escapes, and expands ``%`` specifiers and ``$`` variables."""
    text = arg.replace("%", "%%").replace("$", "$$")
    if _SYSTEMD_PLAIN.fullmatch(arg):
        return text
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def systemd_unit(spec: ServiceSpec, systemd_version: int) -> str:
    backoff = ""
    if systemd_version >= SYSTEMD_BACKOFF_VERSION:
        backoff = (f"RestartSteps={RESTART_STEPS}\n"
                   f"RestartMaxDelaySec={RESTART_MAX_SECONDS}s\n")
    exec_start = " ".join(systemd_quote(a) for a in spec.argv)
    description = spec.description.replace("%", "%%").replace("\n", " ")
    return (
        "# Written by `podsync service install`; `podsync service uninstall` removes it.\n"
        "[Unit]\n"
        f"Description={description}\n"
        # Never give up restarting: the back-off below keeps it cheap.
        "StartLimitIntervalSec=0\n"
        "\n"
        "[Service]\n"
        "Type=simple\n"
        f"ExecStart={exec_start}\n"
        "Restart=on-failure\n"
        f"RestartSec={RESTART_FIRST_SECONDS}s\n"
        f"{backoff}"
        f"RestartPreventExitStatus={USAGE_EXIT_CODE}\n"
        f"TimeoutStopSec={STOP_TIMEOUT_SECONDS}s\n"
        "Environment=PYTHONUNBUFFERED=1\n"
        "\n"
        "[Install]\n"
        "WantedBy=default.target\n"
    )


# -- launchd ------------------------------------------------------------------

def launchd_plist(spec: ServiceSpec) -> bytes:
    """A launchd agent: started at login, started again when it exits with an error."""
    import plistlib  # noqa: PLC0415 - `podsync status` reads this module and never writes one

    crash_log = str(spec.log_file.with_name("launchd.log"))
    return plistlib.dumps({
        "Label": spec.launchd_label,
        "ProgramArguments": list(spec.argv),
        "RunAtLoad": True,
        "KeepAlive": {"SuccessfulExit": False},
        "ThrottleInterval": LAUNCHD_THROTTLE_SECONDS,
        "WorkingDirectory": str(spec.home),
        "EnvironmentVariables": {"PYTHONUNBUFFERED": "1"},
        # What the node prints before its own log is open (a failed start).
        "StandardOutPath": crash_log,
        "StandardErrorPath": crash_log,
        "ProcessType": "Background",
    }, sort_keys=False)


# -- Windows Task Scheduler ----------------------------------------------------

def windows_task(spec: ServiceSpec, user: str) -> bytes:
    """A Task Scheduler task started at ``user``'s logon, in their session, with
    no time limit (the default stops a task after three days)."""
    # (Imported here: xml.sax.saxutils imports urllib.request, which `podsync
    # status`, reading this module, does not need.)
    from xml.sax.saxutils import escape  # noqa: PLC0415

    command, *args = spec.argv
    arguments = subprocess.list2cmdline(args)
    user = escape(user)
    text = f"""<?xml version="1.0" encoding="UTF-16"?>
<Task version="1.2" xmlns="{TASK_NAMESPACE}">
  <RegistrationInfo>
    <Author>podsync</Author>
    <Description>{escape(spec.description)}; `podsync service uninstall` removes this task.</Description>
    <URI>\\{escape(spec.name)}</URI>
  </RegistrationInfo>
  <Triggers>
    <LogonTrigger>
      <Enabled>true</Enabled>
      <UserId>{user}</UserId>
    </LogonTrigger>
  </Triggers>
  <Principals>
    <Principal id="Member">
      <UserId>{user}</UserId>
      <LogonType>InteractiveToken</LogonType>
      <RunLevel>LeastPrivilege</RunLevel>
    </Principal>
  </Principals>
  <Settings>
    <MultipleInstancesPolicy>IgnoreNew</MultipleInstancesPolicy>
    <DisallowStartIfOnBatteries>false</DisallowStartIfOnBatteries>
    <StopIfGoingOnBatteries>false</StopIfGoingOnBatteries>
    <AllowHardTerminate>true</AllowHardTerminate>
    <StartWhenAvailable>true</StartWhenAvailable>
    <RunOnlyIfNetworkAvailable>false</RunOnlyIfNetworkAvailable>
    <AllowStartOnDemand>true</AllowStartOnDemand>
    <Enabled>true</Enabled>
    <Hidden>false</Hidden>
    <RunOnlyIfIdle>false</RunOnlyIfIdle>
    <WakeToRun>false</WakeToRun>
    <ExecutionTimeLimit>PT0S</ExecutionTimeLimit>
    <Priority>7</Priority>
    <RestartOnFailure>
      <Interval>{TASK_RESTART_INTERVAL}</Interval>
      <Count>{TASK_RESTART_COUNT}</Count>
    </RestartOnFailure>
  </Settings>
  <Actions Context="Member">
    <Exec>
      <Command>{escape(command)}</Command>
      <Arguments>{escape(arguments)}</Arguments>
      <WorkingDirectory>{escape(str(spec.home))}</WorkingDirectory>
    </Exec>
  </Actions>
</Task>
"""
    # Task Scheduler's own exports are UTF-16 with a byte order mark; schtasks
    # reads that everywhere.
    return text.encode("utf-16")
