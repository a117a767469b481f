"""``podsync settings`` (the pod's settings, any member may change one) and
``podsync search`` (items anywhere, the archive included)."""

from __future__ import annotations

import typer

from podsync.cli.context import escape, make_table, out, print_json
from podsync.cli.lookup import JSON_OPTION, Lookup, archived, when

settings_app = typer.Typer(help="The pod's settings (any member may change one).",
                           invoke_without_command=True)


@settings_app.callback()
def settings_show(ctx: typer.Context, json: bool = JSON_OPTION) -> None:
    """Show the pod's settings: each value, its default, and who set it when."""
    if ctx.invoked_subcommand is not None:
        return
    found = Lookup.of(ctx).call("pod.settings")
    if json:
        print_json(found)
        return
    _print(Lookup.of(ctx), found)


@settings_app.command("set")
def settings_set(ctx: typer.Context,
                 name: str = typer.Argument(..., help="The setting, e.g. need_unheld_days."),
                 value: int = typer.Argument(..., help="Its new value.")) -> None:
    """Change a setting for the whole pod."""
    lookup = Lookup.of(ctx)
    _print(lookup, lookup.call("pod.setting", {"name": name.replace("-", "_"), "value": value}))


def _print(lookup: Lookup, found: list[dict]) -> None:
    console = out()
    for s in found:
        who = (f"set by {escape(lookup.name(s['set_by']))}, {escape(when(s['set_at']))}" if s["set_by"]
               else "the default")
        console.print(f"[bold]{s['name']}[/bold] = {s['value']} ({who}; default "
                      f"{s['default']}): {escape(s['about'])}")


def search_command(ctx: typer.Context,
                   text: str = typer.Argument(..., help="Words the item must contain."),
                   json: bool = JSON_OPTION) -> None:
    """Find needs, agreements, decisions and team items by their words, archived ones too."""
    found = Lookup.of(ctx).call("pod.search", {"text": text})
    if json:
        print_json(found)
        return
    table = make_table("kind", "id", "title", "state", "started", title=f"Search: {escape(text)}")
    for f in found:
        table.add_row(f["kind"], f["id"], escape(f["title"]), f["state"] + archived(f),
                      f["created_at"][:10])
    out().print(table)


def register(app: typer.Typer) -> None:
    app.add_typer(settings_app, name="settings")
    app.command("search")(search_command)
