"""The private documents of the feedback pathway: the creation record that makes
one (its hash is the document id), the item it and its records make, and a
thread's people and readers, all from the creation record alone.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, Literal

import msgspec

from podsync.pod import common as v
from podsync.pod.events import Item, Source, items_from
from podsync.records.format import Draft, Record, derived_id
from podsync.trust.ledger import CREATE


class Opening(msgspec.Struct, frozen=True):
    """A private document to create: its kind, readers (member ids or ``"pod"``)
    and the creation body's own fields."""

    kind: str
    readers: list[str] | Literal["pod"]
    fields: dict[str, Any]

    def draft(self) -> Draft:
        return creation_draft(self.kind, self.readers, self.fields)


def creation_draft(kind: str, readers: list[str] | Literal["pod"],
                   fields: dict[str, Any]) -> Draft:
    """The ``doc.create`` record of a new private document (signed with scope "")."""
    return Draft(CREATE, {**fields, "kind": kind, "readers": readers})


def document_item(counted: Iterable[Source], doc_id: str, kind: str) -> Item | None:
    """The item ``doc_id``'s creation record makes (when it is of ``kind``), with
    every counted record about it. Only the record whose hash is ``doc_id``
    creates it: another record typed ``doc.create`` in the document creates nothing."""
    counted = list(counted)
    creation = next((c for c in counted if _creates(c.record, doc_id)), None)
    if creation is None or creation.record.body.get("kind") != kind:
        return None
    rid = creation.record.id
    return items_from([c for c in counted if c is creation or c.record.item == rid],
                      CREATE).get(rid)


def _creates(record: Record, doc_id: str) -> bool:
    return (record.type == CREATE and record.scope == "" and record.item is None
            and derived_id("doc", record.payload) == doc_id)


def members_of(value: Any) -> list[str]:
    """The distinct strings of a list from a signed body (anything else: none)."""
    out: list[str] = []
    for x in value if isinstance(value, list) else []:
        if isinstance(x, str) and x not in out:
            out.append(x)
    return out


def people(item: Item) -> tuple[str, str, list[str]]:
    """(giver, leader, stewards) of a thread, from its creation record alone."""
    leader = v.shown(item.fields.get("leader"))
    readers = item.fields.get("readers")
    if not isinstance(readers, list) or leader in readers:
        return item.created_by, leader, []  # not private from the leader: nobody answers
    return item.created_by, leader, [r for r in members_of(readers)
                                     if r not in (item.created_by, leader)]


def thread_readers(creation: Record, changes: list[tuple[Record, str]]) -> frozenset[str]:
    """Who reads a thread: its creation record's readers, never its leader.
    Reader changes (``changes``) are not taken: a thread's readers are fixed."""
    leader = creation.body.get("leader")
    return frozenset(r for r in members_of(creation.body.get("readers")) if r != leader)
