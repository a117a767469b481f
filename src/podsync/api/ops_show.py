"""Showing any one thing by its id (or the start of it), whatever its kind."""

from __future__ import annotations

from typing import Any

import msgspec

from podsync.api import find
from podsync.api.context import PodContext
from podsync.api.ops import op, run, to_json
from podsync.api.pod_common import Args, Id, caller

#: Kind -> (the operation that reads it, its id argument; or a listing to pick from).
_READ: dict[str, tuple[str, str]] = {
    "need": ("need.get", "id"), "agreement": ("agreement.get", "id"),
    "decision": ("decision.get", "id"), "ask": ("mobilizing.get", "ask_id"),
    "thread": ("feedback.thread", "thread_id"), "statement": ("feedback.statement", "statement_id"),
}
_LISTED: dict[str, str] = {"allies": "allies.list", "team item": "team.items",
                           "nomination": "steward.list", "team": "team.list"}


class ShowArgs(Args):
    id: Id


class Shown(msgspec.Struct):
    kind: str
    id: str
    title: str
    #: Everything about it, as the kind's own operation shows it (its history included).
    item: dict[str, Any]


@op("item.show")
async def show(ctx: PodContext, args: ShowArgs) -> Shown:
    """Any one item, thread, statement, nomination, ask or team, by its id or the start of it."""
    caller(ctx)
    found = find.one(ctx, args.id, tuple(k for k in find.KINDS if k != "member"))
    if found.kind in _READ:
        name, field = _READ[found.kind]
        view = await run(ctx, name, {field: found.id})
    else:
        listed = await run(ctx, _LISTED[found.kind], {})
        view = next(v for v in msgspec.json.decode(to_json(listed)) if v["id"] == found.id)
    return Shown(found.kind, found.id, found.title, msgspec.json.decode(to_json(view)))
