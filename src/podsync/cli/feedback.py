"""Commands for feedback pathways, and ``podsync export``.

The pathway: stewards are named by consent (``podsync steward ...``); a member
opens a private thread with them (``feedback give``); giver and stewards talk
(``feedback reply``) and draft the statement in four parts together
(``feedback clarify``); one of them proposes where it goes (``feedback route
THREAD --to ...``); the other answers (``feedback consent``; the giver chooses
there whether their name travels, by default not); then a steward carries it out
(``feedback route THREAD --carry-out PROPOSAL``). The giver may withdraw the
thread (``feedback withdraw``). The leader reads statements delivered to them with
``feedback received`` and may turn a response into an agreement.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import msgspec
import typer

from podsync.cli.context import Lines, escape, out, print_json, raw_if
from podsync.cli.lookup import ALL_OPTION, JSON_OPTION, NOTE_OPTION, Lookup, archived, show
from podsync.errors import UsageError
from podsync.home import atomic_write

feedback_app = typer.Typer(help="Feedback for a leader, heard first by their stewards.",
                           no_args_is_help=True)


@feedback_app.command("stewards")
def feedback_stewards(ctx: typer.Context, leader: str = typer.Argument(..., help="Member id or name."),
                      add: list[str] = typer.Option(
                          [], "--add", help="Propose a steward (repeatable): in effect once they "
                                            "affirm and the leader consents."),
                      remove: list[str] = typer.Option(
                          [], "--remove", help="End a steward's role, as the leader or as that "
                                               "steward (repeatable)."),
                      json: bool = JSON_OPTION) -> None:
    """Show who hears feedback meant for a leader; propose or end stewards."""
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
    threads = lookup.call("feedback.threads", {"all": True} if all else {},
                          as_type=raw_if(json))
    if json:
        print_json(threads)
        return
    if not threads:
        out().print("No feedback threads.")
        return
    lines = Lines()
    for t in threads:
        routed = f" → {t['routed']['route']}" if t["routed"] else ""
        lines.add(f"[bold]Thread {t['thread_id']}[/bold]: from {escape(lookup.name(t['giver']))}"
                  f" for {escape(lookup.name(t['leader']))}, stewards "
                  f"{escape(lookup.names(t['stewards']))} — {t['state']}{routed}{archived(t)}")
        for m in t["messages"]:
            lines.add(f"  {m['at']} {escape(lookup.name(m['by']))}: {escape(m['text'])}")
        if t["clarifications"]:
            draft = t["clarifications"][-1]
            lines.add(f"  draft by {escape(lookup.name(draft['by']))}: " + "; ".join(
                f"{label}: {escape(draft['parts'][part])}" for part, label in PARTS.items()
                if draft["parts"][part]))
        for p in t["proposals"]:
            lines.add(f"  proposal {p['id']} by {escape(lookup.name(p['by']))}: {p['route']}"
                      f"{' (public)' if p['public'] else ''} {escape(p['title'])} "
                      f"{escape(p['statement'])} — {_answers(p)}")
    out().print(lines)


PARTS = {"happened": "what happened", "feeling": "the feeling", "need": "the need",
         "request": "the request"}


def _answers(p: dict[str, Any]) -> str:
    giver = {True: "giver consents", False: "giver declined", None: "awaiting the giver"}
    steward = {True: "a steward agrees", False: "a steward does not agree",
               None: "awaiting a steward"}
    name = "the giver's name travels" if p["named"] else "without the giver's name"
    return f"{giver[p['consent']]}, {steward[p['agreed']]}, {name}"


@feedback_app.command("clarify")
def feedback_clarify(ctx: typer.Context, thread_id: str = typer.Argument(..., metavar="THREAD"),
                     happened: str = typer.Option("", "--happened",
                                                  help="What happened, as a camera would see it."),
                     feeling: str = typer.Option("", "--feeling", help="The feeling it brings up."),
                     need: str = typer.Option("", "--need", help="The need behind the feeling."),
                     request: str = typer.Option("", "--request", help="A doable request.")) -> None:
    """Draft the statement in four parts, as the giver or a steward (either reworks the other's)."""
    result = Lookup.of(ctx).call("feedback.clarify", {
        "thread_id": thread_id, "happened": happened, "feeling": feeling, "need": need,
        "request": request})
    out().print(f"Thread {thread_id}: draft {len(result['clarifications'])} of the statement")


@feedback_app.command("withdraw")
def feedback_withdraw(ctx: typer.Context, thread_id: str = typer.Argument(..., metavar="THREAD"),
                      note: str = NOTE_OPTION) -> None:
    """As the giver: withdraw the thread; nothing is routed from it."""
    result = Lookup.of(ctx).call("feedback.withdraw", {"thread_id": thread_id, "note": note})
    out().print(f"Thread {thread_id}: {result['state']}")


@feedback_app.command("summary")
def feedback_summary(ctx: typer.Context, json: bool = JSON_OPTION) -> None:
    """Where the pod's feedback ended up: counts per route and days taken (no content, no names)."""
    result = Lookup.of(ctx).call("feedback.summary")
    if json:
        print_json(result)
        return
    console = out()
    console.print(f"Feedback routed: {result['total']}")
    for r in result["routes"]:
        taken = (f" (median {r['median_days']} days, longest {r['longest_days']})"
                 if r["count"] else "")
        console.print(f"  {r['route']}: {r['count']}{taken}")


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
                   named: bool = typer.Option(False, "--named",
                                              help="As the giver: let your name travel with it."),
                   happened: str = typer.Option("", "--happened", help="Part 1: what happened."),
                   feeling: str = typer.Option("", "--feeling", help="Part 2: the feeling."),
                   need: str = typer.Option("", "--need", help="Part 3: the need."),
                   request: str = typer.Option("", "--request", help="Part 4: the request."),
                   carry_out: str | None = typer.Option(None, "--carry-out", metavar="PROPOSAL",
                                                        help="Carry out a consented proposal."),
                   json: bool = typer.Option(False, "--json", help="Print the result as JSON.")
                   ) -> None:
    """Propose where feedback goes (--to), or, as a steward, carry out an agreed proposal
    (--carry-out)."""
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
    if to == "team" and not team:
        raise UsageError("--to team needs the team: add --team TEAM (its name or id; "
                         "`podsync team list` lists them)")
    parts = {"happened": happened, "feeling": feeling, "need": need, "request": request}
    result = lookup.call("feedback.propose_route", {
        "thread_id": thread_id, "route": to, "statement": statement, "title": title,
        "team_id": lookup.team(team) if team else None, "public": public, "named": named,
        "parts": parts if any(parts.values()) else None})
    show(result, json, f"Proposed {escape(str(to))} as proposal {result['proposal_id']}; the "
                       f"other side answers with [bold]podsync feedback consent {thread_id} "
                       f"{result['proposal_id']}[/bold]")


@feedback_app.command("consent")
def feedback_consent(ctx: typer.Context, thread_id: str = typer.Argument(..., metavar="THREAD"),
                     proposal_id: str = typer.Argument(..., metavar="PROPOSAL"),
                     decline: bool = typer.Option(False, "--decline", help="Decline it instead."),
                     named: bool = typer.Option(
                         False, "--named",
                         help="As the giver: let your name travel with it (by default it does not)."),
                     note: str = NOTE_OPTION) -> None:
    """Answer a proposed route: the giver a steward's, a steward the giver's (or --decline)."""
    Lookup.of(ctx).call("feedback.consent", {"thread_id": thread_id, "proposal_id": proposal_id,
                                             "consent": not decline, "note": note,
                                             "named": named})
    out().print(f"{'Declined' if decline else 'Consented to'} proposal {proposal_id}"
                + (", with your name" if named and not decline else "") + ".")


@feedback_app.command("received")
def feedback_received(ctx: typer.Context, json: bool = JSON_OPTION) -> None:
    """Statements delivered to you as a leader, and public ones."""
    lookup = Lookup.of(ctx)
    statements = lookup.call("feedback.received")
    if json:
        print_json(statements)
        return
    if not statements:
        out().print("No feedback statements.")
        return
    lines = Lines()
    for s in statements:
        giver = f"from {escape(lookup.name(s['giver']))}" if s["giver"] else "the giver's name kept"
        lines.add(f"[bold]Statement {s['statement_id']}[/bold] for "
                  f"{escape(lookup.name(s['leader']))}"
                  f" ({'public' if s['public'] else 'private'}, {giver}, {s['created_at']}):")
        lines.add(f"  {escape(s['statement'])}")
        for r in s["responses"]:
            became = f" → agreement {r['agreement']}" if r["agreement"] else ""
            lines.add(f"  response ({r['at']}): {escape(r['text'])}{became}")
    out().print(lines)


@feedback_app.command("respond")
def feedback_respond(ctx: typer.Context, statement_id: str = typer.Argument(..., metavar="STATEMENT"),
                     text: str = typer.Argument(...),
                     agreement: bool = typer.Option(
                         False, "--agreement", help="Make the response an agreement of yours."),
                     what: str = typer.Option("", "--what",
                                              help="The agreement's words (default: the response)."),
                     review_on: str | None = typer.Option(None, "--review-on", metavar="YYYY-MM-DD",
                                                          help="When to revisit the agreement.")
                     ) -> None:
    """As the leader: respond to a statement delivered to you (--agreement: it becomes one)."""
    result = Lookup.of(ctx).call("feedback.respond", {
        "statement_id": statement_id, "text": text,
        "agreement": {"what": what, "review_on": review_on} if agreement else None})
    became = result["responses"][-1]["agreement"] if result["responses"] else None
    out().print(f"Responded to statement {statement_id}." + (
        f" It is agreement {became}; others may volunteer as reminders with "
        f"[bold]podsync agreement remind {became}[/bold]" if became else ""))


def export_command(ctx: typer.Context,
                   fmt: str = typer.Option("json", "--format", help="json or markdown."),
                   output: Path | None = typer.Option(None, "--output", metavar="FILE",
                                                      help="Write to FILE instead of stdout.")
                   ) -> None:
    """Export everything you may read in the pod, with full history."""
    result = Lookup.of(ctx).call("pod.export", {"format": fmt}, as_type=Exported)
    if result.format == "markdown":
        text = msgspec.json.decode(result.content, type=str).encode()
    else:
        # Indented as the node wrote it, never read into objects (tens of megabytes
        # for a pod of some years).
        text = msgspec.json.format(result.content) + b"\n"
    if output is None:
        sys.stdout.buffer.write(text)
        sys.stdout.flush()
        return
    atomic_write(output, text)
    typer.echo(f"Wrote the {result.format} export to {output}", err=True)


class Exported(msgspec.Struct):
    """``pod.export``'s answer, its content left as the JSON it came as."""

    format: str
    content: msgspec.Raw


def register(app: typer.Typer) -> None:
    app.add_typer(feedback_app, name="feedback")
    app.command("export")(export_command)
