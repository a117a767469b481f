"""Commands for capacity, "are you mobilizing?" and teams.

``podsync capacity set/list``, ``podsync mobilizing ask/answer/discern/list``,
``podsync team add/list/join/leave/items``. Load is shown per member, never ranked.
"""

from __future__ import annotations

import typer

from podsync.cli.context import escape, make_table, out, print_json
from podsync.cli.lookup import ALL_OPTION, JSON_OPTION, NOTE_OPTION, Lookup, archived, show

capacity_app = typer.Typer(help="Where each member's capacity is, and what they hold.",
                           no_args_is_help=True)
mobilizing_app = typer.Typer(help='Ask "are you mobilizing?" about a need, and discern together.',
                             no_args_is_help=True)
team_app = typer.Typer(help="Teams and the items they are asked to attend to.",
                       no_args_is_help=True)


@capacity_app.command("set")
def capacity_set(ctx: typer.Context,
                 level: str = typer.Argument(..., help="depleted, stretched, baseline or spacious."),
                 note: str = NOTE_OPTION) -> None:
    """Say where your capacity is now."""
    Lookup.of(ctx).call("capacity.set", {"level": level, "note": note})
    out().print(f"Checked in: {escape(level)}" + (f" — {escape(note)}" if note else ""))


@capacity_app.command("list")
def capacity_list(ctx: typer.Context, json: bool = JSON_OPTION) -> None:
    """Each member's capacity and load (the needs and agreements they hold)."""
    rows = Lookup.of(ctx).call("capacity.list")
    if json:
        print_json(rows)
        return
    table = make_table("member", "capacity", "needs held", "agreements", title="Capacity and load")
    for r in rows:
        current = r["current"]
        capacity = (f"{current['level']}" + (f" — {escape(current['note'])}" if current["note"]
                                              else "") + f"\n({current['at']})") if current else "—"
        table.add_row(escape(r["name"] or r["member"]), capacity,
                      "\n".join(escape(n["title"]) for n in r["load"]["needs"]),
                      "\n".join(escape(a["title"]) for a in r["load"]["agreements"]))
    out().print(table)


@mobilizing_app.command("ask")
def mobilizing_ask(ctx: typer.Context, member: str = typer.Argument(..., help="Member id or name."),
                   need_id: str = typer.Argument(..., metavar="NEED_ID"),
                   question: str = typer.Option("", "--question", help="What you would like to know."),
                   json: bool = typer.Option(False, "--json", help='Print {"id": ...}.')) -> None:
    """Ask a member "are you mobilizing?" about a need."""
    lookup = Lookup.of(ctx)
    member_id = lookup.member(member)
    result = lookup.call("mobilizing.ask", {"member": member_id, "need_id": need_id,
                                            "question": question})
    show(result, json, f"Asked {escape(lookup.name(member_id))} (ask {result['id']})")


OUTCOME_HELP = "continue, release, ask_for_support or take_on."


@mobilizing_app.command("answer")
def mobilizing_answer(ctx: typer.Context, ask_id: str = typer.Argument(..., metavar="ASK_ID"),
                      text: str = typer.Argument(..., help="Your answer."),
                      outcome: str | None = typer.Option(None, "--outcome", help=OUTCOME_HELP),
                      note: str = NOTE_OPTION) -> None:
    """As the member asked: answer (and, if you discerned it together, the outcome)."""
    result = Lookup.of(ctx).call("mobilizing.answer", {"ask_id": ask_id, "text": text,
                                                       "outcome": outcome, "note": note})
    out().print(f"Answered ask {result['id']}: {result['state']}")


@mobilizing_app.command("discern")
def mobilizing_discern(ctx: typer.Context, ask_id: str = typer.Argument(..., metavar="ASK_ID"),
                       outcome: str = typer.Argument(..., help=OUTCOME_HELP),
                       note: str = NOTE_OPTION) -> None:
    """As asker or member: record what you discerned together."""
    result = Lookup.of(ctx).call("mobilizing.discern",
                                 {"ask_id": ask_id, "outcome": outcome, "note": note})
    out().print(f"Recorded for ask {result['id']}: {result['discernment']}")


@mobilizing_app.command("list")
def mobilizing_list(ctx: typer.Context, json: bool = JSON_OPTION, all: bool = ALL_OPTION) -> None:
    """Every "are you mobilizing?" ask with its answer and discernment."""
    lookup = Lookup.of(ctx)
    asks = lookup.call("mobilizing.list", {"all": True} if all else {})
    if json:
        print_json(asks)
        return
    table = make_table("id", "asked", "need", "answer", "discernment", title="Are you mobilizing?")
    for a in asks:
        table.add_row(a["id"], f"{escape(lookup.name(a['asker']))} → "
                               f"{escape(lookup.name(a['member']))}", a["need"],
                      escape(a["answer"] or "—"),
                      escape((a["discernment"] or "") + (f" — {a['discernment_note']}"
                                                         if a["discernment_note"] else ""))
                      + archived(a))
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
    table = make_table("id", "team", "members", title="Teams")
    for t in lookup.teams:
        table.add_row(t["id"], escape(t["name"]), escape(lookup.names(t["members"])))
    out().print(table)


def _membership(ctx: typer.Context, op: str, team: str, member: str) -> None:
    lookup = Lookup.of(ctx)
    result = lookup.call(op, {"team_id": lookup.team(team), "member": lookup.member(member)})
    out().print(f"Team [bold]{escape(result['name'])}[/bold]: "
                f"{escape(lookup.names(result['members'])) or 'no members'}")


@team_app.command("join")
def team_join(ctx: typer.Context, team: str = typer.Argument(..., help="Team id or name."),
              member: str = typer.Argument(..., help="Member id or name.")) -> None:
    """Add a member to a team."""
    _membership(ctx, "team.join", team, member)


@team_app.command("leave")
def team_leave(ctx: typer.Context, team: str = typer.Argument(..., help="Team id or name."),
               member: str = typer.Argument(..., help="Member id or name.")) -> None:
    """Take a member out of a team."""
    _membership(ctx, "team.leave", team, member)


@team_app.command("items")
def team_items(ctx: typer.Context,
               team: str | None = typer.Argument(None, help="Team id or name (default: all)."),
               json: bool = JSON_OPTION, all: bool = ALL_OPTION) -> None:
    """What teams are asked to attend to (from members, or routed from feedback)."""
    lookup = Lookup.of(ctx)
    items = lookup.call("team.items", {"team_id": lookup.team(team) if team else None,
                                       **({"all": True} if all else {})})
    if json:
        print_json(items)
        return
    table = make_table("id", "team", "item", "from", "state", title="Team items")
    for i in items:
        table.add_row(i["id"], escape(lookup.team_name(i["team"])),
                      escape(i["title"]) + (f"\n{escape(i['detail'])}" if i["detail"] else ""),
                      i["origin"], i["state"] + archived(i))
    out().print(table)


def register(app: typer.Typer) -> None:
    app.add_typer(capacity_app, name="capacity")
    app.add_typer(mobilizing_app, name="mobilizing")
    app.add_typer(team_app, name="team")
