"""``podsync inbox`` (what needs me) and ``podsync show ID`` (any one thing in full)."""

from __future__ import annotations

from typing import Any

import typer

from podsync.cli.context import escape, make_table, out, print_json, raw_if
from podsync.cli.lookup import JSON_OPTION, Lookup, shorts, when

#: Record fields a person reads as times (relative, in their own time zone).
_TIMES = ("at", "since", "deadline", "due", "due_at", "review_on", "last_met", "renewed_at")
#: What a history line shows of what was said, in this order.
_SAID = ("stance", "outcome", "route", "level", "text", "note", "why", "reason", "statement",
         "title", "what", "review_on", "deadline", "consent", "integrated")
#: Fields ``show`` leaves out: shown elsewhere (history), or ids only a program needs.
_HIDDEN = {"history", "candidates", "id", "thread_id", "statement_id", "prev", "after"}


def inbox_command(ctx: typer.Context, json: bool = JSON_OPTION) -> None:
    """What needs you now, most pressing first: what to do, and the command that does it."""
    lookup = Lookup.of(ctx)
    entries = lookup.call("inbox.list", as_type=raw_if(json))
    if json:
        print_json(entries)
        return
    if not entries:
        out().print("Nothing needs you now.")
        return
    cut = shorts([e["id"] for e in entries])
    table = make_table("id", "what", "when", title=f"What needs you ({len(entries)})")
    for e in entries:
        due = when(e["due"]) if e["due"] else f"since {when(e['since'])}"
        due = f"[bold red]{escape(due)}[/bold red]" if e["overdue"] else escape(due)
        command = e["command"].replace(e["id"], cut[e["id"]])
        table.add_row(cut[e["id"]], f"{e['kind']}: [bold]{escape(lookup.named(e['title']))}"
                                    f"[/bold]\n{escape(lookup.named(e['action']))}\n"
                                    f"[dim]{escape(command)}[/dim]", due)
    out().print(table)


def _value(key: str, value: Any, lookup: Lookup) -> str:
    if isinstance(value, bool) or value is None:
        return "yes" if value is True else "no" if value is False else ""
    if isinstance(value, str) and (key in _TIMES or key.endswith("_at") or key == "since"):
        return when(value)
    if isinstance(value, list) and all(isinstance(v, str) for v in value):
        return lookup.names(value)
    if isinstance(value, (str, int, float)):
        return lookup.name(value) if isinstance(value, str) else str(value)
    return ""


def _entry(d: dict[str, Any], lookup: Lookup) -> str:
    parts = []
    for key, value in d.items():
        if key in _HIDDEN:
            continue
        shown = _value(key, value, lookup)
        if shown:
            parts.append(f"{key.replace('_', ' ')}: {shown}")
    return "; ".join(parts)


def _said(args: dict[str, Any], lookup: Lookup) -> str:
    said = [f"{k.replace('_', ' ')}: {_value(k, args[k], lookup)}" for k in _SAID
            if k in args and _value(k, args[k], lookup)]
    return "; ".join(said)


def show_command(ctx: typer.Context,
                 item_id: str = typer.Argument(..., metavar="ID",
                                               help="Any id, or its first few characters."),
                 json: bool = JSON_OPTION) -> None:
    """Everything about one need, agreement, decision, ask, allies, thread, statement,
    nomination, team or team item: its state, who said what, its history in order."""
    lookup = Lookup.of(ctx)
    shown = lookup.call("item.show", {"id": item_id})
    if json:
        print_json(shown)
        return
    item = shown["item"]
    lines = [f"[bold]{escape(shown['kind'])} {escape(shown['id'])}[/bold]"]
    for key, value in item.items():
        if key in _HIDDEN:
            continue
        if isinstance(value, list) and value and all(isinstance(v, dict) for v in value):
            lines.append(f"{key.replace('_', ' ')}:")
            lines += [f"  - {escape(_entry(v, lookup))}" for v in value]
        elif isinstance(value, dict):
            lines.append(f"{key.replace('_', ' ')}: {escape(_entry(value, lookup))}")
        else:
            text = _value(key, value, lookup)
            if text:
                lines.append(f"{key.replace('_', ' ')}: {escape(text)}")
    history = item.get("history") or []
    if history:
        lines.append("[bold]history[/bold] (in the order it happened):")
        for e in history:
            said = _said(e.get("args") or {}, lookup)
            lines.append(f"  {escape(when(e['at']))}  {escape(lookup.name(e['by']))}: "
                         f"{escape(e['op'])}" + (f" — {escape(said)}" if said else ""))
    out().print(lookup.named("\n".join(lines)))


def register(app: typer.Typer) -> None:
    app.command("inbox")(inbox_command)
    app.command("show")(show_command)
