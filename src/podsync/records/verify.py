"""Signing records and checking their signatures, fast enough for a whole pod.

A device's public key comes from its certificate (the device id is the
certificate's hash, so a certificate proves itself). Each signature is checked
once and the answer kept. A certificate is parsed only when a signature of its
device is to be checked: a command over records whose answers are all stored
parses none (importing the X.509 machinery costs more than such a command).

Checking 10,000 records one by one costs about 0.6 s of Ed25519 on a small
machine. Two things make a cold check cheap: records carry ``prev``, the id (a
hash) of their signer's previous record in the same scope, so a valid signature
on a signer's latest record vouches for every earlier record its chain reaches,
and the remaining signatures are checked on a small thread pool (``cryptography``
releases the interpreter lock while verifying).
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING

from podsync.records.format import Record, signed_message
from podsync.trust.identity import device_id_from_cert_der

if TYPE_CHECKING:
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

log = logging.getLogger(__name__)

#: Below this many signatures a thread pool costs more than it saves.
POOL_THRESHOLD = 64
#: Two cores on the smallest machines podsync runs on; more threads only contend.
POOL_WORKERS = 2

_pool: ThreadPoolExecutor | None = None


def _executor() -> ThreadPoolExecutor:
    global _pool
    if _pool is None:
        _pool = ThreadPoolExecutor(POOL_WORKERS, thread_name_prefix="podsync-verify")
    return _pool


class Signer:
    """This device's signing key (loaded when something is first signed, when
    made by :meth:`loading`)."""

    def __init__(self, key: Ed25519PrivateKey | None, device_id: str,
                 load: Callable[[], Ed25519PrivateKey] | None = None) -> None:
        if key is None and load is None:
            raise ValueError("a Signer needs its key or a way to load it")
        self._key = key
        self._load = load
        self.device_id = device_id

    @classmethod
    def loading(cls, load: Callable[[], Ed25519PrivateKey], device_id: str) -> Signer:
        """A signer that reads its key with ``load`` when it first signs (a command
        that only reads never loads it)."""
        return cls(None, device_id, load)

    def sign(self, payload: bytes) -> bytes:
        if self._key is None:
            assert self._load is not None
            self._key = self._load()
        return self._key.sign(signed_message(payload))


def public_key_of(cert_der: bytes) -> Ed25519PublicKey | None:
    """The Ed25519 key a device certificate carries, or None if it carries another."""
    from cryptography import x509  # noqa: PLC0415 - see the module docstring
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey  # noqa: PLC0415

    try:
        key = x509.load_der_x509_certificate(cert_der).public_key()
    except ValueError:
        return None
    return key if isinstance(key, Ed25519PublicKey) else None


class Verifier:
    """Device certificates learnt so far (each parsed for its key when first
    needed) and every signature already checked."""

    def __init__(self) -> None:
        #: Certificates learnt and not parsed yet, by device id.
        self._certs: dict[str, bytes] = {}
        #: Keys parsed from certificates; None where a certificate carries no Ed25519 key.
        self._keys: dict[str, Ed25519PublicKey | None] = {}
        self._checked: dict[str, bool] = {}

    def learn(self, cert_der: bytes) -> str:
        """Remember the device ``cert_der`` describes (its key is read from it when a
        signature of that device is first checked); its id."""
        device_id = device_id_from_cert_der(cert_der)
        if device_id not in self._keys:
            self._certs.setdefault(device_id, cert_der)
        return device_id

    def knows(self, device_id: str) -> bool:
        """Whether signatures of ``device_id`` can be checked (its certificate is
        learnt and carries an Ed25519 key)."""
        return self._key(device_id) is not None

    def _key(self, device_id: str) -> Ed25519PublicKey | None:
        if device_id in self._keys:
            return self._keys[device_id]
        cert = self._certs.pop(device_id, None)
        if cert is None:
            return None
        key = self._keys[device_id] = public_key_of(cert)
        return key

    def checked(self, record_id: str) -> bool | None:
        return self._checked.get(record_id)

    def check(self, record: Record) -> bool | None:
        """Whether ``record``'s signature is its signer's; None while the signer's
        certificate is unknown."""
        return self.check_many([record]).get(record.id)

    def check_many(self, records: Iterable[Record]) -> dict[str, bool | None]:
        """Check every record (see the module doc for how chains save work)."""
        out: dict[str, bool | None] = {}
        todo: dict[tuple[str, str], dict[str, Record]] = defaultdict(dict)
        for r in records:
            known = self._checked.get(r.id)
            if known is not None:
                out[r.id] = known
            elif self._key(r.by) is None:
                out[r.id] = None
            else:
                todo[(r.scope, r.by)][r.id] = r
        for chain in todo.values():
            self._check_chain(chain, out)
        return out

    def _check_chain(self, chain: dict[str, Record], out: dict[str, bool | None]) -> None:
        """One signer's records in one scope: check the heads, follow ``prev``."""
        referenced = {r.prev for r in chain.values() if r.prev in chain}
        pending = [r for rid, r in chain.items() if rid not in referenced]
        while pending:
            results = self._verify([r for r in pending if r.id not in self._checked])
            self._checked.update(results)
            for head in pending:
                ok = self._checked[head.id]
                out[head.id] = ok
                if not ok:
                    continue
                # A valid signature on ``head`` vouches for the record it names as prev.
                cursor = chain.get(head.prev) if head.prev else None
                while cursor is not None and cursor.id not in self._checked:
                    self._checked[cursor.id] = out[cursor.id] = True
                    cursor = chain.get(cursor.prev) if cursor.prev else None
            # Records no valid head reaches (a broken chain) are checked on their own.
            pending = [r for rid, r in chain.items() if rid not in self._checked]
        for rid in chain:
            out[rid] = self._checked[rid]

    def _verify(self, records: list[Record]) -> dict[str, bool]:
        if len(records) < POOL_THRESHOLD:
            return {r.id: self._one(r) for r in records}
        half = len(records) // 2
        parts = [records[:half], records[half:]]
        done = _executor().map(lambda part: {r.id: self._one(r) for r in part}, parts)
        merged: dict[str, bool] = {}
        for part in done:
            merged.update(part)
        return merged

    def _one(self, record: Record) -> bool:
        from cryptography.exceptions import InvalidSignature  # noqa: PLC0415

        key = self._keys[record.by]
        assert key is not None  # check_many sends only records whose signer's key is known
        try:
            key.verify(record.sig, signed_message(record.payload))
        except InvalidSignature:
            return False
        return True
