"""The trust model with every node a real `podsync up` process: members join by
invite through the CLI, one member removes another, and the removed node is
cut off by every other process."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from typing import Any

import pytest

# Guards against a hung test only; nothing here measures time.
START_TIMEOUT_SECONDS = 60
CONVERGE_TIMEOUT_SECONDS = 60
CLI_TIMEOUT_SECONDS = 90


def env() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if not k.startswith("PODSYNC_")}


def cli(home: Path, *args: str) -> subprocess.CompletedProcess[str]:
    result = subprocess.run([sys.executable, "-m", "podsync", "--home", str(home), *args],
                            capture_output=True, text=True, env=env(), timeout=CLI_TIMEOUT_SECONDS)
    assert result.returncode == 0, (args, result.returncode, result.stderr)
    return result


class UpProcess:
    """`podsync up` for one home, its output kept in files beside the home."""

    def __init__(self, home: Path, *extra: str) -> None:
        self.home = home
        self.log = (home.parent / f"{home.name}.out").open("w")
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "podsync", "--home", str(home), "up", "--listen", "127.0.0.1:0",
             "--api", "127.0.0.1:0", "--no-discovery", *extra],
            stdout=self.log, stderr=subprocess.STDOUT, env=env())
        deadline = time.monotonic() + START_TIMEOUT_SECONDS
        while not (home / "node.json").exists():
            assert self.proc.poll() is None, self.output()
            assert time.monotonic() < deadline, self.output()
            time.sleep(0.05)
        info = json.loads((home / "node.json").read_text())
        self.listen: str = info["listen"][0]
        self.api_url: str = info["api_url"]

    def output(self) -> str:
        self.log.flush()
        return (self.home.parent / f"{self.home.name}.out").read_text()

    def status(self) -> dict[str, Any]:
        base, _, query = self.api_url.partition("?")
        with urllib.request.urlopen(f"{base.rstrip('/')}/api/status?{query}", timeout=10) as resp:
            return json.loads(resp.read())

    def linked_to(self, device_id: str) -> bool:
        return any(p["device_id"] == device_id and p.get("connected")
                   for p in self.status()["peers"])

    def stop(self) -> int:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        code = self.proc.wait(timeout=60)
        self.log.close()
        return code


def wait_for(predicate: Any, what: str) -> None:
    deadline = time.monotonic() + CONVERGE_TIMEOUT_SECONDS
    while not predicate():
        assert time.monotonic() < deadline, f"never happened: {what}"
        time.sleep(0.1)


def join(inviter: Path, home: Path, name: str) -> None:
    code = json.loads(cli(inviter, "invite", "--json").stdout)["code"]
    cli(home, "join", code, "--name", name)


@pytest.mark.slow
def test_processes_join_by_invite_and_a_removed_member_is_cut_off(tmp_path: Path) -> None:
    a_home, b_home, c_home = tmp_path / "ada", tmp_path / "bo", tmp_path / "cy"
    cli(a_home, "init", "--name", "Ada")
    procs: list[UpProcess] = []
    try:
        a = UpProcess(a_home)
        procs.append(a)
        join(a_home, b_home, "Bo")
        b = UpProcess(b_home)  # dials A, which admitted it, by itself
        procs.append(b)
        join(a_home, c_home, "Cy")
        c = UpProcess(c_home, "--peer", b.listen)
        procs.append(c)
        ids = {name: p.status()["device_id"] for name, p in (("a", a), ("b", b), ("c", c))}
        wait_for(lambda: c.linked_to(ids["a"]) and c.linked_to(ids["b"]) and a.linked_to(ids["b"]),
                 "C linked to A and B, and A to B")

        cy_member = c.status()["member_id"]
        removed = cli(b_home, "remove", cy_member)  # B, not the founder, removes C
        assert "cannot be recalled" in removed.stdout + removed.stderr
        wait_for(lambda: not a.linked_to(ids["c"]) and not b.linked_to(ids["c"]),
                 "A and B dropped C")
        wait_for(lambda: not any(p.get("connected") for p in c.status()["peers"]), "C has no link")
        # C keeps dialing; each attempt is refused (checked over several retries).
        for _ in range(3):
            time.sleep(1)
            assert not a.linked_to(ids["c"]) and not b.linked_to(ids["c"])
            assert not any(p.get("connected") for p in c.status()["peers"])
        members = json.loads(cli(a_home, "members", "--json").stdout)
        assert {m["name"]: m["status"] for m in members} == {
            "Ada": "active", "Bo": "active", "Cy": "removed"}
    finally:
        codes = [p.stop() for p in procs]
    assert codes == [0] * len(procs), [p.output() for p in procs]
