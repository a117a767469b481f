"""``podsync open`` (the pod's page in the browser) and ``podsync stop``.

``open`` never puts the node's token on a command line, in the terminal or in a
log: it asks the running node for a one-visit ticket (see
:mod:`podsync.web.routes`) and opens that. With no node running it starts one
first, through the login service when one is installed, else in the
background, and says which.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
import webbrowser
from typing import Any

import typer

from podsync.cli import service
from podsync.cli.context import escape, home_of, out
from podsync.errors import PodsyncError, UnreachableError
from podsync.home import DIR_MODE, Home
from podsync.node.runfile import pid_alive, running_node

#: The node answers a ticket request from memory; longer means it is stuck.
TICKET_TIMEOUT_SECONDS = 10.0
#: A node flushes and stops in well under a second; a busy disk may take longer.
STOP_WAIT_SECONDS = 30.0
BACKGROUND_LOG_NAME = "background.log"


def _start_in_background(home: Home, up_args: list[str]) -> int:
    """``podsync up --service`` for ``home``, detached from this terminal."""
    logs = home.root / "logs"
    logs.mkdir(mode=DIR_MODE, parents=True, exist_ok=True)
    argv = [sys.executable, "-m", "podsync", "--home", str(home.root), "up", "--service", *up_args]
    detach: dict[str, Any] = {"start_new_session": True}
    if sys.platform == "win32":
        detach = {"creationflags": subprocess.DETACHED_PROCESS | subprocess.CREATE_NEW_PROCESS_GROUP
                  | subprocess.CREATE_NO_WINDOW}
    # What it prints before its log is open (a port in use, say) goes here.
    with (logs / BACKGROUND_LOG_NAME).open("ab") as early:
        proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                stderr=early, **detach)
    return proc.pid


def _ensure_running(home: Home, up_args: list[str]) -> tuple[dict[str, Any], str | None]:
    """The running node's record, starting it first if needed; and what was done."""
    from podsync.service import definitions, managers  # noqa: PLC0415 - only when no node runs
    record = running_node(home)
    if record is not None and record.get("api_url"):
        return record, None
    spec = definitions.make_spec(home, [])
    try:
        manager = managers.manager_for()
        installed = manager.definition_path(spec).exists()
    except PodsyncError:
        manager, installed = None, False
    if manager is not None and installed:
        manager.start(spec, restart=False)
        said = "Your node was not running; podsync asked its service to start it."
        pid = None
    else:
        pid = _start_in_background(home, up_args)
        said = (f"No node was running for this home, so podsync started one in the background "
                f"(pid {pid}); it keeps running after this window closes. `podsync stop` stops it; "
                "`podsync service install` starts it at every login.")
    deadline = time.monotonic() + managers.START_WAIT_SECONDS
    while time.monotonic() < deadline:
        record = running_node(home)
        if record is not None and record.get("api_url"):
            return record, said
        if pid is not None and not pid_alive(pid):
            break
        time.sleep(0.1)
    log = home.root / "logs" / BACKGROUND_LOG_NAME
    raise UnreachableError(f"the node did not start; see {home.root / 'logs'} "
                           f"({_last_line(log) or 'no message'})")


def _last_line(path: Any) -> str:
    try:
        lines = path.read_text(errors="replace").strip().splitlines()
    except OSError:
        return ""
    return lines[-1] if lines else ""


def _ticket_url(api_url: str) -> str:
    """A one-visit address of the page, from the node at ``api_url``."""
    parts = urllib.parse.urlsplit(api_url)
    token = urllib.parse.parse_qs(parts.query).get("token", [""])[0]
    from podsync.web.routes import TICKET_PATH  # noqa: PLC0415
    request = urllib.request.Request(f"{parts.scheme}://{parts.netloc}{TICKET_PATH}", data=b"",
                                     method="POST", headers={"Authorization": f"Bearer {token}"})
    try:
        with urllib.request.urlopen(request, timeout=TICKET_TIMEOUT_SECONDS) as resp:
            path = json.loads(resp.read())["path"]
    except (urllib.error.URLError, OSError, ValueError, KeyError, TypeError) as exc:
        raise UnreachableError(f"the node for this home does not answer at {parts.netloc} ({exc}); "
                               "stop it (`podsync stop`) and try again") from None
    return f"{parts.scheme}://{parts.netloc}{path}"


def open_command(
    ctx: typer.Context,
    listen: str | None = typer.Option(None, "--listen", metavar="HOST:PORT", help=service.LISTEN_HELP),
    api: str | None = typer.Option(None, "--api", metavar="HOST:PORT", help=service.API_HELP),
    peer: list[str] = typer.Option([], "--peer", metavar="HOST:PORT", help=service.PEER_HELP),
    no_discovery: bool = typer.Option(False, "--no-discovery", help=service.NO_DISCOVERY_HELP),
) -> None:
    """Open the pod's page in your browser, starting the node first if it is not running
    (the options are `podsync up`'s, for a node this command starts)."""
    from podsync.service.definitions import up_arguments  # noqa: PLC0415
    home = service.initialised_home(ctx)
    record, said = _ensure_running(home, up_arguments(listen, api, list(peer), not no_discovery))
    if said:
        out().print(escape(said))
    url = _ticket_url(record["api_url"])
    if webbrowser.open(url):
        out().print("Opened the pod's page in your browser.")
    else:
        # The link is good for one visit, so showing it gives nothing away.
        out().print(f"No browser could be opened from here. Open this link within two minutes "
                    f"(it works once): {escape(url)}")


def stop_command(ctx: typer.Context) -> None:
    """Stop the node running for this home (everything it received is saved)."""
    home = home_of(ctx)
    record = running_node(home)
    if record is None:
        out().print("No node is running for this home.")
        return
    pid = int(record["pid"])
    try:
        os.kill(pid, signal.SIGTERM)
    except ProcessLookupError:
        out().print("No node is running for this home.")
        return
    deadline = time.monotonic() + STOP_WAIT_SECONDS
    while pid_alive(pid):
        if time.monotonic() > deadline:
            raise PodsyncError(f"the node (pid {pid}) did not stop within {STOP_WAIT_SECONDS:.0f} s")
        time.sleep(0.1)
    out().print(f"Stopped the node (pid {pid}).")


def register(app: typer.Typer) -> None:
    app.command("open")(open_command)
    app.command("stop")(stop_command)
