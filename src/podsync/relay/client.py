"""The node's side of the relays: a second, separate automerge-repo peer.

Relay documents live in their own store (``HOME/relay.db``) and their own repo
and sync engine, never mixed with the pod's documents: they hold only sealed
bytes. That engine dials each relay as an ordinary automerge-repo client (what a
browser app does against a sync server) and speaks nothing else: no podsync
extension in its handshake, a random peer id each run, so the relay learns no
more than it would from any automerge-repo app.

Its share policy allows exactly the relay documents this node wants (its own,
and every active member device's index and outboxes) and refuses the rest, so a
relay that announces every document it holds (share policy "allow all") or is
shared with other pods pushes nothing else in.
"""

from __future__ import annotations

import asyncio
import logging
import os
import secrets
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

import aiohttp
import automerge.core as am

from podsync.home import FILE_MODE
from podsync.net.dialer import Dialer
from podsync.net.link import Link, LinkTable
from podsync.repo import Repo
from podsync.store import DocumentStore
from podsync.sync import Effect, PeerConnected, PeerDisconnected
from podsync.sync.intake import Measured

log = logging.getLogger(__name__)

_BASE36 = "0123456789abcdefghijklmnopqrstuvwxyz"


def anonymous_peer_id() -> str:
    """A peer id like the ones automerge-repo's JS clients pick (``peer-`` and
    random base-36), new each run: nothing ties it to the device or the pod."""
    return "peer-" + "".join(secrets.choice(_BASE36) for _ in range(9))


class RelayPolicy:
    """Only the relay documents ``wanted`` names, both ways; nothing else."""

    first: frozenset[str] = frozenset()

    def __init__(self, wanted: Callable[[str], bool]) -> None:
        self._wanted = wanted

    def may_announce(self, peer_id: str, doc_id: str) -> bool:
        return self._wanted(doc_id)

    def may_read(self, peer_id: str, doc_id: str) -> bool:
        return self._wanted(doc_id)

    def may_write(self, peer_id: str, doc_id: str) -> bool:
        return self._wanted(doc_id)

    def may_offer(self, peer_id: str, doc_id: str) -> bool:
        return self._wanted(doc_id)

    def admit(self, peer_id: str, doc_id: str, doc: am.Document) -> bool:
        return self._wanted(doc_id)


class _RelayDialer(Dialer):
    """Dials a relay by its full URL; ``wss://`` is checked against the system's
    certificate authorities like any website."""

    def url(self, address: str) -> str:
        return address


@dataclass
class RelayLinkState:
    url: str
    dialer: Dialer
    conn: int | None = None
    peer_id: str | None = None
    since: float | None = None
    last_exchange: float | None = None


class RelayLinks:
    """One kept-up link per relay URL, feeding the relay repo's engine."""

    def __init__(self, repo: Repo, session: aiohttp.ClientSession,
                 on_open: Callable[[str], None]) -> None:
        self.repo = repo
        self._session = session
        self._on_open = on_open
        self._table = LinkTable(self._receive, self._connect, self._disconnect, self._backlog)
        self.states: dict[str, RelayLinkState] = {}
        self._by_conn: dict[int, RelayLinkState] = {}
        repo.transport = self._effect

    def set_urls(self, urls: list[str]) -> list[str]:
        """Dial exactly ``urls`` from now on; returns the URLs no longer dialed."""
        dropped = [u for u in self.states if u not in urls]
        for url in dropped:
            state = self.states.pop(url)
            state.dialer.retire()
            link = self._table.links.get(state.conn) if state.conn is not None else None
            if link is not None:
                link.close("relay removed from the pod")
        for url in urls:
            if url not in self.states:
                dialer = _RelayDialer(url, self._session, self._serve_for(url), name=url)
                self.states[url] = RelayLinkState(url, dialer)
                dialer.start()
        return dropped

    def _serve_for(self, url: str) -> Callable[[Link], Awaitable[None]]:
        async def serve(link: Link) -> None:
            state = self.states.get(url)
            if state is None:
                await link.ws.close()
                return
            state.conn = link.conn
            self._by_conn[link.conn] = state
            try:
                await self._table.serve(link)
            finally:
                self._by_conn.pop(link.conn, None)
                if state.conn == link.conn:
                    state.conn = state.peer_id = state.since = None
        return serve

    async def stop(self) -> None:
        for state in self.states.values():
            state.dialer.retire()
        self._table.close_all("node is shutting down")
        await asyncio.gather(*(s.dialer.stop(grace=1.0) for s in self.states.values()),
                             return_exceptions=True)

    def wake(self) -> None:
        for state in self.states.values():
            state.dialer.wake()

    def connected_peers(self) -> dict[str, str]:
        """URL -> the relay's peer id, for relays linked now (handshake done)."""
        return {s.url: s.peer_id for s in self.states.values() if s.peer_id is not None}

    # -- the engine --------------------------------------------------------------

    def _connect(self, link: Link) -> None:
        self.repo.dispatch(self.repo.engine.connect(link.conn, "dialer", time.monotonic()))

    def _receive(self, conn: int, frame: Measured) -> None:
        state = self._by_conn.get(conn)
        if state is not None:
            state.last_exchange = time.time()
        self.repo.dispatch(self.repo.engine.receive_measured(conn, frame, time.monotonic()))

    def _disconnect(self, conn: int) -> None:
        self.repo.dispatch(self.repo.engine.disconnect(conn, time.monotonic()))

    def _backlog(self, link: Link) -> None:
        self.repo.dispatch(self.repo.engine.send_backlog(link.conn, link.queued_bytes, time.monotonic()))

    def _effect(self, effect: Effect) -> None:
        if isinstance(effect, PeerConnected):
            state = self._by_conn.get(effect.conn)
            if state is not None:
                state.peer_id, state.since = effect.peer_id, time.time()
                log.info("relay %s linked", state.url)
                self._on_open(state.url)
        elif isinstance(effect, PeerDisconnected):
            state = self._by_conn.get(effect.conn)
            if state is not None:
                log.info("relay %s unlinked", state.url)
                state.peer_id = None
        else:
            self._table.execute(effect)


def open_relay_repo(path: str, wanted: Callable[[str], bool]) -> tuple[DocumentStore, Repo]:
    # SQLite would make the file with the umask's mode, and its -wal and -shm
    # files with the file's: owner-only from the start, as everything in a home.
    os.close(os.open(path, os.O_RDWR | os.O_CREAT, FILE_MODE))
    os.chmod(path, FILE_MODE)
    store = DocumentStore(path)
    deleted = store.delete_noted()
    if deleted:
        log.info("relay: deleted %d relay document(s) this node will not read again", len(deleted))
    return store, Repo(store, anonymous_peer_id(), RelayPolicy(wanted), extension=False)
