"""Invite codes: how a newcomer's device gets into the pod without an admin.

Any active member can issue an invite. The code is one line of text (also fit for
a QR code): ``podsync1-`` followed by base58check of a compact msgpack payload
carrying the pod id, a random invite id, a one-time secret, the expiry, where the
inviter can be reached (``host:port`` list) and the inviter's certificate pin
(SHA-256 of its certificate's DER, which is also its device id).

What the roster keeps. Only ``verifier = HKDF-SHA256(secret, salt=invite id,
info="podsync invite verifier")`` goes into the roster, never the secret. The
invite id is 16 random bytes, so equal secrets never give equal verifiers and no
table can be computed ahead. Every member replicates the roster, so *any* online
member can admit the newcomer, not only the inviter.

The join proof. The newcomer dials an address from the code over TLS, checks that
the server's certificate matches the pin before sending anything, and sends its
own certificate with ``proof = HMAC-SHA256(verifier, "podsync join" || pod id ||
SHA-256(newcomer certificate))``. The admitter recomputes it from the roster.

Why that is enough:

- A passive stranger on the Wi-Fi sees only TLS; an active one cannot pose as the
  admitter (the pin) and, given a proof, cannot reuse it for any other
  certificate (the proof is bound to the certificate's hash). Reusing it for the
  newcomer's own certificate only admits the newcomer, whose key it lacks.
- Whoever holds a copy of the roster holds the verifiers and can forge proofs for
  open invites. Every member holds the roster and may admit anyone anyway (by
  issuing an invite), so that grants no new power. A *removed* device keeps its
  old copy; for that reason a removal withdraws every invite created before it
  (see :mod:`podsync.trust.roster`), and invites are short-lived
  (:data:`MAX_INVITE_LIFETIME`).
- Guessing the secret online or from a verifier means searching 2**128 values.

Typos versus tampering. The 4-byte checksum of base58check catches typing
mistakes and cut-off codes (a wrong code passes with odds of 1 in 2**32); it is
not a MAC and does not stop deliberate tampering, and no MAC could: the newcomer
shares no key with the pod before the code arrives. A deliberately altered code
fails later instead: a changed secret, invite id or pod id makes the admitter
refuse the proof, and a changed pin or address makes the newcomer refuse or fail
to reach the server. Someone who can replace the whole code in transit can send
the newcomer to their own node, so hand codes over a channel you trust (in
person, a QR code on a screen, a messenger you already use with that person).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import re
import secrets

import base58
import msgspec

from podsync import ids
from podsync.errors import InvalidId, NotFound, PodsyncError, UsageError
from podsync.trust.identity import device_id_from_digest

INVITE_PREFIX = "podsync1-"
SECRET_BYTES = 16  # 128 bits: beyond online and offline guessing for a one-time secret
INVITE_ID_BYTES = 16  # random; doubles as the verifier's salt
PIN_BYTES = 32  # SHA-256 of the inviter's certificate DER
VERIFIER_BYTES = 32
# Invites are one-time and short-lived: a code lying in a chat history should stop
# working soon. A week covers "I'll set it up at the weekend".
MAX_INVITE_LIFETIME = dt.timedelta(days=7)
# A node has a handful of addresses (LAN IPv4, IPv6, an overlay); more would only
# lengthen the code.
MAX_ADDRESSES = 8
MAX_ADDRESS_CHARS = 255 + 8  # a DNS name at its longest, plus ":65535" and brackets
# Codes are pasted by people; anything longer is not one of ours, and base58
# decoding is quadratic in the length, so refuse early.
MAX_CODE_CHARS = 2048

_VERIFIER_INFO = b"podsync invite verifier"
_PROOF_LABEL = b"podsync join"
_ADDRESS = re.compile(r"^(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9.-]+):(\d{1,5})$")


class InviteError(PodsyncError):
    """An invite code cannot be used (see the subclass for why)."""


class InviteMalformed(InviteError, UsageError):
    """The text is not an invite code, or it was mistyped or cut short."""


class InviteWrongPod(InviteError):
    """The invite belongs to another pod."""


class InviteExpired(InviteError):
    """The invite's expiry has passed."""


class InviteUsed(InviteError):
    """The invite was already redeemed by another device."""


class InviteWithdrawn(InviteError):
    """A removal recorded after the invite was made voided it."""


class InviteUnknown(InviteError, NotFound):
    """The roster holds no invite with that id."""


class JoinProofInvalid(InviteError):
    """The join proof does not match the invite and the newcomer's certificate."""


class InviteRecord(msgspec.Struct, frozen=True, kw_only=True):
    """What the roster keeps about an invite: never the secret itself."""

    invite_id: str  # hex of INVITE_ID_BYTES random bytes
    verifier: bytes
    expires_at: dt.datetime
    created_by: str  # member id of the inviter
    created_at: dt.datetime
    #: None: the invite admits a new member. A member id: it adds a device to that
    #: member (a member inviting their own new laptop).
    for_member: str | None = None


class Invite(msgspec.Struct, frozen=True, kw_only=True):
    """A parsed invite code, as the newcomer holds it."""

    pod_id: str
    invite_id: str
    secret: bytes
    expires_at: dt.datetime
    addresses: list[str]
    inviter_pin: bytes  # SHA-256 of the inviter's certificate DER
    for_member: str | None = None

    @property
    def inviter_device_id(self) -> str:
        """The inviter's device id, the same as the pin in its printed form."""
        return device_id_from_digest(self.inviter_pin)


class _Payload(msgspec.Struct, array_like=True, frozen=True):
    # array_like: encoded as a msgpack array, without field names, to keep codes short.
    pod: bytes
    invite: bytes
    secret: bytes
    expires: int  # Unix seconds, UTC
    pin: bytes
    addresses: list[str]
    for_member: bytes | None = None


def _utc(moment: dt.datetime) -> dt.datetime:
    if moment.tzinfo is None:
        raise ValueError("times in invites must be timezone-aware (UTC)")
    return moment.astimezone(dt.timezone.utc)


def _check_address(address: str) -> str:
    match = _ADDRESS.match(address) if len(address) <= MAX_ADDRESS_CHARS else None
    if match is None or not 0 < int(match.group(2)) < 65536:
        raise UsageError(f"not a host:port address for an invite: {address!r} "
                         "(write IPv6 addresses as [addr]:port)")
    return address


def invite_verifier(secret: bytes, invite_id: str) -> bytes:
    """HKDF-SHA256 of ``secret`` salted with the invite id: what the roster stores."""
    # Imported here: reading a roster (every command does) never derives one.
    from cryptography.hazmat.primitives import hashes  # noqa: PLC0415
    from cryptography.hazmat.primitives.kdf.hkdf import HKDF  # noqa: PLC0415

    return HKDF(algorithm=hashes.SHA256(), length=VERIFIER_BYTES,
                salt=bytes.fromhex(invite_id), info=_VERIFIER_INFO).derive(secret)


def create_invite(pod_id: str, inviter_member: str, inviter_cert_der: bytes,
                  addresses: list[str], expires_in: dt.timedelta, now: dt.datetime,
                  *, new_device: bool = False) -> tuple[str, InviteRecord]:
    """A fresh invite code and the record to put in the roster.

    ``new_device`` makes an invite that adds a device to the inviter's own member
    rather than a new member. The code is shown once; only the record is kept.
    """
    ids.parse_document_id(pod_id)
    if not dt.timedelta(0) < expires_in <= MAX_INVITE_LIFETIME:
        raise UsageError(f"an invite must expire within {MAX_INVITE_LIFETIME.days} days "
                         f"and in the future (asked for {expires_in})")
    if len(addresses) > MAX_ADDRESSES:
        raise UsageError(f"an invite carries at most {MAX_ADDRESSES} addresses, "
                         f"not {len(addresses)}")
    addresses = [_check_address(a) for a in addresses]
    now = _utc(now)
    # Whole seconds: the code carries Unix seconds, so the record must agree with it.
    expires_at = (now + expires_in).replace(microsecond=0)
    invite_raw = secrets.token_bytes(INVITE_ID_BYTES)
    secret = secrets.token_bytes(SECRET_BYTES)
    for_member = inviter_member if new_device else None
    payload = _Payload(
        pod=ids.document_id_bytes(pod_id), invite=invite_raw, secret=secret,
        expires=int(expires_at.timestamp()), pin=hashlib.sha256(inviter_cert_der).digest(),
        addresses=addresses,
        for_member=ids.document_id_bytes(for_member) if for_member else None,
    )
    code = INVITE_PREFIX + base58.b58encode_check(msgspec.msgpack.encode(payload)).decode("ascii")
    record = InviteRecord(
        invite_id=invite_raw.hex(), verifier=invite_verifier(secret, invite_raw.hex()),
        expires_at=expires_at, created_by=inviter_member, created_at=now,
        for_member=for_member,
    )
    return code, record


def _malformed(why: str) -> InviteMalformed:
    return InviteMalformed(f"this is not a usable invite code: {why}; copy the whole code "
                           "again from the member who made it")


def parse_invite(code: str, *, now: dt.datetime | None = None,
                 pod_id: str | None = None) -> Invite:
    """The invite in ``code``; raises a distinct :class:`InviteError` for each refusal.

    Expiry is checked against ``now`` (default: this machine's clock); the
    admitter checks it again with its own. With ``pod_id`` given, an invite for
    another pod is refused. Whether the invite was already used is the roster's
    to say (:func:`podsync.trust.roster.admit`).
    """
    text = "".join(code.split()) if isinstance(code, str) else ""
    if not text.startswith(INVITE_PREFIX):
        raise _malformed(f"it does not start with {INVITE_PREFIX!r}")
    if len(text) > MAX_CODE_CHARS:
        raise _malformed(f"it is {len(text)} characters long, far longer than any invite")
    try:
        raw = base58.b58decode_check(text[len(INVITE_PREFIX):])
    except ValueError:
        raise _malformed("its checksum does not match (a character was mistyped, "
                         "changed or cut off)") from None
    try:
        payload = msgspec.msgpack.decode(raw, type=_Payload)
        invite_pod = ids.document_id_from_bytes(payload.pod)
        for_member = (ids.document_id_from_bytes(payload.for_member)
                      if payload.for_member is not None else None)
        expires_at = dt.datetime.fromtimestamp(payload.expires, dt.timezone.utc)
    except (msgspec.DecodeError, msgspec.ValidationError, InvalidId, OverflowError,
            OSError, ValueError):
        raise _malformed("its contents do not decode") from None
    if (len(payload.invite) != INVITE_ID_BYTES or len(payload.secret) != SECRET_BYTES
            or len(payload.pin) != PIN_BYTES or len(payload.addresses) > MAX_ADDRESSES):
        raise _malformed("a field has the wrong size")
    try:
        addresses = [_check_address(a) for a in payload.addresses]
    except UsageError:
        raise _malformed("it names an address that is not host:port") from None
    invite = Invite(pod_id=invite_pod, invite_id=payload.invite.hex(), secret=payload.secret,
                    expires_at=expires_at, addresses=addresses, inviter_pin=payload.pin,
                    for_member=for_member)
    if pod_id is not None:
        check_pod(invite.pod_id, pod_id)
    check_not_expired(invite.expires_at, now or dt.datetime.now(dt.timezone.utc))
    return invite


def check_pod(invite_pod_id: str, pod_id: str) -> None:
    """Raise :class:`InviteWrongPod` unless the invite is for ``pod_id``."""
    if invite_pod_id != pod_id:
        raise InviteWrongPod(f"this invite is for pod {invite_pod_id}, not pod {pod_id}; "
                             "check you were sent the code for the right pod")


def check_not_expired(expires_at: dt.datetime, now: dt.datetime) -> None:
    """Raise :class:`InviteExpired` when ``now`` is at or past ``expires_at``."""
    if _utc(now) >= expires_at:
        raise InviteExpired(f"this invite expired at {expires_at.isoformat()}; "
                            "ask a member of the pod for a new code")


def verify_invite_secret(record: InviteRecord, secret: bytes) -> bool:
    """True when ``secret`` is the invite's secret (constant-time comparison)."""
    return hmac.compare_digest(invite_verifier(secret, record.invite_id), record.verifier)


def _proof(verifier: bytes, pod_id: str, newcomer_cert_der: bytes) -> bytes:
    # Fixed-size parts (the pod id is always a 16-byte id, re-encoded canonically)
    # keep the message unambiguous.
    message = (_PROOF_LABEL + b"\x00" + ids.document_id_bytes(pod_id)
               + hashlib.sha256(newcomer_cert_der).digest())
    return hmac.new(verifier, message, hashlib.sha256).digest()


def join_proof(invite: Invite, newcomer_cert_der: bytes) -> bytes:
    """The newcomer's proof that it holds the invite's secret, bound to its certificate."""
    return _proof(invite_verifier(invite.secret, invite.invite_id), invite.pod_id,
                  newcomer_cert_der)


def check_join_proof(record: InviteRecord, proof: bytes, pod_id: str,
                     newcomer_cert_der: bytes) -> bool:
    """True when ``proof`` was made with this invite's secret for exactly this
    certificate and pod (constant-time comparison)."""
    return hmac.compare_digest(_proof(record.verifier, pod_id, newcomer_cert_der), proof)
