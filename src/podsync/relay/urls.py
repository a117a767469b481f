"""Relay addresses: ``wss://`` anywhere, plain ``ws://`` only where nothing can listen in.

A relay URL is written into the pod document, so every member's node dials it;
each node checks it again when it reads it (a member's modified node could write
anything there). Bundles are sealed and signed whatever the transport, but a
plain socket shows a network observer which relay documents a device asks for,
when and how much: so ``ws://`` is accepted only for loopback and for the
address ranges reserved for documentation and benchmarking, which no real
network routes.
"""

from __future__ import annotations

import ipaddress
import urllib.parse

from podsync.errors import UsageError

#: Long enough for any host, port and path a sync server sits behind.
MAX_URL_CHARS = 512
#: Relays one pod lists. Each is one link per node; a handful covers "one at a
#: member's home and one rented", and the bound keeps a hostile member from
#: making every node dial hundreds of servers.
MAX_RELAYS = 8

#: Where plain ws:// is allowed: loopback, and ranges no real network routes
#: (RFC 5737 documentation, RFC 2544 benchmarking, RFC 3849 documentation).
PLAIN_OK_NETWORKS = [ipaddress.ip_network(n) for n in (
    "127.0.0.0/8", "::1/128", "192.0.2.0/24", "198.51.100.0/24", "203.0.113.0/24",
    "198.18.0.0/15", "2001:db8::/32")]
PLAIN_OK_HOSTS = {"localhost"}


class RelayUrlError(UsageError):
    """A relay address podsync will not use."""


def check_relay_url(text: str) -> str:
    """``text`` as podsync keeps it (scheme and host lower-case), or RelayUrlError."""
    if not isinstance(text, str) or not text.strip():
        raise RelayUrlError("a relay is a wss:// address, e.g. wss://relay.example.org")
    text = text.strip()
    if len(text) > MAX_URL_CHARS:
        raise RelayUrlError(f"a relay address is at most {MAX_URL_CHARS} characters")
    if any(ord(ch) < 33 or ord(ch) == 127 for ch in text):
        raise RelayUrlError("a relay address has no spaces or control characters")
    try:
        parts = urllib.parse.urlsplit(text)
        port = parts.port
    except ValueError as exc:
        raise RelayUrlError(f"{text!r} is not a valid address: {exc}") from None
    scheme = parts.scheme.lower()
    host = (parts.hostname or "").lower()
    if scheme not in ("wss", "ws"):
        raise RelayUrlError(f"{text!r}: a relay is a wss:// address (an automerge-repo sync server)")
    if not host:
        raise RelayUrlError(f"{text!r} names no host")
    if parts.username is not None or parts.password is not None:
        raise RelayUrlError("a relay address carries no user name or password: every member "
                            "of the pod would read them")
    if parts.fragment:
        raise RelayUrlError("a relay address has no #fragment")
    if scheme == "ws" and not plain_allowed(host):
        raise RelayUrlError(
            f"{text!r} is plain ws://, which lets anyone on the way see which relay documents "
            f"this device reads and writes; use wss:// (plain ws:// is only for loopback and "
            f"test addresses)")
    netloc = f"[{host}]" if ":" in host else host
    if port is not None:
        netloc += f":{port}"
    return urllib.parse.urlunsplit((scheme, netloc, parts.path, parts.query, ""))


def plain_allowed(host: str) -> bool:
    if host in PLAIN_OK_HOSTS:
        return True
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return False
    return any(address in network for network in PLAIN_OK_NETWORKS)
