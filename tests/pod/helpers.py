"""Helpers for the pod-layer tests: real automerge documents, fixed clocks."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

import automerge.core as am
import pytest

from podsync.errors import PodsyncError
from podsync.repo.values import to_python

T0 = dt.datetime(2026, 3, 1, 9, 0, tzinfo=dt.timezone.utc)


def at(days: float = 0, minutes: float = 0) -> dt.datetime:
    return T0 + dt.timedelta(days=days, minutes=minutes)


def new_doc(init: Callable[[Any], None]) -> am.Document:
    doc = am.Document()
    with doc.transaction() as tx:
        init(tx)
    return doc


def run(doc: am.Document, op: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
    """Apply ``op`` in one transaction, as a repo's change() does."""
    with doc.transaction() as tx:
        return op(tx, *args, **kwargs)


def snapshot(doc: am.Document) -> tuple[list[bytes], Any]:
    return doc.get_heads(), to_python(doc)


def refused(doc: am.Document, error: type[PodsyncError], op: Callable[..., Any],
            *args: Any, **kwargs: Any) -> PodsyncError:
    """Assert ``op`` raises ``error`` and leaves the document exactly as it was."""
    before = snapshot(doc)
    with pytest.raises(error) as info:
        run(doc, op, *args, **kwargs)
    assert snapshot(doc) == before
    return info.value


def merged(a: am.Document, b: am.Document) -> None:
    """Exchange everything both ways, as two nodes do when they meet."""
    a.merge(b)
    b.merge(a)


def new_pod_doc() -> am.Document:
    """A pod document as the trust layer creates it, with this layer's keys."""
    from podsync.pod.common import init_document
    from podsync.pod.teams import POD_KIND, init_pod_keys

    def init(tx: Any) -> None:
        init_document(tx, POD_KIND, maps=["roster"])
        init_pod_keys(tx)

    return new_doc(init)
