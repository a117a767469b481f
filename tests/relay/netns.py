"""Members in different places, made of Linux network namespaces.

Layout: a *relay site* namespace holds the relay's address (on its loopback
interface) and one veth link to each member's site; each member's site routes
only the relay's address over its link. The relay site does not forward (a new
namespace has IP forwarding off), so members reach the relay and never each
other: two homes on different networks, and a sync server on the internet.

Addresses are in 198.18.0.0/15 (RFC 2544, benchmarking), which no real network
routes and where podsync accepts a plain ws:// relay.
"""

from __future__ import annotations

import os
import secrets
import subprocess
import time
from collections.abc import Sequence
from typing import Any

from tests.lan.conftest import NS_PREFIX, TERMINATE_GRACE, _delete_namespace, _ip

RELAY_IP = "198.18.0.1"


class Site:
    """One place: a namespace, as :class:`tests.lan.conftest.Host` offers it to
    the LAN tests' :class:`~tests.lan.test_lan_pod.Member`."""

    def __init__(self, sites: Sites, name: str, ns: str, ip: str) -> None:
        self.sites = sites
        self.name = name
        self.ns = ns
        self.ip = ip

    def run(self, args: Sequence[str], **popen_kw: Any) -> subprocess.Popen[Any]:
        proc = subprocess.Popen(["ip", "netns", "exec", self.ns, *args], **popen_kw)
        self.sites.processes.append(proc)
        return proc

    def call(self, args: Sequence[str], check: bool = True) -> subprocess.CompletedProcess[str]:
        return subprocess.run(["ip", "netns", "exec", self.ns, *args], check=check,
                              capture_output=True, text=True)

    @property
    def prefix(self) -> list[str]:
        return ["ip", "netns", "exec", self.ns]


class Sites:
    def __init__(self) -> None:
        self.tag = f"{NS_PREFIX}{os.getpid()}-{secrets.token_hex(3)}-"
        self.processes: list[subprocess.Popen[Any]] = []
        self._namespaces: list[str] = []
        try:
            self.relay = Site(self, "relay", self._namespace("relay"), RELAY_IP)
            _ip("-n", self.relay.ns, "addr", "add", f"{RELAY_IP}/32", "dev", "lo")
        except BaseException:
            self.close()
            raise
        self.members: list[Site] = []

    def _namespace(self, name: str) -> str:
        ns = self.tag + name
        _ip("netns", "add", ns)
        self._namespaces.append(ns)
        _ip("-n", ns, "link", "set", "lo", "up")
        return ns

    def add_member(self, name: str) -> Site:
        """A member's place: its own network, with a route to the relay only."""
        index = len(self.members) + 1
        ns = self._namespace(name)
        near, far = f"198.18.{index}.1", f"198.18.{index}.2"
        _ip("-n", self.relay.ns, "link", "add", f"to-{name}", "type", "veth",
            "peer", "name", "eth0", "netns", ns)
        _ip("-n", self.relay.ns, "addr", "add", f"{near}/24", "dev", f"to-{name}")
        _ip("-n", self.relay.ns, "link", "set", f"to-{name}", "up")
        _ip("-n", ns, "addr", "add", f"{far}/24", "dev", "eth0")
        _ip("-n", ns, "link", "set", "eth0", "up")
        _ip("-n", ns, "route", "add", f"{RELAY_IP}/32", "via", near)
        site = Site(self, name, ns, far)
        self.members.append(site)
        return site

    def close(self) -> None:
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
