"""Range summaries (podsync.sync.ranges): two peers find the documents they hold
differently in a few small rounds; the vectors in protocol/vectors/ranges.json;
bad rounds close the link; an older podsync peer gets the plain summary."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from podsync.errors import ProtocolError
from podsync.ids import document_id_from_bytes
from podsync.sync import Close
from podsync.sync.limits import SUMMARY_TIMEOUT
from podsync.sync.messages import Ranges, Summary, Sync, encode
from podsync.sync.ranges import LEAF_ENTRIES, MAX_DEPTH, Reconciler, Settled
from tests.sync.helpers import make_engine, open_acceptor, sent, stored_doc
from tests.sync.simnet import SimNet
from tests.sync.test_access import Deny
from tests.sync.test_summary import doc_frames, older

VECTORS = json.loads((Path(__file__).resolve().parents[2] / "protocol" / "vectors" /
                      "ranges.json").read_text())["vectors"]


def doc(i: int) -> str:
    return document_id_from_bytes(hashlib.sha256(f"doc {i}".encode()).digest()[:16])


def digest(i: int, v: int = 0) -> bytes:
    return hashlib.sha256(f"heads {i} {v}".encode()).digest()[:8]


def exchange(a: dict[str, bytes], b: dict[str, bytes]) -> tuple[list[tuple[bytes, bytes]],
                                                                  Settled, Settled]:
    """Run both sides to the end; the data of each round and what each settled."""
    ra, rb = Reconciler(a.items()), Reconciler(b.items())
    out_a, out_b = ra.first(), rb.first()
    rounds, sa, sb = [], Settled(), Settled()
    while True:
        rounds.append((out_a, out_b))
        next_a, got_a = ra.receive(len(rounds) - 1, out_b)
        next_b, got_b = rb.receive(len(rounds) - 1, out_a)
        for mine, got in ((sa, got_a), (sb, got_b)):
            mine.in_step += got.in_step
            mine.differ += got.differ
            mine.lacking += got.lacking
        assert (next_a is None) == (next_b is None)  # both sides agree when it is over
        if next_a is None:
            return rounds, sa, sb
        out_a, out_b = next_a, next_b


def expected(mine: dict[str, bytes], theirs: dict[str, bytes]) -> dict[str, set[str]]:
    return {"in_step": {d for d in mine if theirs.get(d) == mine[d]},
            "differ": {d for d in mine if d in theirs and theirs[d] != mine[d]},
            "lacking": {d for d in mine if d not in theirs}}


def as_sets(s: Settled) -> dict[str, set[str]]:
    return {"in_step": set(s.in_step), "differ": set(s.differ), "lacking": set(s.lacking)}


@pytest.mark.parametrize("vector", VECTORS, ids=[v["name"] for v in VECTORS])
def test_the_vectors(vector: dict[str, Any]) -> None:
    a = {e["documentId"]: bytes.fromhex(e["digest"]) for e in vector["a"]}
    b = {e["documentId"]: bytes.fromhex(e["digest"]) for e in vector["b"]}
    rounds, sa, sb = exchange(a, b)
    assert [(x.hex(), y.hex()) for x, y in rounds] == \
        [(r["a"], r["b"]) for r in vector["rounds"]]
    assert {k: sorted(v) for k, v in as_sets(sa).items()} == vector["settled_a"]
    assert {k: sorted(v) for k, v in as_sets(sb).items()} == vector["settled_b"]
    assert as_sets(sa) == expected(a, b) and as_sets(sb) == expected(b, a)


def test_a_reconnect_of_2000_with_10_changed_costs_a_few_kilobytes() -> None:
    a = {doc(i): digest(i) for i in range(2000)}
    b = dict(a)
    for i in range(0, 2000, 200):
        b[doc(i)] = digest(i, 1)
    rounds, sa, sb = exchange(a, b)
    assert as_sets(sa) == expected(a, b) and len(sa.differ) == 10
    sent_each_way = sum(len(x) for x, _ in rounds)
    assert len(rounds) <= 4 and sent_each_way < 4000, (len(rounds), sent_each_way)
    assert 16 * 2000 > 8 * sent_each_way  # the plain summary would send 32 KB
    nothing = exchange(a, dict(a))[0]
    assert len(nothing) == 1 and len(nothing[0][0]) <= 12


documents = st.dictionaries(st.integers(0, 400), st.integers(0, 2), max_size=120)


@settings(max_examples=200, deadline=None)
@given(a=documents, b=documents)
def test_each_side_settles_every_document_it_holds_exactly(a: dict[int, int], b: dict[int, int]) -> None:
    da = {doc(i): digest(i, v) for i, v in a.items()}
    db = {doc(i): digest(i, v) for i, v in b.items()}
    rounds, sa, sb = exchange(da, db)
    assert as_sets(sa) == expected(da, db) and as_sets(sb) == expected(db, da)
    for s, mine in ((sa, da), (sb, db)):  # each settled once
        assert len(s.in_step) + len(s.differ) + len(s.lacking) == len(mine)
    assert len(rounds) <= MAX_DEPTH + 2


def test_rounds_out_of_turn_or_malformed_are_protocol_errors() -> None:
    mine = {doc(i): digest(i) for i in range(40)}
    fresh = Reconciler(mine.items())
    with pytest.raises(ProtocolError):
        fresh.receive(1, fresh.first())  # round 1 before round 0
    for data in (b"", b"\x80", bytes.fromhex("28") + b"\x00" * 3, fresh.first() + b"\x00"):
        with pytest.raises(ProtocolError):
            Reconciler(mine.items()).receive(0, data)
    done = Reconciler(mine.items())
    assert done.receive(0, done.first())[0] is None
    with pytest.raises(ProtocolError):
        done.receive(1, b"")  # it is over


def test_a_peer_claiming_huge_counts_costs_only_what_this_side_holds() -> None:
    mine = {doc(i): digest(i) for i in range(5)}
    r = Reconciler(mine.items())
    rounds = 0
    while True:
        frontier = r._frontier
        assert len(frontier) <= 16 * len(mine)
        # 10,000 each (within MAX_ENTRIES for a round), fingerprints that never match.
        claim = b"".join(b"\x90\x4e" + b"\x01" * 8 if n.mode == 0 else b"\x00"
                         for n in frontier)
        reply, _ = r.receive(r.round, claim)
        rounds += 1
        if reply is None:
            break
    assert rounds <= MAX_DEPTH + 2
    too_many = b"\x80\x80\x80\x01" + b"\x01" * 8  # over MAX_ENTRIES in one round
    with pytest.raises(ProtocolError):
        Reconciler(mine.items()).receive(0, too_many)


def test_a_reconnect_with_200_documents_and_3_changed_over_the_engine() -> None:
    net = SimNet(41)
    a, b = net.add("A"), net.add("B")
    docs = [a.create() for _ in range(200)]
    net.connect("A", "B")
    net.settle()
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
    kinds = [type(m).__name__ for _, _, m in frames]
    assert doc_frames(frames) == changed
    assert "Summary" not in kinds and kinds.count("Ranges") >= 2
    ranges_bytes = sum(len(encode(m)) for _, _, m in frames if isinstance(m, Ranges))
    assert ranges_bytes < 2 * 200 * 16  # the plain summaries would take 6.4 KB
    assert all(b.heads(d) == a.heads(d) for d in docs)
    assert a.source.loads + b.source.loads == loads_before  # nothing unchanged was loaded
    a.edit(docs[0], "later", "x")  # the unchanged are registered: pushed at once
    net.settle()
    assert b.heads(docs[0]) == a.heads(docs[0])


def test_documents_made_during_the_exchange_are_announced_when_it_ends() -> None:
    net = SimNet(42)
    a, b = net.add("A"), net.add("B")
    docs = [a.create() for _ in range(40)]
    net.connect("A", "B")
    while not any(isinstance(m, Ranges) for _, m in a.sent):
        net.step()
    late = a.create()  # after A's first round went out
    net.settle()
    assert all(b.heads(d) == a.heads(d) for d in [*docs, late])


def test_an_older_podsync_peer_gets_the_plain_summary() -> None:
    net = SimNet(43)
    a, b = net.add("A"), older(net.add("B"))
    docs = [a.create() for _ in range(30)] + [b.create() for _ in range(5)]
    net.connect("B", "A")
    net.settle()
    kinds = {type(m).__name__ for _, _, m in net.frames_since({})}
    assert "Summary" in kinds and "Ranges" not in kinds
    assert all(b.heads(d) == a.heads(d) for d in docs)


def test_a_bad_round_closes_the_link_and_a_silent_peer_gets_announcements() -> None:
    engine, source = make_engine("srv")
    for i in range(LEAF_ENTRIES + 4):
        stored_doc(source, n=str(i))
    opened = open_acceptor(engine, 1, "cli", extension=True, features=("summary", "doc", "ranges"))
    assert [type(m) for m in sent(opened)][-1] is Ranges
    assert not [e for e in engine.receive(1, encode(Ranges("cli", "srv", 0, b"\x05")), 0.5)
                if isinstance(e, Close)] == []
    engine2, source2 = make_engine("srv")
    for i in range(3):
        stored_doc(source2, n=str(i))
    open_acceptor(engine2, 1, "cli", extension=True, features=("summary", "doc", "ranges"))
    assert sent(engine2.tick(SUMMARY_TIMEOUT - 1)) == []
    late = sent(engine2.tick(SUMMARY_TIMEOUT))
    assert len(late) == 3 and all(isinstance(m, Sync) for m in late)
    assert not any(isinstance(m, Summary) for m in late)


def test_a_document_shared_during_the_exchange_is_announced_when_it_ends() -> None:
    # A holds a document B may not read yet when the link opens (made, not yet
    # shared); it is shared while the range summary runs, so the policy change
    # finds the link still exchanging. It must be announced once the exchange ends.
    net = SimNet(44)
    policy = Deny()
    a, b = net.add("A", policy), net.add("B")
    docs = [a.create() for _ in range(40)]
    private = a.create()
    policy.denied.add(("B", private))
    net.connect("A", "B")
    while not any(isinstance(m, Ranges) for _, m in a.sent):
        net.step()
    policy.denied.clear()
    shared = a.engine.policy_changed(net.now)
    assert sent(shared) == []  # the link is in its summary: nothing announced yet
    a.apply(shared)
    net.settle()
    assert all(b.heads(d) == a.heads(d) for d in docs)
    assert b.heads(private) == a.heads(private)
    a.edit(private, "later", "x")  # registered with B now: later changes go at once
    net.settle()
    assert b.content(private) == a.content(private)
