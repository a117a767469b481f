"""Reading values out of documents anyone may have written: depth and size bounds."""

from __future__ import annotations

import automerge.core as am
import pytest

from podsync.errors import UnreadableValue
from podsync.repo.values import MAX_VALUE_DEPTH, MAX_VALUE_ITEMS, get_path, put_value, to_python


def nested(depth: int) -> am.Document:
    doc = am.Document()
    with doc.transaction() as tx:
        obj = am.ROOT
        for i in range(depth):
            obj = tx.put_object(obj, "down", am.ObjType.Map) if i % 2 else tx.insert_object(
                tx.put_object(obj, "down", am.ObjType.List), 0, am.ObjType.Map)
    return doc


def test_a_value_nested_thousands_deep_is_refused_not_a_recursion_error() -> None:
    doc = nested(5000)
    with pytest.raises(UnreadableValue, match=f"deeper than {MAX_VALUE_DEPTH}"):
        to_python(doc)
    with pytest.raises(UnreadableValue):
        get_path(doc, "down")


def test_nesting_up_to_the_limit_reads_whole() -> None:
    doc = am.Document()
    with doc.transaction() as tx:
        put_value(tx, am.ROOT, "v", {"a": [{"b": [1, True, None, "x", 2.5]}]})
    assert to_python(doc) == {"v": {"a": [{"b": [1, True, None, "x", 2.5]}]}}
    at_limit = nested(MAX_VALUE_DEPTH // 2)
    assert to_python(at_limit)  # well within: reads


def test_a_value_with_too_many_items_is_refused() -> None:
    doc = am.Document()
    with doc.transaction() as tx:
        items = tx.put_object(am.ROOT, "items", am.ObjType.List)
        for i in range(MAX_VALUE_ITEMS + 1):
            tx.insert(items, i, am.ScalarType.Null, None)
    with pytest.raises(UnreadableValue, match="too many items"):
        to_python(doc)
    assert len(to_python(doc, max_items=MAX_VALUE_ITEMS + 2)["items"]) == MAX_VALUE_ITEMS + 1
