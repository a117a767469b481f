"""Driving real nodes through their operations, and waiting for sync to carry changes."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Callable
from typing import Any

from podsync.api import ops
from podsync.errors import PodsyncError
from podsync.node import Node

#: Loopback sync of a handful of documents takes well under a second; this bounds
#: a busy CI machine, not the expected time.
SYNC_TIMEOUT_S = 20.0


async def call(node: Node, name: str, /, **args: Any) -> Any:
    """Operation ``name`` as the node's member, with the JSON-ready result the API sends."""
    return json.loads(ops.to_json(await ops.run(node.context, name, args)))


async def until(node: Node, name: str, check: Callable[[Any], bool], /,
                timeout: float = SYNC_TIMEOUT_S, **args: Any) -> Any:
    """Call ``name`` until ``check(result)`` holds (sync may still be carrying changes)."""
    deadline = time.monotonic() + timeout
    result: Any = None
    while True:
        try:
            result = await call(node, name, **args)
            if check(result):
                return result
        except PodsyncError as err:
            result = err
        if time.monotonic() > deadline:
            raise AssertionError(f"{name} on {node.config.member_name}'s node never satisfied the "
                                 f"check; last result: {result!r}")
        await asyncio.sleep(0.05)


def by_id(items: list[dict[str, Any]], item_id: str, key: str = "id") -> dict[str, Any] | None:
    return next((i for i in items if i[key] == item_id), None)


async def holds_collections(node: Node) -> None:
    """Wait until ``node`` holds the pod's shared collections (a new member syncs them)."""
    for name in ("need.list", "agreement.list", "decision.list", "capacity.list", "team.items"):
        await until(node, name, lambda result: isinstance(result, list))
