"""A member's node sending as fast as it can: paid for out of its budgets of
bytes and column entries (PEER_BYTES_PER_SECOND, PEER_ENTRIES_PER_SECOND), which
survive its reconnects, while the node's other link keeps syncing."""

from __future__ import annotations

import asyncio
import time

import automerge.core as am

from podsync.net.link import Link
from podsync.repo.values import put_value
from podsync.sync.cost import chunks_cost
from podsync.sync.limits import (
    CHUNK_ENTRY_WEIGHT, MAX_FRAME_BYTES, MAX_INPUT_BYTES, MAX_INPUT_ENTRIES, PEER_BYTES_PER_SECOND,
    PEER_ENTRIES_PER_SECOND,
)
from tests.hostile.conftest import Pod, eventually
from tests.hostile.peer import HostilePeer
from tests.sync.bombs import list_change, sync_message
from tests.trust_e2e.conftest import LinkSpy

FRAME_BYTES = 1024 * 1024
#: List insertions cost about nine column entries each: just under one input.
OPS_PER_INPUT = 150_000


def mallorys_link(spy: LinkSpy, peer_id: str) -> Link:
    return [link for link in spy.links if link.device_id == peer_id][-1]


async def test_a_byte_flood_is_paced_and_the_budget_survives_a_reconnect(pod: Pod) -> None:
    doc_id = await pod.shared("test", lambda tx: put_value(tx, am.ROOT, "n", 1))
    spy = LinkSpy(pod.ada)
    flood = 2 * MAX_FRAME_BYTES + 3 * PEER_BYTES_PER_SECOND  # 2 bursts and 3 s of refills
    async with HostilePeer(pod.mallory, pod.ada.identity.cert_der, pod.ada.listen_addresses[0]) as mallory:
        ada_id = await mallory.handshake()
        frame = {"type": "ephemeral", "senderId": mallory.peer_id, "targetId": ada_id, "documentId": doc_id,
                 "sessionId": "flood", "data": b"x" * FRAME_BYTES}
        started = time.monotonic()
        sender = asyncio.ensure_future(asyncio.gather(*[
            mallory.send({**frame, "count": i}) for i in range(flood // FRAME_BYTES)]))
        await pod.bo_sees_adas_edits("during the flood")
        await sender
        link = mallorys_link(spy, mallory.peer_id)
        await eventually(lambda: link.bytes_in >= flood, 60)
        elapsed = time.monotonic() - started
    # Ada took it in no faster than one burst and the refill rate allow.
    assert link.bytes_in <= MAX_FRAME_BYTES + PEER_BYTES_PER_SECOND * elapsed + FRAME_BYTES
    assert link.budget.waited > 0
    # A new link of the same member starts from the budget the old one left.
    async with HostilePeer(pod.mallory, pod.ada.identity.cert_der, pod.ada.listen_addresses[0]) as mallory:
        await mallory.handshake()
        assert mallorys_link(spy, mallory.peer_id).budget is link.budget


async def test_costly_inputs_are_paced_by_the_entries_budget(pod: Pod) -> None:
    target = await pod.shared("test", lambda tx: None)
    spy = LinkSpy(pod.ada)
    # Each input is just under one input's limit of entries: honest-looking, costly.
    inputs = 3
    changes = [list_change(OPS_PER_INPUT, str(i)) for i in range(inputs)]
    costs = [chunks_cost(c, max_bytes=MAX_INPUT_BYTES, max_entries=MAX_INPUT_ENTRIES,
                         chunk_weight=CHUNK_ENTRY_WEIGHT).entries for c in changes]
    async with HostilePeer(pod.mallory, pod.ada.identity.cert_der, pod.ada.listen_addresses[0]) as mallory:
        ada_id = await mallory.handshake()
        started = time.monotonic()
        for change in changes:
            await mallory.send({"type": "sync", "senderId": mallory.peer_id, "targetId": ada_id,
                                "documentId": target, "data": sync_message([change])})
        link = mallorys_link(spy, mallory.peer_id)
        await pod.bo_sees_adas_edits("while costly inputs are paced")
        # Its own first change, and one head per input (they are concurrent).
        await eventually(lambda: len(pod.ada.repo.get(target).get_heads()) == 1 + inputs, 60)
        elapsed = time.monotonic() - started
        assert not mallory.closed
    # The first came out of the burst; the others waited for the refill.
    assert link.budget.waited > 0
    assert sum(costs) <= MAX_INPUT_ENTRIES + PEER_ENTRIES_PER_SECOND * elapsed
