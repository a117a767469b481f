"""A member's modified node, built from podsync's own modules.

:class:`Insider` is a member as their home holds them: the real device
certificate (for pinned TLS) and the real device key (for signing), loaded
with :func:`podsync.trust.identity.load_signing_key`. It signs whatever it
likes with :mod:`podsync.records.format` — a record in its own name that
breaks the rules, or one that names another device as its signer (a forgery,
whose signature cannot be that device's).

:class:`HostilePeer` is that member's node on the wire: a :class:`RawPeer`
(every raw frame the honest node sends is kept) that can also speak podsync's
summary and whole-document extension, follow documents the node syncs to it,
change its copies by hand (delete, overwrite, add records, write other keys)
and push the changes, offer documents it made up, and ask for anything.
:class:`LocalApp` is the same over a node's local endpoint (the member's own
token, no TLS): what any program on the member's computer can do.
"""

from __future__ import annotations

import datetime as dt
import secrets
from collections.abc import Callable, Iterable
from typing import Any

import aiohttp
import automerge.core as am
import cbor2

from podsync.config import Config, load_config
from podsync.home import Home
from podsync.ids import new_document_id
from podsync.node import Node
from podsync.records.book import RECORDS_KEY, RecordBook, records_object
from podsync.records.format import Draft, Record, build_payload, parse, record_id, seal
from podsync.records.verify import Signer, Verifier
from podsync.sync.heads import pack_summary
from podsync.sync.messages import EXT_SUMMARY, EXT_WHOLE_DOC, EXTENSION_KEY, SUMMARY_TYPE, WHOLE_DOC_TYPE
from podsync.trust import graph
from podsync.trust.identity import DeviceIdentity, load_identity, load_signing_key
from podsync.trust.invite import create_invite, join_proof, parse_invite
from podsync.trust.ledger import SHARE, Ledger, share_ref
from tests.trust_e2e.conftest import eventually
from tests.trust_e2e.raw_peer import RawPeer


#: An automerge actor id above any random one: its writes win every conflict.
HIGH_ACTOR = b"\xff" * 16


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc)


class Insider:
    """A member of a pod, as their own home holds them."""

    def __init__(self, home: Home) -> None:
        self.home = home
        self.identity: DeviceIdentity = load_identity(home)
        self.config: Config = load_config(home)
        self.signer = Signer(load_signing_key(home), self.identity.device_id)

    @property
    def member_id(self) -> str:
        return self.config.member_id

    @property
    def device_id(self) -> str:
        return self.identity.device_id

    @property
    def pod_id(self) -> str:
        return self.config.pod_id

    def sign(self, scope: str, draft: Draft, at: dt.datetime | None = None, *,
             pod: str | None = None, by: str | None = None, prev: str | None = None) -> Record:
        """``draft`` signed with this member's real device key. ``by`` names another
        device as the signer (a forgery); ``pod`` another pod."""
        payload = build_payload(draft, pod=self.pod_id if pod is None else pod, scope=scope,
                                by=by or self.device_id, at=at or utcnow(), prev=prev)
        record = parse(record_id(payload), seal(payload, self.signer.sign(payload)))
        assert isinstance(record, Record), record
        return record

    def admission(self, newcomer_cert: bytes, *, after: tuple[str, ...], at: dt.datetime,
                  name: str = "Mallory") -> list[Record]:
        """An invite and an admission of ``newcomer_cert`` with it, both signed by this
        member, the admission carrying the newcomer's real proof of the invite's
        secret: what an honest admission records, made wherever the attacker likes."""
        code, invite = create_invite(self.pod_id, self.member_id, self.identity.cert_der,
                                     ["127.0.0.1:9"], dt.timedelta(days=1), at)
        made = self.sign(self.pod_id, Draft(graph.INVITE, {
            "invite": invite.invite_id, "verifier": invite.verifier,
            "expires": invite.expires_at.isoformat(), "for_member": None}, after=after), at)
        proof = join_proof(parse_invite(code, now=at), newcomer_cert)
        admitted = self.sign(self.pod_id, Draft(graph.ADMIT, {
            "invite": invite.invite_id, "proof": proof, "cert": newcomer_cert,
            "member": new_document_id(), "name": name}, after=(made.id,)),
            at + dt.timedelta(seconds=1), prev=made.id)
        return [made, admitted]

    def peer(self, node: Node) -> HostilePeer:
        """A link from this member's modified node to ``node`` (pinned TLS)."""
        return HostilePeer(self.identity, node.identity.cert_der, node.listen_addresses[0])


def records_of(doc: am.Document) -> dict[str, bytes]:
    """Record id -> sealed bytes, for every bytes value in ``doc``'s records map."""
    obj = records_object(doc)
    out: dict[str, bytes] = {}
    for key in doc.keys(obj) if obj is not None else []:
        found = doc.get(obj, key)
        if found is not None and not isinstance(found[0], am.ObjType) and isinstance(found[0][1], bytes):
            out[key] = found[0][1]
    return out


def put_records(tx: Any, records: Iterable[Record]) -> None:
    """Write ``records`` into a document's records map (inside a transaction)."""
    obj = records_object(tx)
    if obj is None:
        obj = tx.put_object(am.ROOT, RECORDS_KEY, am.ObjType.Map)
    for record in records:
        tx.put(obj, record.id, am.ScalarType.Bytes, record.sealed)


def forged_document(records: Iterable[Record] = (), extra: Callable[[Any], None] | None = None,
                    actor: bytes | None = None) -> am.Document:
    """A document made up by hand: ``records`` in its records map, then ``extra``.
    ``actor`` picks the author id (a high one wins automerge's conflicts)."""
    doc = am.Document(actor) if actor is not None else am.Document()
    with doc.transaction() as tx:
        put_records(tx, records)
        if extra is not None:
            extra(tx)
    return doc


class HostilePeer(RawPeer):
    """A modified member node on the wire (see the module docstring)."""

    async def handshake(self, *, extensions: bool = False) -> str:
        """Join (with podsync's summary and whole-document extension when asked,
        sending an empty summary so the node announces everything at once)."""
        if not extensions:
            return await super().handshake()
        await self.send({"type": "join", "senderId": self.peer_id,
                         "supportedProtocolVersions": ["1"],
                         "peerMetadata": {EXTENSION_KEY: {"v": 1, "ext": [EXT_SUMMARY,
                                                                           EXT_WHOLE_DOC]}}})
        await eventually(lambda: any(f.get("type") == "peer" for f in self.frames))
        node_id = next(str(f["senderId"]) for f in self.frames if f.get("type") == "peer")
        await self.send({"type": SUMMARY_TYPE, "senderId": self.peer_id, "targetId": node_id,
                         "data": pack_summary([])})
        return node_id

    async def _read(self) -> None:
        assert self._ws is not None
        async for msg in self._ws:
            if msg.type != aiohttp.WSMsgType.BINARY:
                continue
            self.raw.append(bytes(msg.data))
            frame = cbor2.loads(msg.data)
            self.frames.append(frame)
            if frame.get("type") in ("sync", "request"):
                await self._answer(frame)
            elif frame.get("type") == WHOLE_DOC_TYPE:
                self.docs[str(frame["documentId"])] = (am.Document.load(frame["data"]),
                                                       am.SyncState())
        self.closed = True

    async def _answer(self, frame: dict[str, Any]) -> None:
        # Asked for a document it holds nothing of, it says so (as a node does)
        # rather than leave the asker waiting for a copy that will not come.
        doc_id = str(frame["documentId"])
        if frame.get("type") == "request" and not self.has_content(doc_id):
            await self.send({"type": "doc-unavailable", "senderId": self.peer_id,
                             "targetId": frame["senderId"], "documentId": doc_id})
            return
        await super()._answer(frame)

    # -- what the node sent -------------------------------------------------------

    def wire(self) -> bytes:
        """Every byte the honest node wrote to this socket (decrypted frames)."""
        return b"".join(self.raw)

    def types_about(self, doc_id: str) -> list[str]:
        return [str(f.get("type")) for f in self.about(doc_id)]

    def heads(self, doc_id: str) -> list[bytes]:
        found = self.docs.get(doc_id)
        return sorted(found[0].get_heads()) if found is not None else []

    def ledger(self, insider: Insider) -> Ledger:
        """The modified node's own reading of the documents it follows (podsync's
        ledger over its copies), to find items and heads to forge against."""
        import podsync.pod.access  # noqa: F401, PLC0415 - the private kinds' reader rules
        ledger = Ledger(pod_id=insider.pod_id, member_id=insider.member_id,
                        book=RecordBook(None, Verifier()), signer=None,
                        load=lambda doc_id: self.docs[doc_id][0] if doc_id in self.docs else None,
                        holds=lambda doc_id: doc_id in self.docs)
        for doc_id in self.docs:
            ledger.document_changed(doc_id)
        return ledger

    async def follows(self, node: Node, doc_id: str) -> am.Document:
        """Wait until this peer's copy of ``doc_id`` is the node's; that copy."""
        await eventually(lambda: self.heads(doc_id) == sorted(node.repo.get(doc_id).get_heads()))
        return self.docs[doc_id][0]

    # -- what it sends ----------------------------------------------------------

    def change(self, doc_id: str, fn: Callable[[Any], None]) -> None:
        """Change this peer's own copy of ``doc_id`` by hand."""
        with self.docs[doc_id][0].transaction() as tx:
            fn(tx)

    async def push(self, doc_id: str, target: str) -> None:
        """Send the node what its copy lacks of this peer's ``doc_id``."""
        doc, state = self.docs[doc_id]
        message = doc.generate_sync_message(state)
        if message is not None:
            await self.send({"type": "sync", "senderId": self.peer_id, "targetId": target,
                             "documentId": doc_id, "data": bytes(message.encode())})

    async def offer(self, doc_id: str, doc: am.Document, target: str) -> None:
        """Offer ``doc`` as ``doc_id`` by the ordinary sync protocol: the node
        answers with what it needs, and this peer answers that with the changes."""
        self.docs[doc_id] = (doc, am.SyncState())
        await self.push(doc_id, target)

    async def offer_whole(self, doc_id: str, doc: am.Document, target: str) -> None:
        """Send ``doc`` whole as ``doc_id`` (podsync's whole-document frame)."""
        await self.send({"type": WHOLE_DOC_TYPE, "senderId": self.peer_id, "targetId": target,
                         "documentId": doc_id, "data": bytes(doc.save())})

    async def offer_refused(self, doc_id: str, doc: am.Document, target: str) -> None:
        """Offer ``doc`` as ``doc_id`` both ways (sync, then whole) and wait until the
        node has refused each with doc-unavailable."""
        done = self.types_about(doc_id).count("doc-unavailable")
        await self.offer(doc_id, doc, target)
        await self.refused(doc_id, done + 1)
        await self.offer_whole(doc_id, doc, target)
        await self.refused(doc_id, done + 2)

    async def refused(self, doc_id: str, times: int = 1) -> None:
        """Wait for the node's ``times``-th doc-unavailable about ``doc_id``."""
        await eventually(lambda: self.types_about(doc_id).count("doc-unavailable") >= times)

    async def settled(self, target: str) -> None:
        """Wait until the node has handled every frame sent so far and written what
        it answered: it handles a link's frames in order, and a request for an id
        nobody holds is answered at once."""
        probe = new_document_id()
        await self.request(probe, target)
        await self.refused(probe)

    async def claim(self, insider: Insider, node: Node, target: str, doc_id: str,
                    readers: Any = "pod") -> Record:
        """Sign a ``doc.share`` naming ``doc_id`` (as a member bringing another app's
        document does) and push it in the pod document; counted once the node has it."""
        pod_id = insider.pod_id
        await self.follows(node, pod_id)
        heads = self.ledger(insider).replay.heads
        share = insider.sign(pod_id, Draft(SHARE, {"ref": share_ref(pod_id, doc_id),
                                                   "readers": readers}, after=tuple(heads)))
        self.change(pod_id, lambda tx: put_records(tx, [share]))
        await self.push(pod_id, target)
        await eventually(lambda: any(c.record.id == share.id
                                     for c in node.ledger.pod_records([SHARE])))
        return share


class LocalApp(HostilePeer):
    """A program on the member's own computer holding the node's token: the local
    automerge-repo endpoint, plain WebSocket on loopback."""

    def __init__(self, node: Node) -> None:  # noqa: D107 - RawPeer's fields, without TLS
        self.identity = None  # type: ignore[assignment]
        self.peer_id = "local-app-" + secrets.token_hex(6)
        self._ctx = True  # type: ignore[assignment] # ws:// on loopback: no TLS
        self._url = node.local_ws_url
        self.raw = []
        self.frames = []
        self.closed = False
        self.docs = {}
        self._session = None
        self._ws = None
        self._reader = None
