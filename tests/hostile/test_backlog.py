"""A member's node that asks for a large document again and again and never reads
the answers: closed at SEND_BACKLOG_LIMIT_BYTES, while the node's other link
keeps syncing; and after a restart the same."""

from __future__ import annotations

import os

import automerge.core as am

from podsync.net.link import Link
from podsync.sync.limits import MAX_FRAME_BYTES, SEND_BACKLOG_LIMIT_BYTES
from tests.hostile.conftest import Pod, eventually
from tests.hostile.peer import SilentPeer, empty_sync_message
from tests.trust_e2e.conftest import LinkSpy

#: Incompressible, so each answer is this big on the wire.
DOC_BYTES = 3 * 1024 * 1024


async def silent_attack(pod: Pod, doc_id: str) -> Link:
    spy = LinkSpy(pod.ada)
    peer = SilentPeer(pod.mallory, pod.ada.identity.cert_der, pod.ada.listen_addresses[0])
    await peer.open()
    try:
        await peer.send({"type": "join", "senderId": peer.peer_id, "supportedProtocolVersions": ["1"]})
        await eventually(lambda: any(link.device_id == peer.peer_id for link in spy.links), 10)
        (link,) = [lk for lk in spy.links if lk.device_id == peer.peer_id]
        # Each request from a peer that holds nothing gets the whole document back.
        asks = 2 * SEND_BACKLOG_LIMIT_BYTES // DOC_BYTES
        for _ in range(asks):
            await peer.send({"type": "request", "senderId": peer.peer_id, "targetId": pod.ada.identity.device_id,
                             "documentId": doc_id, "data": empty_sync_message()})
        await eventually(lambda: link.close_reason is not None, 20)
        await pod.bo_sees_adas_edits("while the silent peer is cut off")
        return link
    finally:
        peer.close()


async def test_a_peer_that_never_reads_is_closed_at_the_backlog_limit(pod: Pod) -> None:
    doc_id = await pod.shared(
        "test", lambda tx: tx.put(am.ROOT, "blob", am.ScalarType.Bytes, os.urandom(DOC_BYTES)))
    link = await silent_attack(pod, doc_id)
    assert link.close_reason is not None and link.close_reason.startswith("peer too slow"), link.close_reason
    # The queue never held much more than the limit: one answer more at most.
    assert link.queued_bytes <= SEND_BACKLOG_LIMIT_BYTES + DOC_BYTES + MAX_FRAME_BYTES // 8
    assert link.queued_bytes > SEND_BACKLOG_LIMIT_BYTES
    assert link.ws.closed or link.close_reason
    await pod.restart_ada()
    again = await silent_attack(pod, doc_id)
    assert again.close_reason is not None and again.close_reason.startswith("peer too slow")


async def test_a_peer_that_reads_gets_every_answer(pod: Pod) -> None:
    """The control: the same requests from a peer that reads are all answered."""
    from tests.hostile.peer import HostilePeer  # noqa: PLC0415
    doc_id = await pod.shared(
        "test", lambda tx: tx.put(am.ROOT, "blob", am.ScalarType.Bytes, os.urandom(DOC_BYTES)))
    async with HostilePeer(pod.mallory, pod.ada.identity.cert_der, pod.ada.listen_addresses[0]) as peer:
        ada_id = await peer.handshake()
        for _ in range(4):
            await peer.request(doc_id, ada_id)
        await eventually(lambda: len([f for f in peer.about(doc_id) if f["type"] == "sync"]) >= 4, 20)
        assert not peer.closed
