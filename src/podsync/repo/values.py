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

Obj = bytes


def to_python(doc: am.Document, obj: Obj = am.ROOT) -> Any:
    """The whole object ``obj`` (default: the document root) as plain Python."""
    kind = doc.object_type(obj)
    if kind == am.ObjType.Map:
        return {key: _value(doc, doc.get(obj, key)) for key in doc.keys(obj)}
    if kind == am.ObjType.List:
        return [_value(doc, item) for item in doc.values(obj)]
    return doc.text(obj)


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


def _value(doc: am.Document, found: tuple[Any, bytes] | None) -> Any:
    if found is None:
        return None
    value, obj_id = found
    if isinstance(value, am.ObjType):
        return to_python(doc, obj_id)
    return _scalar(value)


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
