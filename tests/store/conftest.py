"""Fixtures for the document store tests: a store in a temporary directory and
small helpers that make real automerge changes."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Iterator
from pathlib import Path

import automerge.core as am
import pytest

from podsync.store import DocumentStore

Edit = Callable[[am.Document, str, int], bytes]


def _edit(doc: am.Document, key: str, value: int) -> bytes:
    """Put ``key = value`` in the root map; return the change's bytes."""
    with doc.transaction() as tx:
        tx.put(am.ROOT, key, am.ScalarType.Int, value)
    change = doc.get_last_local_change()
    assert change is not None
    return change.bytes


@pytest.fixture
def edit() -> Edit:
    return _edit


@pytest.fixture
def db_path(tmp_path: Path) -> Path:
    return tmp_path / "podsync.db"


@pytest.fixture
def store(db_path: Path) -> Iterator[DocumentStore]:
    s = DocumentStore(db_path)
    yield s
    s.close()


@pytest.fixture
def raw(db_path: Path) -> Iterator[Callable[[], sqlite3.Connection]]:
    """Opens plain sqlite3 connections on the store's file, as an outside tool would."""
    opened: list[sqlite3.Connection] = []

    def connect() -> sqlite3.Connection:
        conn = sqlite3.connect(db_path, isolation_level=None)
        opened.append(conn)
        return conn

    yield connect
    for conn in opened:
        conn.close()
