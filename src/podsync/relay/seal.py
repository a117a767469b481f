"""Sealed entries: what a relay document holds, byte for byte.

Every value a device writes into a relay document is one *entry* (msgpack, as
:mod:`msgspec` writes it)::

    entry  = [1, mode, key, nonce, ciphertext, eph, wraps]
    inside = [1, payload, signature]                      (the plaintext)
    payload = ["bundle", by, place, doc, snapshot, tips, data, at, seal]
            | ["pointer", by, place, gen, outbox, at]

- ``mode`` 0: sealed under the pod's epoch key whose id is ``key`` (documents the
  whole pod reads). ``mode`` 1: sealed under a fresh key wrapped to each reader
  device's X25519 key (``eph``, ``wraps``; documents only some members read).
- The AEAD's associated data is the entry's *place*: the relay document id and
  the key it is stored under. An entry copied to another key or document does not
  open. The signed payload names the place again, and its author, so a member
  cannot re-seal another device's bundle as their own.
- ``signature`` is Ed25519 by the author's device key over
  ``"podsync-relay-sig\\0" ‖ payload``; it is inside the ciphertext, so the relay
  cannot tell whose key signed.
- A *bundle* carries automerge changes of one podsync document (``data`` is the
  change chunks), or the whole document saved (``snapshot``, ``data`` is one
  saved document); ``tips`` are the author's heads of that document when it
  wrote the bundle: a reader holding all of them holds everything the bundle
  and the author's earlier bundles for that document carried. ``seal`` says how
  the author sealed it (``pod``, or a digest of the reader devices), so the
  author knows after a restart when readers changed and a snapshot is due.
- A *pointer* (in a device's index document) names the device's current outbox.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Literal

import msgspec
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey

from podsync.relay import keys

FORMAT = 1
MODE_EPOCH = 0
MODE_READERS = 1
#: Largest entry read. A snapshot of the busiest document of a pod that ran for
#: years is a few MB; 32 MiB leaves room and stays under the sync engine's 64 MiB
#: frame limit, which a whole relay document must also fit.
MAX_ENTRY_BYTES = 32 * 1024 * 1024
#: Changes one bundle may carry. A device writes a snapshot instead of more
#: changes than this; a bundle listing more is junk meant to make readers work.
MAX_CHANGES_PER_BUNDLE = 20_000
#: Heads one bundle may name: one per concurrent branch, rarely more than a few.
MAX_TIPS = 256
_SIG_TAG = b"podsync-relay-sig\x00"
_AD_TAG = b"podsync-relay\x00"

Reason = Literal["malformed", "unknown-key", "not-for-us", "tampered", "misplaced",
                 "bad-signature", "unknown-signer", "wrong-author", "not-allowed", "unappliable"]
#: Reasons that may resolve themselves (a key or a device certificate that has
#: not arrived yet): such entries are tried again later, not reported as bad.
RETRY: frozenset[str] = frozenset({"unknown-key", "unknown-signer"})


class Entry(msgspec.Struct, array_like=True, frozen=True):
    v: int
    mode: int
    key: str
    nonce: bytes
    ct: bytes
    eph: bytes
    wraps: list[bytes]


class Inside(msgspec.Struct, array_like=True, frozen=True):
    v: int
    payload: bytes
    sig: bytes


class Bundle(msgspec.Struct, tag="bundle", array_like=True, frozen=True):
    by: str
    place: str
    doc: str
    snapshot: bool
    tips: list[bytes]
    data: list[bytes]
    at: str
    seal: str


class Pointer(msgspec.Struct, tag="pointer", array_like=True, frozen=True):
    by: str
    place: str
    gen: int
    outbox: str
    at: str


Payload = Bundle | Pointer

_enc = msgspec.msgpack.Encoder()
_entry_dec = msgspec.msgpack.Decoder(Entry)
_inside_dec = msgspec.msgpack.Decoder(Inside)
_payload_dec = msgspec.msgpack.Decoder(Payload)


def place(relay_doc: str, key: str) -> str:
    return f"{relay_doc}/{key}"


@dataclass(frozen=True)
class Seal:
    """How to seal: under an epoch key, or wrapped to reader devices' keys."""

    epoch: tuple[str, bytes] | None = None  # (key id, key)
    readers: tuple[bytes, ...] = ()  # X25519 public keys


@dataclass(frozen=True)
class Opened:
    payload: Payload
    signed: bytes  # the signed payload bytes
    sig: bytes
    key: str  # the epoch key id it was sealed under; "" when sealed to readers


@dataclass(frozen=True)
class Refused:
    reason: Reason
    detail: str


def now_iso() -> str:
    return dt.datetime.now(dt.timezone.utc).isoformat(timespec="microseconds")


def seal_entry(payload: Payload, signing_key: Ed25519PrivateKey, how: Seal) -> bytes:
    signed = _enc.encode(payload)
    inside = _enc.encode(Inside(FORMAT, signed, signing_key.sign(_SIG_TAG + signed)))
    ad = _AD_TAG + payload.place.encode()
    if how.epoch is not None:
        kid, key = how.epoch
        nonce, ct = keys.seal(key, inside, ad)
        return _enc.encode(Entry(FORMAT, MODE_EPOCH, kid, nonce, ct, b"", []))
    content_key = keys.new_key()
    nonce, ct = keys.seal(content_key, inside, ad)
    eph, wraps = keys.wrap(content_key, list(how.readers), ad)
    return _enc.encode(Entry(FORMAT, MODE_READERS, "", nonce, ct, eph, wraps))


def open_entry(raw: object, where: str, epoch_keys: dict[str, bytes],
               device_key: X25519PrivateKey) -> Opened | Refused:
    """Open the entry stored at ``where``; never raises (relays are hostile)."""
    if not isinstance(raw, bytes):
        return Refused("malformed", f"a {type(raw).__name__}, not bytes")
    if len(raw) > MAX_ENTRY_BYTES:
        return Refused("malformed", f"{len(raw)} bytes, over {MAX_ENTRY_BYTES}")
    try:
        entry = _entry_dec.decode(raw)
    except (msgspec.DecodeError, msgspec.ValidationError) as exc:
        return Refused("malformed", str(exc)[:200])
    if entry.v != FORMAT:
        return Refused("malformed", f"format {entry.v}, this podsync reads {FORMAT}")
    ad = _AD_TAG + where.encode()
    if entry.mode == MODE_EPOCH:
        key = epoch_keys.get(entry.key)
        if key is None:
            return Refused("unknown-key", f"sealed under epoch key {entry.key[:16]!r}, not held here")
    elif entry.mode == MODE_READERS:
        found = keys.unwrap(device_key, entry.eph, entry.wraps, ad)
        if found is None:
            # Either sealed for other devices or altered: the two look the same.
            return Refused("not-for-us", "not sealed to this device")
        key = found
    else:
        return Refused("malformed", f"unknown mode {entry.mode}")
    inside_bytes = keys.open_sealed(key, entry.nonce, entry.ct, ad)
    if inside_bytes is None:
        return Refused("tampered", "does not decrypt where it is stored")
    try:
        inside = _inside_dec.decode(inside_bytes)
        payload = _payload_dec.decode(inside.payload)
    except (msgspec.DecodeError, msgspec.ValidationError, RecursionError) as exc:
        return Refused("malformed", str(exc)[:200])
    if payload.place != where:
        return Refused("misplaced", f"written for {payload.place[:80]!r}")
    if isinstance(payload, Bundle):
        if len(payload.data) > MAX_CHANGES_PER_BUNDLE or len(payload.tips) > MAX_TIPS \
                or (payload.snapshot and len(payload.data) != 1) or not payload.data:
            return Refused("malformed", "a bundle of the wrong shape")
    return Opened(payload, inside.payload, inside.sig, entry.key if entry.mode == MODE_EPOCH else "")


def signature_ok(opened: Opened, public_key: Ed25519PublicKey) -> bool:
    try:
        public_key.verify(opened.sig, _SIG_TAG + opened.signed)
    except InvalidSignature:
        return False
    return True
