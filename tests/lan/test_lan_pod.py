"""A pod of real ``podsync up`` processes on a namespace LAN, each host with its
own home: finding each other by mDNS, partitions, strangers, manual and
remembered addresses, restarts, and two nodes dialing each other at once (slow,
root). First, the address book those rely on, on its own (fast)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, TypeVar

import pytest

from podsync.addresses import ADDRESS_TTL_SECONDS, AddressBook
from podsync.home import Home
from tests.lan.conftest import Host, Lan

# ---------------------------------------------------------------- the address book

NOW = 1_700_000_000.0


def test_address_book_prefers_what_worked_and_an_address_has_one_owner(tmp_path: Path) -> None:
    home = Home(tmp_path)
    book = AddressBook.load(home, NOW)
    book.learn("dev-a", "10.0.0.5:7850", "mdns", NOW)
    book.learn("dev-a", "[fe80::1%2]:7850", "mdns", NOW)
    book.learn("dev-b", "10.0.0.9:7850", "mdns", NOW)
    book.confirm("dev-a", "[fe80::1%2]:7850", "mdns", NOW + 1)
    assert book.ranked("dev-a") == ["[fe80::1%2]:7850", "10.0.0.5:7850"]
    # A new lease: dev-b now answers at dev-a's old address.
    book.confirm("dev-b", "10.0.0.5:7850", "mdns", NOW + 2)
    assert book.ranked("dev-a") == ["[fe80::1%2]:7850"]
    assert book.ranked("dev-b") == ["10.0.0.5:7850", "10.0.0.9:7850"]
    assert book.device_of("10.0.0.5:7850") == "dev-b"
    book.add_manual("192.168.1.20:7850")
    book.save()
    assert os.stat(book.path).st_mode & 0o777 == 0o600
    again = AddressBook.load(home, NOW + 3)
    assert again.manual == ["192.168.1.20:7850"]
    assert again.ranked("dev-b") == book.ranked("dev-b") and again.dirty is False


def test_address_book_forgets_stale_addresses_and_writes_only_on_change(tmp_path: Path) -> None:
    book = AddressBook.load(Home(tmp_path), NOW)
    book.learn("dev-a", "10.0.0.5:7850", "mdns", NOW)
    book.learn("dev-b", "10.0.0.9:7850", "mdns", NOW)
    book.save()
    book.learn("dev-a", "10.0.0.5:7850", "mdns", NOW + 60)  # seen again a minute later
    assert book.dirty is False
    book.learn("dev-b", "10.0.0.9:7850", "mdns", NOW + ADDRESS_TTL_SECONDS / 2)
    assert book.dirty is True
    book.prune(NOW + ADDRESS_TTL_SECONDS + 61)
    assert "dev-a" not in book.devices and book.ranked("dev-b") == ["10.0.0.9:7850"]


def test_address_book_removing_a_manual_peer_drops_what_only_it_taught(tmp_path: Path) -> None:
    book = AddressBook.load(Home(tmp_path), NOW)
    book.add_manual("192.168.1.20:7850")
    book.confirm("dev-a", "192.168.1.20:7850", "manual", NOW)
    book.learn("dev-a", "10.0.0.5:7850", "mdns", NOW)
    assert book.remove_manual("192.168.1.20:7850") is True
    assert book.manual == [] and book.ranked("dev-a") == ["10.0.0.5:7850"]
    assert book.remove_manual("192.168.1.20:7850") is False


def test_a_corrupt_address_book_is_set_aside_not_fatal(tmp_path: Path) -> None:
    (tmp_path / "addresses.json").write_text("{not json")
    book = AddressBook.load(Home(tmp_path), NOW)
    assert book.manual == [] and book.devices == {}
    assert (tmp_path / "addresses.json.corrupt").read_text() == "{not json"


# ---------------------------------------------------------------- a pod on a LAN

PORT = 7850  # every host is its own namespace, so each node has the default ports
LISTEN = f"0.0.0.0:{PORT}"
API = "127.0.0.1:7851"
# Bounds how long a broken build makes a test hang while a pod is set up (CLI
# commands take a second or more each on a busy machine); not a claim about speed.
SETUP_DEADLINE = 40.0
# How long a link that should not come up, or a redial that should not happen,
# is watched for.
QUIET_SECONDS = 3.0

# One long-lived process per host answers API requests for the test, so that
# reading a node's state takes milliseconds rather than a CLI start-up.
AGENT = r"""
import json, pathlib, sys, urllib.error, urllib.parse, urllib.request
home = pathlib.Path(sys.argv[1])
for line in sys.stdin:
    request = json.loads(line)
    try:
        api_url = json.loads((home / "node.json").read_text())["api_url"]
        parts = urllib.parse.urlsplit(api_url)
        headers = {"Authorization": "Bearer " + urllib.parse.parse_qs(parts.query)["token"][0],
                   "Content-Type": "application/json"}
        base = f"{parts.scheme}://{parts.netloc}"
        if request["op"] == "status":
            http = urllib.request.Request(base + "/api/status", headers=headers)
        else:
            http = urllib.request.Request(base + "/api/ops/" + request["op"], method="POST",
                                          data=json.dumps(request["args"]).encode(), headers=headers)
        with urllib.request.urlopen(http, timeout=10) as response:
            answer = {"ok": json.loads(response.read())}
    except urllib.error.HTTPError as exc:
        answer = {"error": f"HTTP {exc.code}: {exc.read().decode(errors='replace')}"}
    except Exception as exc:
        answer = {"error": repr(exc)}
    print(json.dumps(answer), flush=True)
"""

T = TypeVar("T")


def wait_for(probe: Callable[[], T | None], deadline: float, what: str) -> T:
    """Poll ``probe`` until it returns something other than None or False."""
    end = time.monotonic() + deadline
    while True:
        value = probe()
        if value is not None and value is not False:
            return value
        if time.monotonic() > end:
            raise AssertionError(f"not within {deadline} s: {what}")
        time.sleep(0.05)


class Member:
    """One member's machine: a host on the LAN, a home, and its node when it runs."""

    def __init__(self, host: Host, home: Path, log_dir: Path) -> None:
        self.host = host
        self.home = home
        self.log_path = log_dir / f"{host.name}.log"
        self.proc: subprocess.Popen[Any] | None = None
        self._agent: subprocess.Popen[str] | None = None
        self.device_id = ""

    @property
    def address(self) -> str:
        return f"{self.host.ip}:{PORT}"

    # -- the command line ------------------------------------------------------

    def cli(self, *args: str, ok: bool = True) -> subprocess.CompletedProcess[str]:
        done = self.host.call([sys.executable, "-m", "podsync", "--home", str(self.home), *args], check=False)
        if ok:
            assert done.returncode == 0, f"{self.host.name}: podsync {' '.join(args)}: {done.stderr}"
        return done

    def cli_json(self, *args: str) -> Any:
        return json.loads(self.cli(*args, "--json").stdout)

    def start_cli(self, *args: str) -> subprocess.Popen[str]:
        """A command run in the background, to run several at the same moment."""
        return self.host.run([sys.executable, "-m", "podsync", "--home", str(self.home), *args],
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)

    # -- the node ----------------------------------------------------------------

    def spawn(self, *extra: str) -> None:
        """Start ``podsync up`` and return at once (see :meth:`wait_up`)."""
        assert self.proc is None, f"{self.host.name} already runs"
        self.home.joinpath("node.json").unlink(missing_ok=True)
        with self.log_path.open("ab") as log:
            log.write(f"--- podsync up {' '.join(extra)}\n".encode())
            log.flush()
            self.proc = self.host.run(
                [sys.executable, "-m", "podsync", "--home", str(self.home), "up",
                 "--listen", LISTEN, "--api", API, *extra],
                stdout=subprocess.DEVNULL, stderr=log)

    def wait_up(self) -> None:
        """Until the node listens (it writes node.json last thing in its start)."""
        wait_for(lambda: self.home.joinpath("node.json").exists() or self._died(),
                 SETUP_DEADLINE, f"{self.host.name}'s node to start")
        assert not self._died(), f"{self.host.name}'s node exited: {self.log_tail()}"
        self.device_id = self.status()["device_id"]

    def up(self, *extra: str) -> None:
        self.spawn(*extra)
        self.wait_up()

    def stop(self) -> None:
        assert self.proc is not None
        self.proc.send_signal(signal.SIGTERM)
        assert self.proc.wait(timeout=SETUP_DEADLINE) == 0, self.log_tail()
        self.proc = None

    def _died(self) -> bool:
        return self.proc is not None and self.proc.poll() is not None

    def log_tail(self) -> str:
        return self.log_path.read_text(errors="replace")[-4000:]

    def forget_addresses(self) -> None:
        """Forget every address this home learned (joining remembers the inviter's)."""
        self.home.joinpath("addresses.json").unlink(missing_ok=True)

    # -- the running node's API, through the agent -------------------------------

    def api(self, op: str, **args: Any) -> Any:
        if self._agent is None:
            self._agent = self.host.run([sys.executable, "-c", AGENT, str(self.home)],
                                        stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        assert self._agent.stdin is not None and self._agent.stdout is not None
        self._agent.stdin.write(json.dumps({"op": op, "args": args}) + "\n")
        self._agent.stdin.flush()
        answer = json.loads(self._agent.stdout.readline())
        assert "ok" in answer, f"{self.host.name}: {op}: {answer['error']}"
        return answer["ok"]

    def status(self) -> dict[str, Any]:
        return self.api("status")

    def connected(self) -> dict[str, dict[str, Any]]:
        """device id -> status entry, for the peers linked now."""
        return {p["device_id"]: p for p in self.status()["peers"] if p["connected"]}

    def heads(self) -> dict[str, list[str]]:
        return {d["url"]: d["heads"] for d in self.status()["documents"]}

    def need_titles(self) -> set[str]:
        return {n["title"] for n in self.api("need.list")}


class Pod:
    """Members on one LAN; the first founds the pod, the others join by invite."""

    def __init__(self, lan: Lan, root: Path) -> None:
        self.lan = lan
        self.root = root

    def machine(self, name: str) -> Member:
        return Member(self.lan.add_host(name), self.root / name, self.root)

    def form(self, *names: str, founder_args: tuple[str, ...] = ()) -> list[Member]:
        """Found the pod on the first host (its node left running: joining needs
        it), then join the others through it. Nothing else runs."""
        members = [self.machine(name) for name in names]
        founder = members[0]
        founder.cli("init", "--name", names[0].capitalize(), "--pod-name", "Garden")
        founder.up(*founder_args)
        for member in members[1:]:
            code = founder.cli_json("invite")["code"]
            member.cli("join", code, "--name", member.host.name.capitalize())
            member.device_id = member.cli_json("status")["device_id"]
        return members


@pytest.fixture
def pod(lan: Lan, tmp_path: Path) -> Iterator[Pod]:
    yield Pod(lan, tmp_path)
    # The lan fixture stops every process started on the LAN and deletes it.


def linked(members: list[Member]) -> bool:
    """Each member links to every other one."""
    return all(set(m.connected()) >= {o.device_id for o in members if o is not m} for m in members)


def converged(members: list[Member]) -> bool:
    """Every member holds the same documents at the same heads."""
    first = members[0].heads()
    return bool(first) and all(m.heads() == first for m in members[1:])


def mdns_pod(pod: Pod, *names: str) -> list[Member]:
    """A pod whose nodes run with discovery on and know no address of each other:
    whatever links them came from mDNS."""
    members = pod.form(*names)
    for member in members[1:]:
        member.forget_addresses()
        member.up()
    wait_for(lambda: linked(members), SETUP_DEADLINE, "the members to find each other by mDNS")
    wait_for(lambda: converged(members), SETUP_DEADLINE, "the pod's documents to reach everyone")
    return members


def add_needs_at_once(members: list[Member], titles: list[str]) -> None:
    """``podsync need add`` on each member at the same moment, through its node."""
    runs = [m.start_cli("need", "add", title, "--json") for m, title in zip(members, titles)]
    for run in runs:
        out, err = run.communicate(timeout=SETUP_DEADLINE)
        assert run.returncode == 0, err
        assert json.loads(out)["id"]


@pytest.mark.slow
def test_members_find_each_other_by_mdns_alone_and_edits_reach_everyone(pod: Pod) -> None:
    members = mdns_pod(pod, "ada", "bo", "cy")
    for member in members:
        for entry in member.connected().values():
            assert entry["found_by"] in ("mdns", "incoming"), entry
            assert entry["links"] == 1, entry
        others = sorted(o.device_id for o in members if o is not member)
        wait_for(lambda m=member, o=others: m.status()["discovery"]["members_seen"] == o,
                 SETUP_DEADLINE, f"{member.host.name}'s mDNS to see the others")

    titles = ["Water the garden", "Fix the bike shed", "Plan Sunday's meal"]
    add_needs_at_once(members, titles)
    # Within 3 s of the edits, every member's node holds all three.
    wait_for(lambda: all(m.need_titles() >= set(titles) for m in members), 3.0,
             "each member's need to reach the other two")
    # Every document ends identical everywhere (the CLI too shows it).
    wait_for(lambda: converged(members), 3.0, "identical heads everywhere")
    cli_view = {n["title"] for n in members[2].cli_json("need", "list")}
    assert cli_view >= set(titles)


@pytest.mark.slow
def test_partitioned_member_converges_after_healing_with_every_edit(pod: Pod) -> None:
    ada, bo, cy = members = mdns_pod(pod, "ada", "bo", "cy")
    shared = ada.api("need.add", title="Shared need")["id"]
    wait_for(lambda: converged(members), SETUP_DEADLINE, "the shared need to reach everyone")

    cy.host.link_down()
    # Until the links' heartbeats notice, edits would wait in TCP buffers; wait
    # for both sides to see the partition, so the edits really diverge.
    wait_for(lambda: not cy.connected() and cy.device_id not in ada.connected()
             and cy.device_id not in bo.connected(), SETUP_DEADLINE, "both sides to see the partition")
    ada.api("need.add", title="Ada's need while apart")
    ada.api("need.note", id=shared, text="noted by Ada while apart")
    bo.api("need.note", id=shared, text="noted by Bo while apart")
    cy.api("need.add", title="Cy's need while apart")
    cy.api("need.note", id=shared, text="noted by Cy while apart")
    assert ada.heads() != cy.heads()

    cy.host.link_up()
    wait_for(lambda: converged(members), 5.0, "all three to converge after healing")
    for member in members:
        board = {n["title"]: n for n in member.api("need.list")}
        assert {"Shared need", "Ada's need while apart", "Cy's need while apart"} <= set(board)
        notes = {note["text"] for note in board["Shared need"]["notes"]}
        assert {"noted by Ada while apart", "noted by Bo while apart", "noted by Cy while apart"} <= notes


@pytest.mark.slow
def test_a_node_of_another_pod_is_seen_but_never_linked(pod: Pod) -> None:
    ada, bo = members = mdns_pod(pod, "ada", "bo")
    ada.api("need.add", title="Only for the pod")
    eve = pod.machine("eve")
    eve.cli("init", "--name", "Eve", "--pod-name", "Elsewhere")
    eve.up()

    # mDNS works between them: each sees the other's advertisements...
    wait_for(lambda: eve.status()["discovery"]["other_nodes_seen"] >= 2, SETUP_DEADLINE,
             "Eve's node to see the pod's advertisements")
    wait_for(lambda: all(m.status()["discovery"]["other_nodes_seen"] >= 1 for m in members),
             SETUP_DEADLINE, "the pod's nodes to see Eve's advertisement")
    time.sleep(QUIET_SECONDS)
    # ...but nothing links, and Eve learns nothing of the pod.
    eve_status = eve.status()
    assert eve_status["peers"] == []
    assert eve_status["discovery"]["members_seen"] == []
    pod_docs = set(ada.heads())
    assert pod_docs and not pod_docs & set(eve.heads())
    for member in members:
        status = member.status()
        assert eve.device_id not in {p["device_id"] for p in status["peers"]}
        assert eve.device_id not in status["discovery"]["members_seen"]
        assert set(member.connected()) == {o.device_id for o in members if o is not member}


@pytest.mark.slow
def test_without_discovery_a_manual_peer_then_the_remembered_address_reach_the_pod(pod: Pod) -> None:
    ada, bo, cy = pod.form("ada", "bo", "cy")
    bo.forget_addresses()
    bo.up()
    wait_for(lambda: linked([ada, bo]), SETUP_DEADLINE, "Ada and Bo to find each other by mDNS")
    cy.forget_addresses()
    cy.up("--no-discovery", "--peer", bo.address)
    entry = wait_for(lambda: cy.connected().get(bo.device_id), SETUP_DEADLINE, "Cy to reach Bo")
    assert entry["found_by"] == "manual" and entry["address"] == bo.address
    assert cy.status()["discovery"]["enabled"] is False
    ada.api("need.add", title="From Ada, through Bo")
    wait_for(lambda: "From Ada, through Bo" in cy.need_titles(), SETUP_DEADLINE, "Ada's need to reach Cy")

    # Restarted without --peer and still without discovery: it remembers Bo.
    cy.stop()
    cy.up("--no-discovery")
    entry = wait_for(lambda: cy.connected().get(bo.device_id), SETUP_DEADLINE,
                     "Cy to reach Bo at the remembered address")
    assert entry["found_by"] == "remembered" and entry["address"] == bo.address

    # `peer add` on the running node dials at once and is listed with its device.
    cy.cli("peer", "add", ada.address)
    entry = wait_for(lambda: cy.connected().get(ada.device_id), SETUP_DEADLINE, "Cy to dial Ada")
    assert entry["found_by"] == "manual"
    [listed] = cy.cli_json("peer", "list")
    assert listed["address"] == ada.address and listed["saved"] is True
    assert listed["device_id"] == ada.device_id and listed["connected"] is True
    cy.cli("peer", "remove", ada.address)
    assert cy.cli_json("peer", "list") == []

    # With the node stopped, the same commands work on the home's files.
    cy.stop()
    cy.cli("peer", "add", "10.77.0.99:7850")
    [listed] = cy.cli_json("peer", "list")
    assert listed == {"address": "10.77.0.99:7850", "saved": True, "device_id": None,
                      "member_id": None, "connected": False, "last_error": None}
    cy.cli("peer", "remove", "10.77.0.99:7850")
    assert cy.cli_json("peer", "list") == []
    gone = cy.cli("peer", "remove", "10.77.0.99:7850", ok=False)
    assert gone.returncode == 1 and "not a manual peer" in gone.stderr


@pytest.mark.slow
def test_restarted_node_redials_remembered_addresses_before_any_mdns_answer(pod: Pod) -> None:
    ada, bo = members = mdns_pod(pod, "ada", "bo")
    bo.stop()
    ada.api("need.add", title="Added while Bo was away")

    # Only Bo's remembered address of Ada can link them now: no discovery, and a
    # new port, so that Ada's redials of Bo's old address (she remembers it too)
    # cannot be what links them.
    bo.up("--no-discovery", "--listen", f"0.0.0.0:{PORT + 10}")
    # Within 2 s of listening: linked and in sync (mDNS would not have answered).
    wait_for(lambda: ada.device_id in bo.connected() and converged(members), 2.0,
             "Bo to redial Ada and be in sync")
    entry = bo.connected()[ada.device_id]
    assert entry["found_by"] == "remembered" and entry["address"] == ada.address
    assert "Added while Bo was away" in bo.need_titles()


@pytest.mark.slow
def test_two_nodes_dialing_each_other_at_once_keep_one_link(pod: Pod) -> None:
    ada, bo = members = pod.form("ada", "bo")
    ada.stop()
    for member in members:
        member.forget_addresses()
    ada.spawn("--no-discovery", "--peer", bo.address)
    bo.spawn("--no-discovery", "--peer", ada.address)
    ada.wait_up()
    bo.wait_up()

    def one_link_each() -> bool:
        return all(list(m.connected()) == [o.device_id] and m.connected()[o.device_id]["links"] == 1
                   for m, o in ((ada, bo), (bo, ada)))

    wait_for(one_link_each, SETUP_DEADLINE, "one link between Ada and Bo")
    # A dial already on its way when the other link came up still arrives (and
    # hangs up); let those finish before watching for redials.
    time.sleep(QUIET_SECONDS)
    since = {m.host.name: m.connected()[o.device_id]["since"] for m, o in ((ada, bo), (bo, ada))}
    logs = {m.host.name: m.log_path.read_text() for m in members}
    time.sleep(QUIET_SECONDS)
    assert one_link_each()
    # The link was not replaced, and neither node kept dialing the other.
    assert since == {m.host.name: m.connected()[o.device_id]["since"] for m, o in ((ada, bo), (bo, ada))}
    for member in members:
        later = member.log_path.read_text()[len(logs[member.host.name]):]
        assert "hung up" not in later and "connected (peer" not in later, later
    # The one link carries sync both ways.
    add_needs_at_once(members, ["From Ada", "From Bo"])
    wait_for(lambda: all(m.need_titles() >= {"From Ada", "From Bo"} for m in members),
             SETUP_DEADLINE, "both needs on both nodes")
