"""Commands for the advice process: ``podsync decision start/ask/advise/integrate/decide/list/show``."""

from __future__ import annotations

from typing import Any

import typer

from podsync.cli.context import escape, make_table, out, print_json
from podsync.cli.lookup import (
    ALL_OPTION, JSON_OPTION, Lookup, archived, moment, reconciliation, show, show_item,
)

decision_app = typer.Typer(help="Decisions by advice process: ask, listen, integrate, decide.",
                           no_args_is_help=True)


def _line(d: dict[str, Any], doing: str) -> str:
    return f"{doing} decision {d['id']} [bold]{escape(d['title'])}[/bold]: {d['state']}"


@decision_app.command("start")
def decision_start(ctx: typer.Context, title: str = typer.Argument(..., help="What is to be decided."),
                   proposal: str = typer.Option(..., "--proposal", help="What you propose."),
                   deadline: str = typer.Option(..., "--deadline", metavar="WHEN",
                                                help="Until when advice is gathered: 3d, 12h, "
                                                     "or a date / date-time (local time)."),
                   json: bool = typer.Option(False, "--json", help='Print {"id": ...}.')) -> None:
    """Open a decision you will make after asking for advice."""
    result = Lookup.of(ctx).call("decision.start", {
        "title": title, "proposal": proposal, "deadline": moment(deadline, "deadline")})
    show(result, json, f"Started decision {result['id']}; ask for advice with "
                       f"[bold]podsync decision ask {result['id']} MEMBER --reason affected[/bold]")


@decision_app.command("ask")
def decision_ask(ctx: typer.Context, decision_id: str = typer.Argument(..., metavar="ID"),
                 member: str = typer.Argument(..., help="Member id or name."),
                 reason: str = typer.Option(..., "--reason", help="affected or expertise."),
                 note: str = typer.Option("", "--note", help="Why you ask them.")) -> None:
    """As the decider: ask a member for advice."""
    lookup = Lookup.of(ctx)
    member_id = lookup.member(member)
    result = lookup.call("decision.ask", {"id": decision_id, "member": member_id,
                                          "reason": reason, "note": note})
    out().print(_line(result, f"Asked {escape(lookup.name(member_id))} about"))


@decision_app.command("advise")
def decision_advise(ctx: typer.Context, decision_id: str = typer.Argument(..., metavar="ID"),
                    stance: str = typer.Option(..., "--stance",
                                               help="support, concern, discourage or no_advice."),
                    text: str = typer.Option("", "--text", help="Your advice.")) -> None:
    """Give advice on a decision; it informs, it never blocks."""
    result = Lookup.of(ctx).call("decision.advise",
                                 {"id": decision_id, "stance": stance, "text": text})
    out().print(_line(result, "Advised on") + f" (advice {result['advice_id']})")


@decision_app.command("integrate")
def decision_integrate(ctx: typer.Context, decision_id: str = typer.Argument(..., metavar="ID"),
                       advice_id: str = typer.Argument(..., metavar="ADVICE_ID"),
                       integrated: bool = typer.Option(..., "--integrated/--not-integrated",
                                                       help="Whether you took the advice in."),
                       why: str = typer.Option(..., "--why", help="Why, or why not.")) -> None:
    """As the decider: record how a piece of advice was integrated, or why not."""
    result = Lookup.of(ctx).call("decision.integrate", {
        "id": decision_id, "advice_id": advice_id, "integrated": integrated, "why": why})
    out().print(_line(result, "Recorded integration on"))


@decision_app.command("decide")
def decision_decide(ctx: typer.Context, decision_id: str = typer.Argument(..., metavar="ID"),
                    text: str = typer.Argument(..., help="The decision."),
                    review_on: str | None = typer.Option(None, "--review-on",
                                                         metavar="YYYY-MM-DD")) -> None:
    """As the decider: decide, once advice is heard and concerns answered."""
    result = Lookup.of(ctx).call("decision.decide",
                                 {"id": decision_id, "text": text, "review_on": review_on})
    out().print(_line(result, "Decided"))


@decision_app.command("list")
def decision_list(ctx: typer.Context, json: bool = JSON_OPTION, all: bool = ALL_OPTION) -> None:
    """Every decision: who decides, who was asked, the advice and the outcome."""
    lookup = Lookup.of(ctx)
    decisions = lookup.call("decision.list", {"all": True} if all else {})
    if json:
        print_json(decisions)
        return
    table = make_table("id", "decision", "decider", "state", "advice", title="Decisions")
    for d in decisions:
        advice = [f"{escape(lookup.name(a['by']))}: {a['stance']} ({a['id']})"
                  + (" — integrated" if a["integration"] and a["integration"]["integrated"]
                     else " — not integrated" if a["integration"] else "")
                  for a in d["advice"]]
        waiting = [escape(lookup.name(a["member"])) for a in d["asked"] if not a["answered"]]
        if waiting and d["state"] == "gathering_advice":
            advice.append(f"waiting for {', '.join(waiting)} (until {d['deadline']})")
        title = escape(d["title"]) + (f"\n→ {escape(d['decision'])}" if d["decision"] else "")
        title += f"\n{reconciliation(d, lookup)}" if d["needs_reconciliation"] else ""
        table.add_row(d["id"], title, escape(lookup.name(d["decider"])),
                      d["state"] + archived(d), "\n".join(advice))
    out().print(table)


@decision_app.command("show")
def decision_show(ctx: typer.Context, decision_id: str = typer.Argument(..., metavar="ID"),
                  json: bool = JSON_OPTION) -> None:
    """One decision with its history (archived or not)."""
    lookup = Lookup.of(ctx)
    decision = lookup.call("decision.get", {"id": decision_id})
    show_item(decision, json, lookup, decision["title"])


@decision_app.command("settle")
def decision_settle(ctx: typer.Context, decision_id: str = typer.Argument(..., metavar="ID"),
                    choice: str = typer.Argument(..., help="A candidate's choice id.")) -> None:
    """Settle a decision made differently while apart: choose one candidate."""
    out().print(_line(Lookup.of(ctx).call("decision.settle",
                                          {"id": decision_id, "choice": choice}), "Settled"))


def register(app: typer.Typer) -> None:
    app.add_typer(decision_app, name="decision")
