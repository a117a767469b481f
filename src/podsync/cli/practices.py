"""Commands for the needs board and agreements: ``podsync need ...``, ``podsync agreement ...``.

Each command is one operation (see ``podsync.api``), run through the node when it
runs and on the store otherwise. Member arguments take a member id or a name.
"""

from __future__ import annotations

from typing import Any

import msgspec
import typer

from podsync.cli.context import escape, make_table, out, print_json
from podsync.cli.lookup import (
    ALL_OPTION, JSON_OPTION, NOTE_OPTION, Lookup, archived, reconciliation, show, show_item,
    shorts,
)

need_app = typer.Typer(help="The needs board: name a need, take it on, attend to it.",
                       no_args_is_help=True)
agreement_app = typer.Typer(help="Agreements, each within the capacity of every party.",
                            no_args_is_help=True)


# -- needs ---------------------------------------------------------------------


class _NeedRow(msgspec.Struct):
    """What the needs table prints of a need: the rest of each (its history most,
    nearly all of a board's bytes) is skipped unread."""

    id: str
    title: str
    state: str
    reason: str
    holders: list[dict[str, Any]]
    neglect: list[dict[str, Any]]
    needs_reconciliation: bool
    candidates: list[dict[str, Any]]
    archived: bool = False


def _need_line(need: dict[str, Any], lookup: Lookup, doing: str) -> str:
    holders = lookup.names([h["member"] for h in need["holders"]])
    held = f", held by {escape(holders)}" if holders else ""
    return f"{doing} need {need['id']} [bold]{escape(need['title'])}[/bold]: {need['state']}{held}"


@need_app.command("add")
def need_add(ctx: typer.Context, title: str = typer.Argument(..., help="The need, in one line."),
             detail: str = typer.Option("", "--detail", help="More about it."),
             sensing: str = typer.Option("emergent", "--sensing",
                                         help="emergent, neglected or void (a void in the system)."),
             json: bool = typer.Option(False, "--json", help='Print {"id": ...}.')) -> None:
    """Name a need on the board; anyone may take it on."""
    result = Lookup.of(ctx).call("need.add", {"title": title, "detail": detail, "sensing": sensing})
    show(result, json, f"Added need {result['id']}: [bold]{escape(title)}[/bold]")


@need_app.command("list")
def need_list(ctx: typer.Context, json: bool = JSON_OPTION, all: bool = ALL_OPTION) -> None:
    """The needs board: every need, its state and holders."""
    lookup = Lookup.of(ctx)
    board = lookup.listing("need.list", _NeedRow, everything=all, json=json)
    if board is None:
        return
    table = make_table("id", "need", "state", "holders", "signals", title="Needs")
    cut = shorts([n["id"] for n in board])
    for n in board:
        holders = ", ".join(escape(lookup.name(h["member"])) + (" (contact)" if h["point_of_contact"]
                                                                else "") for h in n["holders"])
        signals = [f"{s['signal'].replace('_', ' ')} {escape(lookup.name(s['member']))} "
                   f"{s['days']} days" for s in n["neglect"]]
        signals += [reconciliation(n, lookup)] if n["needs_reconciliation"] else []
        state = n["state"] + (f": {escape(n['reason'])}" if n["state"] == "let_be" else "")
        table.add_row(cut[n["id"]], escape(n["title"]), state + archived(n), holders,
                      "\n".join(signals))
    out().print(table)


@need_app.command("show")
def need_show(ctx: typer.Context, need_id: str = typer.Argument(..., metavar="ID"),
              json: bool = JSON_OPTION) -> None:
    """One need with its history (archived or not)."""
    lookup = Lookup.of(ctx)
    need = lookup.call("need.get", {"id": need_id})
    show_item(need, json, lookup, need["title"])


@need_app.command("take")
def need_take(ctx: typer.Context, need_id: str = typer.Argument(..., metavar="ID"),
              contact: bool = typer.Option(False, "--point-of-contact",
                                           help="Be the need's point of contact.")) -> None:
    """Take a need on (no permission needed; others may co-hold it)."""
    lookup = Lookup.of(ctx)
    need = lookup.call("need.take", {"id": need_id, "point_of_contact": contact})
    out().print(_need_line(need, lookup, "Took on"))


def _need_command(name: str, op: str, doing: str, field: str = "note",
                  required: bool = False) -> None:
    def command(ctx: typer.Context, need_id: str = typer.Argument(..., metavar="ID"),
                text: str = typer.Option(... if required else "", f"--{field}",
                                         help=f"The {field} to keep with it.")) -> None:
        lookup = Lookup.of(ctx)
        need = lookup.call(op, {"id": need_id, field: text})
        out().print(_need_line(need, lookup, doing))
    command.__doc__ = {"release": "Let go of a need you hold.",
                       "done": "Mark a need you hold as attended.",
                       "let-be": "Leave an open need as a void on purpose (say why).",
                       "reopen": "Open an attended or let-be need again."}[name]
    need_app.command(name)(command)


_need_command("release", "need.release", "Released")
_need_command("done", "need.done", "Attended")
_need_command("let-be", "need.let_be", "Let be", field="reason", required=True)
_need_command("reopen", "need.reopen", "Reopened")


@need_app.command("note")
def need_note(ctx: typer.Context, need_id: str = typer.Argument(..., metavar="ID"),
              text: str = typer.Argument(...)) -> None:
    """Leave a note on a need."""
    lookup = Lookup.of(ctx)
    out().print(_need_line(lookup.call("need.note", {"id": need_id, "text": text}), lookup, "Noted"))


@need_app.command("settle")
def need_settle(ctx: typer.Context, need_id: str = typer.Argument(..., metavar="ID"),
                choice: str = typer.Argument(..., help="A candidate's state or its choice id.")) -> None:
    """Settle a need changed differently while apart: choose one candidate."""
    lookup = Lookup.of(ctx)
    need = lookup.call("need.settle", {"id": need_id, "choice": choice})
    out().print(_need_line(need, lookup, "Settled"))


# -- agreements ----------------------------------------------------------------


def _anchors(principles: list[str], needs: list[str]) -> list[dict[str, str]]:
    return ([{"kind": "principle", "ref": p} for p in principles]
            + [{"kind": "need", "ref": n} for n in needs])


def _agreement_line(a: dict[str, Any], doing: str) -> str:
    return f"{doing} agreement {a['id']} (v{a['version']}): {a['state']}"


PARTY_OPTION = typer.Option(..., "--party", help="A party (member id or name); repeat for each.")
PRINCIPLE_OPTION = typer.Option([], "--principle", help="A principle it anchors (repeatable).")
NEED_OPTION = typer.Option([], "--need", help="The id of a need it anchors (repeatable).")
REVIEW_OPTION = typer.Option(None, "--review-on", metavar="YYYY-MM-DD",
                             help="When to revisit it.")


@agreement_app.command("propose")
def agreement_propose(ctx: typer.Context, what: str = typer.Argument(..., help="What will be done."),
                      party: list[str] = PARTY_OPTION, principle: list[str] = PRINCIPLE_OPTION,
                      need: list[str] = NEED_OPTION, review_on: str | None = REVIEW_OPTION,
                      json: bool = typer.Option(False, "--json", help='Print {"id": ...}.')) -> None:
    """Propose an agreement; it is active once every party affirms it."""
    lookup = Lookup.of(ctx)
    result = lookup.call("agreement.propose", {
        "what": what, "parties": [lookup.member(p) for p in party],
        "anchors": _anchors(principle, need), "review_on": review_on})
    show(result, json, f"Proposed agreement {result['id']}; each party affirms it with "
                       f"[bold]podsync agreement affirm {result['id']}[/bold]")


class _AgreementRow(msgspec.Struct):
    """What the agreements table prints of an agreement (its history, versions
    and notes are skipped unread)."""

    id: str
    what: str
    state: str
    version: int
    parties: list[dict[str, Any]]
    revision: dict[str, Any] | None
    review_on: str | None
    needs_reconciliation: bool
    candidates: list[dict[str, Any]]
    archived: bool = False


@agreement_app.command("list")
def agreement_list(ctx: typer.Context, json: bool = JSON_OPTION, all: bool = ALL_OPTION) -> None:
    """Every agreement, its parties and state."""
    lookup = Lookup.of(ctx)
    agreements = lookup.listing("agreement.list", _AgreementRow, everything=all, json=json)
    if agreements is None:
        return
    table = make_table("id", "agreement", "state", "parties", "review on", title="Agreements")
    cut = shorts([a["id"] for a in agreements])
    for a in agreements:
        parties = "\n".join(_party(p, lookup) for p in a["parties"])
        what = escape(a["what"]) + (f"\n{reconciliation(a, lookup)}" if a["needs_reconciliation"]
                                    else "")
        revision = a["revision"]
        if revision:
            what += (f"\n[bold]proposed v{revision['version']}[/bold]: {escape(revision['what'])}"
                     f" — " + "; ".join(_party(p, lookup) for p in revision["parties"]))
            if revision["leaving"]:
                what += f" (leaves out {escape(lookup.names(revision['leaving']))})"
        table.add_row(cut[a["id"]], what, f"{a['state']} (v{a['version']}){archived(a)}", parties,
                      a["review_on"] or "")
    out().print(table)


@agreement_app.command("show")
def agreement_show(ctx: typer.Context, agreement_id: str = typer.Argument(..., metavar="ID"),
                   json: bool = JSON_OPTION) -> None:
    """One agreement with its history (archived or not)."""
    lookup = Lookup.of(ctx)
    agreement = lookup.call("agreement.get", {"id": agreement_id})
    show_item(agreement, json, lookup, agreement["what"])


def _party(p: dict[str, Any], lookup: Lookup) -> str:
    said = ("withdrew" if p.get("withdrawn") else "within my capacity" if p["affirmed"] else
            f"no longer within my capacity ({escape(p['no_longer'])})"
            if p["no_longer"] is not None else
            f"declined: not within my capacity ({escape(p['declined'] or '')})"
            if p.get("declined") is not None else "not yet affirmed")
    return escape(lookup.name(p["member"])) + ": " + said + (
        ", consents to retire" if p.get("retiring") else "")


def _agreement_command(name: str, op: str, doing: str, doc: str,
                       note_required: bool = False) -> None:
    def command(ctx: typer.Context, agreement_id: str = typer.Argument(..., metavar="ID"),
                note: str = typer.Option(... if note_required else "", "--note",
                                         help="A note to keep with it.")) -> None:
        out().print(_agreement_line(Lookup.of(ctx).call(op, {"id": agreement_id, "note": note}),
                                    doing))
    command.__doc__ = doc
    agreement_app.command(name)(command)


VERSION_OPTION = typer.Option(None, "--version", metavar="N",
                              help="A proposed revision's number (default: the version in force).")


def _versioned_command(name: str, op: str, doing: str, doc: str) -> None:
    def command(ctx: typer.Context, agreement_id: str = typer.Argument(..., metavar="ID"),
                note: str = NOTE_OPTION, version: int | None = VERSION_OPTION) -> None:
        out().print(_agreement_line(Lookup.of(ctx).call(op, {
            "id": agreement_id, "note": note, "version": version}), doing))
    command.__doc__ = doc
    agreement_app.command(name)(command)


_versioned_command("affirm", "agreement.affirm", "Affirmed",
                   "As a party: this agreement (or revision --version N) is within my capacity.")
_versioned_command("decline", "agreement.decline", "Declined",
                   "As a party: this proposed agreement (or revision) is not within my capacity.")
_agreement_command("strain", "agreement.strain", "Renegotiating",
                   "As a party: this is no longer within my capacity (say why).",
                   note_required=True)
_agreement_command("withdraw", "agreement.withdraw", "Withdrew from",
                   "As a party: take yourself out of it (the others renegotiate it).")
_agreement_command("pause", "agreement.pause", "Paused", "Pause an agreement.")
_agreement_command("resume", "agreement.resume", "Resumed", "Resume a paused agreement.")
_agreement_command("retire", "agreement.retire", "Retire",
                   "Consent to retire it: retired once every party has (at once while it is "
                   "renegotiated); it stays in the record.")


@agreement_app.command("review")
def agreement_review(ctx: typer.Context, agreement_id: str = typer.Argument(..., metavar="ID"),
                     review_on: str = typer.Option(..., "--review-on", metavar="YYYY-MM-DD",
                                                   help="The next review date."),
                     note: str = NOTE_OPTION) -> None:
    """Renew an active agreement as it is, until a new review date."""
    result = Lookup.of(ctx).call("agreement.review",
                                 {"id": agreement_id, "review_on": review_on, "note": note})
    out().print(_agreement_line(result, "Renewed") + f" until {result['review_on']}")


@agreement_app.command("revise")
def agreement_revise(ctx: typer.Context, agreement_id: str = typer.Argument(..., metavar="ID"),
                     what: str | None = typer.Option(None, "--what",
                                                     help="What will be done now."),
                     party: list[str] = typer.Option(
                         [], "--party", help="A party of the new version (repeat for each)."),
                     principle: list[str] = PRINCIPLE_OPTION, need: list[str] = NEED_OPTION,
                     no_anchors: bool = typer.Option(False, "--no-anchors",
                                                     help="Anchor nothing any more."),
                     review_on: str | None = REVIEW_OPTION,
                     no_review: bool = typer.Option(False, "--no-review-date",
                                                    help="Drop the review date."),
                     note: str = NOTE_OPTION) -> None:
    """Make a new version; what you leave out carries over. Changing the parties or the
    text proposes it: in force once every party of the new version affirms it."""
    lookup = Lookup.of(ctx)
    args: dict[str, Any] = {"id": agreement_id, "note": note}
    if what is not None:
        args["what"] = what
    if party:
        args["parties"] = [lookup.member(p) for p in party]
    if principle or need or no_anchors:
        args["anchors"] = _anchors(principle, need)
    if review_on is not None or no_review:
        args["review_on"] = review_on
    result = lookup.call("agreement.revise", args)
    revision = result["revision"]
    out().print(_agreement_line(result, "Revised") + (
        f"; version {revision['version']} is proposed: each of its parties affirms it with "
        f"[bold]podsync agreement affirm {result['id']} --version {revision['version']}[/bold]"
        if revision else ""))


@agreement_app.command("awaiting")
def agreement_awaiting(ctx: typer.Context, json: bool = JSON_OPTION) -> None:
    """What the agreements ask of you now: versions to affirm, revisions that leave you out."""
    lookup = Lookup.of(ctx)
    found = lookup.call("agreement.awaiting")
    if json:
        print_json(found)
        return
    said = {"affirm": "waits for your word (affirm or decline)",
            "removed": "a proposed revision leaves you out",
            "retire": "other parties consent to retire it"}
    for x in found:
        out().print(f"agreement {x['agreement']} v{x['version']} [bold]{escape(x['what'])}"
                    f"[/bold]: {said[x['reason']]}")
    if not found:
        out().print("Nothing waits for you.")


@agreement_app.command("remind")
def agreement_remind(ctx: typer.Context, agreement_id: str = typer.Argument(..., metavar="ID"),
                     stop: bool = typer.Option(False, "--stop", help="Stop reminding.")) -> None:
    """Volunteer to remind the parties of an agreement."""
    lookup = Lookup.of(ctx)
    result = lookup.call("agreement.unremind" if stop else "agreement.remind", {"id": agreement_id})
    out().print(f"Reminders for agreement {result['id']}: "
                f"{escape(lookup.names(result['reminders'])) or 'none'}")


@agreement_app.command("settle")
def agreement_settle(ctx: typer.Context, agreement_id: str = typer.Argument(..., metavar="ID"),
                     choice: str = typer.Argument(..., help="A candidate's state or choice id.")
                     ) -> None:
    """Settle an agreement changed differently while apart: choose one candidate."""
    result = Lookup.of(ctx).call("agreement.settle", {"id": agreement_id, "choice": choice})
    out().print(_agreement_line(result, "Settled"))


def register(app: typer.Typer) -> None:
    app.add_typer(need_app, name="need")
    app.add_typer(agreement_app, name="agreement")
