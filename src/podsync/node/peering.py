"""Finding the pod's other nodes and keeping one link to each.

The home's address book (:mod:`podsync.addresses`) says where the pod's devices
were last reachable and which manual peers a member added; the node keeps it up
to date while it runs. It is a hint, like mDNS: the TLS handshake, pinned to the
roster, decides who is at an address.

:class:`Peering` runs one :class:`~podsync.net.dialer.Dialer` per known device
(trying its addresses, the one that last worked first) and one per manual
address whose device is not known yet. Exactly one link per pair of devices: a
device's dialer is paused while any link to it is up, incoming or outgoing, and
a dial that reaches a device already linked hangs up. When two nodes dial each
other at the same instant, the sync engine keeps the link dialed by the smaller
device id on both sides; the loser's dialer is then paused like any other.
"""

from __future__ import annotations

import asyncio
import datetime
import ipaddress
import logging
import ssl
import time
from collections.abc import Callable, Iterable
from typing import Any

import aiohttp

from podsync.addresses import AddressBook, format_address, normalize_address, parse_address
from podsync.discovery import DiscoveredPeer
from podsync.errors import HomeError
from podsync.home import Home
from podsync.net.dialer import CLOSE_GRACE_SECONDS, Dialer, Refused
from podsync.net.link import Link, LinkTable
from podsync.node.access import PodAccess
from podsync.trust import roster as roster_mod
from podsync.trust.tls import classify_peer

log = logging.getLogger(__name__)

#: Changes are written this long after the first one, together: mDNS reports and
#: links come in bursts when a member arrives.
SAVE_DELAY_SECONDS = 5.0


def remember_admitter(home: Home, device_id: str, address: str) -> None:
    """After joining: the member who admitted us was at ``address``, so the
    node dials it first when it starts, before any discovery answers."""
    book = AddressBook.load(home)
    book.confirm(device_id, normalize_address(address), "invite", time.time())
    book.save()


class Peering:
    """Dials the pod's other nodes and keeps one link to each (module docstring)."""

    def __init__(self, *, home: Home, device_id: str, access: PodAccess, links: LinkTable,
                 open_peers: Callable[[], Iterable[str]], session: aiohttp.ClientSession,
                 tls: Callable[[], ssl.SSLContext]) -> None:
        self.device_id = device_id
        self.book = AddressBook.load(home)
        self._access = access
        self._links = links
        self._open_peers = open_peers
        self._session = session
        self._tls = tls
        self._run_manual: list[str] = []  # --peer: this run only
        self._device_dialers: dict[str, Dialer] = {}
        self._address_dialers: dict[str, Dialer] = {}
        self._mdns_now: set[tuple[str, str]] = set()  # (device, address) mDNS reported this run
        self._conn_links: dict[int, tuple[str, str, str]] = {}  # conn -> device, address, found_by
        self._last_link: dict[str, tuple[str, str, float]] = {}  # device -> address, found_by, ended
        self._own_addresses: set[str] = set()
        self._save_task: asyncio.Task[None] | None = None
        self._retired: list[Dialer] = []  # still serving their last link
        self._stopped = False

    # -- lifecycle ------------------------------------------------------------

    def start(self, run_peers: Iterable[str] = ()) -> None:
        """Dial every remembered and manual address at once: links come up
        before mDNS has had time to answer."""
        for address in run_peers:
            address = normalize_address(address, what="--peer")
            if address not in self._run_manual:
                self._run_manual.append(address)
        self._reconcile()

    async def stop(self) -> None:
        """Stop dialing; call once the links are being closed, so that our own
        links end with a close handshake rather than being cut."""
        self._stopped = True
        dialers = [*self._device_dialers.values(), *self._address_dialers.values(), *self._retired]
        self._device_dialers.clear()
        self._address_dialers.clear()
        await asyncio.gather(*(d.stop(CLOSE_GRACE_SECONDS) for d in dialers))
        if self._save_task is not None:
            self._save_task.cancel()
        if self.book.dirty:
            self._save_now()

    def _reconcile(self) -> None:
        """One dialer per active device we know an address of, and one per manual
        address no known device claims; none for removed devices."""
        for device in list(self._device_dialers):
            if not self._access.is_active_device(device):
                log.info("no longer dialing %s: it is not an active device of the pod", device)
                self._retire(self._device_dialers.pop(device))
        for device in list(self.book.devices):
            if device == self.device_id:
                self.book.forget_device(device)
            elif self._access.is_active_device(device):
                self._device_dialer(device)
        for address in self.manual_addresses():
            # A removed device's addresses stay in the book (until they age
            # out) so that a manual peer known to be one is not dialed either.
            if self._claimant(address) is None and not self._removed(self.book.device_of(address)):
                self._address_dialer(address)
        self._schedule_save()

    def _removed(self, device_id: str | None) -> bool:
        roster = self._access.roster
        found = roster_mod.device(roster, device_id) if roster is not None and device_id else None
        return found is not None and found.status != "active"

    # -- what we learn --------------------------------------------------------

    def on_discovered(self, peer: DiscoveredPeer) -> None:
        """mDNS saw a node of the pod (the tag matched); the roster decides."""
        if peer.device_id == self.device_id:
            return
        if not self._access.is_active_device(peer.device_id):
            log.debug("mDNS: %s is not an active device of our roster; not dialed", peer.device_id)
            return
        now = time.time()
        for address in peer.addresses:
            self.book.learn(peer.device_id, address, "mdns", now)
            self._mdns_now.add((peer.device_id, address))
        self._device_dialer(peer.device_id).wake()
        self._schedule_save()

    def on_lost(self, device_id: str) -> None:
        self._mdns_now = {(d, a) for d, a in self._mdns_now if d != device_id}

    def roster_changed(self, discovered: Iterable[DiscoveredPeer] = ()) -> None:
        """Devices were admitted or removed: stop dialing the removed, and dial
        the newly admitted that mDNS already saw (it was ignored until now)."""
        self._reconcile()
        for peer in discovered:
            self.on_discovered(peer)

    def set_own_addresses(self, addresses: Iterable[str]) -> None:
        self._own_addresses = set(addresses)

    def wake_all(self) -> None:
        """The computer woke or changed networks: dial every member not linked
        now at once, without waiting out a back-off grown while we were away."""
        for dialer in [*self._device_dialers.values(), *self._address_dialers.values()]:
            dialer.wake()

    # -- manual peers ---------------------------------------------------------

    def manual_addresses(self) -> list[str]:
        return list(dict.fromkeys([*self.book.manual, *self._run_manual]))

    def add_manual(self, address: str, *, persist: bool) -> str:
        """Dial ``address`` now; ``persist`` keeps it across restarts."""
        address = normalize_address(address, what="peer address")
        if persist:
            self.book.add_manual(address)
            self._save_now()
        elif address not in self._run_manual:
            self._run_manual.append(address)
        device = self._claimant(address)
        if device is not None:
            self._device_dialer(device).wake()
        else:
            self._address_dialer(address).wake()
        return address

    def remove_manual(self, address: str) -> bool:
        address = normalize_address(address, what="peer address")
        removed = self.book.remove_manual(address)
        if address in self._run_manual:
            self._run_manual.remove(address)
            removed = True
        dialer = self._address_dialers.pop(address, None)
        if dialer is not None:
            self._retire(dialer)
        if removed:
            self._save_now()
        return removed

    def manual_status(self) -> list[dict[str, Any]]:
        out = []
        for address in self.manual_addresses():
            device = self._claimant(address)
            link = next((lk for lk in self._live_links(device) if lk.address == address), None) \
                if device is not None else None
            dialer = self._address_dialers.get(address) or (
                self._device_dialers.get(device) if device is not None else None)
            error = dialer.last_error if dialer is not None and dialer.address == address else None
            out.append({"address": address, "saved": address in self.book.manual,
                        "device_id": device,
                        "member_id": self._access.member_of(device) if device else None,
                        "connected": link is not None,
                        "last_error": None if link is not None else error})
        return out

    # -- dialers --------------------------------------------------------------

    def _device_dialer(self, device_id: str) -> Dialer:
        dialer = self._device_dialers.get(device_id)
        if dialer is None:
            dialer = Dialer(lambda: self._candidates(device_id), self._session, self._links.serve,
                            tls=self._tls, name=device_id,
                            authorize=lambda address, tls_object: self._authorize(address, tls_object))
            self._device_dialers[device_id] = dialer
            self._refresh(device_id)
            self._start(dialer)
        return dialer

    def _address_dialer(self, address: str) -> Dialer:
        dialer = self._address_dialers.get(address)
        if dialer is None:
            dialer = Dialer(lambda: [] if address in self._own_addresses else [address],
                            self._session, self._links.serve, tls=self._tls, name=address,
                            authorize=lambda addr, tls_object: self._authorize(addr, tls_object))
            self._address_dialers[address] = dialer
            self._start(dialer)
        return dialer

    def _start(self, dialer: Dialer) -> None:
        if not self._stopped:  # an incoming link or an API call during shutdown
            dialer.start()

    def _retire(self, dialer: Dialer) -> None:
        dialer.retire()
        self._retired = [d for d in self._retired if not d.done] + [dialer]

    def _candidates(self, device_id: str) -> list[str]:
        if not self._access.is_active_device(device_id):
            return []
        return [a for a in self.book.ranked(device_id) if a not in self._own_addresses]

    def _claimant(self, address: str) -> str | None:
        device = self.book.device_of(address)
        return device if device is not None and self._access.is_active_device(device) else None

    def _authorize(self, address: str, tls_object: ssl.SSLObject | None) -> str:
        """After the TLS handshake of one of our dials: who is there, and may
        this link go on."""
        check = classify_peer(tls_object, self._access.roster)
        device = check.device_id
        if device == self.device_id:
            self._own_addresses.add(address)
            for other in list(self.book.devices):
                self.book.drop_address(other, address)
            raise Refused("that address is this node itself")
        if check.status != "member" or device is None:
            # Whoever we were looking for is not there any more.
            for other in list(self.book.devices):
                self.book.drop_address(other, address)
            self._schedule_save()
            raise Refused("the node there is not an active member of this pod")
        self.book.confirm(device, address, self._learned_as(address), time.time())
        self._schedule_save()
        claimed = self._address_dialers.pop(address, None)
        if claimed is not None:
            # From now on the device's own dialer tries this address.
            self._retire(claimed)
        if self._linked(device):
            self._device_dialer(device)
            raise Refused("already linked to that device")
        return device

    def _learned_as(self, address: str) -> str:
        """How ``address`` came to be dialed: as some device's known address, or
        else as a manual peer (the only addresses dialed before they are known)."""
        return next((e.learned for entries in self.book.devices.values() for e in entries
                     if e.address == address), "manual")

    def _linked(self, device_id: str) -> bool:
        """A link to the device is open, or one of ours is on its way: a second
        would only replace it."""
        return device_id in set(self._open_peers()) or any(
            link.role == "dialer" for link in self._live_links(device_id))

    def _live_links(self, device_id: str | None) -> list[Link]:
        return [link for link in self._links.links.values()
                if link.endpoint == "peer" and link.device_id == device_id and link.close_reason is None]

    def _refresh(self, device_id: str) -> None:
        """Pause the device's dialer while a link to it is up; resume when none is."""
        dialer = self._device_dialers.get(device_id)
        if dialer is None:
            return
        if self._live_links(device_id):
            dialer.pause()
        else:
            dialer.resume()

    # -- links ----------------------------------------------------------------

    def link_opened(self, link: Link) -> None:
        if link.endpoint != "peer" or link.device_id is None:
            return
        self._conn_links[link.conn] = (link.device_id, link.address, self.found_by(link))
        if link.role == "acceptor":
            self._learn_incoming(link.device_id, link.address)
        if link.device_id not in self._device_dialers and self._access.is_active_device(link.device_id):
            self._device_dialer(link.device_id)
        self._refresh(link.device_id)

    def link_closed(self, conn: int) -> None:
        opened = self._conn_links.pop(conn, None)
        if opened is None:
            return
        device, address, found_by = opened
        self._last_link[device] = (address, found_by, time.time())
        self._refresh(device)

    def _learn_incoming(self, device_id: str, remote: str) -> None:
        """A member dialed us from ``remote`` (its port is ephemeral): it likely
        listens on that host at the port we know for it, so remember that too."""
        ranked = self.book.ranked(device_id)
        if not ranked:
            return
        try:
            host = ipaddress.ip_address(parse_address(remote)[0].split("%")[0])
        except ValueError:
            return
        if isinstance(host, ipaddress.IPv6Address) and host.ipv4_mapped is not None:
            host = host.ipv4_mapped
        if host.is_link_local or host.is_loopback:
            return  # link-local needs our interface's scope; loopback is this machine
        address = format_address(str(host), parse_address(ranked[0])[1])
        if self.book.device_of(address) in (None, device_id):
            self.book.learn(device_id, address, "incoming", time.time())
            self._schedule_save()

    def found_by(self, link: Link) -> str:
        if link.role == "acceptor":
            return "incoming"
        return self._how(link.device_id, link.address)

    def _how(self, device_id: str | None, address: str) -> str:
        if address in self.manual_addresses():
            return "manual"
        if device_id is not None and (device_id, address) in self._mdns_now:
            return "mdns"
        return "remembered"

    # -- status ---------------------------------------------------------------

    def status(self, connected: dict[str, tuple[str, str, float]]) -> list[dict[str, Any]]:
        """One entry per known device, connected or not, then the manual
        addresses no device is known at. ``connected``: device -> (address,
        found_by, since) of its open link."""
        devices = [d for d in [*self.book.devices, *self._last_link, *connected]
                   if d != self.device_id and (d in connected or self._access.is_active_device(d))]
        out = []
        for device in dict.fromkeys(devices):
            dialer = self._device_dialers.get(device)
            entry: dict[str, Any] = {"device_id": device, "member_id": self._access.member_of(device),
                                     "links": len(self._live_links(device))}
            if device in connected:
                address, found_by, since = connected[device]
                entry.update(address=address, found_by=found_by, connected=True,
                             since=_iso(since), last_error=None)
            else:
                last = self._last_link.get(device)
                ranked = self.book.ranked(device)
                address = (dialer.address if dialer is not None and dialer.address else None) \
                    or (ranked[0] if ranked else None) or (last[0] if last else "")
                found_by = last[1] if last is not None and last[0] == address else self._how(device, address)
                entry.update(address=address, found_by=found_by, connected=False,
                             since=_iso(last[2]) if last else None,
                             last_error=dialer.last_error if dialer is not None else None)
            out.append(entry)
        for address in self.manual_addresses():
            if self._claimant(address) is None:
                dialer = self._address_dialers.get(address)
                out.append({"device_id": None, "member_id": None, "address": address, "found_by": "manual",
                            "connected": False, "since": None, "links": 0,
                            "last_error": dialer.last_error if dialer is not None else None})
        return out

    # -- saving ---------------------------------------------------------------

    def _schedule_save(self) -> None:
        if self.book.dirty and (self._save_task is None or self._save_task.done()):
            self._save_task = asyncio.get_running_loop().create_task(self._save_later())

    async def _save_later(self) -> None:
        await asyncio.sleep(SAVE_DELAY_SECONDS)
        self._save_now()

    def _save_now(self) -> None:
        try:
            self.book.save()
        except HomeError as err:
            log.warning("addresses not saved: %s", err)


def _iso(ts: float) -> str:
    return datetime.datetime.fromtimestamp(ts, datetime.timezone.utc).isoformat(timespec="seconds")
