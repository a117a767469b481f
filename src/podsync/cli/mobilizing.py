"""Commands for "are you mobilizing?" and allies.

``podsync mobilizing ask/view/propose/confirm/note/settle/list/show/awaiting``: the
discernment is held together — everyone taking part adds a view against the
essay's criteria, one proposes an outcome, and it takes effect once the member
asked and another participant confirm it. ``podsync allies propose/accept/decline/
met/stop/list/due``: two members checking in at a chosen interval.
"""

from __future__ import annotations

from typing import Any

import typer

from podsync.cli.context import escape, make_table, out, print_json, raw_if
from podsync.cli.lookup import (
    ALL_OPTION, JSON_OPTION, NOTE_OPTION, Lookup, archived, reconciliation, show, shorts,
)

mobilizing_app = typer.Typer(help='"Are you mobilizing?" — discerned together, never alone.',
                             no_args_is_help=True)
allies_app = typer.Typer(help="Allies: two members checking in with each other regularly.",
                         no_args_is_help=True)

OUTCOME_HELP = "continue, release, ask_for_support or take_on."
#: The essay's criteria, as the command line asks them.
CRITERIA = {"purpose": "the purpose", "within": "capacity within me",
            "around": "capacity I imagine around me", "void": "impact of the void if I step back",
            "over": "impact of over-mobilizing"}


@mobilizing_app.command("ask")
def mobilizing_ask(ctx: typer.Context, member: str = typer.Argument(..., help="Member id or name."),
                   need_id: str | None = typer.Argument(
                       None, metavar="[NEED_ID]",
                       help="A need they hold, or an open need nobody takes; none: a pattern."),
                   question: str = typer.Option("", "--question", help="What you would like to know."),
                   json: bool = typer.Option(False, "--json", help='Print {"id": ...}.')) -> None:
    """Ask a member "are you mobilizing?" about a need, an open need, or a general pattern."""
    lookup = Lookup.of(ctx)
    member_id = lookup.member(member)
    result = lookup.call("mobilizing.ask", {"member": member_id, "need_id": need_id,
                                            "question": question})
    show(result, json, f"Asked {escape(lookup.name(member_id))} (ask {result['id']}); each of "
                       f"you adds a view with [bold]podsync mobilizing view {result['id']}[/bold]")


def _line(a: dict[str, Any], doing: str) -> str:
    outcome = a["outcome"]
    return (f"{doing} ask {a['id']}: {a['state']}"
            + (f" — {outcome['outcome'].replace('_', ' ')}" if outcome else ""))


@mobilizing_app.command("view")
def mobilizing_view(ctx: typer.Context, ask_id: str = typer.Argument(..., metavar="ASK_ID"),
                    purpose: str = typer.Option("", "--purpose", help="The purpose it serves."),
                    within: str = typer.Option("", "--within", help="The capacity within you."),
                    around: str = typer.Option("", "--around",
                                               help="The capacity you imagine around you."),
                    void: str = typer.Option("", "--void",
                                             help="The impact of the void if you step back."),
                    over: str = typer.Option("", "--over",
                                             help="The impact of over-mobilizing.")) -> None:
    """Add your view against the criteria (anyone may join the conversation)."""
    result = Lookup.of(ctx).call("mobilizing.view", {
        "ask_id": ask_id, "purpose": purpose, "within": within, "around": around, "void": void,
        "over": over})
    out().print(_line(result, "Added your view to"))


@mobilizing_app.command("propose")
def mobilizing_propose(ctx: typer.Context, ask_id: str = typer.Argument(..., metavar="ASK_ID"),
                       outcome: str = typer.Argument(..., help=OUTCOME_HELP),
                       note: str = NOTE_OPTION,
                       title: str = typer.Option("", "--title",
                                                 help="A new need to open (take on, ask for support)."),
                       need_id: str | None = typer.Option(None, "--need",
                                                          help="An existing need it is about.")
                       ) -> None:
    """Propose an outcome; it takes effect once the member asked and another participant confirm."""
    result = Lookup.of(ctx).call("mobilizing.propose", {
        "ask_id": ask_id, "outcome": outcome, "note": note, "title": title, "need_id": need_id})
    mine = result["proposals"][-1] if result["proposals"] else None
    out().print(_line(result, "Proposed on") + (
        f" (proposal {mine['id']}; others confirm with [bold]podsync mobilizing confirm "
        f"{ask_id} {mine['id']}[/bold])" if mine and result["state"] == "open" else ""))


@mobilizing_app.command("confirm")
def mobilizing_confirm(ctx: typer.Context, ask_id: str = typer.Argument(..., metavar="ASK_ID"),
                       proposal_id: str = typer.Argument(..., metavar="PROPOSAL")) -> None:
    """Confirm a proposed outcome."""
    result = Lookup.of(ctx).call("mobilizing.confirm",
                                 {"ask_id": ask_id, "proposal_id": proposal_id})
    out().print(_line(result, "Confirmed on"))


@mobilizing_app.command("note")
def mobilizing_note(ctx: typer.Context, ask_id: str = typer.Argument(..., metavar="ASK_ID"),
                    text: str = typer.Argument(...)) -> None:
    """Leave a note on an ask."""
    out().print(_line(Lookup.of(ctx).call("mobilizing.note", {"ask_id": ask_id, "text": text}),
                      "Noted on"))


@mobilizing_app.command("settle")
def mobilizing_settle(ctx: typer.Context, ask_id: str = typer.Argument(..., metavar="ASK_ID"),
                      choice: str = typer.Argument(..., help="A candidate's choice id.")) -> None:
    """Settle outcomes confirmed differently while apart: choose one candidate."""
    out().print(_line(Lookup.of(ctx).call("mobilizing.settle",
                                          {"ask_id": ask_id, "choice": choice}), "Settled"))


def _about(a: dict[str, Any]) -> str:
    return {"held": "a need they hold", "open": "an open need",
            "pattern": "a pattern"}.get(a["about"], a["about"])


@mobilizing_app.command("list")
def mobilizing_list(ctx: typer.Context, json: bool = JSON_OPTION, all: bool = ALL_OPTION) -> None:
    """Every "are you mobilizing?" ask: who takes part, what is proposed, the outcome."""
    lookup = Lookup.of(ctx)
    asks = lookup.call("mobilizing.list", {"all": True} if all else {}, as_type=raw_if(json))
    if json:
        print_json(asks)
        return
    table = make_table("id", "asked", "about", "proposed", "outcome", title="Are you mobilizing?")
    cut = shorts([a["id"] for a in asks])
    for a in asks:
        proposed = "\n".join(
            f"{p['id']}: {p['outcome'].replace('_', ' ')} by {escape(lookup.name(p['by']))} "
            f"(confirmed: {escape(lookup.names(p['confirmed_by']))})" for p in a["proposals"])
        outcome = (a["outcome"]["outcome"].replace("_", " ") if a["outcome"] else "—") + archived(a)
        if a["needs_reconciliation"]:
            outcome += f"\n{reconciliation(a, lookup)}"
        table.add_row(cut[a["id"]], f"{escape(lookup.name(a['asker']))} → "
                               f"{escape(lookup.name(a['member']))}", _about(a), proposed,
                      outcome)
    out().print(table)


@mobilizing_app.command("show")
def mobilizing_show(ctx: typer.Context, ask_id: str = typer.Argument(..., metavar="ASK_ID"),
                    json: bool = JSON_OPTION) -> None:
    """One ask: the question, everyone's view, the proposals and the outcome."""
    lookup = Lookup.of(ctx)
    a = lookup.call("mobilizing.get", {"ask_id": ask_id})
    if json:
        print_json(a)
        return
    console = out()
    console.print(f"[bold]{escape(lookup.name(a['asker']))} asks "
                  f"{escape(lookup.name(a['member']))}[/bold] about {_about(a)}: "
                  f"{escape(a['question'] or 'Are you mobilizing?')} — {a['state']}")
    for w in a["views"]:
        said = "; ".join(f"{CRITERIA[k]}: {escape(w[k])}" for k in CRITERIA if w[k])
        console.print(f"  {escape(lookup.name(w['by']))}: {said}")
    for p in a["proposals"]:
        console.print(f"  proposal {p['id']} by {escape(lookup.name(p['by']))}: "
                      f"{p['outcome'].replace('_', ' ')}"
                      + (f" “{escape(p['title'])}”" if p["title"] else "")
                      + (f" — {escape(p['note'])}" if p["note"] else "")
                      + f" (confirmed: {escape(lookup.names(p['confirmed_by']))})")
    if a["needs_reconciliation"]:
        console.print(f"  {reconciliation(a, lookup)}")


@mobilizing_app.command("awaiting")
def mobilizing_awaiting(ctx: typer.Context, json: bool = JSON_OPTION) -> None:
    """Open asks waiting for your view or your confirmation."""
    found = Lookup.of(ctx).call("mobilizing.awaiting")
    if json:
        print_json(found)
        return
    for x in found:
        out().print(f"ask {x['ask']}: waits for your "
                    f"{'view' if x['reason'] == 'view' else 'confirmation of an outcome'}")
    if not found:
        out().print("Nothing waits for you.")


# -- allies ----------------------------------------------------------------------


def _allies_line(a: dict[str, Any], lookup: Lookup, doing: str) -> str:
    due = f", next check-in due {a['due_at']}" if a["due_at"] else ""
    return (f"{doing} allies {a['id']} ({escape(lookup.names(a['allies']))}, every "
            f"{a['every_days']} days): {a['state']}{due}")


@allies_app.command("propose")
def allies_propose(ctx: typer.Context, member: str = typer.Argument(..., help="Member id or name."),
                   every: int = typer.Option(7, "--every", metavar="DAYS",
                                             help="Days between check-ins."),
                   focus: str = typer.Option(..., "--focus", help="What you co-hold together."),
                   json: bool = typer.Option(False, "--json", help='Print {"id": ...}.')) -> None:
    """Propose recurring check-ins with another member (they accept or decline)."""
    lookup = Lookup.of(ctx)
    result = lookup.call("allies.propose", {"member": lookup.member(member), "every_days": every,
                                            "focus": focus})
    show(result, json, f"Proposed allies {result['id']}; they accept with "
                       f"[bold]podsync allies accept {result['id']}[/bold]")


def _allies_command(name: str, op: str, doing: str, doc: str, note: bool) -> None:
    def command(ctx: typer.Context, allies_id: str = typer.Argument(..., metavar="ID"),
                text: str = NOTE_OPTION) -> None:
        lookup = Lookup.of(ctx)
        args = {"id": allies_id, "note": text} if note else {"id": allies_id}
        out().print(_allies_line(lookup.call(op, args), lookup, doing))
    command.__doc__ = doc
    allies_app.command(name)(command)


_allies_command("accept", "allies.accept", "Accepted", "As the ally asked: accept.", False)
_allies_command("decline", "allies.decline", "Declined", "As the ally asked: decline.", False)
_allies_command("met", "allies.met", "Checked in:", "As either ally: you checked in.", True)
_allies_command("stop", "allies.stop", "Stopped", "As either ally: end the check-ins.", True)


@allies_app.command("list")
def allies_list(ctx: typer.Context, json: bool = JSON_OPTION) -> None:
    """Every pair of allies, their rhythm and when they next check in."""
    lookup = Lookup.of(ctx)
    found = lookup.call("allies.list")
    if json:
        print_json(found)
        return
    for a in found:
        out().print(_allies_line(a, lookup, "Allies").removeprefix("Allies ")
                    + f" — {escape(a['focus'])}" + (" [bold]due now[/bold]" if a["due"] else ""))
    if not found:
        out().print("No allies yet.")


@allies_app.command("due")
def allies_due(ctx: typer.Context, json: bool = JSON_OPTION) -> None:
    """Your allies' check-ins due now."""
    lookup = Lookup.of(ctx)
    found = lookup.call("allies.due")
    if json:
        print_json(found)
        return
    for a in found:
        out().print(f"Time for {escape(lookup.names(a['allies']))} to check in about "
                    f"{escape(a['focus'])} (due since {a['due_at']}); afterwards: "
                    f"podsync allies met {a['id']}")
    if not found:
        out().print("No check-in is due.")


def register(app: typer.Typer) -> None:
    app.add_typer(mobilizing_app, name="mobilizing")
    app.add_typer(allies_app, name="allies")
