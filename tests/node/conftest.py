"""Fixtures for running real nodes in this process, on loopback."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import pytest

from podsync.api import ops
from podsync.cli.init import initialise
from podsync.home import Home
from podsync.node import Node, NodeOptions
from podsync.trust.join import join_pod


async def eventually(predicate: Callable[[], bool], timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"condition not reached within {timeout} s")
        await asyncio.sleep(0.01)


class NodeFactory:
    """Real nodes of one pod: the first founds it, later ones join by invite."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.nodes: list[Node] = []
        self.founder: Node | None = None

    async def home(self, name: str, *, own_pod: bool = False) -> Home:
        home = Home(self.root / name)
        if home.is_initialised():
            return home
        if self.founder is None or own_pod:
            initialise(home, name.capitalize())
        else:
            invite = await ops.run(self.founder.context, "invite.create", {})
            await join_pod(home, invite.code, name.capitalize())
        return home

    async def start(self, name: str, peers: list[str] | None = None, *, own_pod: bool = False) -> Node:
        home = await self.home(name, own_pod=own_pod)
        node = Node(home, NodeOptions(listen="127.0.0.1:0", api="127.0.0.1:0",
                                      peers=peers or [], discovery=False))
        await node.start()
        self.nodes.append(node)
        if self.founder is None and not own_pod:
            self.founder = node
        return node


@pytest.fixture
async def nodes(tmp_path: Path) -> AsyncIterator[NodeFactory]:
    factory = NodeFactory(tmp_path)
    yield factory
    for node in factory.nodes:
        await node.stop()
