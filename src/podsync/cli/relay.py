"""``podsync relay add|list|remove``: relays for members in different places.

A relay is an unmodified automerge-repo sync server. The pod's nodes sync with
each other through it when they cannot reach each other directly; it holds only
sealed bundles (README, "Members in different places").
"""

from __future__ import annotations

import typer

from podsync.api import client
from podsync.cli.context import escape, home_of, make_table, out, print_json

relay_app = typer.Typer(
    name="relay",
    help="Relays: automerge-repo sync servers the pod syncs through when members are "
         "in different places. They hold only sealed bundles.",
    no_args_is_help=True,
)


@relay_app.command("add")
def add_command(
    ctx: typer.Context,
    url: str = typer.Argument(..., metavar="URL",
                              help="The sync server, e.g. wss://relay.example.org "
                                   "(plain ws:// only for loopback and test addresses)."),
    json: bool = typer.Option(False, "--json", help="Print one JSON document."),
) -> None:
    """Sync the pod through a relay too (every member's node uses it)."""
    entry = client.call(home_of(ctx), "relay.add", {"url": url})
    if json:
        print_json(entry)
        return
    out().print(f"The pod now syncs through {escape(entry['url'])} too. It holds only sealed "
                "bundles; members on the same network still sync directly.")


@relay_app.command("list")
def list_command(
    ctx: typer.Context,
    json: bool = typer.Option(False, "--json", help="Print one JSON document."),
) -> None:
    """Show the pod's relays and how each one is doing."""
    entries = client.call(home_of(ctx), "relay.list")
    if json:
        print_json(entries)
        return
    if not entries:
        out().print("No relays. Members sync when their devices can reach each other; add one "
                    "with [bold]podsync relay add wss://...[/bold] for members in different places.")
        return
    table = make_table("relay", "reachable", "last exchange", "behind", title="Relays")
    for e in entries:
        behind = e.get("behind")
        table.add_row(escape(e["url"]), "yes" if e["reachable"] else escape(e.get("last_error") or "no"),
                      e.get("last_exchange") or "never",
                      "-" if behind is None else f"{behind['documents']} document(s)")
    out().print(table)


@relay_app.command("remove")
def remove_command(
    ctx: typer.Context,
    url: str = typer.Argument(..., metavar="URL"),
) -> None:
    """Stop syncing the pod through a relay."""
    result = client.call(home_of(ctx), "relay.remove", {"url": url})
    out().print(f"Removed {escape(result['url'])}; every member's node stops using it as the "
                "record reaches it.")


def register(app: typer.Typer) -> None:
    app.add_typer(relay_app)
