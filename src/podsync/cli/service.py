"""``podsync service install|uninstall|status|run``: the node as a login service."""

from __future__ import annotations

import typer

from podsync.cli.context import escape, home_of, out, print_json
from podsync.errors import NotInitialised
from podsync.home import Home

service_app = typer.Typer(
    name="service",
    help="Run the node by itself: started at login, restarted if it fails, no terminal needed.",
    no_args_is_help=True,
)

LISTEN_HELP = "Peer endpoint for pod members' nodes (default as `podsync up`)."
API_HELP = "Loopback endpoint for the page, the API and local apps (default as `podsync up`)."
PEER_HELP = "Dial this member's node too (repeatable)."
NO_DISCOVERY_HELP = "Do not announce or look for pod members on the LAN."


def initialised_home(ctx: typer.Context) -> Home:
    home = home_of(ctx)
    if not home.is_initialised():
        raise NotInitialised(f"{home.root} is not a podsync home yet; run "
                             "`podsync init --name NAME` or `podsync join CODE --name NAME` first")
    return home


@service_app.command("install")
def install_command(
    ctx: typer.Context,
    listen: str | None = typer.Option(None, "--listen", metavar="HOST:PORT", help=LISTEN_HELP),
    api: str | None = typer.Option(None, "--api", metavar="HOST:PORT", help=API_HELP),
    peer: list[str] = typer.Option([], "--peer", metavar="HOST:PORT", help=PEER_HELP),
    no_discovery: bool = typer.Option(False, "--no-discovery", help=NO_DISCOVERY_HELP),
) -> None:
    """Start this home's node at every login (and now), with these `podsync up` options.
    Running it again is harmless; with other options it updates the service."""
    from podsync.service import definitions, managers  # noqa: PLC0415 - only this command needs them
    home = initialised_home(ctx)
    spec = definitions.make_spec(home, definitions.up_arguments(listen, api, list(peer), not no_discovery))
    for line in managers.install(managers.manager_for(), spec, home):
        out().print(escape(line))


@service_app.command("uninstall")
def uninstall_command(ctx: typer.Context) -> None:
    """Stop the service and remove it; the pod's data stays as it is."""
    from podsync.service import definitions, managers  # noqa: PLC0415
    home = home_of(ctx)
    for line in managers.uninstall(managers.manager_for(), definitions.make_spec(home, [])):
        out().print(escape(line))


@service_app.command("status")
def status_command(
    ctx: typer.Context,
    json: bool = typer.Option(False, "--json", help="Print one JSON document."),
) -> None:
    """Whether the service is installed and running, and where its node logs."""
    from podsync.service import definitions, managers  # noqa: PLC0415
    home = home_of(ctx)
    state = managers.state(managers.manager_for(), definitions.make_spec(home, []), home)
    if json:
        print_json(state)
        return
    console = out()
    if not state.installed:
        console.print(f"No podsync service is installed for {escape(str(home.root))} "
                      "(`podsync service install` adds one).")
    else:
        running = {True: "running", False: "not running", None: "unknown"}[state.active]
        enabled = {True: "starts at login", False: "does not start at login", None: "unknown"}[state.enabled]
        console.print(f"service  {escape(state.name)} ({state.platform}): {running}, {enabled}")
        console.print(f"         defined in {escape(state.definition)}")
    node = f"running (pid {state.node_pid})" if state.node_running else "not running"
    console.print(f"node     {node}")
    console.print(f"log      {escape(state.log_file)}")
    for note in state.notes:
        console.print(escape(note))


@service_app.command("run", hidden=True)
def run_command(
    ctx: typer.Context,
    listen: str | None = typer.Option(None, "--listen", metavar="HOST:PORT", help=LISTEN_HELP),
    api: str | None = typer.Option(None, "--api", metavar="HOST:PORT", help=API_HELP),
    peer: list[str] = typer.Option([], "--peer", metavar="HOST:PORT", help=PEER_HELP),
    no_discovery: bool = typer.Option(False, "--no-discovery", help=NO_DISCOVERY_HELP),
) -> None:
    """Run the node and start it again when it fails (what the Windows task runs)."""
    from podsync.service import definitions, supervise  # noqa: PLC0415
    from podsync.service.logs import SUPERVISOR_LOG_NAME, log_to_file  # noqa: PLC0415
    home = initialised_home(ctx)
    log_to_file(home, SUPERVISOR_LOG_NAME)
    args = definitions.up_arguments(listen, api, list(peer), not no_discovery)
    raise typer.Exit(supervise.supervise(home.root, args))


def register(app: typer.Typer) -> None:
    app.add_typer(service_app)
