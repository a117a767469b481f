"""``podsync status``: who this node is, whether it runs, what it holds.

The ``--json`` shape is part of CONTRACT.md; fields may be added, never renamed.
"""

from __future__ import annotations

import json as jsonlib
import urllib.error
import urllib.parse
import urllib.request
from typing import Any

import msgspec
import typer
from rich.markup import escape
from rich.table import Table

import podsync
from podsync import config as config_mod
from podsync import ids
from podsync.cli.context import home_of, out, print_json
from podsync.errors import DamagedDocument, NotFound, NotInitialised
from podsync.home import Home
from podsync.node.runfile import NodeRecord, running_node
from podsync.store import DocumentStore
from podsync.trust import identity as identity_mod


#: The running node answers from memory; a node that takes longer is stuck.
LIVE_STATUS_TIMEOUT_SECONDS = 5.0


class DocumentEntry(msgspec.Struct):
    url: str
    kind: str
    heads: list[str]  # hex change hashes, sorted
    in_sync_with: list[str] = []  # device ids of connected peers holding the same heads


class DamagedEntry(msgspec.Struct):
    url: str
    kind: str
    reason: str


class PeerEntry(msgspec.Struct):
    device_id: str | None  # None until a link to that address has been made
    member_id: str | None
    address: str
    found_by: str  # "mdns" | "manual" | "remembered" | "incoming"
    connected: bool
    since: str | None = None  # ISO 8601: connected since
    last_error: str | None = None  # why the last dial to this address failed
    links: int = 0  # open links to that device (one, once both sides settle)


class Status(msgspec.Struct):
    device_id: str
    member_id: str | None
    pod_id: str | None
    pod_name: str | None
    running: bool
    listen: list[str]
    api_url: str | None
    local_ws_url: str | None
    peers: list[PeerEntry]
    documents: list[DocumentEntry]
    damaged_documents: list[DamagedEntry]
    member_name: str | None
    version: str
    local_clients: list[dict[str, Any]] = []  # automerge-repo apps on this computer
    discovery: dict[str, Any] | None = None  # mDNS: enabled, members and other nodes seen


def _documents(home: Home) -> tuple[list[DocumentEntry], list[DamagedEntry]]:
    """Every stored document, each loaded once so damaged bytes are found (and
    recorded as damaged by the store) rather than reported as sound."""
    healthy: list[DocumentEntry] = []
    damaged: list[DamagedEntry] = []
    with DocumentStore(home.db_path) as store:
        for info in store.list_documents():
            url = ids.document_url(info.doc_id)
            reason = info.damaged
            if reason is None:
                try:
                    store.load(info.doc_id)  # one at a time: memory stays one document deep
                except DamagedDocument as err:
                    reason = err.reason
                except NotFound:
                    continue  # removed while we looked
            if reason is not None:
                damaged.append(DamagedEntry(url, info.kind, reason))
            else:
                healthy.append(DocumentEntry(url, info.kind, ids.hex_heads(info.heads)))
    return healthy, damaged


def _live_status(record: dict[str, Any]) -> dict[str, Any] | None:
    """The running node's own status (peers, sync state), from its loopback API."""
    api_url = record.get("api_url")
    if not isinstance(api_url, str):
        return None
    parts = urllib.parse.urlsplit(api_url)
    url = urllib.parse.urlunsplit((parts.scheme, parts.netloc, "/api/status", parts.query, ""))
    try:
        with urllib.request.urlopen(url, timeout=LIVE_STATUS_TIMEOUT_SECONDS) as resp:
            live = jsonlib.loads(resp.read())
    except (urllib.error.URLError, OSError, ValueError):
        return None
    return live if isinstance(live, dict) else None


def collect_status(home: Home) -> Status:
    """Status of the node on ``home``: live from its API when it runs."""
    if not home.is_initialised():
        raise NotInitialised(f"{home.root} is not a podsync home yet; run "
                             "`podsync init --name NAME` first (or pick another with --home)")
    identity = identity_mod.load_identity(home)
    config = config_mod.load_config(home)
    record = running_node(home)
    if record is not None:
        live = _live_status(record)
        if live is not None:
            try:
                return msgspec.convert(live, Status)
            except msgspec.ValidationError:
                pass  # an older or newer node: fall back to what the files say
    node = msgspec.convert(record, NodeRecord) if record is not None else None
    documents, damaged = _documents(home)
    return Status(
        device_id=identity.device_id,
        member_id=config.member_id,
        pod_id=config.pod_id,
        pod_name=config.pod_name,
        running=node is not None,
        listen=node.listen if node else [],
        api_url=node.api_url if node else None,
        local_ws_url=node.local_ws_url if node else None,
        peers=[],
        documents=documents,
        damaged_documents=damaged,
        member_name=config.member_name,
        version=podsync.__version__,
    )


def _print_human(home: Home, status: Status) -> None:
    console = out()
    console.print(f"[bold]podsync {status.version}[/bold]  home {escape(str(home.root))}")
    console.print(f"  member  {escape(status.member_name or '-')} ({status.member_id or '-'})")
    console.print(f"  pod     {escape(status.pod_name or '-')} ({status.pod_id or '-'})")
    console.print(f"  device  {status.device_id}")
    if status.running:
        console.print("  node    [green]running[/green]")
        for address in status.listen:
            console.print(f"          peers connect to {escape(address)}")
        if status.api_url:
            console.print(f"          UI {escape(status.api_url)}")
    else:
        console.print("  node    not running (start it with [bold]podsync up[/bold])")
    if status.peers:
        peers = Table("device", "member", "address", "found by", "connected", title="Peers")
        for peer in status.peers:
            peers.add_row(escape(peer.device_id), escape(peer.member_id or "-"),
                          escape(peer.address), peer.found_by, "yes" if peer.connected else "no")
        console.print(peers)
    if status.documents:
        docs = Table("document", "kind", "heads", title="Documents")
        for doc in status.documents:
            docs.add_row(escape(doc.url), escape(doc.kind), str(len(doc.heads)))
        console.print(docs)
    else:
        console.print("  no documents yet")
    for bad in status.damaged_documents:
        console.print(f"  [red]quarantined[/red] {escape(bad.url)} ({escape(bad.kind)}): "
                      f"{escape(bad.reason)}")
    if status.damaged_documents:
        console.print("  Quarantined documents stay on disk, unread; the node serves everything "
                      "else. See [bold]podsync quarantine list[/bold].")


def status_command(
    ctx: typer.Context,
    json: bool = typer.Option(False, "--json", help="Print one JSON document (see CONTRACT.md)."),
) -> None:
    """Show this node's identity, whether it runs, its peers and documents."""
    home = home_of(ctx)
    status = collect_status(home)
    if json:
        print_json(status)
    else:
        _print_human(home, status)


def register(app: typer.Typer) -> None:
    app.command("status")(status_command)
