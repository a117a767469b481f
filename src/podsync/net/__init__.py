"""Transports: WebSocket links, the endpoints that accept them and the dialer."""

from podsync.net.dialer import Dialer
from podsync.net.link import Link, LinkTable
from podsync.net.server import LOCAL_WS_PATH, token_ok, websocket_handler

__all__ = ["LOCAL_WS_PATH", "Dialer", "Link", "LinkTable", "token_ok", "websocket_handler"]
