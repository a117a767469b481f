"""The web UI each node serves on its loopback API port.

Plain HTML, CSS and JavaScript modules shipped in the package (no build step, no
external fonts, scripts or CDNs: a pod may be offline). The pages read and write
through the local API (``/api/ops/<name>``, ``/api/status``) and stay live with
its server-sent events (``/api/events``). The member opens ``api_url`` once with
``?token=``; the node answers with an HttpOnly, SameSite=Strict cookie and a
redirect to the same page without the token, so the token leaves the address bar
and the history.
"""

from podsync.web.routes import PAGES, add_routes

__all__ = ["PAGES", "add_routes"]
