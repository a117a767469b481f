"""Hostile inputs for the fuzzing harness: random and mutated frames, CBOR,
automerge bytes (bit flips, cuts and splices of real changes, saved documents
and sync messages), and API bodies.

Everything is built from a corpus of real bytes made by automerge itself, so
that mutations land close to what the node parses, not only on its first check.
"""

from __future__ import annotations

import functools
from typing import Any

import automerge.core as am
import cbor2
from hypothesis import strategies as st

from podsync.ids import new_document_id
from tests.sync.bombs import list_change, run_length_bomb, sync_message

MESSAGE_TYPES = ["join", "peer", "error", "request", "sync", "doc-unavailable", "ephemeral", "leave",
                 "remote-subscription-change", "remote-heads-changed", "podsync-summary", "podsync-doc",
                 "something-new"]
#: Ids made once per run: draws must not depend on fresh random ids (their
#: lengths vary), or Hypothesis could not replay an example.
SHARED_ID = new_document_id()
OTHER_ID = new_document_id()

FIELDS = ["type", "senderId", "targetId", "documentId", "data", "count", "sessionId", "peerMetadata",
          "supportedProtocolVersions", "selectedProtocolVersion", "message", "newHeads", "add", "remove"]


@functools.cache
def corpus() -> dict[str, list[bytes]]:
    """Real automerge bytes of several shapes: changes, saved documents, sync messages."""
    docs = []
    doc = am.Document()
    with doc.transaction() as tx:
        tx.put(am.ROOT, "title", am.ScalarType.Str, "Water the garden")
        items = tx.put_object(am.ROOT, "events", am.ObjType.List)
        for i in range(20):
            event = tx.insert_object(items, i, am.ObjType.Map)
            tx.put(event, "n", am.ScalarType.Int, i)
    docs.append(doc)
    text = am.Document()
    with text.transaction() as tx:
        t = tx.put_object(am.ROOT, "t", am.ObjType.Text)
        tx.splice_text(t, 0, 0, "hello " * 50)
    docs.append(text)
    history = am.Document()
    for i in range(30):
        with history.transaction() as tx:
            tx.put(am.ROOT, f"k{i % 4}", am.ScalarType.F64, i / 3)
    docs.append(history)
    changes = [bytes(c.bytes) for d in docs for c in d.get_changes([])]
    saved = [bytes(d.save()) for d in docs]
    messages = []
    for d in docs:
        state, empty = am.SyncState(), am.Document()
        d.receive_sync_message(state, empty.generate_sync_message(am.SyncState()))
        message = d.generate_sync_message(state)
        assert message is not None
        messages.append(bytes(message.encode()))
    messages.append(bytes(am.Document().generate_sync_message(am.SyncState()).encode()))
    return {"change": changes, "saved": saved, "sync": messages,
            "canonical-big": [list_change(50_000, "big")], "hand-made": [run_length_bomb(20)]}


def mutate(data: st.DataObject, raw: bytes) -> bytes:
    """Bit flips, a cut, a splice: what a buggy or hostile node might send."""
    out = bytearray(raw)
    for _ in range(data.draw(st.integers(0, 4), label="flips")):
        if out:
            at = data.draw(st.integers(0, len(out) - 1))
            out[at] ^= 1 << data.draw(st.integers(0, 7))
    shape = data.draw(st.sampled_from(["keep", "cut", "splice", "repeat"]), label="shape")
    if shape == "cut" and out:
        out = out[:data.draw(st.integers(0, len(out)))]
    elif shape == "splice":
        at = data.draw(st.integers(0, len(out)))
        out[at:at] = data.draw(st.binary(max_size=32))
    elif shape == "repeat" and out:
        out = out + out[: data.draw(st.integers(0, len(out)))]
    return bytes(out)


def automerge_bytes(data: st.DataObject, kind: str | None = None) -> bytes:
    pool = corpus()
    kind = kind or data.draw(st.sampled_from(sorted(pool)), label="corpus")
    raw = data.draw(st.sampled_from(pool[kind]), label="original")
    if kind in ("change", "saved", "canonical-big", "hand-made") and data.draw(st.booleans()):
        raw = sync_message([raw])  # wrapped as a sync message would carry it
    return mutate(data, raw) if data.draw(st.booleans(), label="mutate") else raw


cbor_scalars = st.one_of(st.none(), st.booleans(), st.integers(-(2**64), 2**64), st.floats(),
                         st.text(max_size=40), st.binary(max_size=64))
cbor_values = st.recursive(cbor_scalars, lambda children: st.one_of(
    st.lists(children, max_size=8), st.dictionaries(st.text(max_size=12), children, max_size=8)),
    max_leaves=40)


def frame(data: st.DataObject, sender: str, target: str, doc_ids: list[str]) -> bytes:
    """One hostile frame."""
    kind = data.draw(st.sampled_from(["cbor", "shaped", "automerge", "mutated-frame"]), label="frame")
    if kind == "cbor":
        return cbor2.dumps(data.draw(cbor_values, label="cbor"))
    doc_id = data.draw(st.sampled_from([*doc_ids, OTHER_ID, "not-an-id"]), label="doc")
    if kind == "shaped":
        fields: dict[str, Any] = {"type": data.draw(st.sampled_from(MESSAGE_TYPES)), "senderId": sender,
                                  "targetId": target, "documentId": doc_id}
        for name in data.draw(st.lists(st.sampled_from(FIELDS), max_size=4), label="fields"):
            fields[name] = data.draw(cbor_values, label=name)
        return cbor2.dumps(fields)
    message = {"type": data.draw(st.sampled_from(["sync", "request", "podsync-doc"]), label="type"),
               "senderId": sender, "targetId": target, "documentId": doc_id,
               "data": automerge_bytes(data)}
    encoded = cbor2.dumps(message)
    return mutate(data, encoded) if kind == "mutated-frame" else encoded


def api_body(data: st.DataObject, fields: list[str]) -> Any:
    """A request body: well-formed JSON of any shape, often naming real fields."""
    if data.draw(st.booleans(), label="shaped body"):
        json_values = st.recursive(st.one_of(st.none(), st.booleans(), st.integers(), st.text(max_size=60),
                                             st.floats(allow_nan=False, allow_infinity=False)),
                                   lambda c: st.one_of(st.lists(c, max_size=5),
                                                       st.dictionaries(st.text(max_size=10), c, max_size=5)),
                                   max_leaves=20)
        return {name: data.draw(json_values, label=name)
                for name in data.draw(st.lists(st.sampled_from(fields or ["x"]), max_size=5), label="names")}
    return data.draw(st.one_of(st.none(), st.integers(), st.text(max_size=30),
                               st.lists(st.integers(), max_size=3)), label="body")
