"""Commands for feedback pathways, and ``podsync export``.

The pathway: the pod names stewards for a leader (``feedback stewards``); a member
opens a private thread with them (``feedback give``); giver and stewards talk
(``feedback reply``); a steward proposes where it goes (``feedback route THREAD
--to ...``); the giver consents (``feedback consent``); then either of them
carries it out (``feedback route THREAD --carry-out PROPOSAL``). The leader reads
statements delivered to them with ``feedback received``.
"""

from __future__ import annotations

import sys
from pathlib import Path

import msgspec
import typer

from podsync.cli.context import escape, out, print_json
from podsync.cli.lookup import ALL_OPTION, JSON_OPTION, NOTE_OPTION, Lookup, archived, show
from podsync.errors import UsageError
from podsync.home import atomic_write

feedback_app = typer.Typer(help="Feedback for a leader, heard first by their stewards.",
                           no_args_is_help=True)


@feedback_app.command("stewards")
def feedback_stewards(ctx: typer.Context, leader: str = typer.Argument(..., help="Member id or name."),
                      add: list[str] = typer.Option([], "--add", help="Name a steward (repeatable)."),
                      remove: list[str] = typer.Option([], "--remove",
                                                       help="Stop naming a steward (repeatable)."),
                      json: bool = JSON_OPTION) -> None:
    """Show, or change, who hears feedback meant for a leader."""
    lookup = Lookup.of(ctx)
    leader_id = lookup.member(leader)
    if add or remove:
        result = lookup.call("feedback.stewards_set", {
            "leader": leader_id, "add": [lookup.member(m) for m in add],
            "remove": [lookup.member(m) for m in remove]})
    else:
        result = lookup.call("feedback.stewards", {"leader": leader_id})
    show(result, json, f"Stewards for {escape(lookup.name(leader_id))}: "
                       f"{escape(lookup.names(result)) or 'none'}")


@feedback_app.command("give")
def feedback_give(ctx: typer.Context, leader: str = typer.Argument(..., help="Member id or name."),
                  text: str = typer.Argument(..., help="Your feedback, as it comes."),
                  json: bool = typer.Option(False, "--json", help='Print {"thread_id": ...}.')) -> None:
    """Open a private thread with a leader's stewards; the leader cannot read it."""
    lookup = Lookup.of(ctx)
    result = lookup.call("feedback.give", {"leader": lookup.member(leader), "text": text})
    show(result, json, f"Opened feedback thread {result['thread_id']} with the stewards of "
                       f"{escape(lookup.name(lookup.member(leader)))}.")


@feedback_app.command("threads")
def feedback_threads(ctx: typer.Context, json: bool = JSON_OPTION, all: bool = ALL_OPTION) -> None:
    """The feedback threads you take part in, as giver or steward."""
    lookup = Lookup.of(ctx)
    threads = lookup.call("feedback.threads", {"all": True} if all else {})
    if json:
        print_json(threads)
        return
    console = out()
    if not threads:
        console.print("No feedback threads.")
    for t in threads:
        routed = f" → {t['routed']['route']}" if t["routed"] else ""
        console.print(f"[bold]Thread {t['thread_id']}[/bold]: from {escape(lookup.name(t['giver']))}"
                      f" for {escape(lookup.name(t['leader']))}, stewards "
                      f"{escape(lookup.names(t['stewards']))} — {t['state']}{routed}"
                      f"{archived(t)}")
        for m in t["messages"]:
            console.print(f"  {m['at']} {escape(lookup.name(m['by']))}: {escape(m['text'])}")
        for p in t["proposals"]:
            answer = {True: "consented", False: "declined", None: "awaiting the giver"}[p["consent"]]
            console.print(f"  proposal {p['id']} by {escape(lookup.name(p['by']))}: {p['route']}"
                          f"{' (public)' if p['public'] else ''} {escape(p['title'])} "
                          f"{escape(p['statement'])} — {answer}")


@feedback_app.command("reply")
def feedback_reply(ctx: typer.Context, thread_id: str = typer.Argument(..., metavar="THREAD"),
                   text: str = typer.Argument(...)) -> None:
    """Add a message to a thread (giver or steward)."""
    result = Lookup.of(ctx).call("feedback.reply", {"thread_id": thread_id, "text": text})
    out().print(f"Thread {thread_id}: {len(result['messages'])} messages")


@feedback_app.command("route")
def feedback_route(ctx: typer.Context, thread_id: str = typer.Argument(..., metavar="THREAD"),
                   to: str | None = typer.Option(None, "--to",
                                                 help="Propose a route: team, void, leader or "
                                                      "dissolved."),
                   statement: str = typer.Option("", "--statement",
                                                 help="The clarified statement that would travel."),
                   title: str = typer.Option("", "--title", help="Title of the need or team item."),
                   team: str | None = typer.Option(None, "--team", help="Team id or name."),
                   public: bool = typer.Option(False, "--public",
                                               help="Make a statement to the leader public."),
                   carry_out: str | None = typer.Option(None, "--carry-out", metavar="PROPOSAL",
                                                        help="Carry out a consented proposal."),
                   json: bool = typer.Option(False, "--json", help="Print the result as JSON.")
                   ) -> None:
    """Propose where feedback goes (--to), or carry out a consented proposal (--carry-out)."""
    if (to is None) == (carry_out is None):
        raise UsageError("give either --to ROUTE (to propose) or --carry-out PROPOSAL")
    lookup = Lookup.of(ctx)
    if carry_out is not None:
        result = lookup.call("feedback.route", {"thread_id": thread_id, "proposal_id": carry_out})
        where = {"void": "as a need on the board", "team": "as a team item",
                 "leader": "as a statement to the leader", "dissolved": "nowhere (dissolved)"}
        show(result, json, f"Routed thread {thread_id} {where[result['route']]}"
                           + (f" ({result['target_item'] or result['target_doc']})"
                              if result["target_doc"] else ""))
        return
    result = lookup.call("feedback.propose_route", {
        "thread_id": thread_id, "route": to, "statement": statement, "title": title,
        "team_id": lookup.team(team) if team else None, "public": public})
    show(result, json, f"Proposed {escape(str(to))} as proposal {result['proposal_id']}; the giver "
                       f"answers with [bold]podsync feedback consent {thread_id} "
                       f"{result['proposal_id']}[/bold]")


@feedback_app.command("consent")
def feedback_consent(ctx: typer.Context, thread_id: str = typer.Argument(..., metavar="THREAD"),
                     proposal_id: str = typer.Argument(..., metavar="PROPOSAL"),
                     decline: bool = typer.Option(False, "--decline", help="Decline it instead."),
                     note: str = NOTE_OPTION) -> None:
    """As the giver: consent to a proposed route (or --decline it)."""
    Lookup.of(ctx).call("feedback.consent", {"thread_id": thread_id, "proposal_id": proposal_id,
                                             "consent": not decline, "note": note})
    out().print(f"{'Declined' if decline else 'Consented to'} proposal {proposal_id}.")


@feedback_app.command("received")
def feedback_received(ctx: typer.Context, json: bool = JSON_OPTION) -> None:
    """Statements delivered to you as a leader, and public ones."""
    lookup = Lookup.of(ctx)
    statements = lookup.call("feedback.received")
    if json:
        print_json(statements)
        return
    console = out()
    if not statements:
        console.print("No feedback statements.")
    for s in statements:
        console.print(f"[bold]Statement {s['statement_id']}[/bold] for "
                      f"{escape(lookup.name(s['leader']))}"
                      f" ({'public' if s['public'] else 'private'}, {s['created_at']}):")
        console.print(f"  {escape(s['statement'])}")
        for r in s["responses"]:
            console.print(f"  response ({r['at']}): {escape(r['text'])}")


@feedback_app.command("respond")
def feedback_respond(ctx: typer.Context, statement_id: str = typer.Argument(..., metavar="STATEMENT"),
                     text: str = typer.Argument(...)) -> None:
    """As the leader: respond to a statement delivered to you."""
    Lookup.of(ctx).call("feedback.respond", {"statement_id": statement_id, "text": text})
    out().print(f"Responded to statement {statement_id}.")


def export_command(ctx: typer.Context,
                   fmt: str = typer.Option("json", "--format", help="json or markdown."),
                   output: Path | None = typer.Option(None, "--output", metavar="FILE",
                                                      help="Write to FILE instead of stdout.")
                   ) -> None:
    """Export everything you may read in the pod, with full history."""
    result = Lookup.of(ctx).call("pod.export", {"format": fmt})
    content = result["content"]
    text = content if result["format"] == "markdown" else \
        msgspec.json.format(msgspec.json.encode(content)).decode() + "\n"
    if output is None:
        sys.stdout.write(text)
        return
    atomic_write(output, text.encode())
    typer.echo(f"Wrote the {result['format']} export to {output}", err=True)


def register(app: typer.Typer) -> None:
    app.add_typer(feedback_app, name="feedback")
    app.command("export")(export_command)
