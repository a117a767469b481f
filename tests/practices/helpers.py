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


async def steward_by_consent(proposer: Node, leader: Node, steward: Node,
                             *watching: Node) -> str:
    """``proposer`` proposes ``steward`` for ``leader``; the steward affirms and the
    leader consents, each on their own node; returns once every node involved (and
    ``watching``) counts them as steward. The nomination's id."""
    lee, sam = leader.config.member_id, steward.config.member_id
    nomination = (await call(proposer, "steward.propose", leader=lee, steward=sam))["id"]
    await until(steward, "steward.list", lambda ns: by_id(ns, nomination))
    await call(steward, "steward.affirm", id=nomination, note="within my capacity")
    await until(leader, "steward.list", lambda ns: (by_id(ns, nomination) or {}).get("affirmed_at"))
    await call(leader, "steward.consent", id=nomination)
    for node in {proposer, leader, steward, *watching}:
        await until(node, "feedback.stewards", lambda s: sam in s, leader=lee)
    return nomination
