"""`podsync up` as a real process: it listens, reports itself, and stops cleanly."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest


def podsync(*args: str, home: Path, **kw) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "podsync", "--home", str(home), *args],
                          capture_output=True, text=True, timeout=60, **kw)


def start_up(home: Path, *extra: str) -> tuple[subprocess.Popen[str], str]:
    proc = subprocess.Popen(
        [sys.executable, "-m", "podsync", "--home", str(home), "up",
         "--listen", "127.0.0.1:0", "--api", "127.0.0.1:0", "--no-discovery", *extra],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    assert proc.stdout is not None
    deadline = time.monotonic() + 30
    for line in proc.stdout:
        if "browser" in line:
            return proc, line.strip().rsplit(" ", 1)[-1]
        if time.monotonic() > deadline:
            break
    proc.kill()
    raise AssertionError(f"podsync up did not print its URL: {proc.stderr.read() if proc.stderr else ''}")


@pytest.mark.slow
def test_up_prints_the_ui_url_reports_running_and_stops_on_sigterm(tmp_path: Path) -> None:
    home = tmp_path / "home"
    assert podsync("init", "--name", "Ada", home=home).returncode == 0
    proc, url = start_up(home)
    try:
        assert url.startswith("http://127.0.0.1:") and "token=" in url
        status = podsync("status", "--json", home=home)
        assert status.returncode == 0, status.stderr
        doc = json.loads(status.stdout)
        assert doc["running"] is True
        assert doc["api_url"] == url
        assert doc["local_ws_url"].startswith("ws://127.0.0.1:") and "token=" in doc["local_ws_url"]
        assert doc["listen"] and doc["listen"][0].startswith("127.0.0.1:")
    finally:
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=30) == 0
    assert not (home / "node.json").exists()
    after = json.loads(podsync("status", "--json", home=home).stdout)
    assert after["running"] is False and after["api_url"] is None


@pytest.mark.slow
def test_a_member_joins_by_invite_and_the_two_processes_link(tmp_path: Path) -> None:
    a_home, b_home = tmp_path / "a", tmp_path / "b"
    assert podsync("init", "--name", "Ada", home=a_home).returncode == 0
    a, _ = start_up(a_home)
    procs = [a]
    try:
        invite = podsync("invite", "--json", home=a_home)
        assert invite.returncode == 0, invite.stderr
        code = json.loads(invite.stdout)["code"]
        joined = podsync("join", code, "--name", "Bo", home=b_home)
        assert joined.returncode == 0, joined.stderr
        members = json.loads(podsync("members", "--json", home=b_home).stdout)
        assert sorted(m["name"] for m in members) == ["Ada", "Bo"]
        a_listen = json.loads(podsync("status", "--json", home=a_home).stdout)["listen"][0]
        b, _ = start_up(b_home, "--peer", a_listen)
        procs.append(b)
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:
            status = json.loads(podsync("status", "--json", home=b_home).stdout)
            connected = [p for p in status["peers"] if p["connected"]]
            if connected and len(status["documents"]) >= 6:
                break
            time.sleep(0.1)
        else:
            raise AssertionError(f"B never linked to A and received the pod: {status}")
        [peer] = connected
        assert peer["address"] == a_listen and peer["found_by"] == "manual"
        a_status = json.loads(podsync("status", "--json", home=a_home).stdout)
        assert peer["device_id"] == a_status["device_id"]
        assert peer["member_id"] == a_status["member_id"]
    finally:
        for proc in procs:
            proc.send_signal(signal.SIGTERM)
        for proc in procs:
            assert proc.wait(timeout=30) == 0
