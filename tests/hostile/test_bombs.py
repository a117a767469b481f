"""Decompression and run-length bombs from a member's node, against real nodes:
refused unread, the link closed with the reason logged, nothing persisted; the
node's other link keeps syncing, and it restarts cleanly."""

from __future__ import annotations

import logging

import pytest

from podsync.ids import new_document_id
from podsync.sync.limits import MAX_INPUT_BYTES, MAX_INPUT_ENTRIES
from tests.hostile.conftest import Pod, eventually
from tests.hostile.peer import HostilePeer
from tests.sync.bombs import deflate_bomb, peak_rss_mib, reset_peak_rss, rss_mib, run_length_bomb, sync_message


async def test_a_deflate_bomb_sent_whole_is_refused_and_the_pod_carries_on(
        pod: Pod, caplog: pytest.LogCaptureFixture) -> None:
    bomb = deflate_bomb(8 * MAX_INPUT_BYTES)  # 128 MiB once inflated, ~125 KiB on the wire
    doc_id = new_document_id()
    before = rss_mib()
    reset_peak_rss()
    async with HostilePeer(pod.mallory, pod.ada.identity.cert_der, pod.ada.listen_addresses[0]) as mallory:
        ada_id = await mallory.join_with_extension()
        await mallory.send({"type": "podsync-doc", "senderId": mallory.peer_id, "targetId": ada_id,
                            "documentId": doc_id, "data": bomb})
        await eventually(lambda: mallory.closed, 20)
    # Unloaded: the peak memory of this whole process (both nodes) stayed far
    # below what loading it costs (968 MiB for a quarter of a gigabyte); what
    # it did cost is the frame, its copies and the walk's inflation up to
    # MAX_INPUT_BYTES.
    print(f"peak memory over the bomb: +{peak_rss_mib() - before:.0f} MiB")
    assert peak_rss_mib() - before < 160
    assert not pod.ada.repo.has(doc_id) and not pod.ada.store.has(doc_id)
    assert any("inflates past" in r.getMessage() and str(MAX_INPUT_BYTES) in r.getMessage()
               for r in caplog.records if r.levelno >= logging.WARNING)
    await pod.bo_sees_adas_edits("after the bomb")
    await pod.restart_ada()
    assert pod.ada.status()["damaged_documents"] == []
    await pod.bo_sees_adas_edits("after the restart")


async def test_a_run_length_bomb_in_a_sync_message_is_refused(
        pod: Pod, caplog: pytest.LogCaptureFixture) -> None:
    target = await pod.shared("test", lambda tx: None)
    heads_before = pod.ada.repo.get(target).get_heads()
    bomb = sync_message([run_length_bomb(50 * MAX_INPUT_ENTRIES)])  # minutes of work, ~100 bytes
    async with HostilePeer(pod.mallory, pod.ada.identity.cert_der, pod.ada.listen_addresses[0]) as mallory:
        ada_id = await mallory.handshake()
        await mallory.send({"type": "sync", "senderId": mallory.peer_id, "targetId": ada_id,
                            "documentId": target, "data": bomb})
        await eventually(lambda: mallory.closed, 20)
    assert pod.ada.repo.get(target).get_heads() == heads_before
    assert any("column entries" in r.getMessage() for r in caplog.records)
    await pod.bo_sees_adas_edits("after the run-length bomb")
    # And again after a restart: the same attack meets the same refusal.
    await pod.restart_ada()
    async with HostilePeer(pod.mallory, pod.ada.identity.cert_der, pod.ada.listen_addresses[0]) as mallory:
        ada_id = await mallory.handshake()
        await mallory.send({"type": "sync", "senderId": mallory.peer_id, "targetId": ada_id,
                            "documentId": target, "data": bomb})
        await eventually(lambda: mallory.closed, 20)
    assert pod.ada.repo.get(target).get_heads() == heads_before
    await pod.bo_sees_adas_edits("after the restart")
