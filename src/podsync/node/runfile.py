"""``node.json``: how commands find the node running for a home.

``podsync up`` writes it atomically once it listens and removes it when it stops.
A node that died without cleaning up leaves it behind; its pid is then gone and
the node counts as stopped.
"""

from __future__ import annotations

import os
from typing import Any

import msgspec

from podsync.errors import HomeError
from podsync.home import Home, read_json


class NodeRecord(msgspec.Struct):
    pid: int
    listen: list[str] = []
    api_url: str | None = None
    local_ws_url: str | None = None


def pid_alive(pid: int) -> bool:
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # alive, owned by someone else
    return not _zombie(pid)


def _zombie(pid: int) -> bool:
    """A process that ended but whose parent has not reaped it yet (a node killed
    after the command that started it in the background had exited, under an
    init that reaps late): it answers signals but runs no more."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as stat:
            return stat.read().rsplit(b")", 1)[1].split()[0] == b"Z"
    except (OSError, IndexError):
        return False  # no /proc (macOS, Windows): signals are all we have


def running_node(home: Home) -> dict[str, Any] | None:
    """``node.json`` of the node running on ``home``, or None if none runs."""
    if not home.node_file.exists():
        return None
    record = read_json(home.node_file)
    try:
        node = msgspec.convert(record, NodeRecord)
    except msgspec.ValidationError as exc:
        raise HomeError(f"{home.node_file} is corrupt ({exc}); if no `podsync up` runs "
                        "on this home, move it away") from None
    if not pid_alive(node.pid):
        return None
    return record
