"""Convergence over the simulated network: faults, partitions, reconnects."""

from __future__ import annotations

from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from podsync.ids import new_document_id
from podsync.sync import DocumentChanged, DocumentUnavailable
from podsync.sync.limits import REQUEST_TIMEOUT
from podsync.sync.state import PeerState
from tests.sync.simnet import TICK, SimNet


def assert_converged(net: SimNet, docs: list[str]) -> None:
    for doc_id in docs:
        heads = {name: tuple(node.heads(doc_id)) for name, node in net.nodes.items()}
        assert len(set(heads.values())) == 1 and () not in heads.values(), (doc_id, heads)
        contents = [node.content(doc_id) for node in net.nodes.values()]
        assert all(c == contents[0] for c in contents), doc_id
        for node in net.nodes.values():  # what was persisted is what is live
            stored = node.source.load(doc_id)
            assert stored is not None and sorted(stored.get_heads()) == node.heads(doc_id)


def assert_settled_states(net: SimNet) -> None:
    """What a settled network leaves in every node's per-link document states: no
    request or want unanswered, no offer undecided, no request round running, and
    a link syncing every document the node holds."""
    for node in net.nodes.values():
        for doc_id, ds in node.engine._docs.docs.items():
            states = {pd.state for pd in ds.peers.values()}
            assert ds.request_deadline is None and not ds.local_find, (node.name, doc_id)
            if ds.has_content:
                assert states <= {PeerState.SYNCING}, (node.name, doc_id, states)
            else:
                assert states <= {PeerState.TOLD_UNAVAILABLE, PeerState.UNAVAILABLE}, \
                    (node.name, doc_id, states)


def build(seed: int, n_nodes: int, extra_edges: list[tuple[int, int]], extensions: list[bool],
          **faults: Any) -> SimNet:
    net = SimNet(seed, **faults)
    names = [f"n{i}" for i in range(n_nodes)]
    for name, ext in zip(names, extensions):
        net.add(name, extension=ext)
    edges = {(i - 1 - (seed + i) % i, i) for i in range(1, n_nodes)}  # a spanning tree
    edges |= {(min(a, b), max(a, b)) for a, b in extra_edges if a != b and max(a, b) < n_nodes}
    for a, b in sorted(edges):
        net.connect(names[a], names[b])
    return net


operation = st.one_of(
    st.tuples(st.just("edit"), st.integers(0, 4), st.integers(0, 3), st.text("abc", min_size=1, max_size=3)),
    st.tuples(st.just("kill"), st.integers(0, 20)),
    st.tuples(st.just("partition"), st.sets(st.integers(0, 4), min_size=1, max_size=3)),
    st.tuples(st.just("heal")),
    st.tuples(st.just("create"), st.integers(0, 4)),
    st.tuples(st.just("run"), st.floats(0.0, 2.0)),
    # a member opens a document by id: one of the pod's, or one nobody holds
    st.tuples(st.just("find"), st.integers(0, 4), st.integers(0, 4)),
)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    seed=st.integers(0, 2**16),
    n_nodes=st.integers(3, 5),
    n_docs=st.integers(1, 4),
    extensions=st.lists(st.booleans(), min_size=5, max_size=5),
    extra_edges=st.lists(st.tuples(st.integers(0, 4), st.integers(0, 4)), max_size=4),
    kill_rate=st.sampled_from([0.0, 0.01, 0.05]),
    ops=st.lists(operation, min_size=3, max_size=30),
)
def test_replicas_converge_after_healing(seed: int, n_nodes: int, n_docs: int, extensions: list[bool],
                                         extra_edges: list[tuple[int, int]], kill_rate: float,
                                         ops: list[tuple[Any, ...]]) -> None:
    net = build(seed, n_nodes, extra_edges, extensions, kill_rate=kill_rate)
    nodes = list(net.nodes.values())
    docs = [nodes[i % n_nodes].create() for i in range(n_docs)]
    found: list[tuple[int, str]] = []  # (node, document) a find asked for
    for op in ops:
        if op[0] == "edit":
            node = nodes[op[1] % n_nodes]
            doc_id = docs[op[2] % len(docs)]
            # a node edits its copy if it has one yet, as a member would
            if not node.edit(doc_id, f"{node.name}-{op[3]}", op[3]):
                nodes[op[2] % n_nodes].edit(doc_id, "fallback", op[3])
        elif op[0] == "kill":
            live = net.live_links()
            if live:
                net.kill(live[op[1] % len(live)])
        elif op[0] == "partition":
            net.partition(nodes[i % n_nodes].name for i in op[1])
        elif op[0] == "heal":
            net.heal()
        elif op[0] == "create":
            docs.append(nodes[op[1] % n_nodes].create())
        elif op[0] == "find":
            node = nodes[op[1] % n_nodes]
            doc_id = docs[op[2]] if op[2] < len(docs) else new_document_id()
            found.append((op[1] % n_nodes, doc_id))
            node.apply(node.engine.find(doc_id, net.now))
        else:
            net.run(op[1])
    net.kill_rate = 0.0
    net.heal()
    net.settle(max_frames=20_000)
    assert_converged(net, docs)
    # Quiet is not settled yet: a request round caught in a cycle (a link opened
    # while it ran) ends at its timeout.
    net.run(REQUEST_TIMEOUT + TICK)
    net.settle()
    assert_settled_states(net)
    for i, doc_id in found:  # every find was answered, and one of a pod document with it
        answers = [e for e in nodes[i].events if getattr(e, "doc_id", None) == doc_id
                   and isinstance(e, (DocumentChanged, DocumentUnavailable))]
        assert answers, doc_id
        assert doc_id in docs or all(isinstance(e, DocumentUnavailable) for e in answers)


def test_link_killed_mid_sync_resumes_without_a_loop() -> None:
    net = SimNet(31, redial=None)
    a, b = net.add("A"), net.add("B")
    docs = [a.create() for _ in range(20)]
    for i, doc_id in enumerate(docs):
        for j in range(30):
            a.edit(doc_id, f"k{j}", f"v{i}-{j}")
        b.create()
    link = net.connect("A", "B")
    while net.frames < 15:  # some documents are half way through their sync
        net.step()
    net.kill(link)
    net.settle()
    assert any(b.heads(d) != a.heads(d) for d in docs)
    first = net.frames
    net.connect("A", "B")
    net.settle(max_frames=400)  # about 2 x 3 rounds per document at most, no loop
    resumed = net.frames - first
    assert_converged(net, docs)
    assert resumed <= 10 * len(docs), resumed


def test_duplicated_sync_frames_within_a_link_are_survived() -> None:
    """Not a WebSocket failure mode, but automerge sync tolerates duplicates and so
    must the engine: it converges and does not loop."""
    net = SimNet(32, dup_rate=0.3)
    a, b, c = net.add("A"), net.add("B", extension=False), net.add("C")
    docs = [a.create(), b.create(), c.create()]
    net.connect("A", "B")
    net.connect("B", "C")
    net.connect("A", "C")
    for i in range(10):
        for node in (a, b, c):
            for doc_id in docs:
                node.edit(doc_id, f"{node.name}{i}", str(i))
        net.run(0.02)
    net.settle(max_frames=5_000)
    assert_converged(net, docs)


def test_everyone_converges_through_a_chain_of_plain_and_extension_peers() -> None:
    net = SimNet(33, kill_rate=0.02)
    names = ["p0", "p1", "p2", "p3", "p4"]
    for i, name in enumerate(names):
        net.add(name, extension=i % 2 == 0)
    for left, right in zip(names, names[1:]):
        net.connect(left, right)
    docs = [net.nodes[name].create() for name in names]
    for round_ in range(5):
        for name in names:
            for doc_id in docs:
                net.nodes[name].edit(doc_id, f"{name}-{round_}", "x")
        net.run(0.5)
    net.kill_rate = 0.0
    net.heal()
    net.settle()
    assert_converged(net, docs)
