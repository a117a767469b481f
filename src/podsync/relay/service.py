"""The relay, running in a node: keys and records, links, reading and writing.

One worker task does all the relay's work in turn (reading what a relay brought,
writing what changed here, keeping keys and records current), so its steps never
interleave; the LAN side of the node never waits for it. The protocol is in
``protocol/relay.md``.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
import random
import time
from typing import Any

import aiohttp

from podsync.config import Config
from podsync.errors import PodsyncError
from podsync.home import Home
from podsync.records.format import Draft
from podsync.relay import directory, keys
from podsync.relay.client import RelayLinks, open_relay_repo
from podsync.relay.context import RelayContext
from podsync.relay.inbox import Inbox
from podsync.relay.outbox import Writer
from podsync.repo import ChangeEvent, Repo
from podsync.store import DocumentStore
from podsync.trust.identity import load_pod_secret, load_signing_key
from podsync.trust.ledger import Ledger, RecordRefused

log = logging.getLogger(__name__)

#: How long a relay link's first read may take before this node writes anyway:
#: automerge-repo answers a request for a document it lacks within a second; a
#: relay that has not answered in this long is slow, and writing what it may
#: already hold costs only some duplicate bytes.
INITIAL_READ_SECONDS = 10.0
#: How often relay documents this node wants but does not hold are asked for
#: again (a relay that said "unavailable" does not always push them later).
REFIND_SECONDS = 15.0
#: Epoch keys are made by whichever device notices one is due; waiting a moment
#: at random first lets one device's record reach the others before a second
#: device makes another (two are harmless, one is tidier).
EPOCH_JITTER_SECONDS = 2.0
#: Relay documents read per worker turn before the event loop gets a turn.
READS_PER_TURN = 64


class RelayService:
    def __init__(self, home: Home, config: Config, device_id: str, ledger: Ledger, repo: Repo,
                 session: aiohttp.ClientSession) -> None:
        self.home = home
        self.config = config
        self.device_id = device_id
        self.ledger = ledger
        self.repo = repo
        self.session = session
        self.ctx: RelayContext | None = None
        self.store: DocumentStore | None = None
        self.links: RelayLinks | None = None
        self.inbox: Inbox | None = None
        self.writer: Writer | None = None
        self.ready = False  # read each relay document once, or waited INITIAL_READ_SECONDS
        self._wake = asyncio.Event()
        self._refresh = True
        self._to_read: set[str] = set()
        self._to_write: set[str] = set()
        self._write_all = False
        self._tasks: list[asyncio.Task[None]] = []
        self._initial: asyncio.Task[None] | None = None
        self._stopping = False
        self._epoch_after = 0.0

    # -- lifecycle -----------------------------------------------------------------

    async def start(self) -> None:
        self.store, relay_repo = open_relay_repo(str(self.home.root / "relay.db"), self._wanted)
        ctx = self.ctx = RelayContext(
            pod_id=self.config.pod_id, member_id=self.config.member_id, device_id=self.device_id,
            pod_secret=load_pod_secret(self.home), ledger=self.ledger, repo=self.repo,
            relay_repo=relay_repo, signing_key=load_signing_key(self.home),
            device_key=keys.load_device_key(self.home) or keys.new_device_key())
        self.inbox = Inbox(ctx)
        self.writer = Writer(ctx, self.inbox)
        self.links = RelayLinks(relay_repo, self.session, self._link_opened)
        relay_repo.listeners.append(self._relay_changed)
        loop = asyncio.get_running_loop()
        self._tasks = [loop.create_task(relay_repo.run_timers()), loop.create_task(self._work()),
                       loop.create_task(self._refind())]
        self._wake.set()

    async def stop(self) -> None:
        self._stopping = True
        self._wake.set()
        if self.links is not None:
            await self.links.stop()
        for task in [*self._tasks, *([self._initial] if self._initial else [])]:
            task.cancel()
        await asyncio.gather(*self._tasks, *([self._initial] if self._initial else []),
                             return_exceptions=True)
        if self.ctx is not None:
            await self.ctx.relay_repo.flush()
        if self.store is not None:
            self.store.close()

    # -- events --------------------------------------------------------------------

    def document_changed(self, event: ChangeEvent) -> None:
        """A pod document changed here (the node's repo listener)."""
        if event.origin == "ephemeral" or self._stopping:
            return
        if event.doc_id == self.config.pod_id:
            self._refresh = True
        self._to_write.add(event.doc_id)
        self._wake.set()

    def _relay_changed(self, event: ChangeEvent) -> None:
        if event.origin == "remote":
            self._to_read.add(event.doc_id)
            self._wake.set()

    def _link_opened(self, url: str) -> None:
        if self._initial is None or self._initial.done():
            self._initial = asyncio.get_running_loop().create_task(self._initial_read())

    def wake(self) -> None:
        """After sleep or a network change: dial the relays again at once."""
        if self.links is not None:
            self.links.wake()

    def _wanted(self, doc_id: str) -> bool:
        return self.inbox is not None and self.inbox.wanted(doc_id)

    # -- the worker ----------------------------------------------------------------

    async def _work(self) -> None:
        while not self._stopping:
            await self._wake.wait()
            self._wake.clear()
            try:
                await self._turn()
            except asyncio.CancelledError:
                raise
            except Exception:  # noqa: BLE001 - one bad turn must not end the relay
                log.exception("relay: a step failed; carrying on")

    async def _turn(self) -> None:
        assert self.inbox is not None and self.writer is not None
        if self._refresh:
            self._refresh = False
            await self._refresh_records()
        read = 0
        while self._to_read and not self._stopping:
            # Index documents first: they say where the outboxes are.
            doc = min(self._to_read, key=lambda d: (d not in self._index_ids(), d))
            self._to_read.discard(doc)
            learnt, moved = await self.inbox.process(doc)
            if learnt:
                self._to_read.update(d for d in self.inbox.wanted_ids() if self._held(d))
            if moved:
                self._wanted_changed()
                self._note_superseded()
            read += 1
            if read % READS_PER_TURN == 0:
                await asyncio.sleep(0)
        if self.inbox.own_tampered and self.writer.outbox is not None:
            self.inbox.own_tampered = False
            self.writer.rotate_due = "this device's relay documents were altered on the relay"
        if self.ready and not self._stopping and self.writer.may_write:
            self.writer.resume()
            if self._write_all:
                self._write_all = False
                self._to_write.update(self.writer.behind(info.doc_id for info in
                                                         self.repo.store.list_documents()))
            docs, self._to_write = sorted(self._to_write), set()
            if docs or self.writer.rotate_due:
                await self.writer.publish(docs)

    def _note_superseded(self) -> None:
        """Relay documents this node will not read again are deleted from relay.db
        at its next start, before its relay repo lists them (so nothing is
        deleted under a sync in progress)."""
        assert self.inbox is not None and self.store is not None
        gone = {d for d in self.inbox.superseded if not self.inbox.wanted(d)}
        self.inbox.superseded = set()
        if gone:
            self.store.delete_later(gone)

    def _held(self, doc_id: str) -> bool:
        return self.ctx is not None and self.ctx.relay_repo.has(doc_id)

    def _index_ids(self) -> set[str]:
        assert self.inbox is not None
        return {s.index_id for s in self.inbox.sources.values()}

    async def _refresh_records(self) -> None:
        """The pod's relay records, this device's key record, the epoch, the links."""
        ctx, writer = self.ctx, self.writer
        assert ctx is not None and writer is not None and self.links is not None
        assert self.inbox is not None
        ctx.view = directory.read(self.ledger)
        if self.inbox.refresh_sources():
            self._wanted_changed()
            self._note_superseded()
        # Who may read what may have changed: entries that waited for it are read
        # again, and documents that became readable are written.
        self._to_read.update(d for d in self.inbox.wanted_ids() if self._held(d))
        self._write_all = True
        self.links.set_urls([r.url for r in ctx.view.relays])
        if not ctx.view.relays:
            return
        own_key = keys.public_bytes(ctx.device_key)
        if ctx.view.device_keys.get(self.device_id) != own_key:
            # Kept from the first relay on: a pod without one leaves the identity as it was.
            if keys.load_device_key(self.home) is None:
                keys.save_device_key(self.home, ctx.device_key)
            await self._append(directory.device_key_draft(own_key))
        for epoch in ctx.view.epochs:
            ctx.ring.update(directory.open_epoch(epoch, ctx.device_key))
        why = directory.needs_new_epoch(ctx.view, self.ledger.roster)
        current = ctx.view.current_epoch
        if why and (current is None or current.key_id not in ctx.ring or self._epoch_turn()):
            held = dict(ctx.ring)
            active = set(ctx.active_devices())
            recipients = {d: k for d, k in ctx.view.device_keys.items() if d in active}
            recipients[self.device_id] = own_key
            new_key = keys.new_key()
            if await self._append(directory.epoch_draft(new_key, recipients, held)):
                ctx.ring[keys.key_id(new_key)] = new_key
                log.info("relay: new epoch key (%s)", why)
        elif why:
            self._refresh_later()
        current = ctx.view.current_epoch
        if current is not None and current.key_id in ctx.ring and writer.set_epoch(current):
            if writer.outbox is not None:
                await writer.write_index()

    def _epoch_turn(self) -> bool:
        """Whether this device should make the due epoch key now (after a pause at
        random, in case another device makes it first)."""
        now = time.monotonic()
        if not self._epoch_after:
            self._epoch_after = now + random.uniform(0, EPOCH_JITTER_SECONDS)
            return False
        if now < self._epoch_after:
            return False
        self._epoch_after = 0.0
        return True

    def _refresh_later(self) -> None:
        async def later() -> None:
            await asyncio.sleep(max(0.05, self._epoch_after - time.monotonic()))
            self._refresh = True
            self._wake.set()
        self._tasks.append(asyncio.get_running_loop().create_task(later()))
        self._tasks = [t for t in self._tasks if not t.done()]

    async def _append(self, draft: Draft) -> bool:
        assert self.ctx is not None
        try:
            await self.ledger.append(self.config.pod_id, draft, dt.datetime.now(dt.timezone.utc))
        except (RecordRefused, PodsyncError) as err:
            log.warning("relay: could not write %s: %s", draft.type, err)
            return False
        self.ctx.view = directory.read(self.ledger)
        return True

    def _wanted_changed(self) -> None:
        """Ask the relays for wanted documents this node lacks, and offer the rest."""
        assert self.ctx is not None and self.inbox is not None
        relay_repo = self.ctx.relay_repo
        relay_repo.dispatch(relay_repo.engine.policy_changed(time.monotonic()))
        for doc_id in self.inbox.wanted_ids():
            if relay_repo.has(doc_id):
                self._to_read.add(doc_id)
            else:
                relay_repo.dispatch(relay_repo.engine.find(doc_id, time.monotonic()))
        self._wake.set()

    async def _initial_read(self) -> None:
        """After a relay link opens: fetch every wanted document (following index
        documents to outboxes), then allow writing."""
        assert self.ctx is not None and self.inbox is not None
        deadline = time.monotonic() + INITIAL_READ_SECONDS
        asked: set[str] = set()
        while time.monotonic() < deadline:
            missing = [d for d in self.inbox.wanted_ids() if d not in asked and not self._held(d)]
            if not missing:
                break
            asked.update(missing)
            await asyncio.gather(*(self.ctx.relay_repo.find(d, max(0.1, deadline - time.monotonic()))
                                   for d in missing), return_exceptions=True)
            self._to_read.update(d for d in missing if self._held(d))
            self._wake.set()
            await asyncio.sleep(0.05)  # let the worker follow the indexes just read
        if not self.ready:
            self.ready = True
            self._write_all = True
            log.info("relay: first read done, writing")
        self._wake.set()

    async def _refind(self) -> None:
        while True:
            await asyncio.sleep(REFIND_SECONDS)
            if self.inbox is not None and self.ctx is not None and self.links is not None \
                    and self.links.connected_peers():
                relay_repo = self.ctx.relay_repo
                for doc_id in self.inbox.wanted_ids():
                    if not relay_repo.has(doc_id):
                        relay_repo.dispatch(relay_repo.engine.find(doc_id, time.monotonic()))

    # -- status --------------------------------------------------------------------

    def status(self) -> tuple[list[dict[str, Any]], dict[str, Any]]:
        """(one entry per relay, the relay side's own state) for ``podsync status``."""
        if self.ctx is None or self.links is None or self.inbox is None or self.writer is None:
            return [], {}
        relay_repo = self.ctx.relay_repo
        held = [d for d in self.inbox.wanted_ids() if relay_repo.has(d)]
        states = {d: relay_repo.engine.doc_peer_states(d) for d in held}
        relays = []
        for entry in self.ctx.view.relays:
            state = self.links.states.get(entry.url)
            peer = state.peer_id if state is not None else None
            behind = None
            if peer is not None:
                # Relay documents whose heads differ between here and there, and pod
                # documents with changes not yet written to this device's outbox.
                behind = {"documents": sum(1 for d in held if not states[d].get(peer, False)),
                          "unwritten": len(self._to_write)}
            relays.append({
                "url": entry.url, "added_by": entry.added_by, "added_at": entry.added_at,
                "reachable": peer is not None,
                "since": _iso(state.since) if state and state.since else None,
                "last_exchange": _iso(state.last_exchange) if state and state.last_exchange else None,
                "last_error": state.dialer.last_error if state and peer is None else None,
                "behind": behind,
            })
        epoch = self.writer.epoch
        return relays, {
            "ready": self.ready,
            "epoch": epoch.key_id if epoch is not None else None,
            "generation": self.writer.gen if self.writer.outbox else None,
            "outbox_entries": self.writer.seq if self.writer.outbox else 0,
            "outbox_bytes": self.writer.entry_bytes,
            "waiting_entries": sum(self.inbox.waiting.values()),
            "refused": dict(self.ctx.refused),
            "recent_refusals": list(self.ctx.recent),
            "refused_urls": dict(self.ctx.view.refused),
        }


def _iso(ts: float) -> str:
    return dt.datetime.fromtimestamp(ts, dt.timezone.utc).isoformat(timespec="seconds")
