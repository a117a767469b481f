"""One running node and its lifecycle: start, serve, stop with everything flushed."""

from __future__ import annotations

import asyncio
import datetime
import logging
import os
import socket
import time
from dataclasses import dataclass, field
from typing import Any

import aiohttp
from aiohttp import web

from podsync import __version__
from podsync.config import Config, load_config
from podsync.errors import PodsyncError, UsageError
from podsync.home import Home, atomic_write_json
from podsync.ids import document_url, hex_heads
from podsync.net import LOCAL_WS_PATH, Dialer, Link, LinkTable, token_ok, websocket_handler
from podsync.repo import Repo
from podsync.store import DocumentStore
from podsync.sync import Effect, PeerConnected, PeerDisconnected, PeerMetadata
from podsync.trust.identity import DeviceIdentity, load_api_token, load_identity

log = logging.getLogger(__name__)

#: The peer endpoint listens on every interface so pod members on the LAN can
#: reach it; a fixed port lets remembered addresses stay valid across restarts.
DEFAULT_LISTEN = "0.0.0.0:7850"
#: The API, the UI and the local apps' endpoint are for this computer only.
DEFAULT_API = "127.0.0.1:7851"
LOOPBACK_HOSTS = {"127.0.0.1", "::1", "localhost"}


def parse_address(text: str, *, what: str = "address") -> tuple[str, int]:
    """``host:port`` (``[v6]:port`` for IPv6) into its parts; UsageError if malformed."""
    host, sep, port_text = text.strip().rpartition(":")
    if not sep or not host or not port_text.isdigit() or not 0 <= int(port_text) <= 65535:
        raise UsageError(f"{what} must look like HOST:PORT, not {text!r}")
    return host.strip("[]"), int(port_text)


@dataclass
class NodeOptions:
    listen: str = DEFAULT_LISTEN
    api: str = DEFAULT_API
    peers: list[str] = field(default_factory=list)
    discovery: bool = True


@dataclass
class PeerRecord:
    """What the node knows of one connected automerge-repo peer."""

    peer_id: str
    conn: int
    endpoint: str
    address: str
    found_by: str
    metadata: PeerMetadata | None
    since: float


class NodePolicy:
    """Who may see which document.

    Pod links share every document; the member's own local apps may read every
    document but are not sent any unasked (they find documents by URL, as
    automerge-repo apps do). The trust layer narrows this to roster members and
    per-document readers.
    """

    def __init__(self, node: "Node") -> None:
        self._node = node

    def may_read(self, peer_id: str, doc_id: str) -> bool:
        return True

    def may_announce(self, peer_id: str, doc_id: str) -> bool:
        record = self._node.peer_by_id(peer_id)
        return record is not None and record.endpoint == "peer"


class Node:
    """A podsync node for one home."""

    def __init__(self, home: Home, options: NodeOptions | None = None) -> None:
        self.home = home
        self.options = options or NodeOptions()
        self.identity: DeviceIdentity
        self.config: Config
        self.store: DocumentStore
        self.repo: Repo
        self.token = ""
        self.listen_addresses: list[str] = []
        self.api_address = ""
        self._links = LinkTable(self._on_frame, self._on_link_open, self._on_link_closed)
        self._pending_links: dict[int, Link] = {}
        self._peers: dict[int, PeerRecord] = {}
        self._dialers: dict[str, Dialer] = {}
        self._runners: list[web.AppRunner] = []
        self._tasks: list[asyncio.Task[None]] = []
        self._session: aiohttp.ClientSession | None = None
        self._started = False

    # -- lifecycle ------------------------------------------------------------

    async def start(self) -> None:
        self.identity = load_identity(self.home)
        self.config = load_config(self.home)
        self.token = load_api_token(self.home)
        self.store = DocumentStore(self.home.db_path)
        self.repo = Repo(self.store, self.identity.device_id, NodePolicy(self))
        self.repo.transport = self._on_transport_effect
        try:
            await self._start_servers()
        except BaseException:
            self.store.close()
            raise
        self._session = aiohttp.ClientSession()
        for address in [*self.config.manual_peers, *self.options.peers]:
            self.dial(address, found_by="manual")
        self._tasks.append(asyncio.get_running_loop().create_task(self.repo.run_timers()))
        self._started = True
        atomic_write_json(self.home.node_file, self.runtime_info())
        log.info("node %s up: peers on %s, api on %s", self.identity.device_id,
                 ", ".join(self.listen_addresses), self.api_address)

    async def stop(self) -> None:
        """Close every link, store everything received, and remove node.json."""
        if not self._started:
            return
        self._started = False
        self.home.node_file.unlink(missing_ok=True)
        for dialer in list(self._dialers.values()):
            await dialer.stop()
        self._links.close_all("node is shutting down")
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        for runner in self._runners:
            await runner.cleanup()
        if self._session is not None:
            await self._session.close()
        await self.repo.flush()
        self.store.close()

    async def _start_servers(self) -> None:
        peer_host, peer_port = parse_address(self.options.listen, what="--listen")
        api_host, api_port = parse_address(self.options.api, what="--api")
        if api_host not in LOOPBACK_HOSTS:
            raise UsageError(f"--api must be a loopback address (127.0.0.1 or ::1), not {api_host!r}")

        peer_app = web.Application()
        peer_app.router.add_get("/", websocket_handler("peer", self._links.serve))
        api_app = web.Application()
        api_app.router.add_get(LOCAL_WS_PATH, websocket_handler("local", self._links.serve, self.token))
        api_app.router.add_get("/api/status", self._handle_status)

        peer_sockets = await self._run_app(peer_app, peer_host, peer_port, "--listen")
        api_sockets = await self._run_app(api_app, api_host, api_port, "--api")
        self.listen_addresses = [_format_sockname(s) for s in peer_sockets]
        self.api_address = _format_sockname(api_sockets[0])

    async def _run_app(self, app: web.Application, host: str, port: int, what: str) -> list[Any]:
        runner = web.AppRunner(app, access_log=None, handle_signals=False)
        await runner.setup()
        # "*" means every interface, IPv4 and IPv6 alike.
        site = web.TCPSite(runner, None if host == "*" else host, port)
        try:
            await site.start()
        except OSError as exc:
            await runner.cleanup()
            raise PodsyncError(f"cannot listen on {host}:{port} for {what}: {exc.strerror or exc}; "
                               f"pass {what} HOST:0 to pick a free port") from None
        self._runners.append(runner)
        server = site._server  # aiohttp exposes the bound sockets only here
        return list(server.sockets) if server is not None else []

    # -- dialing --------------------------------------------------------------

    def dial(self, address: str, *, found_by: str) -> None:
        parse_address(address, what="peer address")
        if address in self._dialers or address in self.listen_addresses:
            return
        assert self._session is not None
        dialer = Dialer(address, self._session, self._links.serve, found_by=found_by)
        self._dialers[address] = dialer
        dialer.start()

    # -- links and engine -----------------------------------------------------

    def _on_link_open(self, link: Link) -> None:
        self._pending_links[link.conn] = link
        self.repo.dispatch(self.repo.engine.connect(link.conn, link.role, time.monotonic()))

    def _on_frame(self, conn: int, data: bytes) -> None:
        self.repo.dispatch(self.repo.engine.receive(conn, data, time.monotonic()))

    def _on_link_closed(self, conn: int) -> None:
        self._pending_links.pop(conn, None)
        self.repo.dispatch(self.repo.engine.disconnect(conn, time.monotonic()))
        self._peers.pop(conn, None)

    def _on_transport_effect(self, effect: Effect) -> None:
        if isinstance(effect, PeerConnected):
            link = self._pending_links.get(effect.conn)
            if link is None:
                return
            self._peers[effect.conn] = PeerRecord(
                effect.peer_id, effect.conn, link.endpoint, link.address,
                self._found_by(link), effect.metadata, time.time())
            log.info("peer %s connected (%s, %s)", effect.peer_id, link.endpoint, link.address)
        elif isinstance(effect, PeerDisconnected):
            record = self._peers.pop(effect.conn, None)
            if record is not None:
                log.info("peer %s disconnected", record.peer_id)
        else:
            self._links.execute(effect)

    def _found_by(self, link: Link) -> str:
        if link.role == "acceptor":
            return "incoming" if link.endpoint == "peer" else "local"
        dialer = self._dialers.get(link.address)
        return dialer.found_by if dialer is not None else "manual"

    def peer_by_id(self, peer_id: str) -> PeerRecord | None:
        for record in self._peers.values():
            if record.peer_id == peer_id:
                return record
        # The engine asks before it reports the handshake: look at the live link.
        for info in self.repo.engine.peers():
            if info.peer_id == peer_id:
                link = self._pending_links.get(info.conn)
                if link is not None:
                    return PeerRecord(peer_id, info.conn, link.endpoint, link.address,
                                      self._found_by(link), info.metadata, time.time())
        return None

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

    def status(self) -> dict[str, Any]:
        peers: list[dict[str, Any]] = []
        connected_addresses = set()
        for record in self._peers.values():
            if record.endpoint != "peer":
                continue
            connected_addresses.add(record.address)
            peers.append({"device_id": record.peer_id, "member_id": None,
                          "address": record.address, "found_by": record.found_by,
                          "connected": True, "since": _iso(record.since)})
        for address, dialer in self._dialers.items():
            if address not in connected_addresses:
                peers.append({"device_id": None, "member_id": None, "address": address,
                              "found_by": dialer.found_by, "connected": False,
                              "since": None, "last_error": dialer.last_error})
        documents = []
        damaged = []
        for info in self.store.list_documents():
            if info.damaged is not None:
                damaged.append({"url": document_url(info.doc_id), "reason": info.damaged})
                continue
            states = self.repo.engine.doc_peer_states(info.doc_id)
            documents.append({"url": document_url(info.doc_id), "kind": info.kind,
                              "heads": hex_heads(info.heads),
                              "in_sync_with": sorted(p for p, ok in states.items() if ok)})
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
            "local_clients": [{"peer_id": r.peer_id, "since": _iso(r.since)}
                              for r in self._peers.values() if r.endpoint == "local"],
            "documents": documents,
            "damaged_documents": damaged,
        }

    async def _handle_status(self, request: web.Request) -> web.Response:
        if not token_ok(request, self.token):
            return web.json_response({"error": "missing or wrong token"}, status=401)
        return web.json_response(self.status())


def _format_sockname(sock: socket.socket) -> str:
    host, port = sock.getsockname()[:2]
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


def _iso(ts: float) -> str:
    return datetime.datetime.fromtimestamp(ts, datetime.timezone.utc).isoformat(timespec="seconds")
