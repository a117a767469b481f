"""``podsync up``: run this home's node in the foreground until SIGINT/SIGTERM."""

from __future__ import annotations

import asyncio
import gc
import logging
import signal
import sys

import typer

from podsync.cli.context import home_of
from podsync.home import Home
from podsync.node import Node, NodeOptions
from podsync.node.node import DEFAULT_API, DEFAULT_LISTEN


#: How often the garbage collector's long-lived objects are set aside (see
#: :func:`_settle_heap`): often enough that what a sync brought in stops being
#: scanned soon, rarely enough that each pass is short.
HEAP_SETTLE_SECONDS = 600.0


async def _settle_heap(node: Node) -> None:
    """Keep Python's full garbage collections short.

    A node holds millions of long-lived objects (every record it has read, the
    pod's derived items); each full collection walks them all, pausing the node
    for 0.1-0.3 s on a pod of a few years. Once the items are derived, and then
    every HEAP_SETTLE_SECONDS, collect and freeze what is alive: frozen objects
    are freed as usual when unused, only no longer scanned for cycles.
    """
    await node.warmed.wait()
    while True:
        gc.collect()
        gc.freeze()
        await asyncio.sleep(HEAP_SETTLE_SECONDS)


async def serve(home: Home, options: NodeOptions, *, show_token: bool = True) -> None:
    node = Node(home, options)
    await node.start()
    settle = asyncio.get_running_loop().create_task(_settle_heap(node))
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    try:
        print(f"podsync is up for {node.config.member_name} in pod {node.config.pod_name}.", flush=True)
        if show_token:
            print(f"Open this in your browser to use the pod: {node.api_url}", flush=True)
        print(f"Pod members connect to: {', '.join(node.listen_addresses)}", flush=True)
        if show_token:
            print(f"Local automerge-repo apps connect to: {node.local_ws_url}", flush=True)
        else:  # a service's output goes to logs, where the token must not
            print("Open the pod's page with `podsync open`; local apps find their address "
                  "(local_ws_url) in `podsync status --json`.", flush=True)
        await stop.wait()
    finally:
        settle.cancel()
        print("podsync is stopping; everything received is being saved...", file=sys.stderr, flush=True)
        await node.stop()
        print("podsync stopped.", file=sys.stderr, flush=True)


def up_command(
    ctx: typer.Context,
    listen: str = typer.Option(DEFAULT_LISTEN, "--listen", metavar="HOST:PORT",
                               help="Peer endpoint for pod members' nodes; port 0 picks a free port."),
    api: str = typer.Option(DEFAULT_API, "--api", metavar="HOST:PORT",
                            help="Loopback endpoint for the UI, the API and local apps."),
    peer: list[str] = typer.Option([], "--peer", metavar="HOST:PORT",
                                   help="Dial this member's node too (repeatable)."),
    no_discovery: bool = typer.Option(False, "--no-discovery",
                                      help="Do not announce or look for pod members on the LAN."),
    service: bool = typer.Option(False, "--service",
                                 help="Run without a terminal: log to HOME/logs/node.log and never "
                                      "print the page's token (what `podsync service` runs)."),
) -> None:
    """Run the node until Ctrl-C, syncing with pod members and serving local apps."""
    logging.getLogger("podsync").setLevel(logging.INFO)
    if service:
        from podsync.service.logs import log_to_file  # noqa: PLC0415
        log_to_file(home_of(ctx))
    options = NodeOptions(listen=listen, api=api, peers=list(peer), discovery=not no_discovery)
    asyncio.run(serve(home_of(ctx), options, show_token=not service))


def register(app: typer.Typer) -> None:
    app.command("up")(up_command)
