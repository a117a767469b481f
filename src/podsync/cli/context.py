"""What every command shares: the selected home and the two output streams.

stdout carries only a command's result (one JSON document under ``--json``);
messages for the person go to stderr, so ``podsync status --json | jq`` works.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass
from typing import Any

import msgspec
import typer
from rich.console import Console

from podsync.home import Home


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
    return Console(highlight=False, soft_wrap=True)


def print_json(value: Any) -> None:
    """Write ``value`` (msgspec Structs, dicts, lists) as the one JSON document on stdout."""
    sys.stdout.write(msgspec.json.encode(value).decode("utf-8") + "\n")
    sys.stdout.flush()
