"""A private systemd user manager, for starting a real unit in a test.

Run as root inside a fresh mount namespace (``unshare -m --propagation private
python user_manager.py RUNTIME_DIR``). It makes the namespace look booted with
systemd (a tmpfs over /run/systemd, seen by nothing outside), moves itself into
a cgroup of its own so the manager organises only that subtree, starts
``systemd --user`` with ``XDG_RUNTIME_DIR=RUNTIME_DIR``, prints ``ready`` (or
``unavailable: why``) and waits. When its stdin closes it stops the manager,
which stops every unit it started, and removes its cgroups. Commands reach the
manager with ``nsenter --target PID --mount`` and the same environment.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

CGROUP_ROOT = Path("/sys/fs/cgroup")
SYSTEMD_BINARIES = ("/usr/lib/systemd/systemd", "/lib/systemd/systemd")
READY_TIMEOUT = 30.0
STOP_TIMEOUT = 30.0


def _hierarchies() -> list[Path]:
    if (CGROUP_ROOT / "cgroup.procs").exists():  # cgroup v2 only
        return [CGROUP_ROOT]
    # cgroup v1 (or hybrid): every hierarchy but cpuset, whose new groups have
    # no CPUs until given some, so nothing can be moved into them.
    return [d for d in sorted(CGROUP_ROOT.iterdir())
            if d.is_dir() and not d.is_symlink() and d.name != "cpuset" and (d / "cgroup.procs").exists()]


def _enter_own_cgroup(name: str) -> list[Path]:
    made = []
    for hierarchy in _hierarchies():
        group = hierarchy / name
        group.mkdir(exist_ok=True)
        made.append(group)
        (group / "cgroup.procs").write_text(str(os.getpid()))
    return made


def _remove_cgroups(groups: list[Path]) -> None:
    for group in groups:
        (group.parent / "cgroup.procs").write_text(str(os.getpid()))
        for path in sorted((p for p in group.rglob("*") if p.is_dir()), key=lambda p: -len(p.parts)):
            try:
                path.rmdir()
            except OSError:
                pass
        try:
            group.rmdir()
        except OSError:
            pass


def _manager_answers(env: dict[str, str]) -> bool:
    done = subprocess.run(["systemctl", "--user", "is-system-running"], capture_output=True, text=True,
                          env=env, timeout=10)
    return done.stdout.strip() in ("running", "degraded")


def main() -> int:
    runtime = Path(sys.argv[1])
    binary = next((b for b in SYSTEMD_BINARIES if Path(b).exists()), None)
    if binary is None:
        print("unavailable: systemd is not installed", flush=True)
        return 0
    env = {**os.environ, "XDG_RUNTIME_DIR": str(runtime)}
    groups = _enter_own_cgroup(f"podsync-test-{os.getpid()}")
    manager = None
    try:
        subprocess.run(["mount", "-t", "tmpfs", "tmpfs", "/run/systemd"], check=True)
        Path("/run/systemd/system").mkdir()
        with (runtime / "manager.log").open("wb") as log:
            manager = subprocess.Popen([binary, "--user"], env=env, stdin=subprocess.DEVNULL,
                                       stdout=log, stderr=log)
        deadline = time.monotonic() + READY_TIMEOUT
        while not _manager_answers(env):
            if manager.poll() is not None or time.monotonic() > deadline:
                tail = (runtime / "manager.log").read_text(errors="replace").strip()[-300:]
                print(f"unavailable: systemd --user did not come up ({tail or 'no output'})", flush=True)
                return 0
            time.sleep(0.1)
        print("ready", flush=True)
        sys.stdin.read()
        return 0
    finally:
        if manager is not None and manager.poll() is None:
            manager.terminate()
            try:
                manager.wait(STOP_TIMEOUT)
            except subprocess.TimeoutExpired:
                manager.kill()
                manager.wait()
        _remove_cgroups(groups)


if __name__ == "__main__":
    sys.exit(main())
