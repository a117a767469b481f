"""Exporting the pod: everything this member may read, readable without podsync.

Each document's items are derived from its counted records with the same
reading functions the listing operations use, so an export shows exactly what
the member sees; nothing else a document holds is read, except the content of
another app's document (which has no records).
"""

from __future__ import annotations

import datetime as dt
from typing import Any, Literal

import msgspec

from podsync.api.context import PodContext
from podsync.api.ops import op
from podsync.api.ops_agreements import AGREEMENTS
from podsync.api.ops_decisions import DECISIONS
from podsync.api.ops_feedback import thread_view
from podsync.api.ops_mobilizing import ASKS
from podsync.api.ops_needs import NEEDS
from podsync.api.ops_teams import TEAM_ITEMS
from podsync.api.pod_common import Args, caller, may_read
from podsync.api.views import Kind
from podsync.errors import NotFound
from podsync.pod import (
    agreements, allies, capacity, decisions, feedback, needs, statements, stewards, teams,
)
from podsync.pod.events import items_from
from podsync.pod.export import Contents, export_json, export_markdown
from podsync.repo.values import to_python
from podsync.trust.ledger import FOREIGN_KIND, POD_KIND


class ExportArgs(Args):
    format: Literal["json", "markdown"] = "json"


class Exported(msgspec.Struct):
    format: str
    #: The export document (``json``) or the Markdown text (``markdown``).
    content: Any


@op("pod.export")
async def export(ctx: PodContext, args: ExportArgs) -> Exported:
    """Every document this member may read, with current state and full history."""
    if ctx.ledger.is_legacy():
        return legacy_export(ctx, args.format)
    caller(ctx)
    now = ctx.now()
    contents = gather(ctx, now)
    if args.format == "markdown":
        return Exported(format="markdown", content=export_markdown(contents, now))
    return Exported(format="json", content=export_json(contents, now))


def gather(ctx: PodContext, now: dt.datetime) -> Contents:
    """What this member's export holds: every document they may read, by kind."""
    out = Contents()
    all_needs: list[capacity.HeldNeed] = []
    all_agreements: list[capacity.HeldAgreement] = []
    all_checkins: list[capacity.CheckIn] = []
    for doc_id in sorted(ctx.repo.held_ids()):
        if not may_read(ctx, doc_id):
            continue
        kind = ctx.ledger.kind(doc_id) or FOREIGN_KIND
        out.document(doc_id, kind)
        if kind == POD_KIND:
            counted = ctx.ledger.counted(doc_id)
            out.roster = ctx.ledger.roster
            out.add("teams", doc_id, teams.teams(counted))
            out.stewards.update(stewards.stewardships(counted))
            out.add("steward_nominations", doc_id, stewards.nominations(counted))
            out.feedback_summary = statements.summary(counted)
        elif kind == needs.KIND:
            raw = _views(ctx, doc_id, NEEDS, now)
            out.add_json("needs", doc_id, raw)
            all_needs += map(msgspec.json.Decoder(capacity.HeldNeed).decode, raw)
        elif kind == agreements.KIND:
            raw = _views(ctx, doc_id, AGREEMENTS, now)
            out.add_json("agreements", doc_id, raw)
            all_agreements += map(msgspec.json.Decoder(capacity.HeldAgreement).decode, raw)
        elif kind == decisions.KIND:
            out.add_json("decisions", doc_id, _views(ctx, doc_id, DECISIONS, now))
        elif kind == capacity.KIND:
            found_checkins = capacity.checkins(items_from(ctx.ledger.counted(doc_id),
                                                          capacity.CHECKIN))
            all_checkins += found_checkins
            out.add("checkins", doc_id, found_checkins)
            out.add_json("mobilizing_asks", doc_id, _views(ctx, doc_id, ASKS, now))
            out.add("allies", doc_id, allies.all_allies(
                items_from(ctx.ledger.counted(doc_id), allies.ALLIES), now))
        elif kind == teams.ITEMS_KIND:
            out.add_json("team_items", doc_id, _views(ctx, doc_id, TEAM_ITEMS, now))
        elif kind == feedback.THREAD_KIND:
            try:
                out.add("feedback_threads", doc_id, [thread_view(ctx, doc_id)])
            except NotFound:  # its records are not read yet: as good as absent
                pass
        elif kind == feedback.STATEMENT_KIND:
            item = feedback.document_item(ctx.ledger.counted(doc_id), doc_id, kind)
            if item is not None:
                out.add("feedback_statements", doc_id, [statements.statement(item)])
        else:
            out.add_other(doc_id, kind, to_python(ctx.doc(doc_id))
                          if kind == FOREIGN_KIND else None)
    out.loads = capacity.loads(all_needs, all_agreements, all_checkins)
    return out


def _views(ctx: PodContext, doc_id: str, kind: Kind, now: dt.datetime) -> list[bytes]:
    """Every item of ``kind`` in ``doc_id``, archived ones too, oldest first: the
    same derived views the listings show, as the JSON they are kept as (reading
    13,000 of them into objects and writing them out again took most of a second)."""
    return [entry.raw for entry in ctx.views.entries(doc_id, kind, now)]


def legacy_export(ctx: PodContext, fmt: str) -> Exported:
    """A pod made before records were signed: every document this node holds, as
    plain content, so nothing written then becomes unreadable. Nothing in it can
    be verified, and the export says so."""
    docs = []
    for doc_id in sorted(ctx.repo.held_ids()):
        try:
            content = to_python(ctx.doc(doc_id))
        except Exception:  # noqa: BLE001 - a damaged document is listed, not fatal
            content = None
        kind = content.get("@kind") if isinstance(content, dict) else None
        docs.append({"id": doc_id, "kind": kind if isinstance(kind, str) else None,
                     "content": content})
    note = ("Written by podsync 0.1, before records were signed: nothing here can be "
            "verified; it is what this node held.")
    if fmt == "json":
        return Exported(format="json", content={
            "format": "podsync-export", "version": 1, "legacy": True, "note": note,
            "pod_id": ctx.pod_id, "documents": docs})
    lines = [f"# {ctx.config.pod_name} (exported from a podsync 0.1 pod)", "", note, ""]
    for d in docs:
        lines += [f"## {d['kind'] or 'document'} {d['id']}", "", "```json",
                  msgspec.json.format(msgspec.json.encode(d["content"]), indent=2).decode(),
                  "```", ""]
    return Exported(format="markdown", content="\n".join(lines))
