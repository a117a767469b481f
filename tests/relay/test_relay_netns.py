"""Two members in different places: real ``podsync up`` processes in network
namespaces with no route to each other, only to the relay's namespace, where the
automerge project's sync server runs (slow, root).

Needs, agreements and a feedback thread travel both ways; a member who was away
catches up; and neither the relay's storage nor any frame it received holds a
need's title, a member's or the pod's name, a podsync document id or a device id.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from podsync.api import ops
from podsync.cli.init import initialise
from podsync.home import Home
from podsync.ids import document_id_bytes
from podsync.node import Node
from podsync.trust.join import join_pod
from tests.lan.test_lan_pod import SETUP_DEADLINE, Member, wait_for
from tests.relay.conftest import JsRelay, NodeFactory, eventually, frames, make_steward, relays_settled
from tests.relay.netns import RELAY_IP, Sites

pytestmark = pytest.mark.slow

RELAY_PORT = 3030
RELAY_URL = f"ws://{RELAY_IP}:{RELAY_PORT}"
# Distinctive, so that finding one in ciphertext by chance is out of the question.
POD_NAME = "Quince Street Growers"
NAMES = {"ada": "Adelheid Quernstone", "bo": "Bonifaz Wexley", "eve": "Evangeline Marsh"}
NEEDS = ["Mend the rainwater barrel", "Collect seed packets from Ulla"]
AGREEMENT = "Adelheid and Bonifaz alternate turning the compost heap"
THREAD = "The minutes of the spring meeting were never shared"
REPLY = "Thank you for telling me; shall we meet on Thursday"
AWAY = [f"Weed bed number {i} of the west plot" for i in range(12)]
#: Through a relay an edit takes a fraction of a second; this bounds a broken build.
RELAY_DEADLINE = 60.0


@pytest.fixture
def sites(_netns_session: None) -> Iterator[Sites]:
    places = Sites()
    try:
        yield places
    finally:
        places.close()


async def form_pod(root: Path) -> dict[str, Any]:
    """Found the pod and join Bo (and Eve, a leader whose node never runs) on this
    machine's loopback, add the relay, let the keys settle; then stop. The ids
    the relay must never see."""
    factory = NodeFactory(root)
    ada = await _start(factory, "ada")
    bo = await _start(factory, "bo", peers=ada.listen_addresses)
    await _home(factory, "eve")
    # Bo stewards Eve (her node never runs; she consents with her own device's key).
    await make_steward(ada, root / "eve", root / "bo")
    await ops.run(ada.context, "relay.add", {"url": RELAY_URL})
    await eventually(lambda: relays_settled([ada, bo], RELAY_URL), 30)
    await eventually(lambda: _same_pod(ada, bo), 20)
    roster = ada.access.roster
    assert roster is not None
    by_name = {v: k for k, v in NAMES.items()}
    ids = {
        "pod": ada.config.pod_id,
        "members": {by_name[m.name]: m.member_id for m in roster.members},
        "devices": [ada.identity.device_id, bo.identity.device_id],
        "documents": sorted({d["url"].removeprefix("automerge:") for d in ada.status()["documents"]}),
    }
    for node in (ada, bo):
        await node.stop()
        (node.home.root / "addresses.json").unlink(missing_ok=True)
    return ids


async def _start(factory: NodeFactory, name: str, peers: list[str] | None = None) -> Node:
    await _home(factory, name)
    return await factory.start(name, peers)


async def _home(factory: NodeFactory, name: str) -> Home:
    """Homes with the names the relay must never see (NodeFactory's are short)."""
    home = Home(factory.root / name)
    if not home.is_initialised():
        if factory.founder is None:
            initialise(home, NAMES[name], POD_NAME)
        else:
            invite = await ops.run(factory.founder.context, "invite.create", {})
            await join_pod(home, invite.code, NAMES[name])
    return home


def _same_pod(a: Node, b: Node) -> bool:
    heads = [{d["url"]: d["heads"] for d in n.status()["documents"]} for n in (a, b)]
    return heads[0] == heads[1] and bool(heads[0])


def titles(member: Member) -> set[str]:
    return {n["title"] for n in member.api("need.list")}


def until(probe: Any, what: str) -> None:
    wait_for(probe, RELAY_DEADLINE, what)


def cannot_reach(site_from: Any, ip: str, port: int) -> bool:
    probe = (f"import socket; s = socket.socket(); s.settimeout(2)\n"
             f"try:\n    s.connect(({ip!r}, {port})); print('reached')\n"
             f"except OSError as e:\n    print('refused', e)\n")
    out = site_from.call(["python3", "-c", probe], check=False).stdout
    return "reached" not in out


def secrets_to_find(ids: dict[str, Any]) -> dict[str, bytes]:
    """Every plaintext the relay must never see, as text and as raw bytes."""
    out: dict[str, bytes] = {}
    for text in [POD_NAME, *NAMES.values(), *NEEDS, AGREEMENT, THREAD, REPLY, *AWAY]:
        out[text] = text.encode()
    for doc_id in [ids["pod"], *ids["members"].values(), *ids["documents"]]:
        out[doc_id] = doc_id.encode()
        out[f"{doc_id} (16 bytes)"] = document_id_bytes(doc_id)
    for device in ids["devices"]:
        raw = device.replace("-", "")
        out[device] = device.encode()
        out[f"{device} (ungrouped)"] = raw.encode()
        out[f"{device} (digest)"] = base64.b32decode(raw + "====")[:32]
    return out


async def test_members_in_different_places_sync_through_the_relay_which_sees_no_plaintext(
        sites: Sites, tmp_path: Path) -> None:
    ids = await form_pod(tmp_path)
    relay = JsRelay(tmp_path / "relay-data", tmp_path / "relay-frames.bin", RELAY_IP, RELAY_PORT,
                    "all", sites.relay.prefix)
    relay.start()
    try:
        ada = Member(sites.add_member("ada"), tmp_path / "ada", tmp_path)
        bo = Member(sites.add_member("bo"), tmp_path / "bo", tmp_path)
        ada.up("--no-discovery")
        bo.up("--no-discovery")
        assert cannot_reach(ada.host, bo.host.ip, 7850) and cannot_reach(bo.host, ada.host.ip, 7850)
        wait_for(lambda: all(r["reachable"] for m in (ada, bo) for r in m.status()["relays"]),
                 SETUP_DEADLINE, "both nodes to link to the relay")

        ada.api("need.add", title=NEEDS[0])
        bo.api("need.add", title=NEEDS[1])
        until(lambda: set(NEEDS) <= titles(ada) and set(NEEDS) <= titles(bo), "needs both ways")

        parties = [ids["members"]["bo"], ids["members"]["ada"]]
        agreement = bo.api("agreement.propose", what=AGREEMENT, parties=parties)["id"]
        until(lambda: _agreement(ada, agreement), "the agreement at Ada's")
        ada.api("agreement.affirm", id=agreement, note="within my capacity")
        until(lambda: "within my capacity" in json.dumps(bo.api("agreement.get", id=agreement)),
              "Ada's affirmation at Bo's")

        eve = ids["members"]["eve"]
        assert ids["members"]["bo"] in json.dumps(bo.api("feedback.stewards", leader=eve))
        thread = ada.api("feedback.give", leader=eve, text=THREAD)["thread_id"]
        until(lambda: THREAD in json.dumps(_thread(bo, thread)), "the thread at Bo's")
        bo.api("feedback.reply", thread_id=thread, text=REPLY)
        until(lambda: REPLY in json.dumps(_thread(ada, thread)), "Bo's reply at Ada's")

        # Bo is away for a while; Ada goes on; Bo catches up when back.
        bo.stop()
        for title in AWAY:
            ada.api("need.add", title=title)
        ada.api("agreement.note", id=agreement, text="the heap needs more browns")
        bo.up("--no-discovery")
        until(lambda: set(AWAY) <= titles(bo), "Bo catching up")
        until(lambda: "more browns" in json.dumps(bo.api("agreement.get", id=agreement)),
              "the agreement's note at Bo's")
        assert not [p for m in (ada, bo) for p in m.status()["peers"] if p["connected"]]
        assert all(m.status()["relay"]["refused"] == {} for m in (ada, bo))
        ada.stop()
        bo.stop()
    finally:
        relay.stop()

    stored = b"".join(p.read_bytes() for p in (tmp_path / "relay-data").rglob("*") if p.is_file())
    received = b"".join(frames(tmp_path / "relay-frames.bin"))
    assert len(stored) > 10_000 and len(received) > 10_000  # the search has something to search
    for what, needle in secrets_to_find(ids).items():
        assert needle not in stored, f"{what} is in the relay's storage"
        assert needle not in received, f"{what} reached the relay in a frame"


def _agreement(member: Member, agreement: str) -> bool:
    try:
        return AGREEMENT in json.dumps(member.api("agreement.get", id=agreement))
    except AssertionError:
        return False


def _thread(member: Member, thread: str) -> Any:
    try:
        return member.api("feedback.thread", thread_id=thread)
    except AssertionError:
        return None
