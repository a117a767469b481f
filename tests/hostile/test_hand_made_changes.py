"""A change encoded by hand, not as automerge encodes it: automerge would keep it
under another hash than the one it was sent with (and a document holding it
would not load back once saved). The honest node undoes it, closes that link,
and carries on; its other link keeps syncing the document, and it restarts
whole."""

from __future__ import annotations

import logging

import automerge.core as am
import pytest

from podsync.repo.values import get_path, put_value
from tests.hostile.conftest import Pod, eventually
from tests.hostile.peer import HostilePeer
from tests.sync.bombs import run_length_bomb, sync_message


def hand_made() -> bytes:
    """Ten puts on "k", with explicit null runs automerge never writes."""
    change = run_length_bomb(10)
    with pytest.raises(Exception):  # noqa: B017 - automerge raises plain Exception
        am.Document.load(am.Document.load(change).save())
    return change


async def test_a_hand_made_change_is_undone_and_the_pod_carries_on(
        pod: Pod, caplog: pytest.LogCaptureFixture) -> None:
    doc_id = await pod.shared("test", lambda tx: put_value(tx, am.ROOT, "label", "shared"))
    await eventually(lambda: pod.bo.repo.has(doc_id), 20)
    heads = sorted(pod.ada.repo.get(doc_id).get_heads())
    async with HostilePeer(pod.mallory, pod.ada.identity.cert_der, pod.ada.listen_addresses[0]) as mallory:
        ada_id = await mallory.handshake()
        await mallory.send({"type": "sync", "senderId": mallory.peer_id, "targetId": ada_id,
                            "documentId": doc_id, "data": sync_message([hand_made()])})
        await eventually(lambda: mallory.closed, 20)
    assert any("not encoded as automerge encodes them" in r.getMessage()
               for r in caplog.records if r.levelno >= logging.WARNING)
    assert sorted(pod.ada.repo.get(doc_id).get_heads()) == heads
    assert pod.ada.repo.get(doc_id).get(am.ROOT, "k") is None
    # The document still syncs between the honest nodes, both ways.
    await pod.ada.repo.change(doc_id, lambda tx: put_value(tx, am.ROOT, "after", "Ada"))
    await eventually(lambda: get_path(pod.bo.repo.get(doc_id), "after") == "Ada", 20)
    await pod.bo.repo.change(doc_id, lambda tx: put_value(tx, am.ROOT, "back", "Bo"))
    await eventually(lambda: get_path(pod.ada.repo.get(doc_id), "back") == "Bo", 20)
    await pod.restart_ada()
    assert pod.ada.status()["damaged_documents"] == []
    assert get_path(pod.ada.repo.get(doc_id), "back") == "Bo"
