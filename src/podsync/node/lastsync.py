"""When this node last heard from each device of the pod over a sync link.

``podsync status`` shows it per member ("last synced with Bo 2 hours ago"), so
it survives restarts: kept in ``HOME/last-synced.json``, written now and then
and when the node stops. Only the time of the last sync message counts: a link
that comes up exchanges its heads at once, so a link means a sync.
"""

from __future__ import annotations

import asyncio
import logging
import time
from pathlib import Path

import msgspec

from podsync.home import Home, atomic_write

log = logging.getLogger(__name__)

SYNC_TIMES_NAME = "last-synced.json"
#: The times are for people ("an hour ago"): losing the last minute of them to
#: a crash costs nothing, so they are written at most this often.
SAVE_INTERVAL_SECONDS = 60.0
#: Devices remembered; a pod has at most a few hundred devices, and an entry for
#: a device not heard from since the oldest of these is of no use to anyone.
MAX_DEVICES = 1000


class Heard(msgspec.Struct):
    member_id: str | None
    at: float  # unix time


class _File(msgspec.Struct):
    version: int = 1
    devices: dict[str, Heard] = {}


class SyncTimes:
    def __init__(self, path: Path, devices: dict[str, Heard] | None = None) -> None:
        self.path = path
        self.devices: dict[str, Heard] = dict(devices or {})
        self.dirty = False

    @classmethod
    def load(cls, home: Home) -> SyncTimes:
        """The home's record; a missing or unreadable one starts empty (these
        are hints for people, never worth refusing to start over)."""
        path = home.root / SYNC_TIMES_NAME
        try:
            data = msgspec.json.decode(path.read_bytes(), type=_File)
        except FileNotFoundError:
            data = _File()
        except (OSError, msgspec.DecodeError, msgspec.ValidationError) as exc:
            log.warning("%s cannot be read (%s); last-synced times start afresh", path, exc)
            data = _File()
        return cls(path, data.devices)

    def heard(self, device_id: str, member_id: str | None, now: float) -> None:
        entry = self.devices.get(device_id)
        if entry is None:
            if len(self.devices) >= MAX_DEVICES:
                del self.devices[min(self.devices, key=lambda d: self.devices[d].at)]
            self.devices[device_id] = Heard(member_id, now)
        else:
            entry.at = now
            entry.member_id = member_id or entry.member_id
        self.dirty = True

    def of(self, device_id: str | None) -> str | None:
        """ISO 8601 time of the last sync with ``device_id``, if there was one."""
        entry = self.devices.get(device_id) if device_id else None
        return iso(entry.at) if entry is not None else None

    def by_member(self) -> dict[str, str]:
        """Each member's latest time over all their devices (ISO 8601)."""
        latest: dict[str, float] = {}
        for entry in self.devices.values():
            if entry.member_id is not None:
                latest[entry.member_id] = max(entry.at, latest.get(entry.member_id, 0.0))
        return {member: iso(at) for member, at in latest.items()}

    def save(self) -> None:
        if not self.dirty:
            return
        try:
            atomic_write(self.path, msgspec.json.encode(_File(devices=self.devices)))
        except OSError as exc:
            log.warning("last-synced times not saved: %s", exc)
            return
        self.dirty = False

    async def run(self) -> None:
        """Save every :data:`SAVE_INTERVAL_SECONDS` while the node runs."""
        while True:
            await asyncio.sleep(SAVE_INTERVAL_SECONDS)
            self.save()


def iso(ts: float) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%S+00:00", time.gmtime(ts))
