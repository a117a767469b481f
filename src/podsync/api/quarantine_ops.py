"""Documents set aside: stored bytes that do not load, or would cost too much to.

A quarantined document stays on disk exactly as it was stored and is never
loaded or served; the rest of the pod carries on. These operations let the
member see which ones and why, and take a copy of the stored bytes to inspect
elsewhere (any automerge tool reads them) or to hand to someone who can help.
"""

from __future__ import annotations

import base64
from typing import Annotated

import msgspec

from podsync.api.context import PodContext
from podsync.api.ops import op
from podsync.errors import NotFound
from podsync.ids import URL_PREFIX, document_url, parse_document_id, parse_url


MAX_URL_CHARS = 200


class NoArgs(msgspec.Struct, forbid_unknown_fields=True):
    pass


class UrlArgs(msgspec.Struct, forbid_unknown_fields=True):
    #: automerge:ID, or the bare ID (ids are under 40 characters; base58 costs
    #: time quadratic in the length, so a longer one is refused unread).
    url: Annotated[str, msgspec.Meta(min_length=1, max_length=MAX_URL_CHARS)]


class Quarantined(msgspec.Struct):
    url: str
    kind: str
    reason: str
    stored_bytes: int
    chunks: int


class Exported(Quarantined):
    #: The stored chunks, concatenated as automerge loads them, in base64.
    data: str


def _entry(ctx: PodContext, doc_id: str, kind: str, reason: str) -> tuple[Quarantined, bytes]:
    data, chunks = ctx.repo.store.stored_bytes(doc_id)
    return Quarantined(document_url(doc_id), kind, reason, len(data), chunks), data


@op("quarantine.list")
async def list_quarantined(ctx: PodContext, args: NoArgs) -> list[Quarantined]:
    """Documents set aside because their stored bytes do not load, and why."""
    return [_entry(ctx, info.doc_id, info.kind, info.damaged)[0]
            for info in ctx.repo.store.damaged_documents() if info.damaged is not None]


@op("quarantine.export")
async def export_quarantined(ctx: PodContext, args: UrlArgs) -> Exported:
    """A quarantined document's stored bytes, exactly as kept on disk."""
    doc_id = parse_url(args.url)[0] if args.url.startswith(URL_PREFIX) else parse_document_id(args.url)
    for info in ctx.repo.store.damaged_documents():
        if info.doc_id == doc_id and info.damaged is not None:
            entry, data = _entry(ctx, doc_id, info.kind, info.damaged)
            return Exported(**msgspec.structs.asdict(entry), data=base64.b64encode(data).decode("ascii"))
    raise NotFound(f"no quarantined document {args.url} on this node")
