"""Founding a pod: the pod document and the pod's shared collections.

The pod document's id is the pod id, the hash of its founding record (signed by
the founder's device), which also names the one document of each pod-wide
collection (needs board, agreements, decisions, capacity, team items). Every
document starts with an empty ``records`` map and holds nothing else: what the
pod keeps is signed records (:mod:`podsync.records`). All of them are created
here, once, by the founding node; every other member receives them by sync.
"""

from __future__ import annotations

import datetime as dt

from podsync.ids import new_document_id
from podsync.pod import agreements, capacity, decisions, needs, teams
from podsync.records.verify import Signer
from podsync.store import DocumentStore
from podsync.trust.ledger import POD_KIND, new_document
from podsync.trust.membership import founding_record

#: The kind of each pod-wide collection the founding record names.
COLLECTION_KINDS = (needs.KIND, agreements.KIND, decisions.KIND, capacity.KIND, teams.ITEMS_KIND)


def found_pod(store: DocumentStore, signer: Signer, *, member_id: str, member_name: str,
              pod_name: str, cert_der: bytes, now: dt.datetime) -> str:
    """Write a new pod's documents straight into ``store`` (durable on return);
    returns the pod id."""
    collections = {kind: new_document_id() for kind in COLLECTION_KINDS}
    pod_id, record = founding_record(signer, cert_der=cert_der, member_id=member_id,
                                     member_name=member_name, pod_name=pod_name,
                                     collections=collections, now=now)
    for kind, doc_id in collections.items():
        store.create_document(doc_id, kind, new_document([]))
    store.create_document(pod_id, POD_KIND, new_document([record]))
    store.submit_records(pod_id, [(record.id, record.sealed, True)]).result()
    return pod_id
