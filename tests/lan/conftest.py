"""A throwaway LAN made of Linux network namespaces, for real-multicast tests.

Layout: one "switch" namespace holds a bridge; every host is its own namespace
whose ``eth0`` is one end of a veth pair, the other end being a bridge port in
the switch namespace. Nothing is created in the caller's network namespace, so
the machine's own network is never touched.

Namespace names are ``psync-<pid>-<rand>-<role>``: the pid of the pytest process
that made them lets a later run delete what a crashed run left behind without
touching the namespaces of another run that is still alive.
"""

from __future__ import annotations

import contextlib
import os
import re
import secrets
import shutil
import signal
import subprocess
import time
from collections.abc import Iterator, Sequence
from typing import Any

import pytest

NS_PREFIX = "psync-"
SUBNET = "10.77.0"
# Hosts get 10.77.0.11, .12, ...: a private range that only exists inside our
# own namespaces, so it cannot clash with the machine's networks.
FIRST_HOST_OCTET = 11
# Duplicate address detection on a fresh veth takes about a second; waiting for
# it before starting processes lets them bind the IPv6 link-local address.
DAD_TIMEOUT = 10.0
# A SIGTERMed process gets this long to shut down cleanly before SIGKILL.
TERMINATE_GRACE = 5.0

_STALE_RE = re.compile(rf"^{NS_PREFIX}(\d+)-[0-9a-f]+-")


def _ip(*args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    done = subprocess.run(["ip", *args], capture_output=True, text=True)
    if check and done.returncode != 0:
        raise RuntimeError(f"`ip {' '.join(args)}` failed: {done.stderr.strip()}")
    return done


def _ns_pids(ns: str) -> list[int]:
    out = _ip("netns", "pids", ns, check=False).stdout
    return [int(p) for p in out.split()]


def _delete_namespace(ns: str) -> None:
    """Kill what still runs inside ``ns`` (processes this fixture started, or
    their children) and delete it; deleting the namespace removes its veths."""
    for pid in _ns_pids(ns):
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)
    _ip("netns", "delete", ns, check=False)


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def remove_stale_namespaces() -> list[str]:
    """Delete namespaces left by runs whose pytest process no longer exists."""
    listing = _ip("netns", "list", check=False).stdout
    removed = []
    for line in listing.splitlines():
        ns = line.split()[0] if line.split() else ""
        m = _STALE_RE.match(ns)
        if m and not _pid_alive(int(m.group(1))):
            _delete_namespace(ns)
            removed.append(ns)
    return removed


class Host:
    """One machine on the LAN: a namespace whose ``eth0`` plugs into the switch."""

    def __init__(self, lan: Lan, name: str, ns: str, ip: str) -> None:
        self.lan = lan
        self.name = name
        self.ns = ns
        self.ip = ip
        self.iface = "eth0"
        self._dad_pending = False

    def __repr__(self) -> str:
        return f"Host({self.name!r}, ns={self.ns!r}, ip={self.ip!r})"

    def run(self, args: Sequence[str], **popen_kw: Any) -> subprocess.Popen[Any]:
        """Start ``args`` inside this host's namespace; the LAN's finalizer stops it."""
        if self._dad_pending:
            self._wait_for_dad()
            self._dad_pending = False
        proc = subprocess.Popen(["ip", "netns", "exec", self.ns, *args], **popen_kw)
        self.lan.processes.append(proc)
        return proc

    def call(self, args: Sequence[str], check: bool = True) -> subprocess.CompletedProcess[str]:
        """Run ``args`` inside the namespace to completion and return its output."""
        return subprocess.run(
            ["ip", "netns", "exec", self.ns, *args], check=check, capture_output=True, text=True
        )

    def connect(self) -> None:
        """Join the LAN: address on ``eth0``, link up (what associating with
        Wi-Fi and getting a DHCP lease does for a laptop)."""
        _ip("-n", self.ns, "addr", "add", f"{self.ip}/24", "dev", self.iface)
        self.link_up()
        self._dad_pending = True

    def set_ip(self, ip: str) -> None:
        """Swap this host's IPv4 address for ``ip`` (a new DHCP lease)."""
        # Delete first: deleting a primary address also deletes the secondary
        # ones of its subnet. Losing its last address flushed the interface's
        # routes, hence _add_routes().
        _ip("-n", self.ns, "addr", "del", f"{self.ip}/24", "dev", self.iface)
        _ip("-n", self.ns, "addr", "add", f"{ip}/24", "dev", self.iface)
        self._add_routes()
        self.ip = ip

    def link_down(self) -> None:
        """Partition this host: its ``eth0`` goes down (its IPv4 address stays,
        the kernel drops its IPv6 addresses until the link returns)."""
        _ip("-n", self.ns, "link", "set", "dev", self.iface, "down")

    def link_up(self) -> None:
        """End the partition (the IPv6 link-local address returns once the
        kernel's duplicate address detection is done, about a second)."""
        _ip("-n", self.ns, "link", "set", "dev", self.iface, "multicast", "on", "up")
        # Admin-down flushed the routes through eth0.
        self._add_routes()

    def _add_routes(self) -> None:
        # mDNS sends to 224.0.0.251, which needs a route out of the interface
        # when nothing else (a default route) provides one.
        _ip("-n", self.ns, "route", "replace", "224.0.0.0/4", "dev", self.iface)

    @property
    def link_local6(self) -> str | None:
        """This host's IPv6 link-local address on ``eth0`` (no scope), if any."""
        out = _ip("-n", self.ns, "-6", "-o", "addr", "show", "dev", self.iface, "scope", "link").stdout
        m = re.search(r"inet6 (fe80::[0-9a-f:]+)/", out)
        return m.group(1) if m else None

    def _wait_for_dad(self) -> None:
        deadline = time.monotonic() + DAD_TIMEOUT
        while time.monotonic() < deadline:
            out = _ip("-n", self.ns, "-6", "addr", "show", "dev", self.iface, "tentative").stdout
            if not out.strip() and self.link_local6:
                return
            time.sleep(0.05)
        raise RuntimeError(f"{self.name}: IPv6 link-local address still tentative after {DAD_TIMEOUT} s")


class Lan:
    """A bridge in its own namespace and the hosts plugged into it."""

    def __init__(self) -> None:
        self.tag = f"{NS_PREFIX}{os.getpid()}-{secrets.token_hex(3)}-"
        self.switch_ns = self.tag + "sw"
        self.hosts: list[Host] = []
        self.processes: list[subprocess.Popen[Any]] = []
        self._namespaces: list[str] = []
        try:
            self._add_namespace(self.switch_ns)
            # Snooping off: with no IGMP/MLD querier on this LAN a snooping
            # bridge could stop flooding ff02::fb; a home access point floods
            # mDNS too.
            _ip("-n", self.switch_ns, "link", "add", "br0", "type", "bridge", "mcast_snooping", "0")
            _ip("-n", self.switch_ns, "link", "set", "br0", "up")
        except BaseException:
            self.close()
            raise

    def _add_namespace(self, ns: str) -> None:
        _ip("netns", "add", ns)
        self._namespaces.append(ns)
        _ip("-n", ns, "link", "set", "lo", "up")

    def add_host(self, name: str, connected: bool = True) -> Host:
        """Plug a new host into the switch. ``connected=False`` leaves its
        ``eth0`` down with no address until ``host.connect()``."""
        if not re.fullmatch(r"[a-z0-9]{1,8}", name) or any(h.name == name for h in self.hosts):
            raise ValueError(f"bad or duplicate host name {name!r}")
        ns = self.tag + name
        self._add_namespace(ns)
        port_name = f"p-{name}"
        _ip("-n", self.switch_ns, "link", "add", port_name, "type", "veth",
            "peer", "name", "eth0", "netns", ns)
        _ip("-n", self.switch_ns, "link", "set", port_name, "master", "br0", "up")
        host = Host(self, name, ns, f"{SUBNET}.{FIRST_HOST_OCTET + len(self.hosts)}")
        self.hosts.append(host)
        if connected:
            host.connect()
        return host

    def close(self) -> None:
        """Stop every process started on the LAN, then delete every namespace."""
        for proc in self.processes:
            if proc.poll() is None:
                proc.terminate()
        deadline = time.monotonic() + TERMINATE_GRACE
        for proc in self.processes:
            try:
                proc.wait(timeout=max(0.0, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        for ns in reversed(self._namespaces):
            _delete_namespace(ns)


def _netns_unavailable_reason() -> str | None:
    if os.geteuid() != 0:
        return "needs root for network namespaces"
    if shutil.which("ip") is None:
        return "needs the `ip` tool (iproute2) for network namespaces"
    return None


@pytest.fixture(scope="session")
def _netns_session() -> Iterator[None]:
    reason = _netns_unavailable_reason()
    if reason:
        pytest.skip(reason)
    remove_stale_namespaces()
    yield


@pytest.fixture
def lan(_netns_session: None) -> Iterator[Lan]:
    """A fresh, empty LAN; everything on it is torn down even if the test fails."""
    net = Lan()
    try:
        yield net
    finally:
        net.close()
