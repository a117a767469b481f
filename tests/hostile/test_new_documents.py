"""A member's node offering more new documents than a peer may make a node take
up (PEER_NEW_DOCUMENTS_*), over the real protocol and pinned TLS: past the
burst, each is answered doc-unavailable and nothing of it is kept; the budget
survives reconnects; as it refills, the honest node asks for what it refused,
one document per token.

The burst is lowered for this test (the honest nodes run in this process), so
that it is sent past in seconds rather than with 16,384 documents; the
simulated-engine test (tests/sync/test_limits.py) sends past the real one.
"""

from __future__ import annotations

import automerge.core as am
import pytest

from podsync.pod.feedback import STATEMENT_KIND, creation_draft
from podsync.records.format import derived_id
from podsync.sync import guards
from podsync.trust.ledger import new_document
from tests.attacks.hostile import HostilePeer, Insider
from tests.hostile.conftest import Pod, eventually

BURST = 12
RATE = 4.0  # documents a second


def statements(mallory: Insider, first: int, count: int) -> list[tuple[str, am.Document]]:
    """Public statements Mallory may write (every member reads them): ids and documents."""
    out = []
    for i in range(first, first + count):
        record = mallory.sign("", creation_draft(STATEMENT_KIND, "pod", {"text": f"statement {i}"}))
        out.append((derived_id("doc", record.payload), new_document([record])))
    return out


def stored(pod: Pod, docs: list[tuple[str, am.Document]]) -> list[str]:
    held = {info.doc_id for info in pod.ada.store.list_documents()}
    return [doc_id for doc_id, _ in docs if doc_id in held]


async def test_new_documents_past_the_budget_are_refused_then_asked_for_as_it_refills(
        pod: Pod, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(guards, "PEER_NEW_DOCUMENTS_BURST", BURST)
    monkeypatch.setattr(guards, "PEER_NEW_DOCUMENTS_PER_SECOND", RATE)
    mallory = Insider(pod.mallory_home)
    docs = statements(mallory, 0, BURST + 8)
    async with mallory.peer(pod.ada) as peer:
        assert isinstance(peer, HostilePeer)
        ada_id = await peer.handshake(extensions=True)
        for doc_id, doc in docs:
            peer.docs[doc_id] = (doc, am.SyncState())  # so it answers Ada's asks
            await peer.offer_whole(doc_id, doc, ada_id)
        await peer.settled(ada_id)
        await pod.ada.repo.flush()
        refused = [doc_id for doc_id, _ in docs if "doc-unavailable" in peer.types_about(doc_id)]
        taken = stored(pod, docs)
        # The burst was taken at once (and perhaps a token or two refilled while
        # sending); the rest were refused, and none of them is on Ada's disk.
        assert BURST <= len(taken) < len(docs) and len(refused) >= 8 - 2
        assert set(refused) == {d for d, _ in docs} - set(taken)
        # As tokens come back, Ada asks Mallory for each refused one, once, and
        # takes what Mallory sends.
        await eventually(lambda: set(stored(pod, docs)) == {d for d, _ in docs}, 20)
        asked = [f["documentId"] for f in peer.frames if f.get("type") == "request"]
        assert sorted(asked) == sorted(refused)
        assert not peer.closed
    # A new link of the same member starts with what is left, not a fresh burst.
    more = statements(mallory, BURST + 8, BURST)
    async with mallory.peer(pod.ada) as peer:
        ada_id = await peer.handshake(extensions=True)
        for doc_id, doc in more:
            await peer.offer_whole(doc_id, doc, ada_id)
        await peer.settled(ada_id)
        await pod.ada.repo.flush()
        taken_at_once = len(stored(pod, more))
        assert taken_at_once < BURST
        assert sum("doc-unavailable" in peer.types_about(doc_id) for doc_id, _ in more) \
            == BURST - taken_at_once
    await pod.bo_sees_adas_edits("after the offers")
