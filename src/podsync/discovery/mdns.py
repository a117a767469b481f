"""Finding the pod's other nodes on the local network with mDNS / DNS-SD.

Each node advertises ``<device id>._podsync._tcp.local.`` with its peer port and
a TXT record ``pv`` (protocol version), ``id`` (device id) and ``tag`` (the pod
tag, see :mod:`podsync.discovery.tag`), browses for the same service type, and
reports the nodes of its own pod. Discovery is only a hint: the TLS handshake,
pinned to the roster, decides who a peer really is, and manual or remembered
addresses work without it. So nothing here ever raises into the node: zeroconf
failures are logged and retried with backoff.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import logging
from collections.abc import Callable, Sequence
from typing import Any

import msgspec
from zeroconf import InterfaceChoice, ServiceStateChange, Zeroconf
from zeroconf.asyncio import AsyncServiceBrowser, AsyncServiceInfo, AsyncZeroconf

from podsync.discovery import netview
from podsync.discovery.tag import pod_tag, tag_epoch, tag_matches
from podsync.net.trouble import is_network_trouble

log = logging.getLogger(__name__)

SERVICE_TYPE = "_podsync._tcp.local."
PROTOCOL_VERSION = "1"
# How often interfaces are re-read. Nothing tells a process that a laptop has
# joined a network, so it polls: Anytype polls every 5 s; one ifaddr call per
# 30 s costs nothing and a member who arrives is found within half a minute.
RESCAN_INTERVAL = 30.0
# Zeroconf's own default for resolving a service (3 s): the owner answers
# within a few hundred milliseconds when it is reachable at all.
RESOLVE_TIMEOUT_MS = 3000
# Retry a failed mDNS session after 1 s, doubling up to 60 s. As Syncthing puts
# it, an error to open a socket is usually permanent or slow to resolve, so
# retrying frenetically only fills the log.
MIN_BACKOFF = 1.0
MAX_BACKOFF = 60.0
# Goodbye packets take about half a second to send; a wedged socket must not
# hold up the node's shutdown for longer than this.
STOP_TIMEOUT = 5.0
# DNS labels are at most 63 bytes (RFC 1035 section 2.3.4).
_MAX_LABEL = 63


class DiscoveredPeer(msgspec.Struct, frozen=True):
    """A node of our pod seen on the local network.

    ``addresses`` are ``host:port`` strings, most promising first; IPv6 hosts
    are bracketed and link-local ones carry our interface index as scope
    (``[fe80::1%2]:7000``).
    """

    device_id: str
    addresses: list[str]
    via: str = "mdns"


def _instance_name(device_id: str) -> str:
    label = device_id.encode()[:_MAX_LABEL].decode(errors="ignore") or "podsync"
    return f"{label}.{SERVICE_TYPE}"


def _host_name(device_id: str) -> str:
    # A name of our own for the A/AAAA records: the machine's own hostname may
    # already be advertised by avahi or Bonjour with other addresses.
    return f"podsync-{hashlib.sha256(device_id.encode()).hexdigest()[:16]}.local."


class Discovery:
    """Advertise this node and report the pod's other nodes as they appear.

    ``on_found`` is called with a :class:`DiscoveredPeer` when a node of the pod
    is resolved, and again when its addresses change or after our own network
    changed; treat it as "this peer can be reached here now". ``on_lost`` is
    called with the device id when its advertisement is withdrawn (goodbye) or
    expires. Both run on the event loop and must not block.

    ``interfaces`` is ``InterfaceChoice.All`` (every interface but loopback) or
    a list of interface names. IPv4 and IPv6 are both used where available; an
    interface whose IPv6 address cannot be bound runs on IPv4 alone.

    ``peers`` maps the device ids currently known to their last report.
    ``foreign_seen`` holds the instance names of podsync services seen that are
    not of our pod (or speak another protocol version); they are never reported.
    """

    def __init__(
        self,
        device_id: str,
        pod_secret: bytes,
        port: int,
        on_found: Callable[[DiscoveredPeer], None],
        on_lost: Callable[[str], None] | None = None,
        interfaces: InterfaceChoice | Sequence[str] = InterfaceChoice.All,
        *,
        rescan_interval: float = RESCAN_INTERVAL,
    ) -> None:
        if not pod_secret:
            raise ValueError("pod secret is empty")
        self.device_id = device_id
        self.port = port
        self.foreign_seen: set[str] = set()
        self.peers: dict[str, DiscoveredPeer] = {}
        self._pod_secret = pod_secret
        self._on_found = on_found
        self._on_lost = on_lost
        self._interface_names: list[str] | None
        if interfaces is InterfaceChoice.All:
            self._interface_names = None
        elif isinstance(interfaces, InterfaceChoice):
            raise ValueError("interfaces must be InterfaceChoice.All or a list of interface names")
        elif isinstance(interfaces, str):
            self._interface_names = [interfaces]
        else:
            self._interface_names = list(interfaces)
        self._rescan_interval = rescan_interval
        self._names: dict[str, str] = {}  # instance name -> device id, same pod only
        self._resolving: set[asyncio.Task[None]] = set()
        self._networks: tuple[netview.Network, ...] = ()
        self._stopping = asyncio.Event()
        self._poke = asyncio.Event()  # stop() or refresh() was called
        self._refresh_requested = False
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        """Start advertising and browsing in the background; returns at once."""
        if self._task is not None:
            return
        self._stopping = asyncio.Event()
        self._poke = asyncio.Event()
        self._task = asyncio.create_task(self._supervise(), name="podsync-discovery")

    async def stop(self) -> None:
        """Withdraw our advertisement (goodbye packets) and stop browsing."""
        task, self._task = self._task, None
        if task is None:
            return
        self._stopping.set()
        self._poke.set()
        try:
            await asyncio.wait_for(task, STOP_TIMEOUT)
        except asyncio.TimeoutError:
            log.warning("mDNS did not stop within %.0f s; abandoned", STOP_TIMEOUT)

    async def _supervise(self) -> None:
        backoff = MIN_BACKOFF
        while not self._stopping.is_set():
            try:
                ran = await self._session()
            except Exception as exc:
                if is_network_trouble(exc):
                    log.warning("mDNS: the network is not reachable (%s); retrying in %.0f s", exc, backoff)
                else:
                    log.warning("mDNS discovery failed; retrying in %.0f s", backoff, exc_info=True)
                await self._sleep(backoff)
                backoff = min(backoff * 2, MAX_BACKOFF)
            else:
                if ran:
                    backoff = MIN_BACKOFF

    def refresh(self) -> None:
        """Announce ourselves and browse afresh now, as on a new network: after
        the computer slept, the peers' caches may have dropped our records and
        ours theirs. Starts a new mDNS session without saying goodbye."""
        self._refresh_requested = True
        self._poke.set()

    async def _sleep(self, seconds: float) -> bool:
        """Wait ``seconds`` or until stop() or refresh(); True if stop() was called."""
        with contextlib.suppress(asyncio.TimeoutError):
            await asyncio.wait_for(self._poke.wait(), seconds)
        if not self._stopping.is_set():
            self._poke.clear()
        return self._stopping.is_set()

    async def _session(self) -> bool:
        """Run one zeroconf instance until stop() or until the set of addresses
        to listen on changes (zeroconf joins multicast groups per interface at
        start, so a new interface needs a new instance). False if there was
        no address to run on."""
        self._refresh_requested = False  # this session is the fresh start
        view = netview.scan(self._interface_names)
        if not view.bind:
            log.debug("mDNS: no network address yet; looking again in %.0f s", self._rescan_interval)
            await self._sleep(self._rescan_interval)
            return False
        log.info("mDNS: advertising %s on %s", self.device_id, ", ".join(view.advertised))
        self._networks = view.networks
        aiozc = AsyncZeroconf(interfaces=sorted(view.bind))
        browser: AsyncServiceBrowser | None = None
        try:
            browser = AsyncServiceBrowser(aiozc.zeroconf, SERVICE_TYPE, handlers=[self._on_state_change])
            epoch = tag_epoch()
            info = self._service_info(_instance_name(self.device_id), view.advertised, epoch)
            # The second await waits for the announcements to go out, so any
            # error surfaces in this supervised session, not an orphan future.
            await (await aiozc.async_register_service(info, allow_name_change=True))
            while not await self._sleep(self._rescan_interval):
                if self._refresh_requested:
                    self._refresh_requested = False
                    log.info("mDNS: announcing afresh")
                    break
                new = netview.scan(self._interface_names)
                if new.bind != view.bind:
                    log.info("mDNS: network addresses changed; restarting")
                    break
                if new.advertised != view.advertised or tag_epoch() != epoch:
                    epoch = tag_epoch()
                    info = self._service_info(info.name, new.advertised, epoch)
                    await (await aiozc.async_update_service(info))
                self._networks = new.networks
                view = new
        finally:
            for task in self._resolving:
                task.cancel()
            self._names.clear()
            self.peers.clear()
            if browser is not None:
                await browser.async_cancel()
            if not self._stopping.is_set():
                # Restarting, not leaving: no goodbye. Our next announcement
                # replaces our records in the peers' caches (cache-flush bit,
                # RFC 6762 section 10.2); a goodbye would only make them
                # report us lost and found again.
                registry = aiozc.zeroconf.registry
                registry.async_remove(registry.async_get_service_infos())
            await aiozc.async_close()  # unregisters what is left: goodbye packets
        return True

    def _service_info(self, name: str, addresses: Sequence[str], epoch: int) -> AsyncServiceInfo:
        return AsyncServiceInfo(
            SERVICE_TYPE,
            name,
            port=self.port,
            properties={
                "pv": PROTOCOL_VERSION,
                "id": self.device_id,
                "tag": pod_tag(self._pod_secret, self.device_id, epoch),
            },
            server=_host_name(self.device_id),
            parsed_addresses=list(addresses),
        )

    def _on_state_change(
        self, zeroconf: Zeroconf, service_type: str, name: str, state_change: ServiceStateChange
    ) -> None:
        if state_change is ServiceStateChange.Removed:
            device_id = self._names.pop(name, None)
            if device_id is not None and self.peers.pop(device_id, None) is not None:
                log.info("mDNS: %s withdrew its advertisement", device_id)
                if self._on_lost is not None:
                    _call(self._on_lost, device_id)
            return
        task = asyncio.create_task(self._resolve(zeroconf, name))
        self._resolving.add(task)
        task.add_done_callback(self._resolving.discard)

    async def _resolve(self, zeroconf: Zeroconf, name: str) -> None:
        info = AsyncServiceInfo(SERVICE_TYPE, name)
        try:
            if not await info.async_request(zeroconf, RESOLVE_TIMEOUT_MS):
                log.debug("mDNS: %s did not resolve", name)
                return
        except Exception:
            log.debug("mDNS: resolving %s failed", name, exc_info=True)
            return
        props = info.decoded_properties
        device_id, tag = props.get("id"), props.get("tag")
        if device_id == self.device_id:
            return
        if (
            props.get("pv") != PROTOCOL_VERSION
            or not device_id
            or not tag
            or not tag_matches(self._pod_secret, device_id, tag)
        ):
            if name not in self.foreign_seen:
                log.debug("mDNS: %s is not of this pod (pv=%s); ignored", name, props.get("pv"))
                self.foreign_seen.add(name)
            return
        addresses = netview.rank_addresses(info.parsed_scoped_addresses(), info.port or 0, self._networks)
        if not addresses or not info.port:
            log.debug("mDNS: %s advertises no usable address", device_id)
            return
        peer = DiscoveredPeer(device_id, addresses)
        self._names[name] = device_id
        if self.peers.get(device_id) != peer:
            self.peers[device_id] = peer
            log.info("mDNS: found %s at %s", device_id, ", ".join(addresses))
            _call(self._on_found, peer)


def _call(callback: Callable[[Any], None], arg: Any) -> None:
    """A failing callback is the caller's bug; it must not stop discovery."""
    try:
        callback(arg)
    except Exception:
        log.exception("mDNS discovery callback %r failed", callback)
