"""The namespace LAN itself: hosts reach each other, partitions cut them off,
and nothing outlives the test."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator

import pytest

from tests.lan.conftest import Host, Lan, remove_stale_namespaces

pytestmark = pytest.mark.slow

# One UDP datagram each way; a partitioned host never answers.
ECHO = """
import socket, sys
role, addr = sys.argv[1], sys.argv[2]
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
if role == "serve":
    s.bind((addr, 9999))
    print("ready", flush=True)
    while True:
        data, peer = s.recvfrom(100)
        s.sendto(data, peer)
s.settimeout(1.0)
s.sendto(b"ping", (addr, 9999))
try:
    print(s.recvfrom(100)[0].decode())
except TimeoutError:
    print("timeout")
"""


def _namespaces() -> set[str]:
    out = subprocess.run(["ip", "netns", "list"], capture_output=True, text=True, check=True).stdout
    return {line.split()[0] for line in out.splitlines() if line.strip()}


def _echo(client: Host, server: Host) -> str:
    return client.call([sys.executable, "-c", ECHO, "ask", server.ip]).stdout.strip()


@pytest.fixture
def echo_server(lan: Lan) -> Iterator[tuple[Host, Host]]:
    a, b = lan.add_host("a"), lan.add_host("b")
    server = b.run([sys.executable, "-c", ECHO, "serve", b.ip], stdout=subprocess.PIPE, text=True)
    assert server.stdout is not None and server.stdout.readline().strip() == "ready"
    yield a, b


def test_hosts_reach_each_other_until_partitioned(echo_server: tuple[Host, Host]) -> None:
    a, b = echo_server
    assert _echo(a, b) == "ping"
    b.link_down()
    assert _echo(a, b) == "timeout"
    b.link_up()
    assert _echo(a, b) == "ping"


def test_close_stops_processes_and_deletes_namespaces(_netns_session: None) -> None:
    net = Lan()
    host = net.add_host("h")
    proc = host.run(["sleep", "600"])
    assert {net.switch_ns, host.ns} <= _namespaces()
    net.close()
    assert proc.poll() is not None
    assert not {net.switch_ns, host.ns} & _namespaces()


def test_stale_namespaces_of_dead_runs_are_removed(lan: Lan) -> None:
    finished = subprocess.Popen(["true"])
    finished.wait()  # its pid now names a pytest run that no longer exists
    dead_pid = finished.pid
    stale = f"psync-{dead_pid}-0badc0-h"
    subprocess.run(["ip", "netns", "add", stale], check=True)
    sleeper = subprocess.Popen(["ip", "netns", "exec", stale, "sleep", "600"])
    try:
        live = lan.add_host("live")
        removed = remove_stale_namespaces()
        assert stale in removed
        assert sleeper.wait(timeout=10) != 0  # killed
        assert stale not in _namespaces()
        assert live.ns in _namespaces()  # this run's own namespaces stay
    finally:
        if sleeper.poll() is None:
            sleeper.kill()
        subprocess.run(["ip", "netns", "delete", stale], capture_output=True)
