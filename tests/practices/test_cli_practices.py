"""The practice commands through the real ``podsync`` entry point, with and without a node.

CONTRACT.md: ``need add TITLE [--detail] [--json]`` prints ``{"id"}``; ``need list
--json`` prints ``[{"id", "title", "state", "holders", ...}]``; every command works
whether or not ``podsync up`` runs for the home.
"""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from typing import Any

import pytest

#: A cold start imports automerge, cryptography and rich; generous for a busy CI box.
COMMAND_TIMEOUT_S = 60


def podsync(home: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "podsync", "--home", str(home), *args],
                          capture_output=True, text=True, timeout=COMMAND_TIMEOUT_S)


def ok_json(home: Path, *args: str) -> Any:
    result = podsync(home, *args, "--json")
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)  # exactly one JSON document, nothing else on stdout


def assert_fails(result: subprocess.CompletedProcess[str], code: int, needle: str) -> None:
    assert result.returncode == code, (result.returncode, result.stdout, result.stderr)
    assert result.stdout == "" and "Traceback" not in result.stderr
    assert needle in result.stderr, result.stderr


def test_need_add_and_list_on_the_store_with_the_contract_shapes(tmp_path: Path) -> None:
    home = tmp_path / "ada"
    assert podsync(home, "init", "--name", "Ada").returncode == 0
    added = ok_json(home, "need", "add", "Fix the gate", "--detail", "north side")
    assert list(added) == ["id"] and isinstance(added["id"], str)
    second = ok_json(home, "need", "add", "Water the plants")

    board = ok_json(home, "need", "list")
    assert sorted(n["id"] for n in board) == sorted([added["id"], second["id"]])
    [first] = [n for n in board if n["id"] == added["id"]]
    assert {"id", "title", "state", "holders"} <= set(first)
    assert (first["title"], first["state"], first["holders"], first["detail"]) == \
        ("Fix the gate", "open", [], "north side")

    took = podsync(home, "need", "take", added["id"], "--point-of-contact")
    assert took.returncode == 0 and "Fix the gate" in took.stdout
    [me] = ok_json(home, "members")
    [held] = [n for n in ok_json(home, "need", "list") if n["id"] == added["id"]]
    assert held["state"] == "held" and held["holders"][0]["member"] == me["member_id"]
    assert held["point_of_contact"] == me["member_id"]
    human = podsync(home, "need", "list")
    assert human.returncode == 0 and "Fix the gate" in human.stdout and "Ada" in human.stdout

    assert_fails(podsync(home, "need", "take", "no-such-need"), 1, "no need no-such-need")
    assert_fails(podsync(home, "need", "done", second["id"]), 1, "open")
    assert_fails(podsync(home, "need", "add", " "), 2, "title")
    assert_fails(podsync(home, "need", "add", "x", "--sensing", "loud"), 2, "sensing")
    assert_fails(podsync(home, "need", "add", "bytes the shell cannot decode: \udcff"), 2, "podsync:")
    assert_fails(podsync(home, "agreement", "propose", "x", "--party", "Nobody"), 1, "Nobody")
    assert podsync(home, "need", "list", "--bogus").returncode == 2


def test_the_other_practices_work_offline_from_the_command_line(tmp_path: Path) -> None:
    home = tmp_path / "ada"
    assert podsync(home, "init", "--name", "Ada").returncode == 0
    agreement = ok_json(home, "agreement", "propose", "Cook on Mondays", "--party", "ada",
                        "--principle", "care for each other")
    assert podsync(home, "agreement", "affirm", agreement["id"], "--note", "fits").returncode == 0
    [listed] = ok_json(home, "agreement", "list")
    assert listed["state"] == "active" and listed["anchors"][0]["ref"] == "care for each other"
    decision = ok_json(home, "decision", "start", "Buy a van", "--proposal", "A shared van",
                       "--deadline", "3d")
    [d] = ok_json(home, "decision", "list")
    assert d["id"] == decision["id"] and d["state"] == "gathering_advice"
    assert podsync(home, "capacity", "set", "stretched", "--note", "exams").returncode == 0
    [row] = ok_json(home, "capacity", "list")
    assert row["current"]["level"] == "stretched" and row["name"] == "Ada"
    team = ok_json(home, "team", "add", "Kitchen", "--member", "Ada")
    assert ok_json(home, "team", "list")[0]["id"] == team["id"]
    assert_fails(podsync(home, "feedback", "give", "Ada", "hello"), 2, "yourself")
    exported = tmp_path / "pod.md"
    assert podsync(home, "export", "--format", "markdown", "--output", str(exported)).returncode == 0
    text = exported.read_text()
    assert "Cook on Mondays" in text and "Buy a van" in text and "Kitchen" in text
    printed = podsync(home, "export", "--format", "json")
    assert printed.returncode == 0, printed.stderr
    data = json.loads(printed.stdout)
    assert data["agreements"][0]["id"] == agreement["id"]


def test_the_new_consent_rules_from_the_command_line(tmp_path: Path) -> None:
    home = tmp_path / "ada"
    assert podsync(home, "init", "--name", "Ada").returncode == 0
    agreement = ok_json(home, "agreement", "propose", "Sweep on Fridays", "--party", "Ada",
                        "--principle", "we share the care work", "--review-on", "2099-01-01")
    assert podsync(home, "agreement", "decline", agreement["id"], "--note", "not now").returncode == 0
    [declined] = ok_json(home, "agreement", "list")
    assert (declined["state"], declined["parties"][0]["declined"]) == ("declined", "not now")
    assert_fails(podsync(home, "agreement", "strain", agreement["id"], "--note", "x"), 1,
                 "declined")
    assert podsync(home, "agreement", "affirm", agreement["id"]).returncode == 0
    # A revision giving only the text keeps the parties, the anchors and the review date.
    revised = podsync(home, "agreement", "revise", agreement["id"], "--what", "Sweep on Saturdays")
    assert revised.returncode == 0 and "--version 2" in revised.stdout, revised.stderr
    [active] = ok_json(home, "agreement", "list")
    rev = active["revision"]
    assert (active["state"], active["what"], rev["what"], rev["review_on"], rev["anchors"]) == \
        ("active", "Sweep on Fridays", "Sweep on Saturdays", "2099-01-01",
         [{"kind": "principle", "ref": "we share the care work"}])
    assert [x["reason"] for x in ok_json(home, "agreement", "awaiting")] == ["affirm"]
    assert podsync(home, "agreement", "affirm", agreement["id"], "--version", "2").returncode == 0
    [now] = ok_json(home, "agreement", "list")
    assert (now["state"], now["version"], now["what"], now["revision"]) == \
        ("active", 2, "Sweep on Saturdays", None)
    assert podsync(home, "agreement", "withdraw", agreement["id"]).returncode == 0
    assert ok_json(home, "agreement", "list")[0]["state"] == "retired"  # nobody left

    decision = ok_json(home, "decision", "start", "Paint my door", "--proposal", "Blue",
                       "--deadline", "1m")
    assert_fails(podsync(home, "decision", "decide", decision["id"], "Blue"), 1,
                 "why nobody else is affected")
    decided = podsync(home, "decision", "decide", decision["id"], "Blue", "--no-one-affected",
                      "It is my own door")
    assert decided.returncode == 0 and "nobody else is affected" in decided.stdout
    [d] = ok_json(home, "decision", "list")
    assert d["basis"] == {"kind": "no_one_affected", "advice": [], "reason": "It is my own door"}

    need = ok_json(home, "need", "add", "Water the plants")
    assert podsync(home, "need", "take", need["id"]).returncode == 0
    checked = ok_json(home, "capacity", "set", "stretched")
    assert [(x["kind"], x["question"]) for x in checked["review"]] == \
        [("need", "Still within my capacity?")]
    human = podsync(home, "capacity", "set", "depleted")
    assert "still within your capacity?" in human.stdout and need["id"] in human.stdout
    assert ok_json(home, "capacity", "review")[0]["id"] == need["id"]
    assert ok_json(home, "feedback", "summary") == {"total": 0, "routes": [
        {"route": r, "count": 0, "median_days": None, "longest_days": None}
        for r in ("team", "void", "leader", "dissolved")]}
    assert ok_json(home, "steward", "list") == []
    assert_fails(podsync(home, "steward", "propose", "Ada", "Ada"), 2, "own steward")
    assert_fails(podsync(home, "mobilizing", "ask", "Ada"), 1, "someone else")


def _start_up(home: Path) -> tuple[subprocess.Popen[str], str]:
    proc = subprocess.Popen(
        [sys.executable, "-m", "podsync", "--home", str(home), "up", "--listen", "127.0.0.1:0",
         "--api", "127.0.0.1:0", "--no-discovery"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    assert proc.stdout is not None
    for line in proc.stdout:
        if "browser" in line:
            return proc, line.strip().rsplit(" ", 1)[-1]
    proc.kill()
    raise AssertionError(f"podsync up did not start: {proc.stderr.read() if proc.stderr else ''}")


def _api(url: str, name: str, args: dict[str, Any]) -> Any:
    base, token = url.split("/?token=")
    request = urllib.request.Request(f"{base}/api/ops/{name}", data=json.dumps(args).encode(),
                                     headers={"Authorization": f"Bearer {token}",
                                              "Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=COMMAND_TIMEOUT_S) as resp:
        return json.loads(resp.read())


@pytest.mark.slow
def test_need_add_and_list_go_through_a_running_node(tmp_path: Path) -> None:
    home, bo_home = tmp_path / "ada", tmp_path / "bo"
    assert podsync(home, "init", "--name", "Ada").returncode == 0
    offline = ok_json(home, "need", "add", "Added before the node ran")
    proc, url = _start_up(home)
    try:
        online = ok_json(home, "need", "add", "Added while the node runs", "--detail", "via the API")
        # The running node's own live board has it: the command went through its API.
        live = _api(url, "need.list", {})
        assert sorted(n["id"] for n in live) == sorted([offline["id"], online["id"]])
        board = ok_json(home, "need", "list")
        assert board == _api(url, "need.list", {})
        [added] = [n for n in board if n["id"] == online["id"]]
        assert added["title"] == "Added while the node runs" and added["state"] == "open"

        code = ok_json(home, "invite")["code"]
        joined = podsync(bo_home, "join", code, "--name", "Bo")
        assert joined.returncode == 0, joined.stderr
        deadline = time.monotonic() + 20
        while len(ok_json(home, "members")) < 2 and time.monotonic() < deadline:
            time.sleep(0.1)
        proposed = ok_json(home, "agreement", "propose", "Bins out on Sunday", "--party", "Ada",
                           "--party", "bo")
        [agreement] = [a for a in _api(url, "agreement.list", {}) if a["id"] == proposed["id"]]
        members = {m["name"]: m["member_id"] for m in ok_json(home, "members")}
        assert [p["member"] for p in agreement["parties"]] == [members["Ada"], members["Bo"]]
        # Naming a steward is a proposal: nobody listens until Bo affirms and Ada consents.
        assert ok_json(home, "feedback", "stewards", "Ada", "--add", "Bo") == []
        [nomination] = ok_json(home, "steward", "list")
        assert (nomination["steward"], nomination["state"]) == (members["Bo"], "proposed")
        assert_fails(podsync(home, "steward", "affirm", nomination["id"]), 1, "steward named")
        consented = podsync(home, "steward", "consent", nomination["id"])
        assert consented.returncode == 0 and "waiting for Bo" in consented.stdout
        ask = ok_json(home, "mobilizing", "ask", "Bo", "--question", "Do you rest?")
        [listed] = ok_json(home, "mobilizing", "list")
        assert (listed["id"], listed["about"], listed["state"]) == (ask["id"], "pattern", "open")
        allies = ok_json(home, "allies", "propose", "Bo", "--every", "7", "--focus", "reading")
        assert ok_json(home, "allies", "list")[0]["id"] == allies["id"]
        assert ok_json(home, "allies", "due") == []
        team = ok_json(home, "team", "add", "Kitchen", "--member", "Ada", "--member", "Bo")
        [kitchen] = ok_json(home, "team", "list")
        assert (kitchen["id"], kitchen["members"], kitchen["invited"]) == \
            (team["id"], [members["Ada"]], [members["Bo"]])
        assert_fails(podsync(home, "need", "take", "no-such-need"), 1, "no need no-such-need")
    finally:
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=30) == 0
    after = ok_json(home, "need", "list")
    assert sorted(n["id"] for n in after) == sorted([offline["id"], online["id"]])


def test_show_settings_search_and_all_through_the_entry_point(tmp_path: Path) -> None:
    home = tmp_path / "ada"
    assert podsync(home, "init", "--name", "Ada").returncode == 0
    need = ok_json(home, "need", "add", "Mend the gutter", "--detail", "north corner")["id"]
    assert podsync(home, "need", "take", need).returncode == 0
    assert podsync(home, "need", "done", need, "--note", "cleared").returncode == 0
    [listed] = ok_json(home, "need", "list", "--all")
    assert (listed["id"], listed["archived"]) == (need, False)
    shown = ok_json(home, "need", "show", need)
    assert (shown["state"], shown["archived"]) == ("attended", False)
    human = podsync(home, "need", "show", need)
    assert human.returncode == 0 and "Mend the gutter" in human.stdout and "attend" in human.stdout

    [setting] = [s for s in ok_json(home, "settings") if s["name"] == "archive_after_days"]
    assert (setting["value"], setting["set_by"]) == (90, None)
    changed = podsync(home, "settings", "set", "archive-after-days", "30")
    assert changed.returncode == 0 and "archive_after_days = 30" in changed.stdout
    [me] = ok_json(home, "members")
    assert {s["name"]: s["set_by"] for s in ok_json(home, "settings")}["archive_after_days"] \
        == me["member_id"]
    assert_fails(podsync(home, "settings", "set", "archive_after_days", "0"), 2, "from 1 to 3650")

    [found] = ok_json(home, "search", "GUTTER north")
    assert (found["kind"], found["id"], found["state"]) == ("need", need, "attended")
    assert ok_json(home, "search", "gutter shed") == []
    table = podsync(home, "search", "gutter")
    assert table.returncode == 0 and need[:8] in table.stdout
