"""Weighing automerge bytes from their headers (sync/cost.py): honest inputs of
every shape automerge makes, bombs, and bytes that are not automerge at all."""

from __future__ import annotations

import functools
import random

import automerge.core as am
import pytest
from hypothesis import HealthCheck, given, seed, settings
from hypothesis import strategies as st

from podsync.errors import ProtocolError
from podsync.sync.cost import Cost, InputTooCostly, chunks_cost, sync_message_cost
from podsync.sync.limits import CHUNK_ENTRY_WEIGHT, MAX_INPUT_BYTES, MAX_INPUT_ENTRIES
from tests.sync.bombs import deflate_bomb, run_length_bomb, sync_message

UNLIMITED = {"max_bytes": 1 << 62, "max_entries": 1 << 62}


def shapes() -> dict[str, am.Document]:
    """Documents of the shapes a pod and its local apps make."""
    rng = random.Random(5)
    out = {}
    doc = am.Document()
    with doc.transaction() as tx:
        items = tx.put_object(am.ROOT, "items", am.ObjType.List)
        for i in range(3000):
            tx.insert(items, i, am.ScalarType.Int, i)
    out["list"] = doc
    doc = am.Document()
    with doc.transaction() as tx:
        text = tx.put_object(am.ROOT, "text", am.ObjType.Text)
        tx.splice_text(text, 0, 0, "hello world " * 300)
    out["text"] = doc
    doc = am.Document()
    for i in range(300):
        with doc.transaction() as tx:
            event = tx.put_object(am.ROOT, f"event{i % 20}", am.ObjType.Map)
            tx.put(event, "by", am.ScalarType.Str, "member-" + str(rng.randrange(5)))
            tx.put(event, "at", am.ScalarType.F64, rng.random())
            tx.put(event, "done", am.ScalarType.Boolean, bool(i % 2))
    out["changes"] = doc
    merged = am.Document()
    for _ in range(3):  # concurrent edits by several actors, merged
        fork = am.Document()
        with fork.transaction() as tx:
            tx.put(am.ROOT, "shared", am.ScalarType.Str, "x" * rng.randrange(1, 400))
        merged.merge(fork)
    out["merged"] = merged
    return out


@pytest.mark.parametrize("name", ["list", "text", "changes", "merged"])
def test_every_shape_automerge_writes_is_walked_and_weighed(name: str) -> None:
    doc = shapes()[name]
    saved = bytes(doc.save())
    changes = [bytes(c.bytes) for c in doc.get_changes([])]
    whole = chunks_cost(saved, **UNLIMITED)
    one_by_one = chunks_cost(b"".join(changes), **UNLIMITED)
    assert whole.entries > 0 and one_by_one.entries > 0
    assert whole.bytes >= len(saved) - 64  # at least what it holds, less chunk headers
    # A sync message from a fresh state carries the document (V2, whole) or its
    # changes (V1); either way it weighs what its chunks weigh.
    state, empty = am.SyncState(), am.Document()
    doc.receive_sync_message(state, empty.generate_sync_message(am.SyncState()))
    message = doc.generate_sync_message(state)
    assert message is not None
    weighed = sync_message_cost(bytes(message.encode()), **UNLIMITED)
    assert weighed.entries in (whole.entries, one_by_one.entries)


def test_entries_grow_with_operations_and_each_chunk_has_a_weight() -> None:
    small, big = am.Document(), am.Document()
    for doc, n in ((small, 100), (big, 10_000)):
        with doc.transaction() as tx:
            items = tx.put_object(am.ROOT, "items", am.ObjType.List)
            for i in range(n):
                tx.insert(items, i, am.ScalarType.Null, None)
    assert chunks_cost(bytes(big.save()), **UNLIMITED).entries > 50 * chunks_cost(
        bytes(small.save()), **UNLIMITED).entries
    change = bytes(small.get_changes([])[0].bytes)
    plain = chunks_cost(change, **UNLIMITED)
    weighted = chunks_cost(change * 3, **UNLIMITED, chunk_weight=CHUNK_ENTRY_WEIGHT)
    assert weighted == Cost(3 * plain.bytes, 3 * (plain.entries + CHUNK_ENTRY_WEIGHT))


def test_a_run_length_bomb_is_refused_from_its_few_bytes() -> None:
    bomb = run_length_bomb(100 * MAX_INPUT_ENTRIES)
    assert len(bomb) < 200
    with pytest.raises(InputTooCostly, match="column entries"):
        chunks_cost(bomb, max_bytes=MAX_INPUT_BYTES, max_entries=MAX_INPUT_ENTRIES)
    with pytest.raises(InputTooCostly):
        sync_message_cost(sync_message([bomb]), max_bytes=MAX_INPUT_BYTES, max_entries=MAX_INPUT_ENTRIES)
    # The same bomb, small enough, is what it claims: automerge applies every op.
    small = run_length_bomb(1000)
    assert chunks_cost(small, **UNLIMITED).entries >= 9 * 1000
    loaded = am.Document.load(small)
    assert loaded.get(am.ROOT, "k") is not None


def test_a_deflate_bomb_is_refused_without_inflating_past_the_limit() -> None:
    bomb = deflate_bomb(MAX_INPUT_BYTES * 2)
    assert len(bomb) < MAX_INPUT_BYTES // 500  # about 1,000 to 1
    with pytest.raises(InputTooCostly, match="inflates past"):
        chunks_cost(bomb, max_bytes=MAX_INPUT_BYTES, max_entries=MAX_INPUT_ENTRIES)
    # A compressed change chunk (type 2) is inflated under the same budget.
    with pytest.raises(InputTooCostly):
        chunks_cost(bomb, max_bytes=1024, max_entries=MAX_INPUT_ENTRIES)


def test_repeated_strings_count_every_repetition() -> None:
    """A run-length-encoded string column: automerge holds each repetition."""
    from tests.sync.bombs import change_chunk, sleb, uleb  # noqa: PLC0415
    key = b"k" * 1000
    ops = 5000
    null_run = b"\x00" + uleb(ops)
    change = change_chunk([(0x01, null_run), (0x02, null_run), (0x11, null_run), (0x13, null_run),
                           (0x15, sleb(ops) + uleb(len(key)) + key), (0x34, uleb(ops)),
                           (0x42, sleb(ops) + b"\x01"), (0x56, sleb(ops) + b"\x00"),
                           (0x70, sleb(ops) + b"\x00")])
    assert chunks_cost(change, **UNLIMITED).bytes >= ops * len(key)


@pytest.mark.parametrize("data", [
    b"", b"\x85\x6f\x4a", b"not automerge at all", b"\x85\x6f\x4a\x83\x00\x00\x00\x00\x07\x00",
    b"\x85\x6f\x4a\x83\x00\x00\x00\x00\x01\xff\xff\xff\xff\x0f",
])
def test_bytes_that_are_not_automerge_are_refused(data: bytes) -> None:
    if not data:
        assert chunks_cost(data, **UNLIMITED) == Cost()  # nothing to load costs nothing
        return
    with pytest.raises(ProtocolError):
        chunks_cost(data, **UNLIMITED)


@functools.cache
def originals() -> list[bytes]:
    """Saved documents and changes of every shape, made once (ids are random)."""
    return [bytes(b) for doc in shapes().values()
            for b in (doc.save(), doc.get_changes([])[-1].bytes, doc.get_changes([])[0].bytes)]


@seed(20261123)
@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.data())
def test_what_the_walk_calls_malformed_automerge_refuses_too(data: st.DataObject) -> None:
    """Bit flips and cuts of real chunks: the walk never refuses as malformed
    something automerge would load (so honest peers are never cut off by it)."""
    original = data.draw(st.sampled_from(originals()))
    mutated = bytearray(original)
    for _ in range(data.draw(st.integers(1, 4))):
        at = data.draw(st.integers(0, len(mutated) - 1))
        mutated[at] ^= 1 << data.draw(st.integers(0, 7))
    if data.draw(st.booleans()):
        mutated = mutated[:data.draw(st.integers(0, len(mutated)))]
    try:
        chunks_cost(bytes(mutated), **UNLIMITED)
    except InputTooCostly:
        return
    except ProtocolError:
        with pytest.raises(Exception):  # noqa: B017 - automerge raises plain Exception
            am.Document.load(bytes(mutated))
