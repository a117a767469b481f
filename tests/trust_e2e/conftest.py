"""Real nodes of real pods on loopback, joined by real invites, plus the tools
an outsider or a curious member would use against them."""

from __future__ import annotations

import asyncio
import os
import sys
from collections.abc import AsyncIterator
from typing import Any
from dataclasses import dataclass
from pathlib import Path

import pytest

from podsync.addresses import ADDRESS_BOOK_NAME
from podsync.api import ops
from podsync.home import Home
from podsync.node import Node
from podsync.trust import roster as roster_mod
from podsync.trust.join import join_pod
from tests.node.conftest import NodeFactory, eventually

__all__ = ["Cli", "LinkSpy", "NodeFactory", "active_names", "eventually", "forget_peers", "invite",
           "join_via", "podsync_cli", "roster_of"]

# A cold `python -m podsync` imports automerge, cryptography and rich; generous
# for a busy two-core box. Only a guard against a hung test.
CLI_TIMEOUT_SECONDS = 90


@pytest.fixture
async def nodes(tmp_path: Path) -> AsyncIterator[NodeFactory]:
    factory = NodeFactory(tmp_path)
    yield factory
    for node in factory.nodes:
        await node.stop()


async def invite(node: Node, expires: str = "1h") -> str:
    """A fresh invite code made by ``node``'s member (any member may)."""
    result = await ops.run(node.context, "invite.create", {"expires": expires})
    return str(result.code)


async def join_via(root: Path, name: str, code: str, peers: list[str] | None = None) -> Home:
    """A new home redeeming ``code`` (through the code's addresses, then ``peers``)."""
    home = Home(root / name)
    await join_pod(home, code, name.capitalize(), peers)
    return home


def forget_peers(home: Home) -> None:
    """Drop every address a home remembers, so its node dials nobody by itself."""
    (home.root / ADDRESS_BOOK_NAME).unlink(missing_ok=True)


def roster_of(node: Node) -> roster_mod.Roster:
    roster = node.access.roster
    assert roster is not None
    return roster


def active_names(node: Node) -> set[str]:
    return {m.name for m in roster_of(node).members if m.status == "active"}


@dataclass
class Cli:
    returncode: int
    stdout: str
    stderr: str


async def podsync_cli(home: Path | Home, *args: str) -> Cli:
    """The real ``podsync`` entry point in a subprocess, awaited without blocking
    the nodes this test runs in its own event loop."""
    root = home.root if isinstance(home, Home) else home
    env = {k: v for k, v in os.environ.items() if not k.startswith("PODSYNC_")}
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "podsync", "--home", str(root), *args,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE, env=env)
    try:
        out, err = await asyncio.wait_for(proc.communicate(), CLI_TIMEOUT_SECONDS)
    except asyncio.TimeoutError:
        proc.kill()
        await proc.wait()
        raise
    assert proc.returncode is not None
    return Cli(proc.returncode, out.decode(), err.decode())


class LinkSpy:
    """Records every link the node's LinkTable opens and every engine connect."""

    def __init__(self, node: Node) -> None:
        self.links: list[Any] = []
        self.engine_connects: list[int] = []
        open_link, connect = node._links._connect, node.repo.engine.connect

        def on_open(link: Any) -> None:
            self.links.append(link)
            open_link(link)

        def on_connect(conn: int, *args: Any, **kwargs: Any) -> Any:
            self.engine_connects.append(conn)
            return connect(conn, *args, **kwargs)

        node._links._connect = on_open
        node.repo.engine.connect = on_connect  # type: ignore[method-assign]
