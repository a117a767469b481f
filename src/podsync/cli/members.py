"""Membership commands: ``invite``, ``join``, ``members`` and ``remove``.

There is no admin: any member's node may invite and remove.
"""

from __future__ import annotations

import io

import typer

from podsync.api import client
from podsync.cli.context import escape, home_of, make_table, out, print_json


def invite_command(
    ctx: typer.Context,
    expires: str = typer.Option("24h", "--expires", metavar="DURATION",
                                help="How long the code works: 30m, 24h, 7d (at most 7d)."),
    json: bool = typer.Option(False, "--json", help='Print {"code", "expires_at"}.'),
    qr: bool = typer.Option(False, "--qr", help="Also show the code as a QR code."),
) -> None:
    """Make a one-time invite code for a newcomer (any member may)."""
    result = client.call(home_of(ctx), "invite.create", {"expires": expires})
    if json:
        print_json(result)
        return
    console = out()
    console.print(result["code"], soft_wrap=True)
    if qr:
        import qrcode  # noqa: PLC0415 - only this option draws one

        code = qrcode.QRCode(border=1)
        code.add_data(result["code"])
        buffer = io.StringIO()
        code.print_ascii(out=buffer, invert=True)
        console.print(buffer.getvalue())
    console.print(f"Valid once, until {result['expires_at']}. The newcomer runs: "
                  "[bold]podsync join CODE --name THEIR_NAME[/bold]", style="dim")
    from podsync.node.runfile import running_node  # noqa: PLC0415 - only this note needs it

    if running_node(home_of(ctx)) is None:
        console.print("[bold yellow]Your node is not running.[/bold yellow] The code works only "
                      "once a member's node runs and can be reached: start yours with "
                      "[bold]podsync up[/bold] (or [bold]podsync open[/bold]) before the "
                      "newcomer joins.")


def join_command(
    ctx: typer.Context,
    code: str = typer.Argument(..., help="The invite code a member gave you."),
    name: str = typer.Option(..., "--name", help="Your name, as the pod's members will see it."),
    peer: list[str] = typer.Option([], "--peer", metavar="HOST:PORT",
                                   help="A member's node to join through, if the code's "
                                        "addresses cannot be reached."),
) -> None:
    """Join the pod an invite code belongs to, through any reachable member."""
    import asyncio  # noqa: PLC0415 - joining alone needs the node's network stack

    from podsync.trust.join import join_pod  # noqa: PLC0415

    config = asyncio.run(join_pod(home_of(ctx), code, name, list(peer)))
    out().print(f"Joined the pod [bold]{escape(config.pod_name)}[/bold] as "
                f"{escape(config.member_name)}. Start your node with [bold]podsync up[/bold].")


def members_command(
    ctx: typer.Context,
    json: bool = typer.Option(False, "--json", help="Print one JSON document."),
) -> None:
    """List the pod's members and their devices."""
    members = client.call(home_of(ctx), "members.list")
    if json:
        print_json(members)
        return
    from podsync.cli.lookup import shorts  # noqa: PLC0415 - only the table needs it

    cut = shorts([m["member_id"] for m in members])
    table = make_table("member", "id", "status", "devices", title="Members")
    for m in members:
        devices = "\n".join(f"{d['device_id']}{' (this device)' if d['this_device'] else ''}"
                            f"{'' if d['status'] == 'active' else ' removed'}" for d in m["devices"])
        table.add_row(escape(m["name"]) + (" (you)" if m["is_me"] else ""), cut[m["member_id"]],
                      m["status"], devices)
    out().print(table)


def remove_command(
    ctx: typer.Context,
    target: str = typer.Argument(..., metavar="MEMBER_ID_OR_DEVICE_ID"),
) -> None:
    """Remove a member (with all their devices) or one device from the pod."""
    result = client.call(home_of(ctx), "members.remove", {"target": target})
    console = out()
    console.print(f"Removed {escape(result['target'])}. Every member's node refuses it as soon "
                  "as it holds this change.")
    console.print("What that device already holds cannot be recalled from it.", style="dim")


def register(app: typer.Typer) -> None:
    app.command("invite")(invite_command)
    app.command("join")(join_command)
    app.command("members")(members_command)
    app.command("remove")(remove_command)
