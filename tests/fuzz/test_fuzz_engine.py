"""Fuzzing the sync engine with hostile frames (seeded, bounded in time).

Each example: an engine with a healthy peer syncing a document and a hostile
link sending a few frames of tests/fuzz/strategies.py. Invariants after every
frame: nothing escapes the engine, the healthy peer still gets the member's
edits, memory stays under MEMORY_BOUND_MIB; after the example, every stored
document loads again ("restart") and holds every acknowledged edit.

PODSYNC_FUZZ_SEED replays a run; PODSYNC_FUZZ_EXAMPLES makes it longer.
"""

from __future__ import annotations

import os

import automerge.core as am
from hypothesis import HealthCheck, given, seed, settings
from hypothesis import strategies as st

from podsync.sync import Close, Persist, SyncEngine
from tests.fuzz import strategies as hostile
from tests.sync.bombs import peak_rss_mib, reset_peak_rss, rss_mib
from tests.sync.helpers import open_acceptor, sent
from tests.sync.simnet import MemorySource, SourcedEngine
from tests.sync.test_bad_input import EMPTY
from podsync.sync.messages import Request, Sync, encode

SEED = int(os.environ.get("PODSYNC_FUZZ_SEED", "20261123"))
EXAMPLES = int(os.environ.get("PODSYNC_FUZZ_EXAMPLES", "120"))
#: Whatever a frame holds, the engine's process grows by less than this while
#: taking it: one input inflates to MAX_INPUT_BYTES at most, held about four
#: times over by automerge, and the weighing walk's own copy.
MEMORY_BOUND_MIB = 256


class World:
    def __init__(self) -> None:
        self.source = MemorySource()
        self.engine = SourcedEngine("srv", self.source)
        self.doc_id = hostile.SHARED_ID
        doc = am.Document()
        with doc.transaction() as tx:
            tx.put(am.ROOT, "title", am.ScalarType.Str, "shared")
        self.source.save(self.doc_id, doc)
        self.acknowledged: dict[str, str] = {}
        self.good = am.Document()
        self.good_state = am.SyncState()
        open_acceptor(self.engine, 1, "good")
        self.feed_good(self.engine.receive(1, encode(Request("good", "srv", self.doc_id, EMPTY)), 0.0))
        self.hostile = 2
        open_acceptor(self.engine, self.hostile, "mallory", extension=True)

    def carry_out(self, effects: list) -> None:  # type: ignore[type-arg]
        for e in effects:
            if isinstance(e, Persist):
                self.source.persist(e.doc_id, list(e.changes), list(e.heads))
            if isinstance(e, Close) and e.conn == self.hostile:
                self.hostile += 1  # it reconnects
                open_acceptor(self.engine, self.hostile, "mallory", extension=True)
        self.feed_good(effects)

    def feed_good(self, effects: list) -> None:  # type: ignore[type-arg]
        while True:
            for msg in sent(effects, 1):
                # The healthy peer syncs the shared document only (others the
                # hostile peer planted are announced to it too; it ignores them).
                if isinstance(msg, Sync) and msg.document_id == self.doc_id:
                    self.good.receive_sync_message(self.good_state, am.Message.decode(msg.data))
            reply = self.good.generate_sync_message(self.good_state)
            if reply is None:
                return
            effects = self.engine.receive(1, encode(Sync("good", "srv", self.doc_id, reply.encode())), 0.0)
            for e in effects:
                if isinstance(e, Persist):
                    self.source.persist(e.doc_id, list(e.changes), list(e.heads))

    def member_edits(self, n: int) -> None:
        """An acknowledged local edit: in the store, then pushed."""
        doc = self.engine.open(self.doc_id)
        assert doc is not None
        before = doc.get_heads()
        with doc.transaction() as tx:
            tx.put(am.ROOT, f"edit{n}", am.ScalarType.Str, f"value {n}")
        self.source.persist(self.doc_id, [c.bytes for c in doc.get_changes(before)], doc.get_heads())
        self.acknowledged[f"edit{n}"] = f"value {n}"
        self.carry_out(self.engine.local_change(self.doc_id, 0.0))
        got = self.good.get(am.ROOT, f"edit{n}")
        assert got is not None and got[0][1] == f"value {n}", "the healthy peer missed an edit"


@seed(SEED)
@settings(max_examples=EXAMPLES, deadline=None, database=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(st.data())
def test_hostile_frames_never_escape_and_lose_nothing(data: st.DataObject) -> None:
    print(f"fuzz seed {SEED} (PODSYNC_FUZZ_SEED replays it)")
    world = World()
    base = rss_mib()
    reset_peak_rss()
    for n in range(data.draw(st.integers(1, 5), label="frames")):
        frame = hostile.frame(data, "mallory", "srv", [world.doc_id])
        world.carry_out(world.engine.receive(world.hostile, frame, 0.0))  # never raises
        world.member_edits(n)
        assert peak_rss_mib() - base < MEMORY_BOUND_MIB
    # "Restart": every stored document loads from its chunks, with every acknowledged edit.
    for doc_id, chunks in world.source.chunks.items():
        doc = am.Document.load(b"".join(chunks))
        if doc_id == world.doc_id:
            for key, value in world.acknowledged.items():
                assert doc.get(am.ROOT, key)[0][1] == value  # type: ignore[index]
