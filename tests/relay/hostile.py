"""What a hostile relay, or anyone who learns a relay document's id, can do:
fetch relay documents and write into them. Built from podsync's own modules (its
relay client, engine and store) speaking the real protocol to the real server."""

from __future__ import annotations

import asyncio
import contextlib
from pathlib import Path
from types import TracebackType

import aiohttp
import automerge.core as am

from podsync.relay.client import RelayLinks, open_relay_repo
from podsync.relay.documents import ENTRIES, putter, read_map
from podsync.repo import Repo
from podsync.store import DocumentStore


class RelayClient:
    """A plain automerge-repo client of the relay that wants every document."""

    def __init__(self, url: str, workdir: Path) -> None:
        self.url = url
        self.workdir = workdir
        self.store: DocumentStore
        self.repo: Repo
        self._session: aiohttp.ClientSession
        self._links: RelayLinks
        self._timers: asyncio.Task[None]

    async def __aenter__(self) -> RelayClient:
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.store, self.repo = open_relay_repo(str(self.workdir / "relay.db"), lambda doc_id: True)
        self._session = aiohttp.ClientSession()
        opened = asyncio.Event()
        self._links = RelayLinks(self.repo, self._session, lambda url: opened.set())
        self._links.set_urls([self.url])
        self._timers = asyncio.get_running_loop().create_task(self.repo.run_timers())
        await asyncio.wait_for(opened.wait(), 20)
        return self

    async def __aexit__(self, kind: type[BaseException] | None, exc: BaseException | None,
                        tb: TracebackType | None) -> None:
        await self.repo.flush()
        await self._links.stop()
        self._timers.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self._timers
        await self._session.close()
        self.store.close()

    async def fetch(self, doc_id: str) -> am.Document:
        return await self.repo.find(doc_id, 20)

    async def entries(self, doc_id: str) -> dict[str, object]:
        return read_map(await self.fetch(doc_id), ENTRIES)

    async def put(self, doc_id: str, items: dict[str, bytes]) -> None:
        """Write ``items`` into the document's entries and wait until the relay has them."""
        await self.fetch(doc_id)
        await self.repo.change(doc_id, putter(ENTRIES, items))
        peer = self._links.connected_peers()[self.url]
        deadline = asyncio.get_running_loop().time() + 20
        while not self.repo.engine.doc_peer_states(doc_id).get(peer):
            if asyncio.get_running_loop().time() > deadline:
                raise AssertionError("the relay did not take the writes")
            await asyncio.sleep(0.02)
