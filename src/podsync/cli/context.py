"""What every command shares: the selected home and the two output streams.

stdout carries only a command's result (one JSON document under ``--json``);
messages for the person go to stderr, so ``podsync status --json | jq`` works.

rich is imported only when something is printed for a person: a ``--json``
command never pays for it.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import msgspec
import typer

from podsync.home import Home

if TYPE_CHECKING:
    from rich.console import Console
    from rich.table import Table


@dataclass
class CliState:
    """Filled in by the global options before any command runs."""

    home: Home | None = None


def home_of(ctx: typer.Context) -> Home:
    """The home selected by ``--home`` / ``PODSYNC_HOME`` / the platform default."""
    state = ctx.find_object(CliState)
    if state is None or state.home is None:
        raise RuntimeError("the podsync app was run without its global options")
    return state.home


def out() -> Console:
    """A console on stdout for human-readable results; markup in data stays literal."""
    from rich.console import Console  # noqa: PLC0415 - see the module docstring

    return Console(highlight=False, soft_wrap=True)


def make_table(*headers: str, title: str) -> Table:
    """A table for :func:`out` with these column headers."""
    from rich.table import Table  # noqa: PLC0415 - see the module docstring

    return Table(*headers, title=title)


def escape(text: str) -> str:
    """``text`` with rich markup escaped, so data prints as written."""
    from rich.markup import escape as escape_markup  # noqa: PLC0415 - see the module docstring

    return escape_markup(text)


def print_json(value: Any) -> None:
    """Write ``value`` (msgspec Structs, dicts, lists) as the one JSON document on stdout."""
    sys.stdout.write(msgspec.json.encode(value).decode("utf-8") + "\n")
    sys.stdout.flush()
