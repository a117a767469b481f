"""Documents nobody uses are let go of and loaded again when needed, never losing
a change or where a peer stands (podsync.sync.residency)."""

from __future__ import annotations

from typing import Any

import automerge.core as am
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from podsync.sync.residency import EVICT_IDLE_SECONDS, Residency
from tests.sync.helpers import make_engine, stored_doc
from tests.sync.simnet import TICK, SimNet
from tests.sync.test_simnet import assert_converged, build, operation


def loaded(engine) -> set[str]:
    return {d for d, ds in engine._docs.docs.items() if ds.doc is not None}


def sweeps(engine, *moments: float) -> None:
    for now in moments:
        engine.tick(now)


def test_a_document_nobody_uses_is_let_go_and_loads_again_whole() -> None:
    engine, source = make_engine("n")
    doc_id, doc = stored_doc(source, title="ours")
    assert engine.open(doc_id) is not None and source.loads == 1
    sweeps(engine, 0.0, EVICT_IDLE_SECONDS)  # used in this period: kept
    assert loaded(engine) == {doc_id}
    sweeps(engine, 2 * EVICT_IDLE_SECONDS)  # a whole period unused: let go
    assert loaded(engine) == set() and engine.holds(doc_id)
    again = engine.open(doc_id)
    assert source.loads == 2 and again is not None
    assert again.get(am.ROOT, "title")[0] == (am.ScalarType.Str, "ours")
    assert sorted(again.get_heads()) == sorted(doc.get_heads())


def test_past_the_cap_the_least_recently_used_are_let_go() -> None:
    engine, source = make_engine("n")
    engine._docs.residency = Residency(max_loaded=3)
    ids = [stored_doc(source, n=str(i))[0] for i in range(10)]
    for doc_id in ids:
        engine.open(doc_id)
    assert loaded(engine) == set(ids[-3:])
    engine.open(ids[0])  # loads again, and the least recent of the others goes
    assert loaded(engine) == {ids[0], *ids[-2:]}


def test_a_change_not_yet_noted_or_stored_keeps_its_document_loaded() -> None:
    engine, source = make_engine("n")
    doc_id, _ = stored_doc(source, title="ours")
    doc = engine.open(doc_id)
    assert doc is not None
    before = doc.get_heads()
    with doc.transaction() as tx:  # a local change the runtime has not reported yet
        tx.put(am.ROOT, "title", am.ScalarType.Str, "changed")
    sweeps(engine, 0.0, EVICT_IDLE_SECONDS, 2 * EVICT_IDLE_SECONDS, 3 * EVICT_IDLE_SECONDS)
    assert loaded(engine) == {doc_id}
    engine.local_change(doc_id, 3 * EVICT_IDLE_SECONDS)  # noted, not stored yet
    sweeps(engine, 5 * EVICT_IDLE_SECONDS, 6 * EVICT_IDLE_SECONDS)
    assert loaded(engine) == {doc_id}
    source.persist(doc_id, [c.bytes for c in doc.get_changes(before)], doc.get_heads())
    sweeps(engine, 8 * EVICT_IDLE_SECONDS)
    assert loaded(engine) == set()
    assert engine.open(doc_id).get(am.ROOT, "title")[0] == (am.ScalarType.Str, "changed")


def test_a_document_stays_loaded_while_a_peer_is_not_in_step() -> None:
    net = SimNet(7, redial=None)
    a, b = net.add("A"), net.add("B")
    for node in (a, b):
        node.engine._docs.residency = Residency(idle_seconds=TICK)
    doc_id = a.create()
    net.connect("A", "B")
    net.settle()
    for i in range(30):
        a.edit(doc_id, f"k{i}", "v")
    pd = a.engine._docs.docs[doc_id].peers
    assert any(p.their_heads != a.heads(doc_id) for p in pd.values())
    assert a.engine._docs.unload(doc_id) is False  # its sync with B is under way
    net.settle()
    net.run(3 * TICK)
    assert doc_id not in loaded(a.engine) and doc_id not in loaded(b.engine)
    a.edit(doc_id, "after", "let go and loaded again")  # pushed as ever
    net.settle()
    assert b.content(doc_id) == a.content(doc_id)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(seed=st.integers(0, 2**16), n_nodes=st.integers(2, 4), n_docs=st.integers(2, 6),
       ops=st.lists(operation, min_size=3, max_size=25))
def test_replicas_converge_while_documents_are_let_go_all_the_time(
        seed: int, n_nodes: int, n_docs: int, ops: list[tuple[Any, ...]]) -> None:
    net = build(seed, n_nodes, [], [True] * 5, kill_rate=0.02)
    nodes = list(net.nodes.values())
    for node in nodes:  # one document loaded at a time, idle after one tick
        node.engine._docs.residency = Residency(max_loaded=1, idle_seconds=TICK)
    docs = [nodes[i % n_nodes].create() for i in range(n_docs)]
    for op in ops:
        if op[0] == "edit":
            node = nodes[op[1] % n_nodes]
            node.edit(docs[op[2] % len(docs)], f"{node.name}-{op[3]}", op[3])
        elif op[0] == "kill" and net.live_links():
            net.kill(net.live_links()[op[1] % len(net.live_links())])
        elif op[0] == "partition":
            net.partition(nodes[i % n_nodes].name for i in op[1])
        elif op[0] == "heal":
            net.heal()
        elif op[0] == "create":
            docs.append(nodes[op[1] % n_nodes].create())
        elif op[0] == "run":
            net.run(op[1] + 2 * TICK)  # time for sweeps
    net.kill_rate = 0.0
    net.heal()
    net.settle(max_frames=20_000)
    assert_converged(net, docs)
    assert all(len(loaded(node.engine)) <= n_docs for node in nodes)


def test_documents_arriving_by_sync_make_room_too() -> None:
    net = SimNet(9, redial=None)
    a, b = net.add("A"), net.add("B")
    b.engine._docs.residency = Residency(max_loaded=5)
    docs = [a.create() for _ in range(30)]
    net.connect("B", "A")
    net.settle()
    assert len(loaded(b.engine)) <= 5 + 1
    assert all(b.heads(d) == a.heads(d) for d in docs)
