"""``podsync status``: who this node is, whether it runs, what it holds.

The ``--json`` shape is part of CONTRACT.md; fields may be added, never renamed.
"""

from __future__ import annotations

import json as jsonlib
from typing import Any

import msgspec
import typer

import podsync
from podsync import config as config_mod
from podsync import ids
from podsync.api import client
from podsync.cli.context import escape, home_of, make_table, out, print_json
from podsync.errors import NotInitialised, PodsyncError, UnreachableError
from podsync.home import Home
from podsync.node.runfile import NodeRecord, running_node


#: The running node answers from memory; a node that takes longer is stuck.
LIVE_STATUS_TIMEOUT_SECONDS = 5.0
#: Documents loaded together when a status without a node checks stored bytes.
STATUS_LOAD_BATCH = 32


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
    last_synced: str | None = None  # ISO 8601: the last sync message from that device


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
    last_synced: dict[str, str] = {}  # member id -> ISO 8601 of the last sync with any of their devices
    last_wake: dict[str, Any] | None = None  # {"at", "reason"}: the last sleep or network change noticed
    service: dict[str, Any] | None = None  # the login service, when one is installed for this home
    #: Records kept but never used because they do not verify (bad signature, another
    #: pod, a removed signer...): {"total", "documents": [{"url", "kind", "count", "reasons"}]}.
    unverified_records: dict[str, Any] | None = None
    #: Private documents whose id a member also claimed for an app's document: kept,
    #: served to nobody (known while the node runs).
    contested_documents: list[str] = []
    #: The pod's relays: [{"url", "reachable", "last_exchange", "behind", ...}] (reachable
    #: and the rest only while the node runs).
    relays: list[dict[str, Any]] = []
    #: The relay side of a running node: epoch key id, outbox generation, entries
    #: refused (by reason) and the latest refusals.
    relay: dict[str, Any] | None = None


def _documents(home: Home) -> tuple[list[DocumentEntry], list[DamagedEntry]]:
    """Every stored document, sound or damaged. Documents whose stored bytes have
    not been loaded whole since they last changed are loaded now, a few at a time,
    as a node does when it starts: damaged bytes (or bytes past the stored limits)
    are found and recorded as damaged rather than reported as sound, and the rest
    are recorded as measured, so the next status does not load them again."""
    from podsync.store import DocumentStore  # noqa: PLC0415 - only when no node runs

    healthy: list[DocumentEntry] = []
    damaged: list[DamagedEntry] = []
    with DocumentStore(home.db_path) as store:
        unmeasured = store.unmeasured()
        for i in range(0, len(unmeasured), STATUS_LOAD_BATCH):
            store.load_all(unmeasured[i:i + STATUS_LOAD_BATCH])  # memory: a batch deep
        for info in store.list_documents():
            url = ids.document_url(info.doc_id)
            if info.damaged is not None:
                damaged.append(DamagedEntry(url, info.kind, info.damaged))
            else:
                healthy.append(DocumentEntry(url, info.kind, ids.hex_heads(info.heads)))
    return healthy, damaged


def _live_status(record: dict[str, Any]) -> dict[str, Any] | None:
    """The running node's own status (peers, sync state), from its loopback API."""
    api_url = record.get("api_url")
    if not isinstance(api_url, str):
        return None
    try:
        code, body = client.request_node(api_url, "GET", "/api/status",
                                         timeout=LIVE_STATUS_TIMEOUT_SECONDS)
        live = jsonlib.loads(body) if code == 200 else None
    except (UnreachableError, ValueError):
        return None
    return live if isinstance(live, dict) else None


def collect_status(home: Home) -> Status:
    """Status of the node on ``home``: live from its API when it runs."""
    if not home.is_initialised():
        raise NotInitialised(f"{home.root} is not a podsync home yet; run "
                             "`podsync init --name NAME` first (or pick another with --home)")
    record = running_node(home)
    if record is not None:
        live = _live_status(record)
        if live is not None:
            try:
                return _with_service(home, msgspec.convert(live, Status))
            except msgspec.ValidationError:
                pass  # an older or newer node: fall back to what the files say
    # What the files say: the identity's keys and the store, for this path only.
    from podsync.node.lastsync import SyncTimes  # noqa: PLC0415
    from podsync.trust import identity as identity_mod  # noqa: PLC0415

    identity = identity_mod.load_identity(home)
    config = config_mod.load_config(home)
    node = msgspec.convert(record, NodeRecord) if record is not None else None
    documents, damaged = _documents(home)
    unverified, relays = _from_records(home, config)
    return _with_service(home, Status(
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
        last_synced=SyncTimes.load(home).by_member(),
        unverified_records=unverified,
        relays=relays,
    ))


def _from_records(home: Home, config: config_mod.Config) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """Records in this home's documents that do not verify (as a running node
    reports them), and the relays the pod's records list."""
    from podsync.api.context import open_ledger  # noqa: PLC0415
    from podsync.relay import directory  # noqa: PLC0415
    from podsync.repo import Repo  # noqa: PLC0415
    from podsync.store import DocumentStore  # noqa: PLC0415
    from podsync.trust import identity as identity_mod  # noqa: PLC0415
    from podsync.trust import unverified  # noqa: PLC0415

    identity = identity_mod.load_identity(home)
    with DocumentStore(home.db_path) as store:
        repo = Repo(store, identity.device_id)
        ledger = open_ledger(config, repo, None)
        if ledger.roster is None:
            return {"total": 0, "documents": []}, []
        relays = [{"url": r.url, "added_by": r.added_by, "added_at": r.added_at, "reachable": False}
                  for r in directory.read(ledger).relays]
        # Records written into documents since their records were last read (by a
        # node stopped before it read them) are read first; the rest are in the store.
        for doc_id in store.records_behind():
            if ledger.may_read(config.member_id, doc_id):
                ledger.document_changed(doc_id)
        sound = [info.doc_id for info in store.list_documents() if info.damaged is None]
        counts = unverified.everywhere(ledger, sound)
        docs = [{"url": ids.document_url(doc_id), "kind": repo.kind_of(doc_id),
                 "count": sum(reasons.values()), "reasons": reasons}
                for doc_id, reasons in sorted(counts.items())
                if reasons and (ledger.may_read(config.member_id, doc_id)
                                or doc_id == config.pod_id)]
    return {"total": sum(d["count"] for d in docs), "documents": docs}, relays


def _with_service(home: Home, status: Status) -> Status:
    """Where the login service for this home is defined and logs, if it is installed."""
    from podsync.service import definitions, managers  # noqa: PLC0415
    spec = definitions.make_spec(home, [])
    try:
        manager = managers.manager_for()
    except PodsyncError:
        return status
    if manager.definition_path(spec).exists():
        status.service = {"name": spec.name, "platform": manager.platform,
                          "definition": str(manager.definition_path(spec)), "log_file": str(spec.log_file)}
    return status


def _names(home: Home) -> dict[str, str]:
    """Member id -> name, for people to read (empty when the pod's roster is not here)."""
    from podsync.api import client  # noqa: PLC0415 - only the human listing needs names

    try:
        return {m["member_id"]: m["name"] for m in client.call(home, "members.list")}
    except PodsyncError:
        return {}


def _print_human(home: Home, status: Status) -> None:
    console = out()
    console.print(f"[bold]podsync {status.version}[/bold]  home {escape(str(home.root))}")
    console.print(f"  member  {escape(status.member_name or '-')}")
    console.print(f"  pod     {escape(status.pod_name or '-')} ({status.pod_id or '-'})")
    console.print(f"  device  {status.device_id}")
    if status.running:
        console.print("  node    [green]running[/green]")
        for address in status.listen:
            console.print(f"          peers connect to {escape(address)}")
        if status.api_url:
            console.print(f"          UI {escape(status.api_url)}")
    else:
        console.print("  node    not running (start it with [bold]podsync open[/bold] or "
                      "[bold]podsync up[/bold])")
    if status.service:
        console.print(f"  service {escape(status.service['name'])} ({status.service['platform']}), "
                      f"log {escape(status.service['log_file'])}")
    names = _names(home) if status.peers or status.last_synced else {}
    if status.peers:
        peers = make_table("device", "member", "address", "found by", "connected", "last synced",
                           title="Peers")
        for peer in status.peers:
            member = names.get(peer.member_id or "", "-" if peer.member_id is None else "unknown")
            peers.add_row(escape(peer.device_id or "-"), escape(member),
                          escape(peer.address), peer.found_by, "yes" if peer.connected else "no",
                          peer.last_synced or "never")
        console.print(peers)
    elif status.last_synced:
        for member, at in sorted(status.last_synced.items()):
            console.print(f"  last synced with {escape(names.get(member, 'a former member'))} "
                          f"at {at}")
    if status.relays:
        relays = make_table("relay", "reachable", "last exchange", "behind", title="Relays")
        for relay in status.relays:
            behind = relay.get("behind")
            relays.add_row(escape(relay["url"]), "yes" if relay.get("reachable") else "no",
                           relay.get("last_exchange") or "never",
                           "-" if not behind else f"{behind['documents']} document(s)")
        console.print(relays)
    refused = sum(((status.relay or {}).get("refused") or {}).values())
    if refused:
        console.print(f"  [yellow]{refused} relay entr{'y' if refused == 1 else 'ies'} refused[/yellow]: "
                      "altered, forged or not allowed; never used (details with --json, under relay)")
    if status.documents:
        docs = make_table("document", "kind", "heads", title="Documents")
        for doc in status.documents:
            docs.add_row(escape(doc.url), escape(doc.kind), str(len(doc.heads)))
        console.print(docs)
    else:
        console.print("  no documents yet")
    unverified = (status.unverified_records or {}).get("total") or 0
    if unverified:
        console.print(f"  [yellow]{unverified} record(s) could not be verified[/yellow]: kept, "
                      "never used (`podsync status --json` lists them by document and reason)")
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
