"""Joining a pod with an invite code: the newcomer's side and the sealed answer.

Flow: the newcomer makes its device identity, then POSTs ``/join`` over TLS to a
member's peer endpoint with its certificate and a proof (an HMAC keyed by the
invite's verifier, bound to its certificate and the pod id; see
:mod:`podsync.trust.invite`). The admitting member's node checks the proof
against the invite record in the roster, adds the member and device to the
roster, and answers with the pod document and pod secret **sealed** (AES-GCM)
under a key derived from the same verifier and the newcomer's certificate.

Why seal when TLS is there: through the inviter, the code pins the server's
certificate; through any other member it cannot (the newcomer knows no roster
yet). Sealing makes that safe: a stranger in the middle learns nothing it could
use (it has neither the invite secret nor the verifier), and the newcomer knows
the answer came from a node holding the invite's verifier, i.e. a pod member.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import os
import ssl
from typing import Any

import aiohttp
import automerge.core as am
import msgspec
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from podsync import config as config_mod
from podsync import errors
from podsync.home import FILE_MODE, Home, atomic_write
from podsync.ids import new_document_id
from podsync.store import DocumentStore
from podsync.trust import identity as identity_mod
from podsync.trust import invite as invite_mod
from podsync.trust import roster as roster_mod
from podsync.trust.ledger import replay_document
from podsync.trust.tls import join_client_context

JOIN_PATH = "/join"
#: A join request is a certificate, a proof and a name: a few KiB. Anything much
#: larger is not a join request.
MAX_JOIN_REQUEST_BYTES = 64 * 1024
#: How long the newcomer waits for one member to answer before trying the next.
JOIN_TIMEOUT_SECONDS = 15.0
_SEAL_INFO = b"podsync join seal v1"
_NONCE_BYTES = 12


class JoinRequest(msgspec.Struct, forbid_unknown_fields=True):
    pod_id: str
    invite_id: str
    member_id: str
    name: str
    cert: bytes  # the newcomer's certificate, DER (base64 in JSON)
    proof: bytes


class Admitted(msgspec.Struct):
    """What the admitting node tells the newcomer (sealed in transit)."""

    pod_id: str
    pod_name: str
    pod_secret: bytes
    pod_doc: bytes  # the pod document, saved after admission
    member_id: str
    admitter_device_id: str
    admitter_cert: bytes


def _seal_key(verifier: bytes, newcomer_cert_der: bytes) -> bytes:
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=hashlib.sha256(newcomer_cert_der).digest(),
                info=_SEAL_INFO).derive(verifier)


def seal(verifier: bytes, newcomer_cert_der: bytes, pod_id: str, admitted: Admitted) -> bytes:
    nonce = os.urandom(_NONCE_BYTES)
    sealed = AESGCM(_seal_key(verifier, newcomer_cert_der)).encrypt(
        nonce, msgspec.msgpack.encode(admitted), pod_id.encode())
    return nonce + sealed


def unseal(verifier: bytes, newcomer_cert_der: bytes, pod_id: str, blob: bytes) -> Admitted:
    try:
        plain = AESGCM(_seal_key(verifier, newcomer_cert_der)).decrypt(
            blob[:_NONCE_BYTES], blob[_NONCE_BYTES:], pod_id.encode())
        return msgspec.msgpack.decode(plain, type=Admitted)
    except (InvalidTag, ValueError, msgspec.DecodeError):
        raise errors.PodsyncError("the node that answered could not prove it belongs to the pod; "
                                  "nothing was joined. Try another member's address") from None


async def join_pod(home: Home, code: str, name: str, peers: list[str] | None = None,
                   *, now: dt.datetime | None = None) -> config_mod.Config:
    """Redeem ``code`` for a fresh ``home`` through any reachable member."""
    now = now or dt.datetime.now(dt.timezone.utc)
    invite = invite_mod.parse_invite(code, now=now)
    name = config_mod.check_name("member name", name)
    if home.is_initialised():
        pod = config_mod.load_config(home)
        raise errors.AlreadyInitialised(
            f"{home.root} already belongs to the pod {pod.pod_name!r}; join with a new --home")
    home.ensure_dirs()
    identity = (identity_mod.load_identity(home) if home.cert_path.exists()
                else identity_mod.create_identity(home))
    member_id = new_document_id()
    request = JoinRequest(pod_id=invite.pod_id, invite_id=invite.invite_id, member_id=member_id,
                          name=name, cert=identity.cert_der,
                          proof=invite_mod.join_proof(invite, identity.cert_der))
    targets = [(a, True) for a in invite.addresses] + [(p, False) for p in peers or []]
    if not targets:
        raise errors.UsageError("the invite names no address to reach the pod; pass --peer HOST:PORT "
                                "of any member's node")
    failures: list[str] = []
    async with aiohttp.ClientSession() as session:
        for address, is_inviter in targets:
            try:
                blob = await _post_join(session, address, request, invite.inviter_pin if is_inviter else None)
            except _Unreachable as exc:
                failures.append(f"{address}: {exc}")
                continue
            admitted = unseal(invite_mod.invite_verifier(invite.secret, invite.invite_id),
                              identity.cert_der, invite.pod_id, blob)
            return _settle(home, admitted, name, address, invite.pod_id)
    raise errors.UnreachableError("no member's node answered: " + "; ".join(failures))


class _Unreachable(Exception):
    pass


async def _post_join(session: aiohttp.ClientSession, address: str, request: JoinRequest,
                     pin: bytes | None) -> bytes:
    ssl_arg: ssl.SSLContext | aiohttp.Fingerprint = (
        aiohttp.Fingerprint(pin) if pin is not None else join_client_context())
    host, _, port = address.rpartition(":")
    url = f"https://{host if ':' not in host or host.startswith('[') else f'[{host}]'}:{port}{JOIN_PATH}"
    try:
        async with session.post(url, data=msgspec.json.encode(request), ssl=ssl_arg,
                                headers={"Content-Type": "application/json"},
                                timeout=aiohttp.ClientTimeout(total=JOIN_TIMEOUT_SECONDS)) as resp:
            body = await resp.read()
            if resp.status == 200:
                return body
            raise _refusal(resp.status, body)
    except aiohttp.ServerFingerprintMismatch:
        raise _Unreachable("its certificate is not the inviter's (the invite pins it)") from None
    except (aiohttp.ClientError, OSError, TimeoutError) as exc:
        raise _Unreachable(str(exc) or type(exc).__name__) from None


_REFUSALS: dict[str, type[errors.PodsyncError]] = {
    cls.__name__: cls for cls in (
        invite_mod.InviteWrongPod, invite_mod.InviteExpired, invite_mod.InviteUsed,
        invite_mod.InviteWithdrawn, invite_mod.InviteUnknown, invite_mod.JoinProofInvalid,
        invite_mod.InviteMalformed, roster_mod.RosterError)
}


def _refusal(status: int, body: bytes) -> errors.PodsyncError:
    try:
        detail: Any = msgspec.json.decode(body)["error"]
        cls = _REFUSALS.get(detail["type"], errors.PodsyncError)
        return cls(str(detail["message"]))
    except (msgspec.DecodeError, KeyError, TypeError):
        return errors.PodsyncError(f"the member's node refused the join (HTTP {status})")


def _settle(home: Home, admitted: Admitted, name: str, address: str,
            pod_id: str) -> config_mod.Config:
    """Store what admission brought; the config comes last (it marks the home joined)."""
    pod_doc = am.Document.load(admitted.pod_doc)
    identity = identity_mod.load_identity(home)
    # The pod id in the code is the hash of the pod's founding record: the roster
    # replayed from it is the pod the invite was made for, whoever answered.
    roster = replay_document(pod_id, pod_doc) if admitted.pod_id == pod_id else None
    if roster is None or not roster_mod.is_active_device(roster, identity.device_id):
        raise errors.PodsyncError("the member's node answered without admitting this device")
    with DocumentStore(home.db_path) as store:
        if not store.has(admitted.pod_id):
            store.create_document(admitted.pod_id, "pod", pod_doc)
    # SQLite makes the database with the umask's mode (often world-readable) and
    # gives its -wal and -shm files the database's: owner-only, as the rest.
    try:
        os.chmod(home.db_path, FILE_MODE)
    except OSError as exc:
        raise errors.HomeError(f"cannot restrict {home.db_path} to its owner: "
                               f"{exc.strerror or exc}") from None
    atomic_write(home.pod_secret_path, admitted.pod_secret.hex().encode())
    if not home.token_path.exists():
        identity_mod.create_api_token(home)
    # Imported here: podsync.node imports this module.
    from podsync.node.peering import remember_admitter  # noqa: PLC0415
    remember_admitter(home, admitted.admitter_device_id, address)
    config = config_mod.Config(
        member_name=name, member_id=admitted.member_id, pod_id=admitted.pod_id,
        pod_name=admitted.pod_name, created_at=dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"))
    config_mod.save_config(home, config)
    return config
