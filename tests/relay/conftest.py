"""The automerge project's sync server as a relay (``tests/interop/relay.mjs``,
pinned by tests/interop's lockfile), and real nodes that reach each other only
through it."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import struct
import subprocess
from collections.abc import AsyncIterator, Iterator, Sequence
from pathlib import Path
from typing import Any

import pytest

from podsync.api import ops
from podsync.config import load_config
from podsync.home import Home
from podsync.node import Node
from podsync.pod import stewards
from tests.interop.jsdriver import INTEROP_DIR, require_node
from tests.lan.conftest import _netns_session  # noqa: F401 - a fixture: namespaces need root
from tests.node.conftest import NodeFactory, eventually
from tests.trust_e2e.test_private_documents import signed_by

__all__ = ["JsRelay", "NodeFactory", "eventually", "frames", "make_steward", "relay_pod", "relay_up",
           "relays_settled"]

RELAY_SCRIPT = INTEROP_DIR / "relay.mjs"
#: Node loads automerge's wasm and listens within a second here.
START_TIMEOUT_S = 15.0


class JsRelay:
    """One ``node relay.mjs`` process: an unmodified automerge-repo sync server
    with Node filesystem storage in ``directory``."""

    def __init__(self, directory: Path, record: Path | None, host: str, port: int,
                 share: str, prefix: Sequence[str]) -> None:
        self.directory = directory
        self.record = record
        self.host = host
        self.port = port
        self.share = share
        self.prefix = list(prefix)
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"ws://{host}:{self.port}"

    def start(self) -> None:
        argv = [*self.prefix, require_node(), str(RELAY_SCRIPT), "--host", self.host,
                "--port", str(self.port), "--dir", str(self.directory), "--share", self.share]
        if self.record is not None:
            argv += ["--record", str(self.record)]
        self.proc = subprocess.Popen(argv, cwd=INTEROP_DIR, stdout=subprocess.PIPE,
                                     stderr=subprocess.PIPE)
        assert self.proc.stdout is not None
        line = self.proc.stdout.readline()
        if not line:
            err = self.proc.stderr.read().decode(errors="replace") if self.proc.stderr else ""
            raise RuntimeError(f"the relay did not start: {err}")
        self.port = int(json.loads(line)["port"])

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.proc = None

    def pause(self) -> None:
        """SIGSTOP: the relay stops answering without closing anything (a stuck server)."""
        assert self.proc is not None
        os.kill(self.proc.pid, signal.SIGSTOP)

    def resume(self) -> None:
        assert self.proc is not None
        os.kill(self.proc.pid, signal.SIGCONT)

    def disk_bytes(self) -> int:
        return sum(p.stat().st_size for p in self.directory.rglob("*") if p.is_file())


def frames(record: Path) -> list[bytes]:
    """Every frame the relay received, from its --record file."""
    data = record.read_bytes() if record.exists() else b""
    out, at = [], 0
    while at + 4 <= len(data):
        (length,) = struct.unpack(">I", data[at:at + 4])
        out.append(data[at + 4:at + 4 + length])
        at += 4 + length
    return out


@pytest.fixture
def relay_factory(tmp_path: Path) -> Iterator[Any]:
    started: list[JsRelay] = []

    def make(name: str = "relay", *, host: str = "127.0.0.1", port: int = 0, share: str = "all",
             record: bool = True, prefix: Sequence[str] = ()) -> JsRelay:
        relay = JsRelay(tmp_path / f"{name}-data", tmp_path / f"{name}-frames.bin" if record else None,
                        host, port, share, prefix)
        relay.start()
        started.append(relay)
        return relay

    yield make
    for relay in started:
        if relay.proc is not None:
            with contextlib.suppress(ProcessLookupError):
                relay.resume()  # a paused process would not take SIGTERM
        relay.stop()


@pytest.fixture
async def nodes(tmp_path: Path) -> AsyncIterator[NodeFactory]:
    factory = NodeFactory(tmp_path)
    yield factory
    for node in factory.nodes:
        await node.stop()


async def relay_up(node: Node, url: str) -> None:
    """Until ``node`` holds a link to the relay at ``url`` and has read it once."""
    def up() -> bool:
        relays, state = node.relays.status()
        return any(r["url"] == url and r["reachable"] for r in relays) and bool(state.get("ready"))
    await eventually(up, 30)


def relays_settled(group: Sequence[Node], url: str) -> bool:
    """Every node lists the relay, knows every other's encryption key, and writes
    under the same epoch key, wrapped to all of them."""
    devices = {n.identity.device_id for n in group}
    epochs = set()
    for node in group:
        ctx = node.relays.ctx
        if ctx is None or url not in {r.url for r in ctx.view.relays}:
            return False
        if not devices <= set(ctx.view.device_keys):
            return False
        epoch = ctx.view.current_epoch
        if epoch is None or not devices <= epoch.to or epoch.key_id not in ctx.ring:
            return False
        epochs.add(epoch.key_id)
    return len(epochs) == 1


async def relay_pod(nodes: NodeFactory, url: str, names: Sequence[str] = ("ada", "bo"),
                    homes_only: Sequence[str] = ()) -> list[Node]:
    """The first name founds a pod and the others join (``homes_only`` join but do
    not run); while they are linked, the founder adds the relay; then every node
    restarts knowing no address of the others: the relay is their only path."""
    founder = await nodes.start(names[0])
    group = [founder]
    for name in names[1:]:
        group.append(await nodes.start(name, peers=founder.listen_addresses))
    for name in homes_only:
        await nodes.home(name)
    await ops.run(founder.context, "relay.add", {"url": url})
    await eventually(lambda: relays_settled(group, url), 30)
    await eventually(lambda: len({tuple(sorted(d["heads"])) for n in group
                                  for d in n.status()["documents"]
                                  if d["kind"] == "pod"}) == 1, 20)
    for node in group:
        await node.stop()
        nodes.nodes.remove(node)
        (node.home.root / "addresses.json").unlink(missing_ok=True)
    group = [await nodes.start(name) for name in names]
    for node in group:
        await relay_up(node, url)
    return group


async def make_steward(proposer: Node, leader_home: Path, steward_home: Path) -> str:
    """The member at ``steward_home`` stewards the one at ``leader_home``: proposed on
    ``proposer``, affirmed and consented with the steward's and the leader's own
    device keys (their nodes need not run); the leader's member id."""
    leader = load_config(Home(leader_home)).member_id
    steward = load_config(Home(steward_home)).member_id
    await ops.run(proposer.context, "feedback.stewards_set", {"leader": leader, "add": [steward]})
    found = proposer.ledger.pod_records(stewards.STEWARD_TYPES)
    nomination = next(n.id for n in stewards.nominations(found)
                      if n.leader == leader and n.steward == steward)
    await proposer.ledger.store_records(proposer.config.pod_id, [signed_by(
        proposer, steward_home, stewards.affirm_role(found, nomination, steward))])
    found = proposer.ledger.pod_records(stewards.STEWARD_TYPES)
    await proposer.ledger.store_records(proposer.config.pod_id, [signed_by(
        proposer, leader_home, stewards.consent_to_steward(found, nomination, leader))])
    assert stewards.stewards_of(proposer.ledger.pod_records(), leader) == [steward]
    return leader
