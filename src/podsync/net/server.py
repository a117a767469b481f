"""WebSocket endpoints: the peer endpoint and the local apps' endpoint.

The peer endpoint is where other pod members' nodes dial in. The local endpoint
sits on the loopback API port and serves unmodified JavaScript automerge-repo apps
of this member; it requires the node's token, so another user of the same
computer cannot read the pod through it.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
from collections.abc import Awaitable, Callable

from aiohttp import web

from podsync.net.link import HEARTBEAT_SECONDS, Endpoint, Link
from podsync.sync.limits import MAX_FRAME_BYTES

log = logging.getLogger(__name__)

LOCAL_WS_PATH = "/automerge"


def token_cookie_name(token: str) -> str:
    """The name of the cookie carrying ``token`` for the web UI.

    Cookies ignore the port, so two nodes on one computer would overwrite one
    shared name; deriving the name from the token keeps each node's apart.
    """
    return "podsync_" + hashlib.sha256(token.encode()).hexdigest()[:12]


def token_ok(request: web.Request, token: str) -> bool:
    """True when the request carries ``token``: query ``token``, Bearer header, or
    the web UI's cookie (only from this origin, as SameSite=Strict intends)."""
    offered = request.query.get("token", "")
    auth = request.headers.get("Authorization", "")
    if auth.startswith("Bearer "):
        offered = auth[len("Bearer "):]
    if not offered:
        origin = request.headers.get("Origin")
        if origin is None or origin == f"{request.scheme}://{request.host}":
            offered = request.cookies.get(token_cookie_name(token), "")
    return bool(offered) and hmac.compare_digest(offered.encode(), token.encode())


def websocket_handler(endpoint: Endpoint, serve: Callable[[Link], Awaitable[None]], *,
                      token: str | None = None,
                      authorize: Callable[[web.Request], str | None] | None = None,
                      ) -> Callable[[web.Request], Awaitable[web.StreamResponse]]:
    """A handler upgrading to a WebSocket link, after the token or ``authorize``.

    ``authorize(request)`` returns the device id the peer's certificate proves, or
    None to refuse: the refusal is a bare 403 that names nothing of the pod.
    """
    async def handle(request: web.Request) -> web.StreamResponse:
        if token is not None and not token_ok(request, token):
            # Nothing about the node or its documents is revealed before the token.
            return web.json_response({"error": "missing or wrong token"}, status=401)
        device_id = None
        if authorize is not None:
            device_id = authorize(request)
            if device_id is None:
                return web.Response(status=403)
        ws = web.WebSocketResponse(heartbeat=HEARTBEAT_SECONDS, max_msg_size=MAX_FRAME_BYTES)
        await ws.prepare(request)
        peer = request.transport.get_extra_info("peername") if request.transport else None
        address = f"{peer[0]}:{peer[1]}" if peer else "unknown"
        await serve(Link(ws, "acceptor", endpoint, address, device_id=device_id))
        return ws

    return handle
