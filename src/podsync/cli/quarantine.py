"""``podsync quarantine list|export``: documents set aside because they do not load."""

from __future__ import annotations

import base64
from pathlib import Path

import typer

from podsync.api import client
from podsync.cli.context import escape, home_of, make_table, out, print_json
from podsync.errors import HomeError

quarantine_app = typer.Typer(
    name="quarantine",
    help="Documents set aside because their stored bytes do not load (or would cost too "
         "much to); they stay on disk, unread, and the node serves everything else.",
    no_args_is_help=True,
)


@quarantine_app.command("list")
def list_command(
    ctx: typer.Context,
    json: bool = typer.Option(False, "--json", help="Print one JSON document."),
) -> None:
    """Show the quarantined documents and why each was set aside."""
    entries = client.call(home_of(ctx), "quarantine.list")
    if json:
        print_json(entries)
        return
    if not entries:
        out().print("No document is quarantined: every stored document loads.")
        return
    table = make_table("document", "kind", "stored", "why", title="Quarantined documents")
    for e in entries:
        table.add_row(escape(e["url"]), escape(e["kind"]), f"{e['stored_bytes']} bytes",
                      escape(e["reason"]))
    out().print(table)
    out().print("Export one with [bold]podsync quarantine export URL --out FILE[/bold] "
                "to inspect it with any automerge tool.")


@quarantine_app.command("export")
def export_command(
    ctx: typer.Context,
    url: str = typer.Argument(..., metavar="URL", help="The document's automerge: URL (or id)."),
    to: Path = typer.Option(..., "--out", metavar="FILE", help="Where to write the stored bytes."),
) -> None:
    """Write a quarantined document's stored bytes, exactly as kept, to FILE."""
    exported = client.call(home_of(ctx), "quarantine.export", {"url": url})
    try:
        to.write_bytes(base64.b64decode(exported["data"]))
    except OSError as exc:
        raise HomeError(f"cannot write {to}: {exc.strerror or exc}") from None
    out().print(f"Wrote {exported['stored_bytes']} bytes of {escape(exported['url'])} to "
                f"{escape(str(to))}. The node still keeps its own copy.")


def register(app: typer.Typer) -> None:
    app.add_typer(quarantine_app)
