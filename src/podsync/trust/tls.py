"""TLS for links between nodes: TLS 1.3 only, certificates pinned to the roster.

Every node presents its self-signed device certificate (see
:mod:`podsync.trust.identity`); there is no certificate authority. A peer's
certificate is trusted when it is an *active* device's certificate in the roster
at the moment of the handshake, and a link's device id is the hash of the
certificate actually presented.

How the server stays current. Python's ``SSLContext.load_verify_locations`` only
ever adds to a context's trust store, so a long-lived context would keep trusting
removed devices and would miss devices admitted after it was made. The server
context therefore carries no trust anchors of its own (a handshake that somehow
used it would fail closed) and its ``sni_callback`` swaps in a context built from
the roster's *current* active certificates at every ClientHello. OpenSSL runs that
callback whether or not the client sends a server name, and an exception in it
aborts the handshake. The built context is cached until the set of certificates
changes. Session tickets are off, so no handshake skips certificate checks.
Clients build one context per dial (:func:`client_context`), so they are current
by construction.

The handshake is not the whole check. A link outlives roster changes, and a
client without a certificate passes the server's handshake (``CERT_OPTIONAL``,
so a newcomer can reach the join-only mode). So after the handshake, and again
whenever the roster changes, the runtime calls :func:`classify_peer` and sends a
peer no pod data unless the answer is ``member``.

Joining. A newcomer has no roster, only the inviter's certificate pin from the
invite code. It dials with :func:`join_client_context` (no client certificate,
server not verified by the handshake) and must check :func:`peer_matches_pin`
before it writes a byte; with aiohttp, ``ssl=aiohttp.Fingerprint(pin)`` does that
check before the request is sent. TLS 1.3 verifies the server's signature over
the handshake whatever the verify mode, so a matching pin proves the peer holds
the inviter's key.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import ssl
from collections.abc import Callable
from typing import Literal

import msgspec

from podsync.trust.identity import DeviceIdentity, device_id_from_cert_der
from podsync.trust.roster import Roster, device

log = logging.getLogger(__name__)

PeerStatus = Literal["member", "removed", "unknown"]


class PeerCheck(msgspec.Struct, frozen=True, kw_only=True):
    """What a link's peer is to this pod, by the certificate it presented."""

    status: PeerStatus
    device_id: str | None  # None: the peer presented no certificate
    member_id: str | None = None


def _base_context(server: bool, identity: DeviceIdentity | None) -> ssl.SSLContext:
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER if server else ssl.PROTOCOL_TLS_CLIENT)
    # TLS 1.3 only: encrypted certificates, no renegotiation, no legacy cipher suites.
    ctx.minimum_version = ssl.TLSVersion.TLSv1_3
    if identity is not None:
        ctx.load_cert_chain(identity.cert_path, identity.key_path)
    # Self-signed device certificates are their own trust anchors.
    ctx.verify_flags |= ssl.VERIFY_X509_PARTIAL_CHAIN
    return ctx


def _server_context(identity: DeviceIdentity, certs: list[bytes]) -> ssl.SSLContext:
    ctx = _base_context(True, identity)
    # OPTIONAL: a client without a certificate gets through to the join-only mode;
    # a client *with* a certificate must present a trusted one or the handshake fails.
    ctx.verify_mode = ssl.CERT_OPTIONAL
    # A resumed session would carry a certificate checked against an older roster.
    ctx.num_tickets = 0
    if certs:
        ctx.load_verify_locations(cadata=b"".join(certs))
    return ctx


def server_context(identity: DeviceIdentity,
                   roster_certs_der: Callable[[], list[bytes]]) -> ssl.SSLContext:
    """The listening context: trusts exactly ``roster_certs_der()`` at each handshake.

    ``roster_certs_der`` is called at every incoming handshake and should be cheap
    (e.g. return a list kept up to date as the roster changes).
    """
    cache: dict[frozenset[bytes], ssl.SSLContext] = {}

    def swap(ssl_object: ssl.SSLObject | ssl.SSLSocket, server_name: str | None,
             initial: ssl.SSLContext) -> None:
        certs = frozenset(roster_certs_der())
        ctx = cache.get(certs)
        if ctx is None:
            cache.clear()
            ctx = cache[certs] = _server_context(identity, sorted(certs))
        ssl_object.context = ctx

    listening = _server_context(identity, [])
    listening.sni_callback = swap
    return listening


def client_context(identity: DeviceIdentity, expected_server_cert_der: bytes | None,
                   roster_certs_der: Callable[[], list[bytes]] | None = None) -> ssl.SSLContext:
    """A context for dialing a member's node; build one per dial.

    With ``expected_server_cert_der`` only that device is accepted (dialing a
    device found by discovery); without it, any of ``roster_certs_der()`` (dialing
    a remembered address whose device is not known).
    """
    anchors = ([expected_server_cert_der] if expected_server_cert_der is not None
               else roster_certs_der() if roster_certs_der is not None else [])
    if not anchors:
        raise ValueError("a client context needs the expected server certificate or the roster's")
    ctx = _base_context(False, identity)
    # Device certificates name no host; the pin to the certificate replaces the name check.
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_REQUIRED
    ctx.load_verify_locations(cadata=b"".join(anchors))
    return ctx


def join_client_context() -> ssl.SSLContext:
    """A context for a newcomer dialing the inviter: no client certificate, and the
    server checked by :func:`peer_matches_pin` after the handshake, before any write."""
    ctx = _base_context(False, None)
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    return ctx


def peer_cert_der(ssl_object: ssl.SSLObject | ssl.SSLSocket | None) -> bytes | None:
    if ssl_object is None:
        return None
    return ssl_object.getpeercert(binary_form=True)


def peer_device_id(ssl_object: ssl.SSLObject | ssl.SSLSocket | None) -> str | None:
    """The device id of the certificate the peer presented, or None if it sent none."""
    der = peer_cert_der(ssl_object)
    return device_id_from_cert_der(der) if der else None


def peer_matches_pin(ssl_object: ssl.SSLObject | ssl.SSLSocket | None, pin: bytes) -> bool:
    """True when the peer's certificate has SHA-256 ``pin`` (an invite's inviter pin)."""
    der = peer_cert_der(ssl_object)
    return der is not None and hmac.compare_digest(hashlib.sha256(der).digest(), pin)


def classify_peer(ssl_object: ssl.SSLObject | ssl.SSLSocket | None,
                  roster: Roster | None) -> PeerCheck:
    """``member`` (an active device: the link may carry pod data), ``removed`` (a
    device the roster removed: close the link) or ``unknown`` (no certificate or
    one not in the roster: join-only at most)."""
    der = peer_cert_der(ssl_object)
    if not der:
        return PeerCheck(status="unknown", device_id=None)
    device_id = device_id_from_cert_der(der)
    found = device(roster, device_id) if roster is not None else None
    if found is None:
        return PeerCheck(status="unknown", device_id=device_id)
    status: PeerStatus = "member" if found.status == "active" else "removed"
    if status == "removed":
        log.info("link from removed device %s (member %s)", device_id, found.member_id)
    return PeerCheck(status=status, device_id=device_id, member_id=found.member_id)
