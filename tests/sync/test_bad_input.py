"""Hostile or broken input closes that link only; the engine and other links carry on."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import automerge.core as am
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from podsync.sync import AllowAll, Close, PeerDisconnected
from podsync.sync.limits import MAX_FRAME_BYTES
from podsync.sync.messages import Request, Sync, encode
from tests.sync.helpers import closes, frame, of_type, open_acceptor, sent, stored_doc
from tests.sync.simnet import MemorySource, SourcedEngine

VECTORS = json.loads(
    (Path(__file__).resolve().parents[2] / "protocol" / "vectors" / "invalid.json").read_text())
EMPTY = am.Document().generate_sync_message(am.SyncState()).encode()


class Bench:
    """An engine with one healthy peer ("good", syncing a document) and one link
    under test ("bad")."""

    def __init__(self, *, bad_extension: bool = False, source: MemorySource | None = None,
                 policy: AllowAll | None = None) -> None:
        self.source = source or MemorySource()
        self.engine = SourcedEngine("srv", self.source, policy)
        self.doc_id, _ = stored_doc(self.source, title="shared")
        open_acceptor(self.engine, 1, "good")
        self.good = am.Document()
        self.good_state = am.SyncState()
        self.exchange(Request)  # good asks for the document and gets it
        assert self.good.get_heads() == self.engine.open(self.doc_id).get_heads()  # type: ignore[union-attr]
        open_acceptor(self.engine, 2, "bad", extension=bad_extension)

    def exchange(self, first: type = Sync) -> list[Any]:
        """Run good's side of the sync until quiet; returns every effect."""
        effects: list[Any] = []
        kind = first
        while (msg := self.good.generate_sync_message(self.good_state)) is not None:
            out = self.engine.receive(1, encode(kind("good", "srv", self.doc_id, msg.encode())), 0.0)
            effects += out
            kind = Sync
            for reply in sent(out, 1):
                self.good.receive_sync_message(self.good_state, am.Message.decode(reply.data))
        return effects

    def good_link_still_works(self) -> None:
        doc = self.engine.open(self.doc_id)
        assert doc is not None
        with doc.transaction() as tx:
            tx.put(am.ROOT, "after", am.ScalarType.Str, "the bad frame")
        pushed = sent(self.engine.local_change(self.doc_id, 1.0), 1)
        assert pushed, "the healthy peer got no push"
        for msg in pushed:
            self.good.receive_sync_message(self.good_state, am.Message.decode(msg.data))
        self.exchange()
        assert sorted(self.good.get_heads()) == sorted(doc.get_heads())
        assert [p.peer_id for p in self.engine.peers()] == ["good"]


def assert_closed_alone(effects: list[Any], conn: int = 2) -> None:
    assert [c.conn for c in closes(effects)] == [conn]
    assert of_type(effects, PeerDisconnected) == [PeerDisconnected(conn, "bad")]


@pytest.mark.parametrize("vector", VECTORS["vectors"], ids=[v["name"] for v in VECTORS["vectors"]])
def test_invalid_vectors_close_only_their_link(vector: dict[str, Any]) -> None:
    bench = Bench(bad_extension=vector["name"].startswith("summary"))
    effects = bench.engine.receive(2, bytes.fromhex(vector["hex"]), 0.0)
    assert_closed_alone(effects)
    bench.good_link_still_works()


def test_oversized_frame_closes() -> None:
    bench = Bench()
    effects = bench.engine.receive(2, b"\xa0" + bytes(MAX_FRAME_BYTES), 0.0)
    assert_closed_alone(effects)
    assert "exceeds" in closes(effects)[0].reason
    bench.good_link_still_works()


def test_truncated_real_frame_closes() -> None:
    bench = Bench()
    good = encode(Request("bad", "srv", bench.doc_id, EMPTY))
    for cut in (1, len(good) // 2, len(good) - 1):
        if not any(p.conn == 2 for p in bench.engine.peers()):
            open_acceptor(bench.engine, 2, "bad")
        assert_closed_alone(bench.engine.receive(2, good[:cut], 0.0))
    bench.good_link_still_works()


def test_wrong_field_types_close() -> None:
    bench = Bench()
    effects = bench.engine.receive(2, frame(type="request", senderId="bad", targetId="srv",
                                            documentId=bench.doc_id, data=["not", "bytes"]), 0.0)
    assert_closed_alone(effects)
    bench.good_link_still_works()


def test_bad_automerge_bytes_on_a_known_document_close() -> None:
    bench = Bench()
    heads_only = b"\x42\x01" + b"\x07" * 32 + b"\xff\xff\xff"
    effects = bench.engine.receive(2, encode(Sync("bad", "srv", bench.doc_id, heads_only)), 0.0)
    assert_closed_alone(effects)
    bench.good_link_still_works()


class PanicPolicy(AllowAll):
    """Sharing rules that die like a Rust panic through PyO3 on one document."""

    class Panic(BaseException):
        pass

    poisoned = ""

    def may_read(self, peer_id: str, doc_id: str) -> bool:
        if doc_id == self.poisoned:
            raise self.Panic("thread panicked")
        return True


def test_base_exception_from_the_core_closes_only_that_link() -> None:
    policy = PanicPolicy()
    bench = Bench(policy=policy)
    policy.poisoned, _ = stored_doc(bench.source, x="y")
    effects = bench.engine.receive(2, encode(Request("bad", "srv", policy.poisoned, EMPTY)), 0.0)
    assert_closed_alone(effects)
    assert "internal error" in closes(effects)[0].reason
    bench.good_link_still_works()


@pytest.mark.parametrize("exc", [KeyboardInterrupt, SystemExit])
def test_interrupts_are_not_swallowed(exc: type[BaseException]) -> None:
    class Interrupting(MemorySource):
        def load(self, doc_id: str) -> am.Document | None:
            raise exc

    source = Interrupting()
    stored_doc(source, x="y")
    engine = SourcedEngine("srv", source)
    with pytest.raises(exc):
        open_acceptor(engine, 1, "cli")  # announcing the stored document loads it


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.one_of(
    st.binary(max_size=200),
    st.builds(lambda d, i: d[:i], st.sampled_from([
        encode(Request("bad", "srv", "2hdTpLRSTDm66LVBnsMCeyWrmzEU", EMPTY)),
        encode(Sync("bad", "srv", "2hdTpLRSTDm66LVBnsMCeyWrmzEU", b"\x42\x01" + b"\x01" * 32)),
    ]), st.integers(0, 80)),
    st.builds(lambda prefix, blob: prefix + blob,
              st.sampled_from([b"\x42\x00", b"\x43\x00", b"\x42\x01" + b"\x05" * 32]),
              st.binary(max_size=120)).map(
        lambda payload: encode(Sync("bad", "srv", "2hdTpLRSTDm66LVBnsMCeyWrmzEU", payload))),
))
def test_random_input_never_escapes_its_link(data: bytes) -> None:
    bench = _shared_bench()
    if not any(p.conn == 2 for p in bench.engine.peers()):  # a previous example closed it
        open_acceptor(bench.engine, 2, "bad")
    effects = bench.engine.receive(2, data, 0.0)
    for effect in effects:
        if isinstance(effect, Close):
            assert effect.conn == 2
    assert [p.peer_id for p in bench.engine.peers()][0] == "good"


_BENCH: list[Bench] = []


def _shared_bench() -> Bench:
    if not _BENCH:
        _BENCH.append(Bench())
    return _BENCH[0]


def test_engine_is_healthy_after_the_random_input() -> None:
    _shared_bench().good_link_still_works()
