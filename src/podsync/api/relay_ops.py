"""Relays: automerge-repo sync servers the pod also syncs through, beyond the LAN.

The list is signed records in the pod document (``relay.add`` / ``relay.remove``),
so every member's node follows it; any member may change it. With the node
running, the list also says how each relay is doing.
"""

from __future__ import annotations

from typing import Any

import msgspec

from podsync.api.context import PodContext
from podsync.api.ops import op
from podsync.errors import InvalidInput, NotFound
from podsync.relay import directory
from podsync.relay.urls import MAX_RELAYS, check_relay_url


class UrlArgs(msgspec.Struct, forbid_unknown_fields=True):
    url: str


class NoArgs(msgspec.Struct, forbid_unknown_fields=True):
    pass


class RelayEntry(msgspec.Struct):
    url: str
    added_by: str
    added_at: str
    reachable: bool = False  # a link to it is up now (only known while the node runs)
    since: str | None = None
    last_exchange: str | None = None  # ISO 8601: the last frame it sent
    last_error: str | None = None
    behind: dict[str, int] | None = None  # {"documents", "unwritten"} while reachable


@op("relay.add")
async def add_relay(ctx: PodContext, args: UrlArgs) -> RelayEntry:
    """Sync the pod through this relay too (wss://, an automerge-repo sync server)."""
    url = check_relay_url(args.url)
    view = directory.read(ctx.ledger)
    if url not in {r.url for r in view.relays}:
        if len(view.relays) >= MAX_RELAYS:
            raise InvalidInput(f"the pod already lists {MAX_RELAYS} relays; remove one first")
        await ctx.ledger.append(ctx.pod_id, directory.relay_draft(url, add=True), ctx.now())
    return _entries(ctx, url)[0]


@op("relay.list")
async def list_relays(ctx: PodContext, args: NoArgs) -> list[RelayEntry]:
    """The pod's relays and, while the node runs, how each one is doing."""
    return _entries(ctx)


@op("relay.remove")
async def remove_relay(ctx: PodContext, args: UrlArgs) -> dict[str, Any]:
    """Stop syncing the pod through this relay (every member's node stops using it)."""
    url = check_relay_url(args.url)
    if url not in {r.url for r in directory.read(ctx.ledger).relays}:
        raise NotFound(f"{url} is not one of the pod's relays; `podsync relay list` shows them")
    await ctx.ledger.append(ctx.pod_id, directory.relay_draft(url, add=False), ctx.now())
    return {"url": url, "removed": True}


def _entries(ctx: PodContext, only: str | None = None) -> list[RelayEntry]:
    ctx.roster()  # a clear error when this node does not hold its pod yet
    live = {r["url"]: r for r in ctx.node.relays.status()[0]} if ctx.node is not None else {}
    out = []
    for relay in directory.read(ctx.ledger).relays:
        if only is not None and relay.url != only:
            continue
        entry = live.get(relay.url) or {"url": relay.url, "added_by": relay.added_by,
                                         "added_at": relay.added_at}
        out.append(msgspec.convert(entry, RelayEntry))
    return out
