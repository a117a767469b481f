"""``podsync demo``: three nodes on loopback, edits on each, converging live."""

from __future__ import annotations

import asyncio

import typer


def demo_command() -> None:
    """Show a small pod syncing: three nodes in this process, on loopback."""
    from podsync.node.demo import run_demo  # noqa: PLC0415 - whole nodes, for this command only

    ok = asyncio.run(run_demo())
    if not ok:
        raise typer.Exit(1)


def register(app: typer.Typer) -> None:
    app.command("demo")(demo_command)
