"""Exporting the pod: everything this member may read, readable without podsync."""

from __future__ import annotations

from typing import Any, Literal

import msgspec

from podsync.api.context import PodContext
from podsync.api.ops import op
from podsync.api.pod_common import Args, caller, may_read
from podsync.pod import export_json, export_markdown


class ExportArgs(Args):
    format: Literal["json", "markdown"] = "json"


class Exported(msgspec.Struct):
    format: str
    #: The export document (``json``) or the Markdown text (``markdown``).
    content: Any


@op("pod.export")
async def export(ctx: PodContext, args: ExportArgs) -> Exported:
    """Every document this member may read, with current state and full history."""
    caller(ctx)
    docs = {doc_id: ctx.doc(doc_id) for doc_id in ctx.repo.held_ids()
            if may_read(ctx, doc_id)}
    if args.format == "markdown":
        return Exported(format="markdown", content=export_markdown(docs, ctx.now()))
    return Exported(format="json", content=export_json(docs, ctx.now()))
