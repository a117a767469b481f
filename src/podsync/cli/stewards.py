"""Commands for stewards, named by consent: ``podsync steward propose/list/affirm/
consent/decline/step-down/remove``.

Any member proposes a steward for a leader; the steward affirms the role is
within their capacity and the leader consents, in either order; then it is in
effect. The steward may step down and the leader may end the role.
"""

from __future__ import annotations

from typing import Any

import typer

from podsync.cli.context import escape, make_table, out, print_json
from podsync.cli.lookup import JSON_OPTION, NOTE_OPTION, Lookup, show, shorts

steward_app = typer.Typer(help="Stewards who listen first to feedback for a leader, by consent.",
                          no_args_is_help=True)


def _line(n: dict[str, Any], lookup: Lookup, doing: str) -> str:
    waiting = []
    if n["state"] == "proposed":
        if n["affirmed_at"] is None:
            waiting.append(f"{lookup.name(n['steward'])} to affirm it is within their capacity")
        if n["consented_at"] is None:
            waiting.append(f"{lookup.name(n['leader'])} to consent")
    state = n["state"] + (f" (waiting for {escape(' and '.join(waiting))})" if waiting else "")
    if n["ending"]:
        state += f" ({n['ending'].replace('_', ' ')} by {escape(lookup.name(n['ended_by']))})"
    return (f"{doing} nomination {n['id']}: {escape(lookup.name(n['steward']))} for "
            f"{escape(lookup.name(n['leader']))} — {state}")


@steward_app.command("propose")
def steward_propose(ctx: typer.Context, leader: str = typer.Argument(..., help="Member id or name."),
                    steward: str = typer.Argument(..., help="Member id or name."),
                    note: str = NOTE_OPTION,
                    json: bool = typer.Option(False, "--json", help='Print {"id": ...}.')) -> None:
    """Propose a steward for a leader (in effect once the steward affirms and the leader consents)."""
    lookup = Lookup.of(ctx)
    result = lookup.call("steward.propose", {"leader": lookup.member(leader),
                                             "steward": lookup.member(steward), "note": note})
    show(result, json, f"Proposed: nomination {result['id']}; the steward runs "
                       f"[bold]podsync steward affirm {result['id']}[/bold], the leader "
                       f"[bold]podsync steward consent {result['id']}[/bold]")


@steward_app.command("list")
def steward_list(ctx: typer.Context, json: bool = JSON_OPTION) -> None:
    """Every nomination: proposed, active, declined or ended, and by whom."""
    lookup = Lookup.of(ctx)
    found = lookup.call("steward.list")
    if json:
        print_json(found)
        return
    table = make_table("id", "steward", "for", "state", title="Stewards")
    cut = shorts([n["id"] for n in found])
    for n in found:
        table.add_row(cut[n["id"]], escape(lookup.name(n["steward"])), escape(lookup.name(n["leader"])),
                      _line(n, lookup, "").split(" — ", 1)[1])
    out().print(table)


def _act(name: str, op: str, doing: str, doc: str) -> None:
    def command(ctx: typer.Context, nomination: str = typer.Argument(..., metavar="ID"),
                note: str = NOTE_OPTION) -> None:
        lookup = Lookup.of(ctx)
        out().print(_line(lookup.call(op, {"id": nomination, "note": note}), lookup, doing))
    command.__doc__ = doc
    steward_app.command(name)(command)


_act("affirm", "steward.affirm", "Affirmed",
     "As the steward named: this role is within my capacity.")
_act("consent", "steward.consent", "Consented to", "As the leader: I consent to this steward.")
_act("decline", "steward.decline", "Declined",
     "As the steward named or the leader: decline a nomination not yet in effect.")
_act("step-down", "steward.step_down", "Stepped down from",
     "As the steward: step down from the role.")
_act("remove", "steward.remove", "Ended", "As the leader: end a steward's role.")


def register(app: typer.Typer) -> None:
    app.add_typer(steward_app, name="steward")
