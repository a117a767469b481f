"""Plain Python values to and from automerge documents.

The convenience wrapper shipped with the automerge binding infers ``int`` before
``bool`` and raises ``IndexError`` for missing keys, so podsync writes through
``automerge.core`` with explicit scalar types; this module is the one place that
maps between the two worlds.
"""

from __future__ import annotations

import datetime as _dt
from typing import Any

import automerge.core as am

from podsync.errors import UnreadableValue

Obj = bytes

#: Deepest nesting of maps and lists read from a document. podsync's own records
#: nest five levels at most (a document, a collection, an item, its events, an
#: event's fields); anyone may write a document, and a value nested thousands
#: deep would otherwise exhaust Python's recursion (RecursionError).
MAX_VALUE_DEPTH = 64
#: Most values (map entries, list items, scalars) one read may visit. A pod's
#: largest document, its needs board after years of use, holds some tens of
#: thousands; a hostile one with millions must not stall the node in one read.
MAX_VALUE_ITEMS = 200_000


def to_python(doc: am.Document, obj: Obj = am.ROOT, *, max_depth: int = MAX_VALUE_DEPTH,
              max_items: int = MAX_VALUE_ITEMS) -> Any:
    """The whole object ``obj`` (default: the document root) as plain Python.

    Raises :class:`~podsync.errors.UnreadableValue` if it nests deeper than
    ``max_depth`` or holds more than ``max_items`` values; views catch it and
    skip the record (automerge documents cannot hold cycles, so every read ends).
    """
    return _Reader(doc, max_depth, max_items).object(obj, 0)


class _Reader:
    def __init__(self, doc: am.Document, max_depth: int, max_items: int) -> None:
        self.doc = doc
        self.max_depth = max_depth
        self.left = max_items

    def object(self, obj: Obj, depth: int) -> Any:
        if depth > self.max_depth:
            raise UnreadableValue(f"a value nests deeper than {self.max_depth} levels")
        kind = self.doc.object_type(obj)
        if kind == am.ObjType.Map:
            keys = self.doc.keys(obj)
            self.spend(len(keys))
            return {key: self.value(self.doc.get(obj, key), depth) for key in keys}
        if kind == am.ObjType.List:
            items = self.doc.values(obj)
            self.spend(len(items))
            return [self.value(item, depth) for item in items]
        return self.doc.text(obj)

    def spend(self, n: int) -> None:
        self.left -= n
        if self.left < 0:
            raise UnreadableValue("a value holds too many items to read")

    def value(self, found: tuple[Any, bytes] | None, depth: int) -> Any:
        if found is None:
            return None
        value, obj_id = found
        if isinstance(value, am.ObjType):
            return self.object(obj_id, depth + 1)
        return _scalar(value)


def get_path(doc: am.Document, *path: str | int) -> Any:
    """The value at ``path`` below the root, or ``None`` when any step is missing."""
    obj = am.ROOT
    for step in path:
        found = doc.get(obj, step)
        if found is None:
            return None
        value, obj = found
        if not isinstance(value, am.ObjType):
            return _scalar(value) if step == path[-1] else None
    return to_python(doc, obj)


def _scalar(value: tuple[am.ScalarType, Any]) -> Any:
    scalar_type, raw = value
    if scalar_type == am.ScalarType.Timestamp and isinstance(raw, _dt.datetime):
        return raw.isoformat()
    return raw


def put_value(tx: Any, obj: Obj, key: str | int, value: Any, *, insert: bool = False) -> None:
    """Write plain Python ``value`` at ``obj[key]`` (or insert it into a list)."""
    if isinstance(value, dict):
        child = (tx.insert_object if insert else tx.put_object)(obj, key, am.ObjType.Map)
        for k, v in value.items():
            put_value(tx, child, k, v)
        return
    if isinstance(value, (list, tuple)):
        child = (tx.insert_object if insert else tx.put_object)(obj, key, am.ObjType.List)
        for i, v in enumerate(value):
            put_value(tx, child, i, v, insert=True)
        return
    scalar_type, raw = scalar_of(value)
    (tx.insert if insert else tx.put)(obj, key, scalar_type, raw)


def scalar_of(value: Any) -> tuple[am.ScalarType, Any]:
    # bool before int: bool is a subclass of int in Python.
    if value is None:
        return am.ScalarType.Null, None
    if isinstance(value, bool):
        return am.ScalarType.Boolean, value
    if isinstance(value, int):
        return am.ScalarType.Int, value
    if isinstance(value, float):
        return am.ScalarType.F64, value
    if isinstance(value, str):
        return am.ScalarType.Str, value
    if isinstance(value, bytes):
        return am.ScalarType.Bytes, value
    raise TypeError(f"cannot store a {type(value).__name__} in a document")
