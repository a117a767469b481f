"""Resolving ids: a whole document id of a thread or statement is taken as it is
(the operation checks it), so an operation on one thread does not read every
thread of the pod; a start of an id is looked up among what the member reads."""

from __future__ import annotations

import pytest

from podsync.api import find
from podsync.ids import new_document_id


@pytest.mark.parametrize("kind", ["thread", "statement"])
def test_a_whole_document_id_is_not_looked_up_among_every_document(
        kind: str, monkeypatch: pytest.MonkeyPatch) -> None:
    listed: list[str] = []
    monkeypatch.setitem(find._CANDIDATES, kind, lambda ctx: listed.append(kind) or {})
    whole = new_document_id()
    assert find._resolved(None, kind, whole, f"{kind}_id") == whole  # type: ignore[arg-type]
    assert listed == []
    # A start of one is looked up (and, matching nothing, left for the operation).
    assert find._resolved(None, kind, whole[:6], f"{kind}_id") == whole[:6]  # type: ignore[arg-type]
    assert listed == [kind]
