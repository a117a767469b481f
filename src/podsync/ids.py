"""automerge-repo identifiers: document ids, ``automerge:`` URLs and heads.

A document id is bs58check (Bitcoin alphabet, 4-byte double-SHA-256 checksum) of
16 random bytes, exactly as automerge-repo 2.x makes them, so ids are shared with
the whole ecosystem. Parsing is strict: the checksum must pass *and* the payload
must be 16 bytes (JS accepts any length; samod, like us, does not). Heads in URLs
and in ``remote-heads-changed`` are bs58check of 32-byte change hashes.
"""

from __future__ import annotations

import functools
import re
import secrets

import base58

from podsync.errors import InvalidId

URL_PREFIX = "automerge:"
DOC_ID_BYTES = 16
CHANGE_HASH_BYTES = 32
# The Bitcoin base58 alphabet; anything else cannot be an id.
_B58 = re.compile(r"^[1-9A-HJ-NP-Za-km-z]+$")
#: Ids converted and kept (base58 costs some 20 µs each way, and a reconnect
#: converts every held document's id): more than a large node holds, a few MB.
ID_CACHE_SIZE = 1 << 14


def new_document_id() -> str:
    """A fresh random document id (bs58check of 16 random bytes)."""
    return base58.b58encode_check(secrets.token_bytes(DOC_ID_BYTES)).decode("ascii")


def document_id_bytes(doc_id: str) -> bytes:
    """The 16 bytes behind ``doc_id``; raises :class:`InvalidId` if it is not one."""
    if not isinstance(doc_id, str):
        raise InvalidId(f"not a document id: {doc_id!r}")
    return _decoded(doc_id)


@functools.lru_cache(maxsize=ID_CACHE_SIZE)
def _decoded(doc_id: str) -> bytes:
    """(Raises for what is not an id: nothing is kept for those.)"""
    if not _B58.match(doc_id):
        raise InvalidId(f"not a document id: {doc_id!r}")
    try:
        raw = base58.b58decode_check(doc_id)
    except ValueError:
        raise InvalidId(f"document id {doc_id!r} fails its checksum") from None
    if len(raw) != DOC_ID_BYTES:
        raise InvalidId(f"document id {doc_id!r} holds {len(raw)} bytes, not {DOC_ID_BYTES}")
    return raw


def document_id_from_bytes(raw: bytes) -> str:
    if len(raw) != DOC_ID_BYTES:
        raise InvalidId(f"a document id holds {DOC_ID_BYTES} bytes, not {len(raw)}")
    return _encoded(bytes(raw))


@functools.lru_cache(maxsize=ID_CACHE_SIZE)
def _encoded(raw: bytes) -> str:
    return base58.b58encode_check(raw).decode("ascii")


def parse_document_id(doc_id: str) -> str:
    """Validate ``doc_id`` and return it unchanged."""
    document_id_bytes(doc_id)
    return doc_id


def is_document_id(value: object) -> bool:
    """Whether ``value`` is a valid document id (anything else: False)."""
    try:
        parse_document_id(value)  # type: ignore[arg-type]
    except (InvalidId, TypeError):
        return False
    return True


def encode_head(change_hash: bytes) -> str:
    """bs58check form of a 32-byte change hash, as URLs and gossip carry heads."""
    if len(change_hash) != CHANGE_HASH_BYTES:
        raise InvalidId(f"a change hash holds {CHANGE_HASH_BYTES} bytes, not {len(change_hash)}")
    return base58.b58encode_check(change_hash).decode("ascii")


def decode_head(head: str) -> bytes:
    if not isinstance(head, str) or not _B58.match(head):
        raise InvalidId(f"not a head: {head!r}")
    try:
        raw = base58.b58decode_check(head)
    except ValueError:
        raise InvalidId(f"head {head!r} fails its checksum") from None
    if len(raw) != CHANGE_HASH_BYTES:
        raise InvalidId(f"head {head!r} holds {len(raw)} bytes, not {CHANGE_HASH_BYTES}")
    return raw


def document_url(doc_id: str, heads: list[bytes] | None = None) -> str:
    """``automerge:<id>``, with ``#head|head`` when ``heads`` are given."""
    parse_document_id(doc_id)
    url = URL_PREFIX + doc_id
    if heads:
        url += "#" + "|".join(encode_head(h) for h in heads)
    return url


def parse_url(url: str) -> tuple[str, list[bytes]]:
    """Split an ``automerge:`` URL into (document id, heads); strict."""
    if not isinstance(url, str) or not url.startswith(URL_PREFIX):
        raise InvalidId(f"not an automerge URL (must start with {URL_PREFIX!r}): {url!r}")
    rest = url[len(URL_PREFIX):]
    doc_part, sep, heads_part = rest.partition("#")
    doc_id = parse_document_id(doc_part)
    if not sep:
        return doc_id, []
    if not heads_part:
        raise InvalidId(f"URL {url!r} has '#' but no heads")
    return doc_id, [decode_head(h) for h in heads_part.split("|")]


def hex_heads(heads: list[bytes]) -> list[str]:
    """Heads as sorted hex strings, the form status and the API show."""
    return sorted(h.hex() for h in heads)
