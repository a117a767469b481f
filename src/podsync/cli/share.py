"""``podsync share URL --with pod|MEMBER...``: who may read a local app's document.

A document a local automerge-repo app creates is readable only by this member's
own devices until the member shares it; sharing writes a signed record every
member's node follows.
"""

from __future__ import annotations

import typer

from podsync.api import client
from podsync.cli.context import escape, home_of, out, print_json
from podsync.cli.lookup import Lookup


def share_command(
    ctx: typer.Context,
    url: str = typer.Argument(..., metavar="URL", help="The document's automerge: URL."),
    with_: list[str] = typer.Option(..., "--with", metavar="pod|MEMBER",
                                    help="`pod` for the whole pod, or a member's name or id "
                                         "(repeat for several)."),
    json: bool = typer.Option(False, "--json", help="Print one JSON document."),
) -> None:
    """Let the whole pod, or some members, read a document a local app made."""
    lookup = Lookup.of(ctx)
    if [w.strip().casefold() for w in with_] == ["pod"]:
        readers: str | list[str] = "pod"
    else:
        readers = [lookup.member(w) for w in with_]
    result = client.call(home_of(ctx), "doc.share", {"url": url, "readers": readers})
    if json:
        print_json(result)
        return
    who = "the whole pod" if result["readers"] == "pod" else lookup.names(result["readers"])
    out().print(f"{escape(result['url'])} is now read by {escape(who)}.")


def register(app: typer.Typer) -> None:
    app.command("share")(share_command)
