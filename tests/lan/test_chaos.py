"""A seeded chaos run across real `podsync up` processes on a namespace LAN.

Three members' nodes find each other by mDNS and are then, at random: killed
(SIGKILL) and restarted, cut off the network and reconnected, paused (SIGSTOP,
as a laptop goes to sleep) and resumed; members write all the while (new needs,
and notes on the same needs on several nodes at once, also while apart), and on
the home of a node that is down (the CLI writes to its store). The checker then
heals everything and asserts: every acknowledged write is on every node, all
nodes hold identical heads, no node died unasked, and no log holds a traceback.

The seed is printed; PODSYNC_CHAOS_SEED replays a run and PODSYNC_CHAOS_SECONDS
makes it longer.
"""

from __future__ import annotations

import json
import os
import random
import signal
import time
from dataclasses import dataclass, field

import pytest

from tests.lan.test_lan_pod import (  # noqa: F401 - pod: the fixture, shared
    SETUP_DEADLINE, Member, Pod, converged, mdns_pod, pod, wait_for,
)

pytestmark = pytest.mark.slow

SEED = int(os.environ.get("PODSYNC_CHAOS_SEED", str(random.SystemRandom().randrange(1 << 32))))
CHAOS_SECONDS = float(os.environ.get("PODSYNC_CHAOS_SECONDS", "60"))
#: After the chaos, how long everything may take to meet again. A node that
#: was cut off redials with a backoff of up to 30 s, mDNS answers within a few.
HEAL_DEADLINE = 90.0


@dataclass
class Node:
    member: Member
    state: str = "up"  # up | killed | cut | paused
    since: float = 0.0


@dataclass
class Chaos:
    rng: random.Random
    nodes: list[Node]
    shared: list[str]  # ids of needs every node notes on
    titles: set[str] = field(default_factory=set)  # acknowledged new needs
    notes: dict[str, set[str]] = field(default_factory=dict)  # need id -> acknowledged notes
    log: list[str] = field(default_factory=list)
    n: int = 0

    def say(self, what: str) -> None:
        self.log.append(f"{time.monotonic():.1f} {what}")

    def write(self) -> None:
        writers = [n for n in self.nodes if n.state in ("up", "cut", "killed")]
        if not writers:
            return
        node = self.rng.choice(writers)
        self.n += 1
        name = node.member.host.name
        if self.rng.random() < 0.5:
            title = f"need {self.n} by {name}"
            if node.state == "killed":  # straight to the store of the stopped node
                out = json.loads(node.member.cli("need", "add", title, "--json").stdout)
                assert out["id"]
            else:
                node.member.api("need.add", title=title)
            self.titles.add(title)
            self.say(f"{name} ({node.state}) adds {title!r}")
        else:
            need = self.rng.choice(self.shared)
            text = f"note {self.n} by {name}"
            if node.state == "killed":
                node.member.cli("need", "note", need, text)
            else:
                node.member.api("need.note", id=need, text=text)
            self.notes[need].add(text)
            self.say(f"{name} ({node.state}) notes {text!r} on {need}")

    def disturb(self, now: float) -> None:
        up = [n for n in self.nodes if n.state == "up"]
        # Back to normal after a while, so every kind of trouble meets the others.
        for node in self.nodes:
            if node.state != "up" and now - node.since > self.rng.uniform(4, 12):
                self.restore(node)
        if len(up) < 2 or self.rng.random() < 0.5:
            return
        node = self.rng.choice(up)
        trouble = self.rng.choice(["kill", "cut", "pause"])
        name = node.member.host.name
        assert node.member.proc is not None and node.member.proc.poll() is None, \
            f"{name} died unasked:\n{node.member.log_tail()}"
        if trouble == "kill":
            node.member.proc.send_signal(signal.SIGKILL)
            node.member.proc.wait(timeout=SETUP_DEADLINE)
            node.member.proc = None
            node.state = "killed"
        elif trouble == "cut":
            node.member.host.link_down()
            node.state = "cut"
        else:
            node.member.proc.send_signal(signal.SIGSTOP)
            node.state = "paused"
        node.since = now
        self.say(f"{name}: {trouble}")

    def restore(self, node: Node) -> None:
        name = node.member.host.name
        if node.state == "killed":
            node.member.up()
        elif node.state == "cut":
            node.member.host.link_up()
        elif node.state == "paused":
            assert node.member.proc is not None
            node.member.proc.send_signal(signal.SIGCONT)
        self.say(f"{name}: back from {node.state}")
        node.state = "up"


def test_chaos_across_real_nodes_loses_nothing(pod: Pod) -> None:
    print(f"chaos seed {SEED} (PODSYNC_CHAOS_SEED={SEED} replays it)")
    members = mdns_pod(pod, "ada", "bo", "cy")
    rng = random.Random(SEED)
    shared = [members[0].api("need.add", title=f"shared need {i}")["id"] for i in range(2)]
    wait_for(lambda: converged(members), SETUP_DEADLINE, "the shared needs to reach everyone")
    chaos = Chaos(rng, [Node(m) for m in members], shared, notes={s: set() for s in shared})
    end = time.monotonic() + CHAOS_SECONDS
    try:
        while time.monotonic() < end:
            chaos.disturb(time.monotonic())
            for _ in range(rng.randint(1, 3)):
                chaos.write()
            time.sleep(rng.uniform(0.2, 1.5))
        for node in chaos.nodes:
            if node.state != "up":
                chaos.restore(node)
        for m in members:
            assert m.proc is not None and m.proc.poll() is None, f"{m.host.name} died unasked:\n{m.log_tail()}"
        wait_for(lambda: converged(members), HEAL_DEADLINE, "every node to hold the same heads")
    except AssertionError as exc:
        raise AssertionError(f"seed {SEED}: {exc}\n" + "\n".join(chaos.log[-40:])) from None
    for m in members:
        board = {n["title"]: n for n in m.api("need.list")}
        missing = chaos.titles - set(board)
        assert not missing, f"seed {SEED}: {m.host.name} lacks {sorted(missing)}"
        for need_id, texts in chaos.notes.items():
            shared_need = next(n for n in board.values() if n["id"] == need_id)
            noted = {note["text"] for note in shared_need["notes"]}
            assert texts <= noted, f"seed {SEED}: {m.host.name} lacks {sorted(texts - noted)}"
    for m in members:
        log = m.log_path.read_text(errors="replace")
        at = log.find("Traceback")
        assert at < 0, f"seed {SEED}: {m.host.name}'s log:\n{log[max(0, at - 1500):at + 3000]}"
    print(f"chaos seed {SEED}: {len(chaos.titles)} needs and "
          f"{sum(map(len, chaos.notes.values()))} notes acknowledged, all on every node")
