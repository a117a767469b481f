"""mDNS discovery between real processes on a namespace LAN (real multicast)."""

from __future__ import annotations

import json
import secrets
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from tests.lan.conftest import Host, Lan

pytestmark = pytest.mark.slow

PROBE = Path(__file__).with_name("discovery_probe.py")
# A deadline for things that take a second or two, not a performance claim:
# it only bounds how long a broken build makes the test hang.
DEADLINE = 20.0
# Short, so that the tests that change the network do not wait for the
# production rescan interval (30 s).
RESCAN = 0.5


class Probe:
    """A discovery_probe.py process on one host, and the events it printed."""

    def __init__(self, host: Host, device_id: str, secret: bytes, port: int, log_dir: Path) -> None:
        self.host = host
        self.device_id = device_id
        self.port = port
        self.stderr_path = log_dir / f"{host.name}.stderr"
        self.events: list[dict[str, Any]] = []
        self._cond = threading.Condition()
        self._eof = False
        args = [sys.executable, str(PROBE), "--device-id", device_id, "--pod-secret", secret.hex(),
                "--port", str(port), "--rescan", str(RESCAN)]
        with self.stderr_path.open("wb") as stderr:
            self.proc = host.run(args, stdout=subprocess.PIPE, stderr=stderr, text=True)
        threading.Thread(target=self._read, daemon=True).start()
        self.wait_for(lambda e: e["event"] == "ready")

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            with self._cond:
                self.events.append(json.loads(line))
                self._cond.notify_all()
        with self._cond:
            self._eof = True
            self._cond.notify_all()

    def mark(self) -> int:
        """An index into ``events``: wait_for(since=mark) looks only at later events."""
        with self._cond:
            return len(self.events)

    def wait_for(self, pred: Callable[[dict[str, Any]], bool], since: int = 0) -> dict[str, Any]:
        deadline = time.monotonic() + DEADLINE
        with self._cond:
            while True:
                for event in self.events[since:]:
                    if pred(event):
                        return event
                left = deadline - time.monotonic()
                if left <= 0 or self._eof:
                    tail = self.stderr_path.read_text(errors="replace")[-3000:]
                    raise AssertionError(
                        f"{self.host.name}: no matching event; saw {self.events}\nstderr tail:\n{tail}"
                    )
                self._cond.wait(left)

    def wait_found(self, other: Probe, since: int = 0) -> dict[str, Any]:
        return self.wait_for(lambda e: e["event"] == "found" and e["device_id"] == other.device_id, since)

    def found_ids(self) -> set[str]:
        with self._cond:
            return {e["device_id"] for e in self.events if e["event"] == "found"}

    def foreign(self) -> set[str]:
        with self._cond:
            return {e["instance"] for e in self.events if e["event"] == "foreign"}


@pytest.fixture
def start(lan: Lan, tmp_path: Path) -> Callable[..., Probe]:
    pod_secret = secrets.token_bytes(32)

    def _start(host: Host, secret: bytes | None = None) -> Probe:
        device_id = f"{host.name}-{secrets.token_hex(8)}"
        return Probe(host, device_id, secret or pod_secret, 7000 + len(lan.processes), tmp_path)

    return _start


def test_pod_members_find_each_other_and_ignore_other_pods(lan: Lan, start: Callable[..., Probe]) -> None:
    hosts = [lan.add_host(f"h{i}") for i in (1, 2, 3)]
    stranger_host = lan.add_host("x")
    members = [start(h) for h in hosts]
    stranger = start(stranger_host, secret=secrets.token_bytes(32))

    for probe in members:
        for other in members:
            if other is probe:
                continue
            # The first report may come before the IPv6 records: wait for both.
            ll = other.host.link_local6
            event = probe.wait_for(
                lambda e, o=other, ll=ll: e["event"] == "found" and e["device_id"] == o.device_id
                and any(a.startswith(f"[{ll}%") for a in e["addresses"])
            )
            assert event["addresses"][0] == f"{other.host.ip}:{other.port}"
            assert event["via"] == "mdns"
        probe.wait_for(lambda e: e["event"] == "foreign" and e["instance"].startswith(stranger.device_id))
        stranger.wait_for(
            lambda e, p=probe: e["event"] == "foreign" and e["instance"].startswith(p.device_id)
        )

    for probe in members:
        assert probe.found_ids() == {m.device_id for m in members} - {probe.device_id}
    assert stranger.found_ids() == set()
    assert stranger.foreign() == {f"{m.device_id}._podsync._tcp.local." for m in members}


def test_stop_says_goodbye(lan: Lan, start: Callable[..., Probe]) -> None:
    hosts = [lan.add_host(n) for n in ("a", "b", "c")]
    a, b, c = (start(h) for h in hosts)
    for probe, other in [(a, c), (b, c), (c, a)]:
        probe.wait_found(other)

    c.proc.terminate()
    c.wait_for(lambda e: e["event"] == "stopped")
    assert c.proc.wait(timeout=DEADLINE) == 0
    for probe in (a, b):
        probe.wait_for(lambda e: e["event"] == "lost" and e["device_id"] == c.device_id)
    assert not any(e["event"] == "lost" and e["device_id"] != c.device_id for e in a.events + b.events)


def test_partitioned_host_rediscovers_after_link_returns(lan: Lan, start: Callable[..., Probe]) -> None:
    hosts = [lan.add_host("a"), lan.add_host("b")]
    a, b = start(hosts[0]), start(hosts[1])
    a.wait_found(b)
    b.wait_found(a)

    a.host.link_down()
    # A newcomer arrives while a is cut off: b sees it, a cannot.
    c = start(lan.add_host("c"))
    c.wait_found(b)
    b.wait_found(c)
    assert a.device_id not in c.found_ids()
    assert c.device_id not in a.found_ids()

    since_a = a.mark()
    a.host.link_up()
    # Only a rescan notices the link came back (its IPv6 address returns) and
    # restarts mDNS, which announces a and asks again who is there.
    a.wait_found(c, since_a)
    a.wait_found(b, since_a)
    c.wait_found(a)


def test_new_address_is_announced_without_goodbye(lan: Lan, start: Callable[..., Probe]) -> None:
    hosts = [lan.add_host("a"), lan.add_host("b")]
    a, b = start(hosts[0]), start(hosts[1])
    a.wait_found(b)
    b.wait_found(a)

    since_a, since_b = a.mark(), b.mark()
    a.host.set_ip("10.77.0.99")  # a new DHCP lease
    b.wait_for(
        lambda e: e["event"] == "found" and e["device_id"] == a.device_id
        and f"10.77.0.99:{a.port}" in e["addresses"],
        since_b,
    )
    a.wait_found(b, since_a)
    # a restarted mDNS for its new address without saying goodbye (the new
    # announcement replaces its records), so b never thought it gone.
    assert not any(e["event"] == "lost" for e in b.events[since_b:])


def test_host_that_joins_the_network_later_is_found(lan: Lan, start: Callable[..., Probe]) -> None:
    a = start(lan.add_host("a"))
    late_host = lan.add_host("late", connected=False)
    late = start(late_host)  # no address yet: nothing to advertise on
    b = start(lan.add_host("b"))
    a.wait_found(b)
    assert late.device_id not in a.found_ids()

    late_host.connect()
    late.wait_found(a)
    late.wait_found(b)
    a.wait_found(late)
    event = b.wait_found(late)
    assert f"{late_host.ip}:{late.port}" in event["addresses"]
