"""A relay that is down, stuck or restarted: members on one LAN go on syncing
directly, unaffected; a member who only has the relay catches up once it is back."""

from __future__ import annotations

import time

import pytest

from podsync.api import ops
from podsync.node import Node
from tests.relay.conftest import eventually, relay_pod, relay_up
from tests.relay.test_relay_loopback import _has, linked, titles, until

pytestmark = pytest.mark.slow

#: Over a LAN link an edit arrives in milliseconds; this only bounds a broken build.
LAN_SECONDS = 3.0


async def lan_edit_arrives(ada: Node, bo: Node, title: str) -> float:
    started = time.monotonic()
    await ops.run(ada.context, "need.add", {"title": title})
    await until(lambda: _has(titles(bo), title), LAN_SECONDS)
    return time.monotonic() - started


def reachable(node: Node) -> bool:
    return all(r["reachable"] for r in node.relays.status()[0])


async def test_lan_sync_carries_on_while_the_relay_is_stuck_or_down_and_the_relay_catches_up(
        nodes, relay_factory) -> None:
    relay = relay_factory()
    ada, bo, cy = await relay_pod(nodes, relay.url, ("ada", "bo", "cy"))
    bo.dial(ada.listen_addresses[0])  # Ada and Bo share a LAN; Cy is elsewhere
    await eventually(lambda: ada.identity.device_id in linked(bo), 20)
    assert linked(cy) == []

    # Stuck: the server stops answering without closing anything.
    relay.pause()
    await lan_edit_arrives(ada, bo, "while the relay is stuck")
    await eventually(lambda: not reachable(ada) and not reachable(bo), 30)
    await lan_edit_arrives(bo, ada, "still while it is stuck")
    assert "while the relay is stuck" not in await titles(cy)
    relay.resume()
    await until(lambda: _has(titles(cy), "while the relay is stuck", "still while it is stuck"), 60)

    # Down, then restarted on the same port with the same storage.
    relay.stop()
    await eventually(lambda: not reachable(ada), 20)
    await lan_edit_arrives(ada, bo, "while the relay is down")
    await ops.run(cy.context, "need.add", {"title": "Cy wrote while the relay was down"})
    relay.start()
    for node in (ada, bo, cy):
        await relay_up(node, relay.url)
    await until(lambda: _has(titles(cy), "while the relay is down"), 60)
    await until(lambda: _has(titles(ada), "Cy wrote while the relay was down"), 60)
    await until(lambda: _has(titles(bo), "Cy wrote while the relay was down"), 60)
    assert linked(cy) == []


async def test_with_two_relays_one_down_the_other_carries_everything(nodes, relay_factory) -> None:
    first, second = relay_factory("first"), relay_factory("second")
    ada, bo = await relay_pod(nodes, first.url)
    await ops.run(ada.context, "relay.add", {"url": second.url})
    for node in (ada, bo):
        await relay_up(node, second.url)
    await ops.run(ada.context, "need.add", {"title": "on both relays"})
    await until(lambda: _has(titles(bo), "on both relays"))
    # Each relay holds every relay document the members wrote.
    assert first.disk_bytes() > 0 and second.disk_bytes() > 0
    first.stop()
    await eventually(lambda: not all(r["reachable"] for r in ada.relays.status()[0]), 20)
    await ops.run(bo.context, "need.add", {"title": "through the second alone"})
    await until(lambda: _has(titles(ada), "through the second alone"))
    assert linked(ada) == [] and linked(bo) == []
