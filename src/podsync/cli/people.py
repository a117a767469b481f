"""Commands for capacity and teams.

``podsync capacity set/review/list``, ``podsync team add/list/join/accept/decline/leave/items``.
Load is shown per member, never ranked. "Are you mobilizing?" and allies:
:mod:`podsync.cli.mobilizing`.
"""

from __future__ import annotations

import typer

from podsync.cli.context import escape, make_table, out, print_json, raw_if
from podsync.cli.lookup import (
    ALL_OPTION, JSON_OPTION, NOTE_OPTION, Lookup, archived, show, shorts,
)

capacity_app = typer.Typer(help="Where each member's capacity is, and what they hold.",
                           no_args_is_help=True)
team_app = typer.Typer(help="Teams and the items they are asked to attend to.",
                       no_args_is_help=True)


@capacity_app.command("set")
def capacity_set(ctx: typer.Context,
                 level: str = typer.Argument(..., help="depleted, stretched, baseline or spacious."),
                 note: str = NOTE_OPTION, json: bool = JSON_OPTION) -> None:
    """Say where your capacity is now (stretched or depleted: each thing you hold, with
    "still within my capacity?")."""
    result = Lookup.of(ctx).call("capacity.set", {"level": level, "note": note})
    if json:
        print_json(result)
        return
    out().print(f"Checked in: {escape(level)}" + (f" — {escape(note)}" if note else ""))
    _print_review(result["review"])


def _print_review(items: list[dict[str, str]]) -> None:
    console = out()
    if not items:
        return
    console.print("What you hold now — for each, still within your capacity?")
    for x in items:
        if x["kind"] == "agreement":
            hint = f"if not: podsync agreement strain {x['id']} --note WHY"
        else:
            hint = f"if not: podsync need release {x['id']}"
        console.print(f"  {x['kind']} [bold]{escape(x['title'])}[/bold] — {x['question']} ({hint})")


@capacity_app.command("review")
def capacity_review(ctx: typer.Context, json: bool = JSON_OPTION) -> None:
    """Each agreement and need you hold, with "still within my capacity?"."""
    items = Lookup.of(ctx).call("capacity.review")
    if json:
        print_json(items)
        return
    _print_review(items)
    if not items:
        out().print("You hold no agreement and no need right now.")


@capacity_app.command("list")
def capacity_list(ctx: typer.Context, json: bool = JSON_OPTION) -> None:
    """Each member's capacity and load (the needs and agreements they hold)."""
    rows = Lookup.of(ctx).call("capacity.list", as_type=raw_if(json))
    if json:
        print_json(rows)
        return
    table = make_table("member", "capacity", "needs held", "agreements", "strained",
                       title="Capacity and load")
    for r in rows:
        current = r["current"]
        capacity = (f"{current['level']}" + (f" — {escape(current['note'])}" if current["note"]
                                              else "") + f"\n({current['at']})") if current else "—"
        table.add_row(escape(r["name"] or r["member"]), capacity,
                      "\n".join(escape(n["title"]) for n in r["load"]["needs"]),
                      "\n".join(escape(a["title"]) for a in r["load"]["agreements"]),
                      "\n".join(escape(a["title"]) for a in r["strained"]))
    out().print(table)


@team_app.command("add")
def team_add(ctx: typer.Context, name: str = typer.Argument(..., help="The team's name."),
             member: list[str] = typer.Option([], "--member", help="A member (repeatable)."),
             json: bool = typer.Option(False, "--json", help='Print {"id": ...}.')) -> None:
    """Form a team."""
    lookup = Lookup.of(ctx)
    result = lookup.call("team.add", {"name": name, "members": [lookup.member(m) for m in member]})
    show(result, json, f"Formed team {result['id']}: [bold]{escape(name)}[/bold]")


@team_app.command("list")
def team_list(ctx: typer.Context, json: bool = JSON_OPTION) -> None:
    """Every team and its members."""
    lookup = Lookup.of(ctx)
    if json:
        print_json(lookup.teams)
        return
    table = make_table("id", "team", "members", "invited", title="Teams")
    cut = shorts([t["id"] for t in lookup.teams])
    for t in lookup.teams:
        table.add_row(cut[t["id"]], escape(t["name"]), escape(lookup.names(t["members"])),
                      escape(lookup.names(t["invited"])))
    out().print(table)


def _membership(ctx: typer.Context, op: str, team: str, member: str) -> None:
    lookup = Lookup.of(ctx)
    result = lookup.call(op, {"team_id": lookup.team(team), "member": lookup.member(member)})
    out().print(f"Team [bold]{escape(result['name'])}[/bold]: "
                f"{escape(lookup.names(result['members'])) or 'no members'}"
                + (f"; invited: {escape(lookup.names(result['invited']))}"
                   if result["invited"] else ""))


@team_app.command("join")
def team_join(ctx: typer.Context, team: str = typer.Argument(..., help="Team id or name."),
              member: str = typer.Argument(..., help="Member id or name (yourself to join).")
              ) -> None:
    """Join a team yourself, or invite another member (they accept or decline)."""
    _membership(ctx, "team.join", team, member)


@team_app.command("leave")
def team_leave(ctx: typer.Context, team: str = typer.Argument(..., help="Team id or name."),
               member: str = typer.Argument(..., help="Member id or name.")) -> None:
    """Leave a team, or take a member or an invitation out of it."""
    _membership(ctx, "team.leave", team, member)


def _answer_invitation(ctx: typer.Context, op: str, team: str) -> None:
    lookup = Lookup.of(ctx)
    result = lookup.call(op, {"team_id": lookup.team(team)})
    out().print(f"Team [bold]{escape(result['name'])}[/bold]: "
                f"{escape(lookup.names(result['members'])) or 'no members'}")


@team_app.command("accept")
def team_accept(ctx: typer.Context, team: str = typer.Argument(..., help="Team id or name.")) -> None:
    """Accept an invitation to a team."""
    _answer_invitation(ctx, "team.accept", team)


@team_app.command("decline")
def team_decline(ctx: typer.Context,
                 team: str = typer.Argument(..., help="Team id or name.")) -> None:
    """Decline an invitation to a team."""
    _answer_invitation(ctx, "team.decline", team)


@team_app.command("items")
def team_items(ctx: typer.Context,
               team: str | None = typer.Argument(None, help="Team id or name (default: all)."),
               json: bool = JSON_OPTION, all: bool = ALL_OPTION) -> None:
    """What teams are asked to attend to (from members, or routed from feedback)."""
    lookup = Lookup.of(ctx)
    items = lookup.call("team.items", {"team_id": lookup.team(team) if team else None,
                                       **({"all": True} if all else {})}, as_type=raw_if(json))
    if json:
        print_json(items)
        return
    table = make_table("id", "team", "item", "from", "state", title="Team items")
    cut = shorts([i["id"] for i in items])
    for i in items:
        table.add_row(cut[i["id"]], escape(lookup.team_name(i["team"])),
                      escape(i["title"]) + (f"\n{escape(i['detail'])}" if i["detail"] else ""),
                      i["origin"], i["state"] + archived(i))
    out().print(table)


def register(app: typer.Typer) -> None:
    app.add_typer(capacity_app, name="capacity")
    app.add_typer(team_app, name="team")
