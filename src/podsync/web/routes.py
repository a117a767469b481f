"""HTTP routes of the web UI: the pages, their static files and the invite QR code.

Every route needs the node's token, like the API. The first visit carries it in
the query (``api_url``); the answer stores it in a cookie and redirects to the
same page without it. A visit without a valid token gets a 401 page that says how
to open the UI and nothing about the pod.

``podsync open`` does not hand the token to the browser (a command line or a
browser's history would keep it): it asks the node for a ticket, good for one
visit within :data:`TICKET_SECONDS`, and opens ``/ui/open?ticket=...``, which the
node exchanges for the cookie.
"""

from __future__ import annotations

import hashlib
import io
import logging
import secrets
import time
from collections.abc import Callable
from pathlib import Path

import qrcode
import qrcode.image.svg
from aiohttp import web

from podsync.net.server import token_cookie_name, token_ok

log = logging.getLogger(__name__)

#: Paths of the pages; each serves the same shell, whose script renders the page.
PAGES = ("/", "/needs", "/agreements", "/decisions", "/capacity", "/feedback", "/archive")
STATIC_DIR = Path(__file__).parent / "static"
STATIC_PREFIX = "/ui/static/"
CONTENT_TYPES = {
    ".html": "text/html; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".js": "text/javascript; charset=utf-8",
    ".svg": "image/svg+xml",
}
#: An invite code is a few hundred characters; a QR code holds at most 2,953
#: bytes, and a phone camera reads one of 1,000 characters only with difficulty.
MAX_QR_CHARS = 1000
#: Everything the pages load comes from this node: no inline script, no other
#: origin, never framed (a framing page could trick a click on "remove").
SECURITY_HEADERS = {
    "Content-Security-Policy": ("default-src 'self'; script-src 'self'; style-src 'self'; "
                                "img-src 'self'; connect-src 'self'; frame-ancestors 'none'; "
                                "base-uri 'none'; form-action 'self'"),
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    # The first URL carries the token; no page may pass it on in a Referer.
    "Referrer-Policy": "no-referrer",
}

#: A ticket lets one visit in, this long after `podsync open` asked for it: a
#: browser that has to start first takes seconds, rarely more than a minute.
TICKET_SECONDS = 120.0
#: Unused tickets kept at once. One member needs one at a time; a burst of
#: `podsync open` cannot grow the node's memory, the oldest is dropped instead.
MAX_TICKETS = 16
TICKET_PATH = "/ui/ticket"
OPEN_PATH = "/ui/open"

UNAUTHORIZED_PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>podsync: the link needs its key</title></head>
<body style="font-family: system-ui, sans-serif; max-width: 36rem; margin: 3rem auto;
 padding: 0 1rem; line-height: 1.5; color: #3b2f2a; background: #fbf7f1">
<h1>This page needs its key</h1>
<p>Run <code>podsync open</code> in a terminal: it opens this page with its key
(and starts your node first if it is not running).</p>
</body></html>
"""

TICKET_USED_PAGE = UNAUTHORIZED_PAGE.replace(
    "<h1>This page needs its key</h1>",
    "<h1>This link has been used or has expired</h1>\n<p>Each link from <code>podsync open</code> "
    "opens the page once, within two minutes.</p>")


def _static_files() -> dict[str, Path]:
    """Servable files by URL name; a name outside this map is never read."""
    return {p.relative_to(STATIC_DIR).as_posix(): p
            for p in STATIC_DIR.rglob("*") if p.is_file() and p.suffix in CONTENT_TYPES}


def _unauthorized(page: str = UNAUTHORIZED_PAGE) -> web.Response:
    return web.Response(status=401, text=page, content_type="text/html",
                        headers={**SECURITY_HEADERS, "Cache-Control": "no-store"})


def _digest(ticket: str) -> str:
    # Kept hashed: looking a ticket up by its hash leaks nothing of it in timing.
    return hashlib.sha256(ticket.encode()).hexdigest()


class Tickets:
    """One-visit tickets for ``podsync open`` (module docstring)."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._expiry: dict[str, float] = {}  # digest -> expiry, oldest first

    def issue(self) -> str:
        now = self._clock()
        self._expiry = {d: t for d, t in self._expiry.items() if t > now}
        while len(self._expiry) >= MAX_TICKETS:
            del self._expiry[next(iter(self._expiry))]
        ticket = secrets.token_urlsafe(32)
        self._expiry[_digest(ticket)] = now + TICKET_SECONDS
        return ticket

    def redeem(self, ticket: str) -> bool:
        """True once for a live ticket; it is spent whatever the answer."""
        expiry = self._expiry.pop(_digest(ticket), None)
        return expiry is not None and expiry > self._clock()


def qr_svg(data: str) -> bytes:
    """``data`` as a QR code, an SVG that scales to its container."""
    image = qrcode.make(data, image_factory=qrcode.image.svg.SvgPathImage, border=2,
                        error_correction=qrcode.constants.ERROR_CORRECT_M)
    out = io.BytesIO()
    image.save(out)
    return out.getvalue()


class WebUI:
    """Handlers of the UI's routes, all behind the node's token."""

    def __init__(self, token: str) -> None:
        self.token = token
        self.cookie = token_cookie_name(token)
        self.files = _static_files()
        self.tickets = Tickets()

    def _let_in(self, location: str) -> web.Response:
        """Keep the token for this browser session, out of the address bar."""
        response = web.Response(status=303, headers={**SECURITY_HEADERS, "Location": location})
        response.set_cookie(self.cookie, self.token, httponly=True, samesite="Strict", path="/")
        return response

    async def page(self, request: web.Request) -> web.StreamResponse:
        if "token" in request.query:
            if not token_ok(request, self.token):
                return _unauthorized()
            return self._let_in(request.path)
        if not token_ok(request, self.token):
            return _unauthorized()
        return web.Response(body=self.files["index.html"].read_bytes(),
                            content_type="text/html", charset="utf-8",
                            headers={**SECURITY_HEADERS, "Cache-Control": "no-store"})

    async def static(self, request: web.Request) -> web.StreamResponse:
        if not token_ok(request, self.token):
            return _unauthorized()
        path = self.files.get(request.match_info["name"])
        if path is None:
            return web.Response(status=404, text="not found", headers=SECURITY_HEADERS)
        # Revalidate every time: after an upgrade the pages must not mix old and new files.
        return web.Response(body=path.read_bytes(),
                            headers={**SECURITY_HEADERS, "Content-Type": CONTENT_TYPES[path.suffix],
                                     "Cache-Control": "no-cache"})

    async def ticket(self, request: web.Request) -> web.StreamResponse:
        """A ticket for one visit (``podsync open`` asks, with the token)."""
        if not token_ok(request, self.token):
            return web.json_response({"error": {"type": "Unauthorized", "exit_code": 1,
                                                "message": "missing or wrong token"}}, status=401)
        ticket = self.tickets.issue()
        return web.json_response({"path": f"{OPEN_PATH}?ticket={ticket}", "expires_in": TICKET_SECONDS},
                                 headers={"Cache-Control": "no-store"})

    async def open(self, request: web.Request) -> web.StreamResponse:
        if not self.tickets.redeem(request.query.get("ticket", "")):
            return _unauthorized(TICKET_USED_PAGE)
        return self._let_in("/")

    async def qr(self, request: web.Request) -> web.StreamResponse:
        if not token_ok(request, self.token):
            return _unauthorized()
        data = request.query.get("data", "")
        if not data or len(data) > MAX_QR_CHARS:
            return web.Response(status=400, text=f"data: 1 to {MAX_QR_CHARS} characters",
                                headers=SECURITY_HEADERS)
        return web.Response(body=qr_svg(data),
                            headers={**SECURITY_HEADERS, "Content-Type": CONTENT_TYPES[".svg"],
                                     "Cache-Control": "no-store"})


def add_routes(app: web.Application, token: str) -> None:
    """Serve the web UI on ``app`` (the node's loopback API application)."""
    ui = WebUI(token)
    for path in PAGES:
        app.router.add_get(path, ui.page)
    app.router.add_get(STATIC_PREFIX + "{name:.+}", ui.static)
    app.router.add_get("/ui/qr.svg", ui.qr)
    app.router.add_post(TICKET_PATH, ui.ticket)
    app.router.add_get(OPEN_PATH, ui.open)
