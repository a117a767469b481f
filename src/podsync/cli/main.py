"""The ``podsync`` entry point: global options, command registration, error exits.

:func:`run` is the one place errors leave the program. A
:class:`~podsync.errors.PodsyncError` prints ``podsync: <message>`` on stderr and
exits with its code (CONTRACT.md: 1 cannot be done, 2 bad usage, 3 unreachable).
Usage errors caught by the option parser exit 2. Anything else is a bug: one line
on stderr, the traceback saved in the home (or shown with ``PODSYNC_DEBUG=1``),
exit 1.

A command's module is imported only when that command runs (or ``--help`` lists
it): a listing must not pay for the node, the network stack or ``podsync up``.
"""

from __future__ import annotations

import datetime
import importlib
import logging
import os
import sys
import traceback
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn

import typer
from typer.core import TyperGroup

import podsync
from podsync import startup
from podsync.cli.context import CliState
from podsync.errors import PodsyncError
from podsync.home import HOME_ENV, Home, atomic_write

if TYPE_CHECKING:
    from typer._click import Command  # typer's own copy of click

DEBUG_ENV = "PODSYNC_DEBUG"
# Only the latest unexpected error is kept: enough to report a bug, and the file
# cannot grow without bound on a machine that hits the same bug every minute.
CRASH_LOG_NAME = "last-error.log"

#: Every command, in the order ``--help`` lists them, and the module whose
#: ``register(app)`` adds it.
COMMANDS = {
    "init": "podsync.cli.init",
    "status": "podsync.cli.status",
    "inbox": "podsync.cli.inbox",
    "show": "podsync.cli.inbox",
    "up": "podsync.cli.up",
    "demo": "podsync.cli.demo",
    "invite": "podsync.cli.members",
    "join": "podsync.cli.members",
    "members": "podsync.cli.members",
    "remove": "podsync.cli.members",
    "export": "podsync.cli.feedback",
    "need": "podsync.cli.practices",
    "agreement": "podsync.cli.practices",
    "decision": "podsync.cli.decisions",
    "capacity": "podsync.cli.people",
    "mobilizing": "podsync.cli.mobilizing",
    "allies": "podsync.cli.mobilizing",
    "team": "podsync.cli.people",
    "steward": "podsync.cli.stewards",
    "feedback": "podsync.cli.feedback",
    "search": "podsync.cli.archive",
    "settings": "podsync.cli.archive",
    "peer": "podsync.cli.peer",
    "relay": "podsync.cli.relay",
    "quarantine": "podsync.cli.quarantine",
    "share": "podsync.cli.share",
    "service": "podsync.cli.service",
    "open": "podsync.cli.open",
    "stop": "podsync.cli.open",
}


class CommandTable(TyperGroup):
    """The top-level group: loads a command from its module the first time it is asked for."""

    def __init__(self, **attrs: Any) -> None:
        super().__init__(**attrs)
        self._loaded: set[str] = set()

    def list_commands(self, ctx: typer.Context) -> list[str]:
        return list(COMMANDS)

    def get_command(self, ctx: typer.Context, cmd_name: str) -> Command | None:
        if cmd_name not in self.commands and cmd_name in COMMANDS:
            self.load(COMMANDS[cmd_name])
        return self.commands.get(cmd_name)

    def resolve_command(self, ctx: typer.Context, args: list[str]) -> tuple[
            str | None, Command | None, list[str]]:
        if args and args[0] not in COMMANDS:
            # Not a command: load them all, so "Did you mean ...?" can name any of them.
            for module in dict.fromkeys(COMMANDS.values()):
                self.load(module)
        return super().resolve_command(ctx, args)

    def load(self, module_name: str) -> None:
        """Add the commands ``module_name`` registers, built as typer builds any group."""
        if module_name in self._loaded:
            return
        self._loaded.add(module_name)
        with startup.long_lived():
            holder = typer.Typer()
            importlib.import_module(module_name).register(holder)
            self.commands.update(typer.main.get_group(holder).commands)


app = typer.Typer(
    cls=CommandTable,
    name="podsync",
    help="Local-first sync for pods: shared records merged peer to peer, no server.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


def _show_version(value: bool) -> None:
    if value:
        typer.echo(f"podsync {podsync.__version__}")
        raise typer.Exit()


@app.callback()
def _global_options(
    ctx: typer.Context,
    home: Path | None = typer.Option(
        None, "--home", envvar=HOME_ENV, metavar="DIR", file_okay=False,
        help="The node's data directory (identity, config, store). "
             "Give each node on one machine its own.",
        show_default="the platform's user data dir",
    ),
    version: bool = typer.Option(
        False, "--version", callback=_show_version, is_eager=True,
        help="Print the version and exit.",
    ),
) -> None:
    ctx.ensure_object(CliState).home = Home(home)


def _debug() -> bool:
    return os.environ.get(DEBUG_ENV, "") not in ("", "0")


def _report_crash(state: CliState, exc: BaseException) -> None:
    """One line for the person; the traceback where a bug report can find it."""
    text = "".join(traceback.format_exception(type(exc), exc, exc.__traceback__))
    where = f"set {DEBUG_ENV}=1 to see the details"
    if _debug():
        sys.stderr.write(text)
        where = "details above"
    elif state.home is not None and state.home.root.is_dir():
        path = state.home.root / CRASH_LOG_NAME
        stamp = datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds")
        try:
            atomic_write(path, f"{stamp} podsync {podsync.__version__} {sys.argv[1:]}\n{text}".encode())
            where = f"details in {path}"
        except OSError:
            pass
    print(f"podsync: unexpected error: {type(exc).__name__}: {exc} ({where})", file=sys.stderr)


def run(argv: list[str] | None = None) -> NoReturn:
    """Run the command line with ``argv`` (default ``sys.argv[1:]``) and exit."""
    logging.basicConfig(
        level=logging.DEBUG if _debug() else logging.WARNING,
        stream=sys.stderr,  # stdout is reserved for results
        format="%(levelname)s %(name)s: %(message)s",
    )
    state = CliState()
    with startup.long_lived():
        command = typer.main.get_command(app)
    try:
        command.main(args=argv, prog_name="podsync", obj=state)
    except PodsyncError as err:
        print(f"podsync: {err}", file=sys.stderr)
        sys.exit(err.exit_code)
    except Exception as exc:  # noqa: BLE001 - the last resort: a bug, reported in one line
        _report_crash(state, exc)
        sys.exit(1)
    sys.exit(0)
