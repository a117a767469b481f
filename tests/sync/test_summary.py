"""The podsync summary extension: reconnects cost O(changed documents).

These peers speak the plain summary only, as podsync did before range summaries
(tests/sync/test_ranges.py): a newer node still reconnects cheaply with them.
"""

from __future__ import annotations

import msgspec

from podsync.sync.limits import SUMMARY_TIMEOUT
from podsync.sync.messages import Join, Peer, Summary, Sync
from tests.sync.helpers import make_engine, open_acceptor, sent, stored_doc
from tests.sync.simnet import SimNet, SimNode


def older(node: SimNode) -> SimNode:
    """``node`` offering what podsync offered before range summaries."""
    node.engine.metadata = msgspec.structs.replace(node.engine.metadata,
                                                   extensions=("summary", "doc"))
    return node


def doc_frames(frames: list[tuple[str, int, object]]) -> set[str]:
    return {m.document_id for _, _, m in frames if hasattr(m, "document_id")}  # type: ignore[attr-defined]


def test_reconnect_with_200_documents_and_3_changed() -> None:
    net = SimNet(21)
    a, b = older(net.add("A")), net.add("B")
    docs = [a.create() for _ in range(200)]
    net.connect("A", "B")
    net.settle()
    assert all(b.heads(d) == a.heads(d) for d in docs)
    net.partition(["A"])
    net.run(1.0)
    changed = {docs[7], docs[99], docs[150]}
    a.edit(docs[7], "k", "on A")
    a.edit(docs[99], "k", "on A")
    b.edit(docs[150], "k", "on B")
    loads_before = a.source.loads + b.source.loads
    mark = net.mark()
    net.heal()
    net.settle()
    frames = net.frames_since(mark)
    assert doc_frames(frames) == changed
    kinds = [type(m).__name__ for _, _, m in frames]
    assert kinds.count("Summary") == 2 and kinds.count("Join") == 1 and kinds.count("Peer") == 1
    # A handful of sync rounds per changed document; a bloom filter's false
    # positive (about 1 in 100 per change) costs one more round trip.
    assert len(frames) <= 4 + 3 * 6 + 2, kinds
    assert all(b.heads(d) == a.heads(d) for d in docs)
    # nothing unchanged was even loaded to answer
    assert a.source.loads + b.source.loads == loads_before
    # the unchanged documents are registered: a later edit is pushed at once
    a.edit(docs[0], "later", "x")
    net.settle()
    assert b.heads(docs[0]) == a.heads(docs[0])


def test_documents_one_side_lacks_are_pushed_by_the_side_that_has_them() -> None:
    net = SimNet(22)
    a, b = net.add("A"), net.add("B")
    only_a, only_b = a.create(), b.create()
    both = a.create()
    net.connect("A", "B")
    net.settle()
    assert b.heads(only_a) == a.heads(only_a) and a.heads(only_b) == b.heads(only_b)
    assert a.heads(both) == b.heads(both)
    requests = [m for _, _, m in net.frames_since({}) if type(m).__name__ == "Request"]
    assert requests == []  # pushes, not requests


def test_announcements_wait_for_the_summary() -> None:
    engine, source = make_engine("srv")
    for i in range(3):
        stored_doc(source, n=str(i))
    effects = open_acceptor(engine, 1, "cli", extension=True, now=0.0)
    assert [type(m) for m in sent(effects)] == [Peer, Summary]
    (summary,) = [m for m in sent(effects) if isinstance(m, Summary)]
    assert len(summary.data) == 3 * 16
    # the peer never sends its summary: after the timeout, announce one by one
    assert sent(engine.tick(SUMMARY_TIMEOUT - 1)) == []
    late = sent(engine.tick(SUMMARY_TIMEOUT))
    assert len(late) == 3 and all(isinstance(m, Sync) for m in late)


def test_no_extension_messages_to_a_plain_peer() -> None:
    net = SimNet(23)
    a = net.add("A")
    js = net.add("js", extension=False)
    a.create()
    net.connect("js", "A")
    net.settle()
    assert all(not isinstance(m, Summary) for _, m in a.sent)
    (join,) = [m for _, m in js.sent if isinstance(m, Join)]
    assert join.metadata is not None and join.metadata.extension_version is None
    assert not a.engine.peers()[0].summary
