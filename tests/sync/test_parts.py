"""A document more than a peer takes as one input travels in parts.

A pod's needs board after a few years is past MAX_INPUT_BYTES saved, and a
member back from months offline may lack that much; every frame an honest node
sends stays within what the peer takes (guards.beyond_input_limits), so the
document goes as several sync messages, each carrying the next changes in
automerge's order, and the peer's answer to one part brings the next. A peer
that speaks the whole-document extension and holds nothing first gets the
document saved as it stood some way through its history, then the rest so.
"""

from __future__ import annotations

import logging
import os

import automerge.core as am
import pytest

from podsync.ids import new_document_id
from podsync.sync import documents
from podsync.sync.cost import sync_message_cost, sync_message_parts
from podsync.sync.guards import beyond_input_limits, first_part, measure_document
from podsync.sync.limits import CHUNK_ENTRY_WEIGHT, MAX_FRAME_BYTES, MAX_INPUT_BYTES, MAX_INPUT_ENTRIES
from podsync.sync.messages import Sync, WholeDoc
from tests.sync.simnet import SimNet, SimNode

#: One change's worth of text: random, so no compression shrinks it.
PIECE = 1024 * 1024


def grow(node: SimNode, doc_id: str, mib: int, key: str = "piece") -> None:
    """Add ``mib`` changes of about a MiB each to ``doc_id`` on ``node``."""
    for i in range(mib):
        assert node.edit(doc_id, f"{key}{i}", os.urandom(PIECE // 2).hex())


def frames_of(net: SimNet, mark: dict[str, int], doc_id: str, sender: str) -> list[object]:
    return [m for who, _, m in net.frames_since(mark)
            if who == sender and getattr(m, "document_id", None) == doc_id]


def carried(frames: list[object]) -> list[int]:
    """How many changes each Sync frame carried (those carrying any)."""
    counts = [len(sync_message_parts(m.data).chunks) for m in frames if isinstance(m, Sync)]
    return [n for n in counts if n]


def assert_each_within_limits(frames: list[object]) -> None:
    for m in frames:
        data = m.data  # type: ignore[attr-defined]
        assert beyond_input_limits(data, sync_message=isinstance(m, Sync)) is None
        assert len(data) < MAX_FRAME_BYTES


@pytest.mark.parametrize("extension", [True, False], ids=["whole-doc peers", "plain protocol"])
def test_a_document_past_one_input_reaches_a_peer_that_lacks_it_in_parts(extension: bool) -> None:
    net = SimNet(41)
    a = net.add("A", extension=extension)
    b = net.add("B", extension=extension)
    doc_id = a.create()
    grow(a, doc_id, 20)
    assert beyond_input_limits(a.engine.open(doc_id).save(), sync_message=False) is not None  # type: ignore[union-attr]
    mark = net.mark()
    net.connect("B", "A")
    net.settle()
    assert b.heads(doc_id) == a.heads(doc_id)
    assert b.content(doc_id) == a.content(doc_id)
    sent = frames_of(net, mark, doc_id, "A")
    assert_each_within_limits(sent)
    wholes = [m for m in sent if isinstance(m, WholeDoc)]
    parts = carried(sent)
    if extension:
        # The document as it stood some way through its history, saved; the rest
        # (at least the changes it lacked) by sync.
        [whole] = wholes
        start = am.Document.load(whole.data)
        held = len(start.get_changes([]))
        assert 1 <= held < 21 and sum(parts) >= 21 - held
        assert sent.index(whole) < min(i for i, m in enumerate(sent) if isinstance(m, Sync))
    else:
        assert not wholes
        assert len(parts) >= 2 and sum(parts) >= 21  # every change, none past the limits
    # What B stored loads back to the same document.
    stored = b.source.load(doc_id)
    assert stored is not None and sorted(stored.get_heads()) == a.heads(doc_id)


def test_a_peer_back_from_long_offline_gets_what_it_missed_in_parts() -> None:
    net = SimNet(42)
    a, b = net.add("A"), net.add("B")
    doc_id = a.create()
    link = net.connect("B", "A")
    net.settle()
    assert b.heads(doc_id) == a.heads(doc_id)
    net.redial = None
    net.kill(link)
    net.settle()
    grow(a, doc_id, 18, "while-away")  # months of changes while B was away
    b.edit(doc_id, "b-offline", "its own")
    mark = net.mark()
    net.redial = (0.5, 3.0)
    net.connect("B", "A")
    net.settle()
    assert b.heads(doc_id) == a.heads(doc_id)
    assert a.content(doc_id)["b-offline"] == (am.ScalarType.Str, "its own")  # type: ignore[index]
    sent = frames_of(net, mark, doc_id, "A")
    assert_each_within_limits(sent)
    assert len(carried(sent)) >= 2


def test_parts_carry_changes_in_an_order_the_peer_can_apply() -> None:
    doc = am.Document()
    for i in range(20):
        with doc.transaction() as tx:
            tx.put(am.ROOT, f"k{i}", am.ScalarType.Str, os.urandom(PIECE // 2).hex())
    peer, peer_state, state = am.Document(), am.SyncState(), am.SyncState()
    rounds = 0
    while True:
        rounds += 1
        assert rounds < 10
        hello = peer.generate_sync_message(peer_state)
        if hello is not None:
            doc.receive_sync_message(state, hello)
        msg = doc.generate_sync_message(state)
        if msg is None:
            break
        data = bytes(msg.encode())
        if beyond_input_limits(data, sync_message=True) is not None:
            part = first_part(data, doc)
            assert part is not None
            data, state = part, am.SyncState()
        cost = sync_message_cost(data, max_bytes=MAX_INPUT_BYTES, max_entries=MAX_INPUT_ENTRIES,
                                 chunk_weight=CHUNK_ENTRY_WEIGHT)
        assert cost.bytes <= MAX_INPUT_BYTES
        before = peer.get_heads()
        peer.receive_sync_message(peer_state, am.Message.decode(data))
        if sync_message_parts(data).chunks:
            # Every change a part carried applied: none waited for a later part.
            assert len(peer.get_changes(before)) == len(sync_message_parts(data).chunks)
    assert sorted(peer.get_heads()) == sorted(doc.get_heads())
    assert rounds >= 3


def test_one_change_past_a_frame_is_not_sent_and_the_link_carries_the_rest(
        caplog: pytest.LogCaptureFixture) -> None:
    net = SimNet(43)
    a, b = net.add("A", extension=False), net.add("B", extension=False)
    huge = a.create()
    assert a.edit(huge, "one", os.urandom(MAX_INPUT_BYTES // 2 + 1).hex())  # one change, past the limits
    fine = a.create()
    mark = net.mark()
    with caplog.at_level(logging.WARNING, logger="podsync.sync"):
        net.connect("B", "A")
        net.settle()
    assert b.heads(fine) == a.heads(fine)
    assert b.heads(huge) != a.heads(huge)
    assert_each_within_limits(frames_of(net, mark, huge, "A"))
    assert any(f"document {huge} is not synced with peer B" in r.getMessage() for r in caplog.records)
    # The link is still up: a later edit of the other document arrives.
    a.edit(fine, "later", "yes")
    net.settle()
    assert b.content(fine)["later"] == (am.ScalarType.Str, "yes")  # type: ignore[index]
    # B holds what fitted (the document's first change), not the one past the limits.
    assert "one" not in (b.content(huge) or {}) and "created_by" in (b.content(huge) or {})


@pytest.mark.parametrize("measured", [True, False], ids=["store measured it", "not measured"])
def test_a_document_the_store_measured_past_one_input_is_not_saved_whole_first(
        measured: bool, monkeypatch: pytest.MonkeyPatch) -> None:
    """Loaded with what the store measured it at, a document past one input goes
    as a saved prefix without being saved and weighed whole first (a needs board
    of some years: 0.3 s of the founder's time per new member)."""
    net = SimNet(43)
    a = net.add("A")
    b = net.add("B")
    doc = am.Document()
    for i in range(20):
        with doc.transaction() as tx:
            tx.put(am.ROOT, f"piece{i}", am.ScalarType.Str, os.urandom(PIECE // 2).hex())
    doc_id = new_document_id()
    a.source.save(doc_id, doc)
    if measured:
        a.source.sizes[doc_id] = measure_document(doc)
    whole_checks: list[int] = []

    def spy(data: bytes, *, sync_message: bool) -> str | None:
        if not sync_message:
            whole_checks.append(len(data))
        return beyond_input_limits(data, sync_message=sync_message)

    monkeypatch.setattr(documents, "beyond_input_limits", spy)
    mark = net.mark()
    net.connect("B", "A")
    net.settle()
    assert b.heads(doc_id) == sorted(doc.get_heads())
    sent = frames_of(net, mark, doc_id, "A")
    assert_each_within_limits(sent)
    [whole] = [m for m in sent if isinstance(m, WholeDoc)]
    assert 1 <= len(am.Document.load(whole.data).get_changes([])) < 21
    assert whole_checks == ([] if measured else [len(doc.save())])
