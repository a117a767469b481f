"""Signed records: their bytes, their ids, their signatures.

Everything in a pod that grants or claims something — a membership record, who
reads a document, each practice event — is a *record* signed by the device that
wrote it. A record is stored in a document as one byte string (the ``records``
map of the document, keyed by record id), and every view is derived from the
records whose signature verifies, never from the rest of the document.

Bytes (msgpack, as :mod:`msgspec` writes it)::

    sealed  = [1, payload, signature]
    payload = [1, pod, scope, type, item, by, at, prev, after, body]

- ``pod``: the pod id; ``""`` in the pod's founding record, whose hash *is* the
  pod id (see :func:`derived_id`).
- ``scope``: the document the record belongs to; ``""`` in a document's creation
  record, whose hash is the document id. A record is counted only in its scope.
- ``type``: what the record says (``member.admit``, ``need.hold`` ...).
- ``item``: the item it is about (the id of the item's creation record), or
  ``None`` for a record that creates an item or is about the document itself.
- ``by``: the signing device's id (the SHA-256 of its certificate).
- ``at``: the signer's clock, ISO 8601 UTC. Shown to people and used to break
  ties; never trusted for who may do what.
- ``prev``: the id of the signer's previous record in this scope (``None`` for
  its first). A signer's records form a hash chain, so verifying the latest
  record's signature vouches for every earlier one (see :mod:`.verify`).
- ``after``: ids of the records this one follows (its causal parents).
- ``body``: the type's own fields.

The record id is the first 16 bytes of SHA-256 over a domain tag and the
payload, in hex; the signature is Ed25519 over another domain tag and the
payload. Because the payload names the pod and the scope, and the id is its hash,
a record cannot be replayed into another pod or document, and nobody can write a
different record under an existing id.
"""

from __future__ import annotations

import datetime as _dt
import hashlib
import sys
from typing import Any, Literal

import msgspec

from podsync.ids import document_id_from_bytes

FORMAT_VERSION = 1
#: Largest sealed record read. Prose fields hold at most 20,000 characters (up to
#: 80 KB of UTF-8); 160 KiB leaves room for the rest and bounds what one record
#: can make a node allocate.
MAX_RECORD_BYTES = 160 * 1024
#: Causal parents one record may name. Concurrent branches rarely exceed a
#: handful (one per member writing while apart); 64 bounds the graph's fan-in.
MAX_PARENTS = 64
#: Nesting of a record's body. Podsync's bodies are at most three deep (a list
#: of maps of text); 8 leaves room while keeping every walk over a body short.
MAX_BODY_DEPTH = 8
ID_BYTES = 16
SIGNATURE_BYTES = 64

_ID_TAG = b"podsync-record-id\x00"
_SIG_TAG = b"podsync-record-sig\x00"
_DERIVED_TAGS = {"pod": b"podsync-pod-id\x00", "doc": b"podsync-doc-id\x00"}

Reason = Literal["malformed", "bad-signature", "wrong-pod", "misplaced", "unknown-signer"]


class Payload(msgspec.Struct, array_like=True, frozen=True):
    v: int
    pod: str
    scope: str
    type: str
    item: str | None
    by: str
    at: str
    prev: str | None
    after: tuple[str, ...]
    body: dict[str, Any]


class _Sealed(msgspec.Struct, array_like=True, frozen=True):
    v: int
    payload: bytes
    sig: bytes


class Draft(msgspec.Struct, frozen=True):
    """A record about to be written: what the domain decides, before signing."""

    type: str
    body: dict[str, Any]
    item: str | None = None
    after: tuple[str, ...] = ()


class Record(msgspec.Struct, frozen=True):
    """A record whose bytes parsed. Its signature is checked by :mod:`.verify`."""

    id: str
    pod: str
    scope: str
    type: str
    item: str | None
    by: str
    at: str
    prev: str | None
    after: tuple[str, ...]
    body: dict[str, Any]
    payload: bytes
    sig: bytes
    sealed: bytes

    @property
    def subject(self) -> str:
        """The item this record belongs to: itself when it creates one."""
        return self.item if self.item is not None else self.id


class Unreadable(msgspec.Struct, frozen=True):
    """Bytes stored as a record that cannot be one; kept only to be counted."""

    key: str
    reason: Reason
    detail: str


_encoder = msgspec.msgpack.Encoder()
_payload_decoder = msgspec.msgpack.Decoder(Payload)
_sealed_decoder = msgspec.msgpack.Decoder(_Sealed)


def record_id(payload: bytes) -> str:
    return hashlib.sha256(_ID_TAG + payload).digest()[:ID_BYTES].hex()


def signed_message(payload: bytes) -> bytes:
    """The bytes a record's signature covers."""
    return _SIG_TAG + payload


def derived_id(kind: Literal["pod", "doc"], payload: bytes) -> str:
    """The document id a founding (``pod``) or creation (``doc``) record commits to."""
    digest = hashlib.sha256(_DERIVED_TAGS[kind] + payload).digest()
    return document_id_from_bytes(digest[:ID_BYTES])


def iso(moment: _dt.datetime) -> str:
    if moment.tzinfo is None:
        raise ValueError("record times must be timezone-aware")
    return moment.astimezone(_dt.timezone.utc).isoformat(timespec="microseconds")


def build_payload(draft: Draft, *, pod: str, scope: str, by: str, at: _dt.datetime,
                  prev: str | None) -> bytes:
    return _encoder.encode(Payload(FORMAT_VERSION, pod, scope, draft.type, draft.item, by,
                                   iso(at), prev, tuple(draft.after), dict(draft.body)))


def seal(payload: bytes, signature: bytes) -> bytes:
    return _encoder.encode(_Sealed(FORMAT_VERSION, payload, signature))


def parse(key: str, sealed: Any) -> Record | Unreadable:
    """The record stored under ``key``; never raises (hostile bytes are counted)."""
    if not isinstance(sealed, bytes):
        return Unreadable(key, "malformed", f"a {type(sealed).__name__}, not bytes")
    if len(sealed) > MAX_RECORD_BYTES:
        return Unreadable(key, "malformed", f"{len(sealed)} bytes, over {MAX_RECORD_BYTES}")
    try:
        outer = _sealed_decoder.decode(sealed)
        payload = _payload_decoder.decode(outer.payload)
    except (msgspec.DecodeError, msgspec.ValidationError, RecursionError) as exc:
        return Unreadable(key, "malformed", str(exc)[:200])
    problem, at = _check(outer, payload)
    if problem or at is None:
        return Unreadable(key, "malformed", problem)
    rid = record_id(outer.payload)
    if rid != key:
        return Unreadable(key, "misplaced", f"stored under {key!r} but its id is {rid}")
    # Every record of a document repeats its pod, scope, type and signer: one
    # copy of each string serves them all (a node holds tens of thousands).
    return Record(id=rid, pod=sys.intern(payload.pod), scope=sys.intern(payload.scope),
                  type=sys.intern(payload.type), item=payload.item, by=sys.intern(payload.by),
                  at=at.isoformat(timespec="microseconds"),
                  prev=payload.prev,
                  after=payload.after, body=payload.body, payload=outer.payload,
                  sig=outer.sig, sealed=sealed)


def _check(outer: _Sealed, p: Payload) -> tuple[str, _dt.datetime | None]:
    """What is wrong with a record ("" if nothing), and its time in UTC."""
    if outer.v != FORMAT_VERSION or p.v != FORMAT_VERSION:
        return f"format version {outer.v}/{p.v}, this podsync reads {FORMAT_VERSION}", None
    if len(outer.sig) != SIGNATURE_BYTES:
        return "the signature is not 64 bytes", None
    if len(p.after) > MAX_PARENTS:
        return f"names {len(p.after)} parents, over {MAX_PARENTS}", None
    if not p.type or len(p.type) > 64:
        return "no type, or an over-long one", None
    try:
        at = _dt.datetime.fromisoformat(p.at)
        if at.tzinfo is None:
            return "its time has no UTC offset", None
        # Times are shown and compared in one form: UTC, microseconds.
        at = at.astimezone(_dt.timezone.utc)
    except (ValueError, OverflowError):
        return f"time {p.at[:40]!r} is not ISO 8601", None
    if too_deep(p.body, MAX_BODY_DEPTH):
        return f"its body nests deeper than {MAX_BODY_DEPTH}", None
    return "", at


def too_deep(value: Any, limit: int) -> bool:
    """Whether ``value`` nests lists and maps more than ``limit`` deep (no recursion)."""
    if isinstance(value, dict) and limit >= 1 and not any(
            isinstance(v, (dict, list, tuple)) for v in value.values()):
        return False  # a flat map, as most bodies are: one level deep
    stack = [(value, 0)]
    while stack:
        current, depth = stack.pop()
        if isinstance(current, dict):
            children = list(current.values())
        elif isinstance(current, (list, tuple)):
            children = list(current)
        else:
            continue
        if depth + 1 > limit:
            return True
        stack.extend((child, depth + 1) for child in children)
    return False
