"""Fixtures for running real nodes in this process, on loopback."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import pytest

from podsync.cli.init import initialise
from podsync.home import Home
from podsync.node import Node, NodeOptions


async def eventually(predicate: Callable[[], bool], timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"condition not reached within {timeout} s")
        await asyncio.sleep(0.01)


class NodeFactory:
    def __init__(self, root: Path) -> None:
        self.root = root
        self.nodes: list[Node] = []

    def home(self, name: str) -> Home:
        home = Home(self.root / name)
        if not home.is_initialised():
            initialise(home, name.capitalize())
        return home

    async def start(self, name: str, peers: list[str] | None = None) -> Node:
        node = Node(self.home(name), NodeOptions(listen="127.0.0.1:0", api="127.0.0.1:0",
                                                 peers=peers or [], discovery=False))
        await node.start()
        self.nodes.append(node)
        return node


@pytest.fixture
async def nodes(tmp_path: Path) -> AsyncIterator[NodeFactory]:
    factory = NodeFactory(tmp_path)
    yield factory
    for node in factory.nodes:
        await node.stop()
