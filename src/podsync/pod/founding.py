"""Founding a pod: the pod document and the pod's shared collections.

The pod document's id is the pod id. It holds the roster (trust), teams and
stewards (:mod:`.teams`) and ``collections``: the id of the one document of each
pod-wide collection (needs board, agreements, decisions, capacity, team items).
All of them are created here, once, by the founding node; every other member
receives them by sync, so no container is ever created twice concurrently.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

import automerge.core as am

from podsync.ids import new_document_id
from podsync.pod import agreements, capacity, decisions, needs, teams
from podsync.pod.common import init_document
from podsync.repo.values import get_path, put_value
from podsync.store import DocumentStore
from podsync.trust import roster

COLLECTIONS_KEY = "collections"
#: Each pod-wide collection's kind and the function that lays out its document.
COLLECTIONS: dict[str, Callable[[Any], None]] = {
    needs.KIND: needs.init_needs,
    agreements.KIND: agreements.init_agreements,
    decisions.KIND: decisions.init_decisions,
    capacity.KIND: capacity.init_capacity,
    teams.ITEMS_KIND: teams.init_team_items,
}


def found_pod(store: DocumentStore, *, pod_id: str, pod_name: str, member_id: str,
              member_name: str, cert_der: bytes, now: dt.datetime) -> None:
    """Write a new pod's documents straight into ``store`` (durable on return)."""
    collection_ids = {kind: new_document_id() for kind in COLLECTIONS}
    for kind, init in COLLECTIONS.items():
        _write_new(store, collection_ids[kind], kind, init)

    def init_pod(tx: Any) -> None:
        init_document(tx, teams.POD_KIND)
        teams.init_pod_keys(tx)
        roster.found_pod(tx, pod_id, pod_name, member_id, member_name, cert_der, now)
        put_value(tx, am.ROOT, COLLECTIONS_KEY, collection_ids)

    _write_new(store, pod_id, teams.POD_KIND, init_pod)


def collection_id(pod_doc: am.Document, kind: str) -> str | None:
    """The id of the pod's ``kind`` collection document, from the pod document."""
    found = get_path(pod_doc, COLLECTIONS_KEY, kind)
    return found if isinstance(found, str) else None


def _write_new(store: DocumentStore, doc_id: str, kind: str, init: Callable[[Any], None]) -> None:
    doc = am.Document()
    with doc.transaction() as tx:
        init(tx)
    store.create_document(doc_id, kind, doc)
