"""Fuzzing real `podsync up` processes (seeded, bounded in time).

Ada's and Bo's nodes run as processes and are linked; Mallory, a member, sends
Ada hostile frames over a real pinned-TLS link (tests/fuzz/strategies.py), and
random bodies go to every operation of Ada's API. Invariants, after every
example: Ada's process is up, answers no request with a 500, holds less than
MEMORY_BOUND_MIB at its peak, and an edit acknowledged on Bo reaches her. At the
end Ada is killed (SIGKILL) and restarted: she starts, holds every write that
was acknowledged, and no log holds a traceback.

PODSYNC_FUZZ_SEED replays a run; PODSYNC_FUZZ_NODE_EXAMPLES makes it longer.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp
import msgspec.inspect as mi
import pytest
from hypothesis import HealthCheck, given, seed, settings
from hypothesis import strategies as st

from podsync.api import ops
from podsync.home import Home
from podsync.trust.identity import DeviceIdentity, load_identity
from tests.fuzz import strategies as hostile
from tests.hostile.peer import HostilePeer
from tests.trust_e2e.test_processes import UpProcess, cli

pytestmark = pytest.mark.slow

SEED = int(os.environ.get("PODSYNC_FUZZ_SEED", "20261123"))
EXAMPLES = int(os.environ.get("PODSYNC_FUZZ_NODE_EXAMPLES", "40"))
#: A node's whole process: its baseline (about 90 MiB) plus one input at the
#: most it can cost (see sync/limits.py) with room for the frames in flight.
MEMORY_BOUND_MIB = 400
#: Guards a hung example only; nothing here measures speed.
ARRIVAL_TIMEOUT = 30.0
OPERATIONS = sorted(ops.all_ops())


def peak_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    raise AssertionError("no VmHWM")


def api(node: UpProcess, op: str, body: Any) -> tuple[int, Any]:
    base, _, query = node.api_url.partition("/?")
    token = query.removeprefix("token=")
    request = urllib.request.Request(f"{base}/api/ops/{op}", data=json.dumps(body).encode(), method="POST",
                                     headers={"Authorization": f"Bearer {token}",
                                              "Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=ARRIVAL_TIMEOUT) as resp:
            return resp.status, json.loads(resp.read() or b"null")
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read() or b"null")


@dataclass
class Pod:
    ada: UpProcess
    bo: UpProcess
    ada_home: Path
    mallory: DeviceIdentity
    ada_cert: bytes
    acknowledged: list[str] = field(default_factory=list)

    def titles(self, node: UpProcess) -> set[str]:
        status, needs = api(node, "need.list", {})
        assert status == 200, needs
        return {n["title"] for n in needs}


@pytest.fixture(scope="module")
def pod(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Pod]:
    root = tmp_path_factory.mktemp("fuzz")
    ada_home, bo_home, mallory_home = root / "ada", root / "bo", root / "mallory"
    cli(ada_home, "init", "--name", "Ada", "--pod-name", "Garden")
    ada = UpProcess(ada_home)
    started = [ada]
    try:
        for home, name in ((bo_home, "Bo"), (mallory_home, "Mallory")):
            code = json.loads(cli(ada_home, "invite", "--json").stdout)["code"]
            cli(home, "join", code, "--name", name)
        bo = UpProcess(bo_home, "--peer", ada.listen)
        started.append(bo)
        identity = load_identity(Home(ada_home))
        pod = Pod(ada, bo, ada_home, load_identity(Home(mallory_home)), identity.cert_der)
        yield pod
        started.append(pod.ada)  # a test may have restarted Ada's node
    finally:
        for node in started:
            node.stop()


async def send_frames(pod: Pod, frames: list[bytes], with_extension: bool) -> None:
    """Send ``frames`` until Ada closes the link (which she may, and should)."""
    async with HostilePeer(pod.mallory, pod.ada_cert, pod.ada.listen) as mallory:
        try:
            if with_extension:
                await mallory.join_with_extension()
            else:
                await mallory.handshake()
            for frame in frames:
                if mallory.closed:
                    break
                await mallory.send_raw(frame)
            await asyncio.sleep(0.05)
        except (aiohttp.ClientError, ConnectionError):
            pass  # Ada cut the link: what she does with hostile links


def arrives(pod: Pod, title: str) -> None:
    deadline = time.monotonic() + ARRIVAL_TIMEOUT
    while title not in pod.titles(pod.ada):
        assert time.monotonic() < deadline, f"{title!r}, acknowledged on Bo, never reached Ada"
        time.sleep(0.1)


@seed(SEED)
@settings(max_examples=EXAMPLES, deadline=None, database=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large,
                                 HealthCheck.function_scoped_fixture])
@given(st.data())
def test_hostile_frames_and_bodies_against_running_nodes(pod: Pod, data: st.DataObject) -> None:
    print(f"fuzz seed {SEED} (PODSYNC_FUZZ_SEED replays it)")
    shared = [hostile.SHARED_ID]
    frames = [hostile.frame(data, pod.mallory.device_id, "ada", shared)
              for _ in range(data.draw(st.integers(1, 6), label="frames"))]
    asyncio.run(send_frames(pod, frames, data.draw(st.booleans(), label="extension")))
    op = data.draw(st.sampled_from(OPERATIONS), label="operation")
    fields = [f.name for f in mi.type_info(ops.get(op).args).fields]  # type: ignore[union-attr]
    status, answer = api(pod.ada, op, hostile.api_body(data, fields))
    assert status < 500, (op, answer)
    assert pod.ada.proc.poll() is None, pod.ada.output()[-3000:]
    assert peak_mib(pod.ada.proc.pid) < MEMORY_BOUND_MIB
    title = f"acknowledged {len(pod.acknowledged)}"
    status, got = api(pod.bo, "need.add", {"title": title})
    assert status == 200, (got, pod.bo.output()[-6000:])
    pod.acknowledged.append(title)
    arrives(pod, title)


def test_after_the_fuzzing_a_killed_node_restarts_with_every_acknowledged_write(pod: Pod) -> None:
    """Runs after the fuzzing above (same module, same pod)."""
    assert pod.acknowledged, "the fuzzing test did not run first"
    status, _ = api(pod.ada, "need.add", {"title": "acknowledged by Ada"})
    assert status == 200
    pod.ada.proc.send_signal(signal.SIGKILL)
    pod.ada.proc.wait(timeout=30)
    pod.ada.log.close()
    (pod.ada_home / "node.json").unlink(missing_ok=True)
    pod.ada = UpProcess(pod.ada_home)
    assert set(pod.acknowledged) | {"acknowledged by Ada"} <= pod.titles(pod.ada)
    assert api(pod.ada, "quarantine.list", {})[1] == []
    for node in (pod.ada, pod.bo):
        assert "Traceback" not in node.output()
