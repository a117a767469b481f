"""One running node and its lifecycle: start, serve, stop with everything flushed."""

from __future__ import annotations

import asyncio
import ctypes
import ctypes.util
import datetime
import logging
import os
import socket
import ssl
import time
from dataclasses import dataclass, field
from typing import Any

import aiohttp
import ifaddr
import msgspec
from aiohttp import web

from podsync import __version__
from podsync.addresses import format_address, normalize_address, parse_address
from podsync.api import ops as api_ops
from podsync.api import ops_mobilizing as follow
from podsync.api.context import PodContext, open_ledger
from podsync.api.server import MAX_BODY_BYTES, Api, error_response, json_errors
from podsync.api.views import VIEWS_SAVE_SECONDS
from podsync.config import Config, load_config
from podsync.errors import InvalidInput, PodsyncError, UsageError
from podsync.home import Home, atomic_write_json
from podsync.ids import document_url, hex_heads
from podsync.discovery import Discovery
from podsync.net import LOCAL_WS_PATH, Link, LinkTable, websocket_handler
from podsync.net.trouble import quiet_network_trouble
from podsync.node.access import NodePolicy, PodAccess
from podsync.node.lastsync import SyncTimes, iso
from podsync.node.peering import Peering
from podsync.node.wake import WakeWatch
from podsync.repo import ChangeEvent, Repo
from podsync.store import DocumentStore
from podsync.sync import Effect, PeerConnected, PeerDisconnected
from podsync.records.book import RECORDS_IDLE_SECONDS
from podsync.records.format import Record
from podsync.records.verify import Signer
from podsync.sync.intake import Measured
from podsync.trust import join as join_mod
from podsync.trust import membership
from podsync.trust import roster as roster_mod
from podsync.trust import saved as saved_readers
from podsync.trust.ledger import LEGACY_MESSAGE, LegacyPod
from podsync.trust.identity import (
    DeviceIdentity,
    device_id_from_cert_der,
    load_api_token,
    load_identity,
    load_pod_secret,
    load_signing_key,
)
from podsync.trust.tls import classify_peer, client_context, server_context

log = logging.getLogger(__name__)

#: The peer endpoint listens on every interface so pod members on the LAN can
#: reach it; a fixed port lets remembered addresses stay valid across restarts.
DEFAULT_LISTEN = "0.0.0.0:7850"
#: The API, the UI and the local apps' endpoint are for this computer only.
DEFAULT_API = "127.0.0.1:7851"
LOOPBACK_HOSTS = {"127.0.0.1", "::1", "localhost"}
WILDCARD_HOSTS = {"0.0.0.0", "::", "*"}


@dataclass
class NodeOptions:
    listen: str = DEFAULT_LISTEN
    api: str = DEFAULT_API
    peers: list[str] = field(default_factory=list)
    discovery: bool = True


@dataclass
class PeerRecord:
    """A connected automerge-repo peer (another node, or a local app)."""

    peer_id: str
    conn: int
    endpoint: str
    address: str
    found_by: str
    member_id: str | None
    since: float


class Node:
    """A podsync node for one home."""

    def __init__(self, home: Home, options: NodeOptions | None = None) -> None:
        self.home = home
        self.options = options or NodeOptions()
        self.identity: DeviceIdentity
        self.config: Config
        self.store: DocumentStore
        self.repo: Repo
        self.access: PodAccess
        self.context: PodContext
        self.token = ""
        self.listen_addresses: list[str] = []
        self.api_address = ""
        self._links = LinkTable(self._on_frame, self._on_link_open, self._on_link_closed,
                                self._on_backlog)
        self._peers: dict[int, PeerRecord] = {}
        self.peering: Peering
        self._discovery: Discovery | None = None
        self.sync_times = SyncTimes.load(home)
        self.wake = WakeWatch(self._on_wake)
        self._runners: list[web.AppRunner] = []
        self._tasks: list[asyncio.Task[None]] = []
        self._session: aiohttp.ClientSession | None = None
        self._started = False
        self._repairs: set[asyncio.Task[None]] = set()
        self._policy_pending = False
        #: Set once the pod's items are derived after the start (or that failed).
        self.warmed = asyncio.Event()
        self._following: asyncio.Task[None] | None = None
        self._follow_again = False

    # -- lifecycle ------------------------------------------------------------

    async def start(self) -> None:
        quiet_network_trouble()
        self.identity = load_identity(self.home)
        self.config = load_config(self.home)
        self.token = load_api_token(self.home)
        run_peers = [normalize_address(a, what="--peer") for a in self.options.peers]
        signer = Signer(load_signing_key(self.home), self.identity.device_id)
        self.store = DocumentStore(self.home.db_path)
        try:
            self.policy = policy = NodePolicy(self._link_of_peer, lambda d: self.repo.has(d))
            self.repo = Repo(self.store, self.identity.device_id, policy)
            # Before anything reads them: a document that does not load is set
            # aside here, and the node serves everything else.
            self.repo.open_stored()
            self.ledger = open_ledger(self.config, self.repo, signer)
            if self.ledger.is_legacy():
                raise LegacyPod(LEGACY_MESSAGE)
            self.access = policy.access = PodAccess(self.ledger)
            policy.first = frozenset({self.config.pod_id})
            # Records the store has not read from their documents yet (a crash
            # between a document's write and its records' write, a document
            # written by something other than a node), then who reads each held
            # document, before any link asks.
            self.ledger.catch_up()
            self.ledger.establish(self.repo.held_ids())
            self.repo.transport = self._on_transport_effect
            self.repo.listeners.append(self._on_document_change)
            self.context = PodContext(self.home, self.repo, self.config, self.identity,
                                      self.ledger, node=self)
            # Before the servers: the first incoming link already counts.
            self._session = aiohttp.ClientSession()
            self.peering = Peering(home=self.home, device_id=self.identity.device_id, access=self.access,
                                   links=self._links, open_peers=self._open_peer_ids,
                                   session=self._session, tls=self._client_tls)
            await self._start_servers()
        except BaseException:
            for runner in self._runners:
                await runner.cleanup()
            if self._session is not None:
                await self._session.close()
            self.store.close()
            raise
        self.peering.set_own_addresses([*self.listen_addresses, *self.reachable_addresses()])
        self.peering.start(run_peers)
        if self.options.discovery:
            await self._start_discovery()
        await self._start_relays()
        self._tasks.append(asyncio.get_running_loop().create_task(self.repo.run_timers()))
        self._tasks.append(asyncio.get_running_loop().create_task(self.wake.run()))
        self._tasks.append(asyncio.get_running_loop().create_task(self.sync_times.run()))
        self._tasks.append(asyncio.get_running_loop().create_task(self._warm_views()))
        self._tasks.append(asyncio.get_running_loop().create_task(self._keep_views()))
        self._tasks.append(asyncio.get_running_loop().create_task(self._forget_idle_records()))
        self._started = True
        # Outcomes confirmed while this node was down, or before it carried them out.
        self._follow()
        atomic_write_json(self.home.node_file, self.runtime_info())
        log.info("node %s up: peers on %s, api on %s", self.identity.device_id,
                 ", ".join(self.listen_addresses), self.api_address)

    async def _warm_views(self) -> None:
        """Derive the pod's items in the background, so the first listing a member
        asks for is answered from the cache (:mod:`podsync.api.views`)."""
        api_ops.all_ops()  # registers every listed kind
        started = time.monotonic()
        try:
            await self.context.views.warm(self.context.now)
        except PodsyncError as err:
            log.info("items not derived ahead: %s", err)
        else:
            log.info("derived the pod's items in %.2f s", time.monotonic() - started)
        finally:
            self.warmed.set()

    async def _keep_views(self) -> None:
        """Save the derived views in the store once warmed, then whenever they
        changed, and who reads each private document where that changed, for
        commands run while no node runs (:mod:`podsync.api.views`,
        :mod:`podsync.trust.saved`): a node killed rather than stopped leaves
        them at most this old."""
        await self.warmed.wait()
        while True:
            self._keep_for_commands()
            await asyncio.sleep(VIEWS_SAVE_SECONDS)

    def _keep_for_commands(self) -> None:
        """Save the views that changed, and who reads each private document where
        that changed, for commands run while no node runs."""
        self.context.views.save(self.context.now())
        saved_readers.keep(self.ledger, self.repo.held_ids())

    async def _forget_idle_records(self) -> None:
        """Let go, now and then, of the records of documents nobody used (they stay
        in the store): a node holding thousands of documents keeps in memory the
        records of those in use (:meth:`podsync.records.book.RecordBook.sweep`)."""
        while True:
            await asyncio.sleep(RECORDS_IDLE_SECONDS)
            gone = self.ledger.forget_idle()
            if gone:
                log.debug("let go of the records of %d idle documents", len(gone))
                return_freed_memory()

    async def stop(self) -> None:
        """Close every link, store everything received, and remove node.json."""
        if not self._started:
            return
        self._started = False
        self.home.node_file.unlink(missing_ok=True)
        if self._discovery is not None:
            await self._discovery.stop()
        # Stop accepting first: a peer redialing during shutdown must not get a
        # link after the store is closed (links that still open are refused).
        for runner in self._runners:
            for site in list(runner.sites):
                await site.stop()
        await self.peering.stop()
        await self.relays.stop()
        self._links.close_all("node is shutting down")
        await self.policy.settle()
        await self._settle_repairs()
        if self._following is not None:
            await asyncio.gather(self._following, return_exceptions=True)
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        for runner in self._runners:
            await runner.cleanup()
        if self._session is not None:
            await self._session.close()
        await self.repo.flush()
        self._keep_for_commands()
        self.store.close()
        self.sync_times.save()

    async def _start_servers(self) -> None:
        peer_host, peer_port = parse_address(self.options.listen, what="--listen")
        api_host, api_port = parse_address(self.options.api, what="--api")
        if api_host not in LOOPBACK_HOSTS:
            raise UsageError(f"--api must be a loopback address (127.0.0.1 or ::1), not {api_host!r}")

        peer_app = web.Application(client_max_size=join_mod.MAX_JOIN_REQUEST_BYTES)
        peer_app.router.add_get("/", websocket_handler("peer", self._links.serve,
                                                       authorize=self._authorize_incoming))
        peer_app.router.add_post(join_mod.JOIN_PATH, self._handle_join)
        api_app = web.Application(middlewares=[json_errors], client_max_size=MAX_BODY_BYTES)
        api_app.router.add_get(LOCAL_WS_PATH, websocket_handler("local", self._links.serve, token=self.token))
        Api(self.context, self.token, self.status).add_routes(api_app)
        self.add_ui_routes(api_app)

        tls = server_context(self.identity, self.access.active_certs)
        peer_sockets = await self._run_app(peer_app, peer_host, peer_port, "--listen", tls)
        api_sockets = await self._run_app(api_app, api_host, api_port, "--api", None)
        self.listen_addresses = [_format_sockname(s) for s in peer_sockets]
        self.api_address = _format_sockname(api_sockets[0])

    async def _start_relays(self) -> None:
        """The relays the pod lists: a second path to members elsewhere (:mod:`podsync.relay`)."""
        from podsync.relay.service import RelayService  # noqa: PLC0415
        assert self._session is not None
        self.relays = RelayService(self.home, self.config, self.identity.device_id, self.ledger,
                                   self.repo, self._session)
        self.repo.listeners.append(self.relays.document_changed)
        await self.relays.start()

    def add_ui_routes(self, app: web.Application) -> None:
        """The web UI's pages, static files and invite QR code (:mod:`podsync.web`)."""
        from podsync.web import add_routes  # noqa: PLC0415
        add_routes(app, self.token)

    async def _run_app(self, app: web.Application, host: str, port: int, what: str,
                       tls: ssl.SSLContext | None) -> list[Any]:
        runner = web.AppRunner(app, access_log=None, handle_signals=False)
        await runner.setup()
        # "*" means every interface, IPv4 and IPv6 alike.
        site = web.TCPSite(runner, None if host == "*" else host, port, ssl_context=tls)
        try:
            await site.start()
        except OSError as exc:
            await runner.cleanup()
            raise PodsyncError(f"cannot listen on {host}:{port} for {what}: {exc.strerror or exc}; "
                               f"pass {what} HOST:0 to pick a free port") from None
        self._runners.append(runner)
        server = site._server  # aiohttp exposes the bound sockets only here
        return list(server.sockets) if server is not None else []

    def reachable_addresses(self) -> list[str]:
        """Addresses other devices can dial us at (wildcards expanded to this host's)."""
        out: list[str] = []
        for address in self.listen_addresses:
            host, port = parse_address(address)
            if host not in WILDCARD_HOSTS:
                out.append(address)
                continue
            for adapter in ifaddr.get_adapters():
                for ip in adapter.ips:
                    if isinstance(ip.ip, str) and not ip.ip.startswith("127."):
                        out.append(format_address(ip.ip, port))
        return out[:8] or self.listen_addresses[:1]

    # -- dialing --------------------------------------------------------------

    def dial(self, address: str) -> None:
        """Dial ``address`` for this run, as ``--peer`` does (not remembered).
        Only manual addresses are dialed before their device is known."""
        self.peering.add_manual(address, persist=False)

    def _client_tls(self) -> ssl.SSLContext:
        return client_context(self.identity, None, self.access.active_certs)

    def _open_peer_ids(self) -> list[str]:
        """Devices with an open peer link (a local app's link counts for none)."""
        return [info.peer_id for info in self.repo.engine.peers()
                if (link := self._links.links.get(info.conn)) is not None and link.endpoint == "peer"]

    async def _start_discovery(self) -> None:
        """Advertise on and browse the LAN with mDNS, unless the peer endpoint
        listens on loopback only (nobody on the LAN could dial it)."""
        host, port = parse_address(self.listen_addresses[0])
        if host in LOOPBACK_HOSTS:
            log.info("peer endpoint on loopback only: mDNS discovery stays off")
            return
        self._discovery = Discovery(self.identity.device_id, load_pod_secret(self.home), port,
                                    self.peering.on_discovered, self.peering.on_lost)
        await self._discovery.start()

    # -- trust ----------------------------------------------------------------

    def _authorize_incoming(self, request: web.Request) -> str | None:
        ssl_object = request.transport.get_extra_info("ssl_object") if request.transport else None
        return self._member_device(ssl_object)

    def _member_device(self, ssl_object: Any) -> str | None:
        check = classify_peer(ssl_object, self.access.roster)
        if check.status != "member":
            log.warning("refused a link from %s device %s", check.status, check.device_id or "(none)")
            return None
        return check.device_id

    def _link_of_peer(self, peer_id: str) -> tuple[str, str | None] | None:
        for info in self.repo.engine.peers():
            if info.peer_id == peer_id:
                link = self._links.links.get(info.conn)
                if link is not None:
                    return link.endpoint, link.device_id
        return None

    def _on_document_change(self, event: ChangeEvent) -> None:
        if event.origin == "ephemeral":
            return
        access_changed, missing = self.ledger.document_changed(event.doc_id)
        if missing:
            self._repair(event.doc_id, missing)
        if event.doc_id == self.config.pod_id and self.access.roster_changed():
            self._drop_removed_links()
            self.peering.roster_changed(self._discovery.peers.values() if self._discovery else ())
            access_changed = True
        if event.origin == "remote" and event.doc_id == self.ledger.collections().get(
                follow.FOLLOWED_KIND):
            self._follow()
        if access_changed and not self._policy_pending:
            # After the effects being carried out now (this change's own pushes go
            # first, so peers learn a new reader record before what it governs).
            self._policy_pending = True
            asyncio.get_running_loop().call_soon(self._apply_policy)

    def _follow(self) -> None:
        """Carry out outcomes confirmed about this member on another node (one run at
        a time; changes arriving during a run make it run once more)."""
        if self._following is not None:
            self._follow_again = True
            return
        self._following = asyncio.get_running_loop().create_task(self._follow_through())

    async def _follow_through(self) -> None:
        try:
            while True:
                self._follow_again = False
                try:
                    done = await follow.follow_through(self.context)
                except PodsyncError as err:
                    log.warning("could not carry out a confirmed discernment: %s", err)
                    done = 0
                if done:
                    log.info("carried out %d confirmed discernment(s) on the needs board", done)
                if not self._follow_again or not self._started:
                    return
        finally:
            self._following = None

    def _apply_policy(self) -> None:
        self._policy_pending = False
        if self._started:
            self.repo.dispatch(self.repo.engine.policy_changed(time.monotonic()))

    def _repair(self, doc_id: str, records: list[Record]) -> None:
        """Write back records a member deleted or overwrote in a document (the book
        kept them), so members who never saw them get them too."""
        log.warning("document %s lost %d signed record(s); writing them back", doc_id, len(records))
        task = asyncio.get_running_loop().create_task(self.ledger.store_records(doc_id, records))
        self._repairs.add(task)
        task.add_done_callback(self._repairs.discard)

    async def _settle_repairs(self) -> None:
        while self._repairs:
            await asyncio.gather(*list(self._repairs), return_exceptions=True)

    def _drop_removed_links(self) -> None:
        for link in list(self._links.links.values()):
            if link.endpoint == "peer" and link.device_id is not None \
                    and not self.access.is_active_device(link.device_id):
                log.warning("dropping link to removed device %s", link.device_id)
                link.close("device removed from the pod")

    async def _handle_join(self, request: web.Request) -> web.Response:
        """Admit a newcomer presenting a valid invite proof (see podsync.trust.join)."""
        try:
            body = msgspec.json.decode(await request.read(), type=join_mod.JoinRequest)
        except (msgspec.ValidationError, msgspec.DecodeError) as exc:
            return error_response(InvalidInput(f"not a join request: {exc}"))
        try:
            await membership.admit(
                self.ledger, pod_id=body.pod_id, invite_id=body.invite_id, proof=body.proof,
                cert_der=body.cert, member_id=body.member_id, name=body.name,
                by_member=self.config.member_id, now=self.context.now())
        except PodsyncError as err:
            log.warning("refused a join: %s", err)
            return error_response(err)
        roster = self.access.roster
        state = roster_mod.invite_state(roster, body.invite_id) if roster is not None else None
        device = roster_mod.device(roster, device_id_from_cert_der(body.cert)) if roster is not None else None
        if state is None or device is None:
            return error_response(PodsyncError("the join could not be recorded"))
        admitted = join_mod.Admitted(
            pod_id=self.config.pod_id, pod_name=self.config.pod_name,
            pod_secret=load_pod_secret(self.home), pod_doc=self.repo.get(self.config.pod_id).save(),
            member_id=device.member_id, admitter_device_id=self.identity.device_id,
            admitter_cert=self.identity.cert_der)
        sealed = join_mod.seal(state.record.verifier, body.cert, self.config.pod_id, admitted)
        log.info("admitted device %s of member %s", device.device_id, device.member_id)
        return web.Response(body=sealed, content_type="application/octet-stream")

    # -- links and engine -----------------------------------------------------

    def _on_link_open(self, link: Link) -> None:
        if not self._started:
            link.close("node is shutting down")
            return
        # A peer link's senderId must be the device its certificate proves; a
        # local app may not take the id of this or any device of the pod.
        expected = link.device_id if link.endpoint == "peer" else None
        self.repo.dispatch(self.repo.engine.connect(link.conn, link.role, time.monotonic(),
                                                    expected_peer_id=expected,
                                                    reserved=self._is_pod_device))
        self.peering.link_opened(link)

    def _is_pod_device(self, peer_id: str) -> bool:
        return peer_id == self.identity.device_id or self.access.is_active_device(peer_id)

    def _on_frame(self, conn: int, frame: Measured) -> None:
        record = self._peers.get(conn)
        if record is not None and record.endpoint == "peer":
            self.sync_times.heard(record.peer_id, record.member_id, time.time())
        self.repo.dispatch(self.repo.engine.receive_measured(conn, frame, time.monotonic()))

    def _on_wake(self, reason: str) -> None:
        """After sleep or a network change (:mod:`podsync.node.wake`): announce
        afresh and redial every member not linked now, back-off or not."""
        self.peering.set_own_addresses([*self.listen_addresses, *self.reachable_addresses()])
        self.peering.wake_all()
        self.relays.wake()
        if self._discovery is not None:
            self._discovery.refresh()

    def _on_backlog(self, link: Link) -> None:
        self.repo.dispatch(self.repo.engine.send_backlog(link.conn, link.queued_bytes, time.monotonic()))

    def _on_link_closed(self, conn: int) -> None:
        self.repo.dispatch(self.repo.engine.disconnect(conn, time.monotonic()))
        self._peers.pop(conn, None)
        self.peering.link_closed(conn)

    def _on_transport_effect(self, effect: Effect) -> None:
        if isinstance(effect, PeerConnected):
            link = self._links.links.get(effect.conn)
            if link is None:
                return
            if link.endpoint == "peer" and effect.peer_id != link.device_id:
                link.close("peer id does not match its certificate")
                return
            member = self.access.member_of(effect.peer_id) if link.endpoint == "peer" else None
            self._peers[effect.conn] = PeerRecord(effect.peer_id, effect.conn, link.endpoint,
                                                  link.address, self._found_by(link), member, time.time())
            log.info("peer %s connected (%s, %s)", effect.peer_id, link.endpoint, link.address)
        elif isinstance(effect, PeerDisconnected):
            record = self._peers.pop(effect.conn, None)
            if record is not None:
                log.info("peer %s disconnected", record.peer_id)
        else:
            self._links.execute(effect)

    def _found_by(self, link: Link) -> str:
        return self.peering.found_by(link) if link.endpoint == "peer" else "local"

    # -- status ---------------------------------------------------------------

    def runtime_info(self) -> dict[str, Any]:
        return {
            "pid": os.getpid(),
            "device_id": self.identity.device_id,
            "listen": self.listen_addresses,
            "api_url": self.api_url,
            "local_ws_url": self.local_ws_url,
            "version": __version__,
            "started_at": time.time(),
        }

    @property
    def api_url(self) -> str:
        return f"http://{self.api_address}/?token={self.token}"

    @property
    def local_ws_url(self) -> str:
        return f"ws://{self.api_address}{LOCAL_WS_PATH}?token={self.token}"

    def _discovery_status(self) -> dict[str, Any]:
        """Whether mDNS runs, which members it sees, and how many podsync nodes
        of other pods it sees (some: multicast works on this network)."""
        found = self._discovery
        return {"enabled": found is not None, "members_seen": sorted(found.peers) if found else [],
                "other_nodes_seen": len(found.foreign_seen) if found else 0,
                "addresses": {d: list(p.addresses) for d, p in found.peers.items()} if found else {}}

    def status(self) -> dict[str, Any]:
        peers = self.peering.status({r.peer_id: (r.address, r.found_by, r.since)
                                     for r in self._peers.values() if r.endpoint == "peer"})
        for peer in peers:
            peer["last_synced"] = self.sync_times.of(peer["device_id"])
        documents = []
        damaged = []
        for info in self.store.list_documents():
            if info.damaged is not None:
                damaged.append({"url": document_url(info.doc_id), "kind": info.kind,
                                "reason": info.damaged})
                continue
            if not self.access.member_may_read(self.config.member_id, info.doc_id):
                continue
            states = self.repo.engine.doc_peer_states(info.doc_id)
            documents.append({"url": document_url(info.doc_id), "kind": info.kind,
                              "heads": hex_heads(info.heads),
                              "in_sync_with": sorted(p for p, ok in states.items() if ok)})
        relays, relay = self.relays.status()
        return {
            "device_id": self.identity.device_id,
            "member_id": self.config.member_id,
            "member_name": self.config.member_name,
            "pod_id": self.config.pod_id,
            "pod_name": self.config.pod_name,
            "running": True,
            "version": __version__,
            "listen": self.listen_addresses,
            "api_url": self.api_url,
            "local_ws_url": self.local_ws_url,
            "peers": peers,
            "discovery": self._discovery_status(),
            "local_clients": [{"peer_id": r.peer_id, "since": _iso(r.since)}
                              for r in self._peers.values() if r.endpoint == "local"],
            "documents": documents,
            "damaged_documents": damaged,
            "relays": relays,
            "relay": relay,
            "unverified_records": self.unverified_records(),
            # Private documents whose id also carries history that does not descend
            # from their creation (planted under a claim): kept apart, served to nobody.
            "contested_documents": sorted(document_url(d) for d in set(
                self.ledger.contested(self.repo.held_ids())) | self.policy.contested),
            "last_synced": self.sync_times.by_member(),
            "last_wake": self._last_wake(),
        }

    def unverified_records(self) -> dict[str, Any]:
        """Records that could not be verified, per document this member reads: kept,
        counted, never used (a forgery, a record of another pod, junk...)."""
        docs = []
        for doc_id, reasons in sorted(self.ledger.unverifiable().items()):
            if doc_id != self.config.pod_id and \
                    not self.access.member_may_read(self.config.member_id, doc_id):
                continue
            docs.append({"url": document_url(doc_id), "kind": self.repo.kind_of(doc_id),
                         "count": sum(reasons.values()), "reasons": reasons})
        return {"total": sum(d["count"] for d in docs), "documents": docs}

    def _last_wake(self) -> dict[str, str] | None:
        if self.wake.last_wake is None:
            return None
        at, reason = self.wake.last_wake
        return {"at": iso(at), "reason": reason}


def return_freed_memory() -> None:
    """Hand memory freed inside the process back to the system where the C
    library allows it (glibc keeps freed blocks for reuse otherwise, so a node
    that let go of thousands of documents would look as large as at its peak)."""
    libc = ctypes.util.find_library("c")
    if libc is None:
        return
    trim = getattr(ctypes.CDLL(libc), "malloc_trim", None)
    if trim is not None:
        trim(0)


def _format_sockname(sock: socket.socket) -> str:
    host, port = sock.getsockname()[:2]
    return format_address(host, port)


def _iso(ts: float) -> str:
    return datetime.datetime.fromtimestamp(ts, datetime.timezone.utc).isoformat(timespec="seconds")
