"""``podsync peer add|list|remove``: manual peers, for networks where mDNS is blocked."""

from __future__ import annotations

import typer

from podsync.api import client
from podsync.cli.context import escape, home_of, make_table, out, print_json

peer_app = typer.Typer(
    name="peer",
    help="Manual peers: members' nodes to dial by address when the network hides them "
         "(guest Wi-Fi, client isolation, VPNs).",
    no_args_is_help=True,
)


@peer_app.command("add")
def add_command(
    ctx: typer.Context,
    address: str = typer.Argument(..., metavar="HOST:PORT",
                                  help="A member's node, e.g. 192.168.1.20:7850 or [fe80::1%eth0]:7850."),
) -> None:
    """Remember a member's node address and dial it (at once if the node runs)."""
    entry = client.call(home_of(ctx), "peer.add", {"address": address})
    out().print(f"Added {escape(entry['address'])}. The node dials it whenever it runs.")


@peer_app.command("list")
def list_command(
    ctx: typer.Context,
    json: bool = typer.Option(False, "--json", help="Print one JSON document."),
) -> None:
    """Show the manual peers and which device each one reached."""
    entries = client.call(home_of(ctx), "peer.list")
    if json:
        print_json(entries)
        return
    if not entries:
        out().print("No manual peers. Nodes on the same network find each other by themselves; "
                    "add one with [bold]podsync peer add HOST:PORT[/bold] if they do not.")
        return
    table = make_table("address", "device", "connected", "kept", "last error", title="Manual peers")
    for e in entries:
        table.add_row(escape(e["address"]), escape(e["device_id"] or "not reached yet"),
                      "yes" if e["connected"] else "no", "yes" if e["saved"] else "this run only",
                      escape(e["last_error"] or ""))
    out().print(table)


@peer_app.command("remove")
def remove_command(
    ctx: typer.Context,
    address: str = typer.Argument(..., metavar="HOST:PORT"),
) -> None:
    """Stop dialing a manual peer (a link that is up stays up until it drops)."""
    result = client.call(home_of(ctx), "peer.remove", {"address": address})
    out().print(f"Removed {escape(result['address'])}.")


def register(app: typer.Typer) -> None:
    app.add_typer(peer_app)
