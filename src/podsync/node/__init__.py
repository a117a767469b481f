"""The node: one running podsync, wiring store, repo, engine, links and endpoints."""

from podsync.node.node import Node, NodeOptions, parse_address

__all__ = ["Node", "NodeOptions", "parse_address"]
