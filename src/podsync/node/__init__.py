"""The node: one running podsync, wiring store, repo, engine, links and endpoints.

``Node`` and friends load on first use: commands import ``podsync.node.runfile``
to find a running node, and that must not pull in the node's network stack
(aiohttp, zeroconf, TLS) a command never uses.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from podsync.node.node import Node, NodeOptions, parse_address

__all__ = ["Node", "NodeOptions", "parse_address"]


def __getattr__(name: str) -> Any:
    if name in __all__:
        return getattr(importlib.import_module("podsync.node.node"), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
