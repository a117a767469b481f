"""Commands for the advice process: ``podsync decision start/ask/unask/advise/decline/
integrate/deadline/link/decide/withdraw/review/list/show``."""

from __future__ import annotations

from typing import Any

import msgspec
import typer

from podsync.cli.context import escape, make_table, out
from podsync.cli.lookup import (
    ALL_OPTION, JSON_OPTION, NOTE_OPTION, Lookup, archived, moment, reconciliation, show,
    show_item, shorts, when,
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
                   need: list[str] = typer.Option([], "--need", help="A need it touches (id; repeatable)."),
                   agreement: list[str] = typer.Option([], "--agreement",
                                                       help="An agreement it touches (id; repeatable)."),
                   json: bool = typer.Option(False, "--json", help='Print {"id": ...}.')) -> None:
    """Open a decision you will make after asking for advice."""
    links = [{"kind": "need", "ref": n} for n in need] + \
        [{"kind": "agreement", "ref": a} for a in agreement]
    result = Lookup.of(ctx).call("decision.start", {
        "title": title, "proposal": proposal, "deadline": moment(deadline, "deadline"),
        "links": links})
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


@decision_app.command("unask")
def decision_unask(ctx: typer.Context, decision_id: str = typer.Argument(..., metavar="ID"),
                   member: str = typer.Argument(..., help="Member id or name."),
                   note: str = typer.Option("", "--note", help="Why you withdraw the ask.")) -> None:
    """As the decider: withdraw an ask (recorded, with a note)."""
    lookup = Lookup.of(ctx)
    member_id = lookup.member(member)
    result = lookup.call("decision.unask", {"id": decision_id, "member": member_id, "note": note})
    out().print(_line(result, f"Withdrew the ask of {escape(lookup.name(member_id))} on"))


@decision_app.command("decline")
def decision_decline(ctx: typer.Context, decision_id: str = typer.Argument(..., metavar="ID"),
                     note: str = NOTE_OPTION) -> None:
    """As a member asked: decline to advise (the decider no longer waits for you)."""
    result = Lookup.of(ctx).call("decision.decline", {"id": decision_id, "note": note})
    out().print(_line(result, "Declined to advise on"))


@decision_app.command("deadline")
def decision_deadline(ctx: typer.Context, decision_id: str = typer.Argument(..., metavar="ID"),
                      deadline: str = typer.Argument(..., metavar="WHEN",
                                                     help="3d, 12h, or a date / date-time."),
                      note: str = NOTE_OPTION) -> None:
    """As the decider: move the deadline for advice (recorded, with a note)."""
    result = Lookup.of(ctx).call("decision.deadline", {
        "id": decision_id, "deadline": moment(deadline, "deadline"), "note": note})
    out().print(_line(result, "Moved the deadline of") + f" to {result['deadline']}")


@decision_app.command("link")
def decision_link(ctx: typer.Context, decision_id: str = typer.Argument(..., metavar="ID"),
                  kind: str = typer.Argument(..., help="need or agreement."),
                  ref: str = typer.Argument(..., metavar="ITEM_ID")) -> None:
    """As the decider: link a need or an agreement the decision touches."""
    result = Lookup.of(ctx).call("decision.link", {"id": decision_id, "kind": kind, "ref": ref})
    out().print(_line(result, f"Linked a {escape(kind)} to"))


@decision_app.command("withdraw")
def decision_withdraw(ctx: typer.Context, decision_id: str = typer.Argument(..., metavar="ID"),
                      note: str = typer.Option(..., "--note", help="Why (kept in the record).")
                      ) -> None:
    """As the decider: withdraw the whole decision."""
    result = Lookup.of(ctx).call("decision.withdraw", {"id": decision_id, "note": note})
    out().print(_line(result, "Withdrew"))


@decision_app.command("decide")
def decision_decide(ctx: typer.Context, decision_id: str = typer.Argument(..., metavar="ID"),
                    text: str = typer.Argument(..., help="The decision."),
                    review_on: str | None = typer.Option(None, "--review-on",
                                                         metavar="YYYY-MM-DD"),
                    no_one_affected: str = typer.Option(
                        "", "--no-one-affected", metavar="WHY",
                        help="Decide without advice: why nobody else is affected (recorded).")
                    ) -> None:
    """As the decider: decide, once advice from someone asked is heard and concerns
    answered (or say why nobody else is affected)."""
    result = Lookup.of(ctx).call("decision.decide", {
        "id": decision_id, "text": text, "review_on": review_on,
        "no_one_affected": no_one_affected})
    out().print(_line(result, "Decided") + "; " + _basis(result))


def _basis(d: dict[str, Any]) -> str:
    basis = d["basis"]
    if basis is None:
        return ""
    if basis["kind"] == "advice":
        return f"following advice from {len(basis['advice'])} member(s) asked"
    return f"with no advice: nobody else is affected ({escape(basis['reason'])})"


class _DecisionRow(msgspec.Struct):
    """What the decisions table prints of a decision (its history, reviews, links
    and notes are skipped unread)."""

    id: str
    title: str
    decider: str
    deadline: str
    state: str
    asked: list[dict[str, Any]]
    advice: list[dict[str, Any]]
    decision: str | None
    basis: dict[str, Any] | None
    withdrawn_note: str | None
    needs_reconciliation: bool
    candidates: list[dict[str, Any]]
    archived: bool = False


@decision_app.command("list")
def decision_list(ctx: typer.Context, json: bool = JSON_OPTION, all: bool = ALL_OPTION) -> None:
    """Every decision: who decides, who was asked, the advice and the outcome."""
    lookup = Lookup.of(ctx)
    decisions = lookup.listing("decision.list", _DecisionRow, everything=all, json=json)
    if decisions is None:
        return
    table = make_table("id", "decision", "decider", "state", "advice", title="Decisions")
    cut = shorts([d["id"] for d in decisions])
    for d in decisions:
        advice = [f"{escape(lookup.name(a['by']))}: {a['stance']} ({a['id']})"
                  + (" — integrated" if a["integration"] and a["integration"]["integrated"]
                     else " — not integrated" if a["integration"] else "")
                  for a in d["advice"]]
        waiting = [escape(lookup.name(a["member"])) for a in d["asked"]
                   if not (a["answered"] or a["declined"] or a["withdrawn"])]
        if waiting and d["state"] == "gathering_advice":
            advice.append(f"waiting for {', '.join(waiting)} (until {d['deadline']})")
        advice += [f"{escape(lookup.name(a['member']))}: declined to advise" for a in d["asked"]
                   if a["declined"]]
        advice += [f"{escape(lookup.name(a['member']))}: ask withdrawn" for a in d["asked"]
                   if a["withdrawn"]]
        title = escape(d["title"]) + (f"\n→ {escape(d['decision'])} ({_basis(d)})"
                                      if d["decision"] else "")
        if d["withdrawn_note"] is not None:
            title += f"\nwithdrawn: {escape(d['withdrawn_note'])}"
        title += f"\n{reconciliation(d, lookup)}" if d["needs_reconciliation"] else ""
        table.add_row(cut[d["id"]], title, escape(lookup.name(d["decider"])),
                      d["state"] + archived(d), "\n".join(advice))
    out().print(table)


@decision_app.command("show")
def decision_show(ctx: typer.Context, decision_id: str = typer.Argument(..., metavar="ID"),
                  json: bool = JSON_OPTION) -> None:
    """One decision with its history (archived or not)."""
    lookup = Lookup.of(ctx)
    decision = lookup.call("decision.get", {"id": decision_id})
    show_item(decision, json, lookup, decision["title"])


@decision_app.command("review")
def decision_review(ctx: typer.Context, decision_id: str = typer.Argument(..., metavar="ID"),
                    outcome: str = typer.Argument(..., help="keep, revise or retire."),
                    note: str = typer.Option(..., "--note", help="What the review found."),
                    review_on: str | None = typer.Option(
                        None, "--review-on", metavar="YYYY-MM-DD",
                        help='The next review (keep or revise), e.g. "2027-03-01".')) -> None:
    """As the decider: review a decision made: keep it, revise it or retire it."""
    result = Lookup.of(ctx).call("decision.review", {
        "id": decision_id, "outcome": outcome, "note": note, "review_on": review_on})
    nxt = f"; next review {when(result['review_on'])}" if result["review_on"] else ""
    out().print(_line(result, "Reviewed") + nxt)


@decision_app.command("settle")
def decision_settle(ctx: typer.Context, decision_id: str = typer.Argument(..., metavar="ID"),
                    choice: str = typer.Argument(..., help="A candidate's choice id.")) -> None:
    """Settle a decision made differently while apart: choose one candidate."""
    out().print(_line(Lookup.of(ctx).call("decision.settle",
                                          {"id": decision_id, "choice": choice}), "Settled"))


def register(app: typer.Typer) -> None:
    app.add_typer(decision_app, name="decision")
