"""Helpers for the pod-layer tests: a real pod of signed records, fixed clocks.

:class:`Pod` is one replica of a real pod: real device keys and certificates,
a real founding record, members admitted by real signed invite and admission
records, and real automerge documents holding every record. Operations return
drafts; :meth:`Pod.do` signs a draft with the acting member's own device key and
stores it the way a node does, and every read goes through a real
:class:`~podsync.trust.ledger.Ledger`, so what counts is exactly what counts on a
node. :meth:`Pod.fork` makes a second replica (another member's node while
apart) and :func:`merged` brings two together.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

import automerge.core as am
import pytest

from podsync import ids
from podsync.errors import PodsyncError
from podsync.pod.events import Item, items_from
from podsync.records.book import RecordBook, records_object
from podsync.records.format import Draft, Record, build_payload
from podsync.records.verify import Signer, Verifier
from podsync.trust import graph, membership
from podsync.trust.identity import device_id_from_cert_der, new_device_key
from podsync.trust.invite import create_invite, join_proof, parse_invite
import podsync.pod.access  # noqa: F401 - the private kinds' reader rules
from podsync.trust.ledger import Ledger, new_document, parse_own

T0 = dt.datetime(2026, 3, 1, 9, 0, tzinfo=dt.timezone.utc)
COLLECTIONS = ("needs", "agreements", "decisions", "capacity", "team-items")


def at(days: float = 0, minutes: float = 0) -> dt.datetime:
    return T0 + dt.timedelta(days=days, minutes=minutes)


class Pod:
    """One replica of a real pod whose members are named in ``names`` (the first
    founds it). ``pod.id["bo"]`` is Bo's member id."""

    def __init__(self, names: tuple[str, ...] = ("ana", "bo", "cy", "dee"),
                 devices: dict[str, tuple[Any, bytes]] | None = None) -> None:
        """``devices``: name -> (private key, certificate DER) for members whose
        device keys exist already (a node's identity); the others get fresh ones."""
        self.names = names
        self.id: dict[str, str] = {n: ids.new_document_id() for n in names}
        self.name_of = {mid: n for n, mid in self.id.items()}
        self.signers: dict[str, Signer] = {}
        self.certs: dict[str, bytes] = {}
        for n in names:
            key, cert = (devices or {}).get(n) or new_device_key()
            self.signers[n] = Signer(key, device_id_from_cert_der(cert))
            self.certs[n] = cert
        self.collections = {kind: ids.new_document_id() for kind in COLLECTIONS}
        founder = names[0]
        self.pod_id, root = membership.founding_record(
            self.signers[founder], cert_der=self.certs[founder], member_id=self.id[founder],
            member_name=founder.title(), pod_name="Oak St", collections=self.collections,
            now=T0 - dt.timedelta(days=10))
        self.docs: dict[str, am.Document] = {self.pod_id: new_document([root])}
        for doc_id in self.collections.values():
            self.docs[doc_id] = new_document([])
        self.ledger = self._new_ledger()
        for n in names[1:]:
            self.admit(n, by=founder)

    def acting(self, name: str) -> Ledger:
        """A ledger that writes as ``name``'s node does (signing with their device
        key), straight into this replica's documents."""

        async def write(doc_id: str, fn: Callable[[Any], None]) -> None:
            with self.docs[doc_id].transaction() as tx:
                fn(tx)
            self.ledger.document_changed(doc_id)

        return Ledger(pod_id=self.pod_id, member_id=self.id[name],
                      book=RecordBook(None, Verifier()), signer=self.signers[name],
                      load=self.docs.get, holds=lambda doc_id: doc_id in self.docs, write=write)

    def _new_ledger(self) -> Ledger:
        return Ledger(pod_id=self.pod_id, member_id=self.id[self.names[0]],
                      book=RecordBook(None, Verifier()), signer=None,
                      load=self.docs.get, holds=lambda doc_id: doc_id in self.docs)

    # -- membership, the way nodes record it ---------------------------------

    def admit(self, name: str, by: str, when: dt.datetime | None = None) -> Record:
        return self.admit_device(self.certs[name], by, when, member=self.id[name],
                                 name=name.title())

    def admit_device(self, cert: bytes, by: str, when: dt.datetime | None = None, *,
                     member: str | None = None, name: str = "Member") -> Record:
        """Invite and admit the device ``cert`` (a new member unless ``member``), signed
        by ``by``'s device as a node does."""
        when = when or T0 - dt.timedelta(days=9)
        code, invite = create_invite(self.pod_id, self.id[by], self.certs[by], ["10.0.0.1:7850"],
                                     dt.timedelta(days=1), when)
        self.do(self.pod_id, Draft(graph.INVITE, {
            "invite": invite.invite_id, "verifier": invite.verifier,
            "expires": invite.expires_at.isoformat(), "for_member": None}), by, when)
        proof = join_proof(parse_invite(code, now=when), cert)
        return self.do(self.pod_id, Draft(graph.ADMIT, {
            "invite": invite.invite_id, "proof": proof, "cert": cert,
            "member": member or ids.new_document_id(), "name": name}), by, when)

    def remove(self, target: str, by: str, when: dt.datetime | None = None) -> Record:
        """Record that ``by`` removed a member or device (an id)."""
        return self.do(self.pod_id, Draft(graph.REMOVE, {"target": target}), by, when or T0)

    # -- writing and reading -------------------------------------------------

    def sign(self, doc_id: str, draft: Draft, by: str, when: dt.datetime) -> Record:
        """``draft`` signed by ``by``'s device for ``doc_id`` (a pod-document record
        follows the pod graph's current heads, as a node's does)."""
        if doc_id == self.pod_id:
            draft = Draft(draft.type, draft.body, draft.item, tuple(self.ledger.replay.heads))
        payload = build_payload(draft, pod=self.pod_id, scope=doc_id,
                                by=self.signers[by].device_id, at=when, prev=None)
        return parse_own(payload, self.signers[by].sign(payload))

    def store(self, doc_id: str, record: Record) -> None:
        """Put a signed record into the document, as any member's node can."""
        doc = self.docs.setdefault(doc_id, new_document([]))
        with doc.transaction() as tx:
            obj = records_object(tx)
            if obj is None:
                obj = tx.put_object(am.ROOT, "records", am.ObjType.Map)
            tx.put(obj, record.id, am.ScalarType.Bytes, record.sealed)
        self.ledger.document_changed(doc_id)

    def do(self, doc_id: str, draft: Draft, by: str, when: dt.datetime | None = None) -> Record:
        """Sign ``draft`` as ``by`` and store it; the record."""
        record = self.sign(doc_id, draft, by, when or T0)
        self.store(doc_id, record)
        return record

    def items(self, doc_id: str, create: str) -> dict[str, Item]:
        self.ledger.document_changed(doc_id)
        return items_from(self.ledger.counted(doc_id), create)

    def item(self, doc_id: str, item_id: str, create: str) -> Item:
        return self.items(doc_id, create)[item_id]

    def fork(self) -> Pod:
        """Another replica with everything this one holds (a node going apart)."""
        other = object.__new__(Pod)
        other.__dict__.update(self.__dict__)
        other.docs = {doc_id: doc.fork() for doc_id, doc in self.docs.items()}
        other.ledger = other._new_ledger()
        return other


def merged(a: Pod, b: Pod) -> None:
    """Exchange everything both ways, as two nodes do when they meet."""
    for doc_id in set(a.docs) | set(b.docs):
        if doc_id not in a.docs:
            a.docs[doc_id] = b.docs[doc_id].fork()
        elif doc_id not in b.docs:
            b.docs[doc_id] = a.docs[doc_id].fork()
        else:
            a.docs[doc_id].merge(b.docs[doc_id])
            b.docs[doc_id].merge(a.docs[doc_id])
        a.ledger.document_changed(doc_id)
        b.ledger.document_changed(doc_id)


def refused(error: type[PodsyncError], decide: Callable[..., Draft],
            *args: Any, **kwargs: Any) -> PodsyncError:
    """Assert the operation raises ``error``: it returns no draft, so nothing is written."""
    with pytest.raises(error) as info:
        decide(*args, **kwargs)
    return info.value
