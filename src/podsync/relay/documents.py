"""The two kinds of relay document, as automerge documents on the relay.

- An **outbox** (random id, one per device and generation): root map ``e``,
  entry key (the entry's sequence number, 8 hex digits) -> sealed bundle.
- An **index** (id from the pod secret and the device id, one per device): root
  map ``p``, generation (16 hex digits) -> sealed pointer to that generation's
  outbox; root map ``k``, epoch key id -> that epoch's wrapped keys, sealed
  under the pod secret's bootstrap key.

Only the owning device writes them; anything else found in them (other keys,
values that are not bytes, entries that do not open) is counted and skipped.
"""

from __future__ import annotations

from typing import Any

import automerge.core as am

ENTRIES = "e"
POINTERS = "p"
GIFTS = "k"
#: Keys read from one map of one relay document. An outbox is compacted long
#: before it holds a few thousand entries; far more is junk someone wrote.
MAX_KEYS = 100_000


def entry_key(seq: int) -> str:
    return f"{seq:08x}"


def gen_key(gen: int) -> str:
    return f"{gen:016x}"


def parse_seq(key: str, width: int = 8) -> int | None:
    if len(key) != width:
        return None
    try:
        return int(key, 16)
    except ValueError:
        return None


def new_document(*maps: str) -> am.Document:
    doc = am.Document()
    with doc.transaction() as tx:
        for name in maps:
            tx.put_object(am.ROOT, name, am.ObjType.Map)
    return doc


def new_outbox() -> am.Document:
    return new_document(ENTRIES)


def new_index() -> am.Document:
    return new_document(POINTERS, GIFTS)


def map_object(doc: Any, name: str) -> bytes | None:
    found = doc.get(am.ROOT, name)
    if found is None or found[0] != am.ObjType.Map:
        return None
    return found[1]


def read_map(doc: am.Document, name: str) -> dict[str, object]:
    """Key -> value of the root map ``name`` (values that are objects read as None)."""
    return {key: value(doc, obj, key) for obj, key in map_keys(doc, name)}


def map_keys(doc: am.Document, name: str) -> list[tuple[bytes, str]]:
    """(map object, key) for each key of the root map ``name``, at most MAX_KEYS."""
    obj = map_object(doc, name)
    return [] if obj is None else [(obj, key) for key in doc.keys(obj)[:MAX_KEYS]]


def value(doc: am.Document, obj: bytes, key: str) -> object:
    found = doc.get(obj, key)
    return None if found is None or isinstance(found[0], am.ObjType) else found[0][1]


def putter(name: str, items: dict[str, bytes]) -> Any:
    """A transaction function writing ``items`` into the root map ``name``."""
    def put(tx: Any) -> None:
        obj = map_object(tx, name)
        if obj is None:
            obj = tx.put_object(am.ROOT, name, am.ObjType.Map)
        for key, value in items.items():
            tx.put(obj, key, am.ScalarType.Bytes, value)
    return put
