"""Run one podsync Discovery and print what it sees, one JSON object a line.

    python discovery_probe.py --device-id D --pod-secret HEX --port N [--rescan S]

Lines: {"event": "ready"}, {"event": "found", "device_id", "addresses"},
{"event": "lost", "device_id"}, {"event": "foreign", "instance"} and, after
SIGTERM or SIGINT has made it call stop(), {"event": "stopped"}. Logs go to stderr.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import signal
import sys

from podsync.discovery import DiscoveredPeer, Discovery

# How often foreign_seen is polled for new entries to print.
FOREIGN_POLL = 0.2


def emit(**fields: object) -> None:
    print(json.dumps(fields), flush=True)


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--device-id", required=True)
    parser.add_argument("--pod-secret", required=True, help="hex")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--rescan", type=float, default=30.0)
    args = parser.parse_args()

    def on_found(peer: DiscoveredPeer) -> None:
        emit(event="found", device_id=peer.device_id, addresses=peer.addresses, via=peer.via)

    def on_lost(device_id: str) -> None:
        emit(event="lost", device_id=device_id)

    discovery = Discovery(
        args.device_id,
        bytes.fromhex(args.pod_secret),
        args.port,
        on_found,
        on_lost,
        rescan_interval=args.rescan,
    )
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    await discovery.start()
    emit(event="ready")
    reported: set[str] = set()
    while not stop.is_set():
        for instance in sorted(discovery.foreign_seen - reported):
            reported.add(instance)
            emit(event="foreign", instance=instance)
        try:
            await asyncio.wait_for(stop.wait(), FOREIGN_POLL)
        except asyncio.TimeoutError:
            pass
    await discovery.stop()
    emit(event="stopped")


if __name__ == "__main__":
    logging.basicConfig(
        level=logging.DEBUG, stream=sys.stderr, format="%(asctime)s %(name)s %(levelname)s %(message)s"
    )
    asyncio.run(main())
