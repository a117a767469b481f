"""Floods of requests for made-up ids and of made-up heads, from a member's node
reconnecting again and again: the records the honest nodes keep stay within
MAX_UNKNOWN_WANTS_PER_PEER, and drop back once the peer has left."""

from __future__ import annotations

import os

import pytest

from podsync.ids import new_document_id
from podsync.sync.limits import MAX_UNKNOWN_WANTS_PER_PEER, REQUEST_TIMEOUT
from tests.hostile.conftest import Pod, eventually
from tests.hostile.peer import HostilePeer, empty_sync_message
from tests.sync.bombs import sync_message

EXTRA = 200  # asks past the limit, each round


def records(node: object) -> int:
    """Documents the node's engine keeps a record of that its store does not hold
    (a stored document gets one when it is first used, flood or not)."""
    stored = {info.doc_id for info in node.store.list_documents()}  # type: ignore[attr-defined]
    return sum(1 for doc_id in node.repo.engine._docs.docs if doc_id not in stored)  # type: ignore[attr-defined]


@pytest.mark.parametrize("kind", ["request", "made-up heads"])
async def test_a_flood_is_bounded_and_leaves_nothing_across_reconnects(pod: Pod, kind: str) -> None:
    ada_base, bo_base = records(pod.ada), records(pod.bo)
    for round_ in range(3):
        async with HostilePeer(pod.mallory, pod.ada.identity.cert_der, pod.ada.listen_addresses[0]) as mallory:
            ada_id = await mallory.handshake()
            for _ in range(MAX_UNKNOWN_WANTS_PER_PEER + EXTRA):
                if kind == "request":
                    frame = {"type": "request", "data": empty_sync_message()}
                else:
                    frame = {"type": "sync", "data": sync_message([], heads=[os.urandom(32)])}
                await mallory.send({**frame, "senderId": mallory.peer_id, "targetId": ada_id,
                                    "documentId": new_document_id()})
            # Every ask past the limit is answered at once and keeps nothing.
            await eventually(lambda: sum(f["type"] == "doc-unavailable" for f in mallory.frames) >= EXTRA, 20)
            assert records(pod.ada) <= ada_base + MAX_UNKNOWN_WANTS_PER_PEER, round_
            assert not mallory.closed
        # Mallory left: her wants go at once, the asks forwarded to Bo when their round ends.
        await eventually(lambda: records(pod.ada) == ada_base, REQUEST_TIMEOUT + 10)
        # Bo keeps Ada's forwarded asks as Ada's wants, within the limit for Ada.
        assert records(pod.bo) <= bo_base + MAX_UNKNOWN_WANTS_PER_PEER, round_
    await pod.bo_sees_adas_edits("after the flood")
    await pod.restart_ada()
    assert records(pod.ada) == 0  # nothing of the flood survives a restart
    await pod.bo_sees_adas_edits("after the restart")
