"""The repo: the node's documents as the member and the runtime see them."""

from __future__ import annotations

import asyncio
import functools
import logging
import time
from collections import defaultdict, deque
from collections.abc import Callable, Iterable
from typing import Any, Literal, TypeVar

import automerge.core as am
import msgspec

from podsync.errors import DamagedDocument, NotFound, UnreachableError
from podsync.ids import new_document_id, parse_document_id
from podsync.store import DocumentStore
from podsync.sync.cost import Cost
from podsync.sync import (
    AllowAll,
    Damaged,
    DocumentChanged,
    DocumentUnavailable,
    Effect,
    EphemeralReceived,
    ListHeld,
    LoadDocument,
    Persist,
    SharePolicy,
    SyncEngine,
    answer,
    is_storage_request,
)

log = logging.getLogger(__name__)

T = TypeVar("T")

#: Root key where :meth:`Repo.create` notes the kind it was asked for. A hint for
#: people reading the document, never trusted: who reads a document and what it
#: is come from signed records (podsync.trust.ledger), through ``kind_resolver``.
KIND_KEY = "@kind"
FOREIGN_KIND = "automerge"
#: How often the engine's timers (handshakes, finds relayed to other peers) run.
TICK_SECONDS = 0.25
#: Stored documents measured per query at start: bounds the chunks held at once.
PRELOAD_BATCH = 200
#: How long find() waits for the network before giving up. automerge-repo waits
#: 60 s; a member at a prompt should hear sooner that nobody has the document.
FIND_TIMEOUT_SECONDS = 10.0


class ChangeEvent(msgspec.Struct, frozen=True):
    """A document changed (``origin`` local or remote), or an ephemeral arrived."""

    doc_id: str
    heads: list[bytes]
    origin: Literal["local", "remote", "ephemeral"]
    peer_id: str | None = None
    data: bytes | None = None


class Repo:
    """Documents of one node: create, change, find, read, subscribe.

    Local writes are durable when :meth:`create` / :meth:`change` return (the
    store's group commit has fsync'd them). Local changes made in the same
    event-loop turn are pushed to peers together at the end of that turn.
    """

    def __init__(self, store: DocumentStore, peer_id: str,
                 policy: SharePolicy | None = None, *, extension: bool = True) -> None:
        self.store = store
        self.peer_id = peer_id
        self.engine = SyncEngine(peer_id, policy or AllowAll(),
                                 storage_id=store.storage_id, extension=extension)
        #: Where transport effects (Send, Close, PeerConnected, ...) go; the runtime sets it.
        self.transport: Callable[[Effect], None] = lambda effect: None
        self._subscribers: set[asyncio.Queue[ChangeEvent]] = set()
        #: Called synchronously with every event, before any subscriber sees it
        #: (the node re-reads the roster and readers here).
        self.listeners: list[Callable[[ChangeEvent], None]] = []
        self._dirty: set[str] = set()
        self._flush_handle: asyncio.Handle | None = None
        self._finds: dict[str, list[asyncio.Future[am.Document]]] = defaultdict(list)
        self._writes: set[asyncio.Future[None]] = set()
        #: Loads the engine asked for, answered one per turn of the event loop.
        self._loads: deque[LoadDocument] = deque()
        self._load_handle: asyncio.Handle | None = None
        self._load_sizes: dict[str, int] = {}  # stored bytes of documents in _loads
        #: The document's kind as the trust layer establishes it (None: not known).
        self.kind_resolver: Callable[[str], str | None] = lambda doc_id: None

    def open_stored(self) -> dict[str, str]:
        """Measure and load every stored document not measured at its current
        stored bytes (never measured, or written since by something that did not
        measure it); those that do not load, or would cost more than
        MAX_STORED_BYTES / MAX_STORED_ENTRIES, are quarantined: kept on disk as
        they are, reported, never served. Returns {document id: reason} of the
        quarantined.

        Done at start, before anything is served, so that a bomb that reached
        the disk is never loaded. Documents measured before stay on disk until
        the engine asks for them; every write the node makes (changes that
        arrived, its own, documents it creates) is measured as it is stored and
        added to what was measured before.
        """
        quarantined: dict[str, str] = {}
        self._listed()
        ids = self.store.unmeasured()
        now = time.monotonic()
        for i in range(0, len(ids), PRELOAD_BATCH):
            loaded = self.store.load_all(ids[i:i + PRELOAD_BATCH])
            quarantined.update(loaded.damaged)
            # Answers to loads the engine did not ask for yet: it keeps them.
            for doc_id, doc in loaded.documents.items():
                self._dispatch(self.engine.document_loaded(doc_id, doc, now))
                self.engine.note_size(doc_id, loaded.sizes[doc_id])
            for doc_id, reason in loaded.damaged.items():
                self._dispatch(self.engine.document_loaded(doc_id, Damaged(reason), now))
        for doc_id, reason in quarantined.items():
            log.error("document %s is quarantined: %s (it stays on disk; see `podsync quarantine`)",
                      doc_id, reason)
        return quarantined

    # -- DocumentSource: answers to the engine's storage requests ----------------

    def load(self, doc_id: str) -> am.Document | None:
        try:
            return self.store.load(doc_id)
        except NotFound:
            return None
        except DamagedDocument as exc:
            log.error("not serving damaged document %s: %s", doc_id, exc.reason)
            raise

    def heads(self, doc_id: str) -> list[bytes] | None:
        return self.store.heads(doc_id)

    def document_ids(self) -> Iterable[str]:
        return [info.doc_id for info in self.store.list_documents() if info.damaged is None]

    def measured(self, doc_id: str) -> Cost | None:
        return self.store.measured(doc_id)

    def all_heads(self) -> dict[str, list[bytes]]:
        """Every stored document's heads, sorted, in one query (for summaries)."""
        return {info.doc_id: sorted(info.heads) for info in self.store.list_documents()
                if info.damaged is None}

    # -- member API -----------------------------------------------------------

    async def create(self, kind: str, init: Callable[[Any], None] | None = None) -> str:
        """Create a document of ``kind``; durable when this returns its id."""
        doc = am.Document()
        with doc.transaction() as tx:
            tx.put(am.ROOT, KIND_KEY, am.ScalarType.Str, kind)
            if init is not None:
                init(tx)
        doc_id = new_document_id()
        await self.create_with(doc_id, doc, kind)
        return doc_id

    async def create_with(self, doc_id: str, doc: am.Document, kind: str) -> None:
        """Store ``doc``, built here, as the new document ``doc_id``; durable on return."""
        # The engine takes the document before the write is queued: once the store
        # lists it, a peer's summary could make the engine load a second copy.
        write = self._write(doc_id, [c.bytes for c in doc.get_changes([])], doc.get_heads(), kind)
        self._dispatch(self.engine.create(doc_id, doc, time.monotonic()))
        await write

    async def change(self, doc_id: str, fn: Callable[[Any], T]) -> T:
        """Run ``fn(tx)`` in one transaction on ``doc_id``; durable when it returns.

        If ``fn`` raises, the transaction is rolled back and nothing changes.
        """
        doc = self.get(doc_id)
        before = doc.get_heads()
        with doc.transaction() as tx:
            result = fn(tx)
        changes = doc.get_changes(before)
        if changes:
            self._mark_dirty(doc_id)
            await self._write(doc_id, [c.bytes for c in changes], doc.get_heads(), self.kind_of(doc_id))
        return result

    async def absorb(self, doc_id: str, apply: Callable[[am.Document], None]) -> bool:
        """Merge changes that came by another path than a peer link (a relay):
        ``apply`` adds them to the live document; what it added is stored (durable
        on return) and pushed to linked peers. False when nothing was new."""
        doc = self.get(doc_id)
        before = doc.get_heads()
        try:
            apply(doc)
        finally:
            # Whatever got in before a failure is real: store it and spread it.
            changes = doc.get_changes(before)
            if changes:
                self._mark_dirty(doc_id)
                write = self._write(doc_id, [c.bytes for c in changes], doc.get_heads(),
                                    self.kind_of(doc_id))
        if changes:
            await write
        return bool(changes)

    def get(self, doc_id: str) -> am.Document:
        """The live document (loaded from the store on first use)."""
        parse_document_id(doc_id)
        doc = self._live(doc_id)
        if doc is None:
            raise NotFound(f"no document {doc_id} on this node")
        return doc

    def has(self, doc_id: str) -> bool:
        """Whether this node holds ``doc_id`` (a document that just arrived counts
        before its write to the store has landed)."""
        return self.engine.holds(doc_id) or self.store.has(doc_id)

    def heads_now(self, doc_id: str) -> list[bytes] | None:
        """The document's heads without loading it: the live copy's when it is in
        memory (it may hold changes not stored yet), else the stored ones; None
        when neither holds it."""
        doc = self.engine.open(doc_id)
        if doc is not None:
            return sorted(doc.get_heads())
        return self.store.heads(doc_id)

    def held_ids(self) -> set[str]:
        """Every document this node holds, including ones arriving right now."""
        self._listed()
        return self.engine.held_ids()

    async def find(self, doc_id: str, timeout: float = FIND_TIMEOUT_SECONDS) -> am.Document:
        """The document, from the store or else from connected peers."""
        parse_document_id(doc_id)
        doc = self._live(doc_id)
        if doc is not None and doc.get_heads():
            return doc
        future: asyncio.Future[am.Document] = asyncio.get_running_loop().create_future()
        self._finds[doc_id].append(future)
        self._dispatch(self.engine.find(doc_id, time.monotonic()))
        try:
            return await asyncio.wait_for(future, timeout)
        except asyncio.TimeoutError:
            raise UnreachableError(
                f"no connected peer sent document {doc_id} within {timeout:g} s") from None
        finally:
            if future in self._finds.get(doc_id, []):
                self._finds[doc_id].remove(future)

    def broadcast(self, doc_id: str, data: bytes) -> None:
        self._dispatch(self.engine.broadcast(doc_id, data, time.monotonic()))

    def subscribe(self) -> asyncio.Queue[ChangeEvent]:
        """A queue receiving every change event from now on; pass it to unsubscribe."""
        queue: asyncio.Queue[ChangeEvent] = asyncio.Queue()
        self._subscribers.add(queue)
        return queue

    def unsubscribe(self, queue: asyncio.Queue[ChangeEvent]) -> None:
        self._subscribers.discard(queue)

    def kind_of(self, doc_id: str) -> str:
        """The document's kind as signed records establish it; documents of other
        apps (and any whose kind is not established) are ``automerge``."""
        return self.kind_resolver(doc_id) or FOREIGN_KIND

    # -- runtime --------------------------------------------------------------

    async def run_timers(self) -> None:
        """Drive the engine's timers until cancelled; a tick that fails is logged
        and the next one runs all the same."""
        while True:
            await asyncio.sleep(TICK_SECONDS)
            try:
                self._dispatch(self.engine.tick(time.monotonic()))
            except Exception:  # noqa: BLE001 - a bug in one tick must not stop every timer
                log.exception("the sync engine's timers failed; they run again in %.2f s", TICK_SECONDS)

    async def flush(self) -> None:
        """Push pending local changes and wait until every received change is stored."""
        self._flush_local()
        while self._writes:
            await asyncio.gather(*list(self._writes), return_exceptions=True)

    def dispatch(self, effects: list[Effect]) -> None:
        """Carry out effects the engine returned (the runtime calls this too)."""
        self._dispatch(effects)

    def _dispatch(self, effects: list[Effect], *, load_now: bool = False) -> None:
        """Carry out each effect on its own: one that fails is logged, with its
        document and link, and the rest still run (the engine already counts
        them as done).

        Storage requests are answered from the store: the list of held documents
        at once, a document's load (unless ``load_now``) on a later turn of the
        event loop, one load a turn and the smallest waiting first, so that what
        the batch sent leaves first (a peer that lacks a pod's large documents
        gets each as it is ready, rather than all of them after the last is
        loaded and saved). The effects of an answer are carried out after the
        rest of the batch that asked."""
        queue = deque(effects)
        while queue:
            effect = queue.popleft()
            try:
                if isinstance(effect, LoadDocument) and not load_now and self._loop() is not None:
                    self._loads.append(effect)
                    self._next_load_soon()
                elif is_storage_request(effect):
                    queue.extend(self._answer(effect))  # type: ignore[arg-type]
                else:
                    self._carry_out(effect)
            except Exception:  # noqa: BLE001 - isolation: see the docstring
                log.exception("carrying out %s failed (document %s, link %s)", type(effect).__name__,
                              getattr(effect, "doc_id", "-"), getattr(effect, "conn", "-"))

    @staticmethod
    def _loop() -> asyncio.AbstractEventLoop | None:
        try:
            return asyncio.get_running_loop()
        except RuntimeError:
            return None

    def _next_load_soon(self) -> None:
        loop = self._loop()
        if self._load_handle is None and self._loads and loop is not None:
            self._load_handle = loop.call_soon(self._next_load)

    def _next_load(self) -> None:
        """Answer the smallest load the engine asked for (see :meth:`_dispatch`)."""
        self._load_handle = None
        if self.store.closed:  # the node stopped meanwhile
            self._loads.clear()
            self._load_sizes.clear()
            return
        if self._loads:
            # The smallest first: it is ready (and on its way) soonest. Sizes are
            # asked for once per request, many at a time.
            unknown = [r.doc_id for r in self._loads if r.doc_id not in self._load_sizes]
            if unknown and len(self._loads) > 1:
                found = self.store.sizes(unknown)
                self._load_sizes.update({doc_id: found.get(doc_id, 0) for doc_id in unknown})
            request = min(self._loads, key=lambda r: self._load_sizes.get(r.doc_id, 0))
            self._loads.remove(request)
            self._load_sizes.pop(request.doc_id, None)
            # (Loaded meanwhile for a member's call: the engine has its answer.)
            if self.engine.needs_load(request.doc_id):
                self._dispatch([request], load_now=True)
        self._next_load_soon()

    def _answer(self, request: ListHeld | LoadDocument) -> list[Effect]:
        now = time.monotonic()
        try:
            return answer(self.engine, self, request, now)
        except Exception as exc:
            if not isinstance(request, LoadDocument):
                raise
            # Answered all the same, or what waits for the document would wait forever.
            log.exception("loading document %s failed; it is treated as absent", request.doc_id)
            return self.engine.document_loaded(request.doc_id, Damaged(f"the store failed: {exc}"), now)

    def _listed(self) -> None:
        """Give the engine the stored documents' heads, if it has not asked yet."""
        if not self.engine.listed:
            self._dispatch([ListHeld()])

    def _live(self, doc_id: str) -> am.Document | None:
        """The live document, loaded into the engine first if it is stored and
        not in memory; None if it is not held."""
        self._listed()
        if self.engine.needs_load(doc_id):
            self._dispatch([LoadDocument(doc_id)], load_now=True)
        return self.engine.open(doc_id)

    def _carry_out(self, effect: Effect) -> None:
        if isinstance(effect, Persist):
            self._persist(effect)
        elif isinstance(effect, DocumentChanged):
            self._publish(ChangeEvent(effect.doc_id, effect.heads, effect.origin, effect.peer_id))
            if effect.heads:
                self._resolve_finds(effect.doc_id, None)
        elif isinstance(effect, DocumentUnavailable):
            self._resolve_finds(effect.doc_id, NotFound(
                f"document {effect.doc_id} is not available from any connected peer"))
        elif isinstance(effect, EphemeralReceived):
            self._publish(ChangeEvent(effect.doc_id, [], "ephemeral", effect.sender_id, effect.data))
        else:
            self.transport(effect)

    def _write(self, doc_id: str, changes: list[bytes], heads: list[bytes],
               kind: str) -> asyncio.Future[None]:
        """Queue a durable write now, so writes reach the store in call order.

        (A change always follows the changes it depends on into the store.) What
        it adds is measured as it is stored (see :meth:`DocumentStore.submit_changes`),
        so the next start need not measure the document again.
        """
        future = asyncio.wrap_future(self.store.submit_changes(doc_id, changes, heads, kind=kind,
                                                               measure=True))
        self._writes.add(future)
        future.add_done_callback(functools.partial(self._write_done, doc_id, list(heads)))
        return future

    def _persist(self, effect: Persist) -> None:
        self._write(effect.doc_id, list(effect.changes), list(effect.heads), self.kind_of(effect.doc_id))

    def _write_done(self, doc_id: str, heads: list[bytes], future: asyncio.Future[None]) -> None:
        self._writes.discard(future)
        if future.cancelled():
            return
        if future.exception() is not None:
            log.error("storing changes failed: %s", future.exception())
        else:
            self.engine.stored(doc_id, heads)

    def _publish(self, event: ChangeEvent) -> None:
        for listener in self.listeners:
            try:
                listener(event)
            except Exception:  # noqa: BLE001 - one failing listener must not silence the others
                log.exception("listener %s failed on a %s change to document %s (peer %s)",
                              getattr(listener, "__qualname__", listener), event.origin, event.doc_id,
                              event.peer_id or "-")
        for queue in self._subscribers:
            queue.put_nowait(event)

    def _resolve_finds(self, doc_id: str, error: Exception | None) -> None:
        for future in self._finds.pop(doc_id, []):
            if future.done():
                continue
            doc = self._live(doc_id)
            if error is None and doc is not None:
                future.set_result(doc)
            else:
                future.set_exception(error or NotFound(f"document {doc_id} is not available"))

    def _mark_dirty(self, doc_id: str) -> None:
        self._dirty.add(doc_id)
        if self._flush_handle is None:
            self._flush_handle = asyncio.get_running_loop().call_soon(self._flush_local)

    def _flush_local(self) -> None:
        self._flush_handle = None
        dirty, self._dirty = self._dirty, set()
        now = time.monotonic()
        for doc_id in dirty:
            self._dispatch(self.engine.local_change(doc_id, now))
