"""Manual peers: addresses of members' nodes to dial when discovery cannot find them.

They live in the home's address book (:mod:`podsync.addresses`). With the node
running, the node changes its book and dials a new peer at once; without it, the
book is changed on disk and read when the node next starts.
"""

from __future__ import annotations

from typing import Any

import msgspec

from podsync.addresses import AddressBook, normalize_address
from podsync.api.context import PodContext
from podsync.api.ops import op
from podsync.errors import NotFound
from podsync.trust import roster as roster_mod


class AddressArgs(msgspec.Struct, forbid_unknown_fields=True):
    address: str  # HOST:PORT, [IPv6]:PORT


class NoArgs(msgspec.Struct, forbid_unknown_fields=True):
    pass


class PeerEntry(msgspec.Struct):
    address: str
    saved: bool  # kept across restarts (peer add), or for this run only (up --peer)
    device_id: str | None  # the device a link over this address proved, once one came up
    member_id: str | None
    connected: bool
    last_error: str | None = None


@op("peer.add")
async def add_peer(ctx: PodContext, args: AddressArgs) -> PeerEntry:
    """Add a manual peer (kept across restarts); a running node dials it at once."""
    address = normalize_address(args.address, what="peer address")
    if ctx.node is not None:
        ctx.node.peering.add_manual(address, persist=True)
    else:
        book = AddressBook.load(ctx.home)
        if book.add_manual(address):
            book.save()
    return _entry(ctx, address)


@op("peer.list")
async def list_peers(ctx: PodContext, args: NoArgs) -> list[PeerEntry]:
    """The manual peers, and the device each one reached."""
    if ctx.node is not None:
        return [msgspec.convert(e, PeerEntry) for e in ctx.node.peering.manual_status()]
    book = AddressBook.load(ctx.home)
    return [_offline_entry(ctx, book, address) for address in book.manual]


@op("peer.remove")
async def remove_peer(ctx: PodContext, args: AddressArgs) -> dict[str, Any]:
    """Remove a manual peer; a running node stops dialing it (a link up stays up)."""
    address = normalize_address(args.address, what="peer address")
    if ctx.node is not None:
        removed = ctx.node.peering.remove_manual(address)
    else:
        book = AddressBook.load(ctx.home)
        removed = book.remove_manual(address)
        if removed:
            book.save()
    if not removed:
        raise NotFound(f"{address} is not a manual peer; `podsync peer list` shows them")
    return {"address": address, "removed": True}


def _entry(ctx: PodContext, address: str) -> PeerEntry:
    if ctx.node is not None:
        found = next(e for e in ctx.node.peering.manual_status() if e["address"] == address)
        return msgspec.convert(found, PeerEntry)
    return _offline_entry(ctx, AddressBook.load(ctx.home), address)


def _offline_entry(ctx: PodContext, book: AddressBook, address: str) -> PeerEntry:
    device = book.device_of(address)
    member = None
    if device is not None:
        try:
            member = roster_mod.member_of_device(ctx.roster(), device)
        except NotFound:
            pass  # no roster held yet: the device is all we know
    return PeerEntry(address=address, saved=True, device_id=device, member_id=member, connected=False)
