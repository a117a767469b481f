"""Sleep and wake: the decision (sans IO), and real nodes, one of them stopped
with SIGSTOP past its keepalive while the others write, that catch up without
a restart."""

from __future__ import annotations

import datetime
import json
import os
import signal
import subprocess
import time
from pathlib import Path
from typing import Any

import pytest

from podsync.net.link import HEARTBEAT_SECONDS
from podsync.node.wake import WAKE_GAP_SECONDS, WAKE_TICK_SECONDS, WakeDetector
from tests.node.test_up_cli import podsync, start_up

NET = frozenset({"192.168.1.20", "fe80::1"})


def test_a_late_tick_a_clock_jump_or_new_addresses_count_as_waking() -> None:
    d = WakeDetector(100.0, 1000.0, NET)
    assert d.observe(102.0, 1002.0, NET) is None
    assert d.observe(105.0, 1005.0, NET) is None  # a bit late: a busy loop, not a sleep
    late = d.observe(105.0 + WAKE_TICK_SECONDS + WAKE_GAP_SECONDS + 1, 1020.0, NET)
    assert late is not None and "did not run" in late
    # Suspend: the monotonic clock stood still while the wall clock went on.
    slept = d.observe(116.0 + WAKE_TICK_SECONDS, 4000.0, NET)
    assert slept is not None and "clock jumped" in slept
    assert d.observe(118.0 + WAKE_TICK_SECONDS, 4002.0 + WAKE_TICK_SECONDS, NET) is None
    moved = d.observe(120.0 + WAKE_TICK_SECONDS, 4004.0 + WAKE_TICK_SECONDS, frozenset({"10.0.0.5"}))
    assert moved == "the network addresses changed"


def _status(home: Path) -> dict[str, Any]:
    done = podsync("status", "--json", home=home)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def _wait(predicate: Any, seconds: float, what: str) -> None:
    deadline = time.monotonic() + seconds
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"not within {seconds} s: {what}")
        time.sleep(0.2)


def _linked(home: Path, devices: set[str]) -> bool:
    return devices <= {p["device_id"] for p in _status(home)["peers"] if p["connected"]}


def _titles(home: Path) -> set[str]:
    return {n["title"] for n in json.loads(podsync("need", "list", "--json", home=home).stdout)}


def _when(iso: str) -> float:
    return datetime.datetime.fromisoformat(iso).timestamp()


@pytest.mark.slow
def test_a_node_stopped_past_its_keepalive_catches_up_without_a_restart(tmp_path: Path) -> None:
    homes = {name: tmp_path / name for name in ("ada", "bo", "cy")}
    assert podsync("init", "--name", "Ada", home=homes["ada"]).returncode == 0
    procs: dict[str, subprocess.Popen[str]] = {}
    try:
        procs["ada"], _ = start_up(homes["ada"])
        for name in ("bo", "cy"):
            code = json.loads(podsync("invite", "--json", home=homes["ada"]).stdout)["code"]
            joined = podsync("join", code, "--name", name.capitalize(), home=homes[name])
            assert joined.returncode == 0, joined.stderr
        ada = _status(homes["ada"])
        procs["bo"], _ = start_up(homes["bo"], "--peer", ada["listen"][0])
        bo = _status(homes["bo"])
        procs["cy"], _ = start_up(homes["cy"], "--peer", ada["listen"][0], "--peer", bo["listen"][0])
        cy = _status(homes["cy"])
        ids = {"ada": ada["device_id"], "bo": bo["device_id"], "cy": cy["device_id"]}
        for name, home in homes.items():
            _wait(lambda home=home, name=name: _linked(home, {d for n, d in ids.items() if n != name}),
                  60, f"{name} to link to both others")

        # Cy's computer "sleeps": its node stops dead, longer than the keepalive.
        cy_pid = procs["cy"].pid
        os.kill(cy_pid, signal.SIGSTOP)
        try:
            _wait(lambda: not _linked(homes["ada"], {ids["cy"]}) and not _linked(homes["bo"], {ids["cy"]}),
                  HEARTBEAT_SECONDS * 4, "Ada and Bo to give up on Cy's silent link")
            assert podsync("need", "add", "Water the seedlings", home=homes["ada"]).returncode == 0
            assert podsync("need", "add", "Fix the gate", home=homes["bo"]).returncode == 0
            # Past the point where the wake watcher must call it a sleep.
            time.sleep(WAKE_TICK_SECONDS + WAKE_GAP_SECONDS)
        finally:
            resumed = time.time()
            os.kill(cy_pid, signal.SIGCONT)

        _wait(lambda: {"Water the seedlings", "Fix the gate"} <= _titles(homes["cy"]), 60,
              "Cy's node to catch up with what Ada and Bo wrote")
        _wait(lambda: _linked(homes["cy"], {ids["ada"], ids["bo"]}), 60, "Cy to link to both again")
        assert procs["cy"].poll() is None and _status(homes["cy"])["running"]
        assert json.loads((homes["cy"] / "node.json").read_text())["pid"] == cy_pid  # no restart

        status = _status(homes["cy"])
        assert status["last_wake"] is not None and "did not run" in status["last_wake"]["reason"]
        assert _when(status["last_wake"]["at"]) >= resumed - 1
        members = {p["device_id"]: p["member_id"] for p in status["peers"]}
        for name in ("ada", "bo"):
            synced = status["last_synced"][members[ids[name]]]
            assert _when(synced) >= resumed - 1, (name, synced, resumed)
            entry = next(p for p in status["peers"] if p["device_id"] == ids[name])
            assert entry["last_synced"] is not None and _when(entry["last_synced"]) >= resumed - 1
    finally:
        for proc in procs.values():
            if proc.poll() is None:
                os.kill(proc.pid, signal.SIGCONT)
                proc.send_signal(signal.SIGTERM)
        for proc in procs.values():
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                proc.kill()
    # After the nodes stopped, the times are still there for `podsync status`.
    offline = _status(homes["cy"])
    assert not offline["running"] and len(offline["last_synced"]) == 2
