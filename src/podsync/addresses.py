"""The home's address book (``HOME/addresses.json``) and how addresses are spelled.

The book remembers, for every device of the pod seen so far, the addresses it
was last reachable at (when each was last seen, whether a link over it ever came
up, how it was learned), and the manual peers a member added for networks where
discovery is blocked. It is a hint, like mDNS: the TLS handshake, pinned to the
roster, decides who is at an address.

The running node keeps the book (:mod:`podsync.node.peering`); commands read and
change it on disk when no node runs, so this module imports nothing of the
node's network stack.
"""

from __future__ import annotations

import logging
import time
from pathlib import Path

import msgspec

from podsync.errors import HomeError, UsageError
from podsync.home import Home, atomic_write_json

log = logging.getLogger(__name__)

ADDRESS_BOOK_NAME = "addresses.json"
#: An address not seen for two weeks is dropped. Leases on home and office
#: networks last a day to a week, so an address this old most likely belongs to
#: another machine now; a member back from a long trip is found again by mDNS,
#: or by their own node dialing ours.
ADDRESS_TTL_SECONDS = 14 * 86_400
#: A device with more addresses than this keeps the freshest: a laptop has a
#: handful (IPv4 and IPv6 on Wi-Fi and a cable, a VPN), plus a few old leases.
MAX_ADDRESSES_PER_DEVICE = 12
#: Last-seen times are kept to this resolution on disk: they only serve to drop
#: addresses after ADDRESS_TTL_SECONDS, so refreshing them is not worth a write.
SEEN_RESOLUTION_SECONDS = 3_600.0


class KnownAddress(msgspec.Struct, kw_only=True):
    address: str  # host:port, [v6]:port
    learned: str  # "mdns" | "manual" | "incoming" | "invite": how it was first learned
    last_seen: float  # unix time it was last reported or used
    worked: float | None = None  # unix time a link over it last came up


class _BookFile(msgspec.Struct, kw_only=True):
    version: int = 1
    manual: list[str] = []
    devices: dict[str, list[KnownAddress]] = {}


class AddressBook:
    """The addresses of the pod's devices and the manual peers, for one home."""

    def __init__(self, path: Path, manual: list[str] | None = None,
                 devices: dict[str, list[KnownAddress]] | None = None) -> None:
        self.path = path
        self.manual: list[str] = list(manual or [])
        self.devices: dict[str, list[KnownAddress]] = dict(devices or {})
        self.dirty = False

    @classmethod
    def load(cls, home: Home, now: float | None = None) -> AddressBook:
        """The home's book (empty if there is none). A corrupt file is moved
        aside with a warning: addresses are hints, never worth refusing to start."""
        path = home.root / ADDRESS_BOOK_NAME
        try:
            data = msgspec.json.decode(path.read_bytes(), type=_BookFile)
        except FileNotFoundError:
            data = _BookFile()
        except (OSError, msgspec.DecodeError, msgspec.ValidationError) as exc:
            aside = path.with_name(path.name + ".corrupt")
            log.warning("%s cannot be read (%s); moved to %s, starting with no remembered "
                        "addresses (re-add manual peers with `podsync peer add`)", path, exc, aside)
            path.replace(aside)
            data = _BookFile()
        book = cls(path, data.manual, data.devices)
        book.prune(time.time() if now is None else now)
        return book

    def save(self) -> None:
        try:
            atomic_write_json(self.path, msgspec.to_builtins(
                _BookFile(manual=self.manual, devices=self.devices)))
        except OSError as exc:
            raise HomeError(f"cannot write {self.path}: {exc.strerror or exc}") from None
        self.dirty = False

    def add_manual(self, address: str) -> bool:
        if address in self.manual:
            return False
        self.manual.append(address)
        self.dirty = True
        return True

    def remove_manual(self, address: str) -> bool:
        """Forget a manual peer, and the address wherever only the member put it."""
        if address not in self.manual:
            return False
        self.manual.remove(address)
        for device, entries in list(self.devices.items()):
            self._set(device, [e for e in entries if not (e.address == address and e.learned == "manual")])
        self.dirty = True
        return True

    def learn(self, device_id: str, address: str, how: str, now: float) -> KnownAddress:
        """Record that ``device_id`` was reported at ``address``."""
        entries = self.devices.setdefault(device_id, [])
        for entry in entries:
            if entry.address == address:
                if now - entry.last_seen > SEEN_RESOLUTION_SECONDS:
                    self.dirty = True
                entry.last_seen = max(entry.last_seen, now)
                return entry
        entry = KnownAddress(address=address, learned=how, last_seen=now)
        entries.append(entry)
        if len(entries) > MAX_ADDRESSES_PER_DEVICE:
            entries.remove(min(entries, key=lambda e: (e.worked or 0.0, e.last_seen)))
        self.dirty = True
        return entry

    def confirm(self, device_id: str, address: str, how: str, now: float) -> None:
        """A link over ``address`` proved ``device_id`` is there: it is preferred
        from now on, and no other device is looked for at that address."""
        entry = self.learn(device_id, address, how, now)
        if entry.worked is None or now - entry.worked > SEEN_RESOLUTION_SECONDS:
            self.dirty = True
        entry.worked = now
        for other in list(self.devices):
            if other != device_id:
                self.drop_address(other, address)

    def drop_address(self, device_id: str, address: str) -> None:
        entries = self.devices.get(device_id, [])
        if any(e.address == address for e in entries):
            self._set(device_id, [e for e in entries if e.address != address])
            self.dirty = True

    def forget_device(self, device_id: str) -> None:
        if self.devices.pop(device_id, None) is not None:
            self.dirty = True

    def ranked(self, device_id: str) -> list[str]:
        """The device's addresses, the one a link last came up over first, then
        the most recently seen (ties keep the order discovery ranked them in)."""
        entries = sorted(self.devices.get(device_id, []),
                         key=lambda e: (-(e.worked or 0.0), -round(e.last_seen)))
        return [e.address for e in entries]

    def device_of(self, address: str) -> str | None:
        return next((d for d, entries in self.devices.items()
                     if any(e.address == address for e in entries)), None)

    def prune(self, now: float) -> None:
        for device, entries in list(self.devices.items()):
            fresh = [e for e in entries if max(e.last_seen, e.worked or 0.0) > now - ADDRESS_TTL_SECONDS]
            if len(fresh) != len(entries):
                self._set(device, fresh)
                self.dirty = True

    def _set(self, device_id: str, entries: list[KnownAddress]) -> None:
        if entries:
            self.devices[device_id] = entries
        else:
            self.devices.pop(device_id, None)


def parse_address(text: str, *, what: str = "address") -> tuple[str, int]:
    """``host:port`` (``[v6]:port`` for IPv6) into its parts; UsageError if malformed."""
    host, sep, port_text = text.strip().rpartition(":")
    if not sep or not host or not port_text.isdigit() or not 0 <= int(port_text) <= 65535:
        raise UsageError(f"{what} must look like HOST:PORT, not {text!r}")
    return host.strip("[]"), int(port_text)


def format_address(host: str, port: int) -> str:
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


def normalize_address(text: str, *, what: str = "address") -> str:
    """One spelling per address (``[v6]:port``), so lists compare equal."""
    return format_address(*parse_address(text, what=what))
