"""Which documents the engine keeps loaded, and when it lets one go.

A node may hold tens of thousands of documents; most are untouched for hours.
The engine keeps a document's automerge object only while it is in use: one
not used for EVICT_IDLE_SECONDS is unloaded at the next sweep, and past
MAX_LOADED_DOCUMENTS the least recently used are unloaded as others load (a
cold sync of thousands of documents brings each in once). The DocSync stays,
with its heads and every link's sync state, so nothing about where peers stand
is forgotten; the document is loaded again from the store when next needed.

Only a document whose every change is stored is unloaded (the engine checks
that its heads, the store's and the object's own agree), so unloading never
costs a change; see :meth:`podsync.sync.documents.Documents.unload`.

Recency is kept without a clock of its own (the engine has none): a document
touched since the last sweep is recent; one untouched for a whole sweep period
is idle.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable

#: Documents kept loaded at most. A small pod document in memory is some tens of
#: kilobytes (automerge's object plus its sync bookkeeping); a thousand keeps a
#: node's working set well inside 100 MiB while a busy member touches far fewer.
MAX_LOADED_DOCUMENTS = 1000
#: A document unused this long is unloaded: long enough that one being edited or
#: synced in bursts stays loaded, short enough that a cold sync of thousands of
#: documents does not stay in memory for the rest of the day.
EVICT_IDLE_SECONDS = 60.0
#: Documents looked at per load to make room: bounds the work when many loaded
#: documents cannot be unloaded yet (changes still being stored).
MAX_EVICTION_TRIES = 64


class Residency:
    """Loaded documents, least recently used first, and which were used lately."""

    def __init__(self, max_loaded: int = MAX_LOADED_DOCUMENTS,
                 idle_seconds: float = EVICT_IDLE_SECONDS) -> None:
        self.max_loaded = max_loaded
        self.idle_seconds = idle_seconds
        self._loaded: OrderedDict[str, None] = OrderedDict()
        self._recent: set[str] = set()
        self._next_sweep: float | None = None

    def __len__(self) -> int:
        return len(self._loaded)

    def touch(self, doc_id: str) -> None:
        """``doc_id``'s document is loaded and was just used."""
        self._loaded[doc_id] = None
        self._loaded.move_to_end(doc_id)
        self._recent.add(doc_id)

    def fit(self, keep: str, unload: Callable[[str], bool]) -> None:
        """Past the cap, unload the least recently used documents (never ``keep``)
        that ``unload`` lets go."""
        if len(self._loaded) <= self.max_loaded:
            return
        tries = 0
        for doc_id in list(self._loaded):
            if len(self._loaded) <= self.max_loaded or tries >= MAX_EVICTION_TRIES:
                return
            if doc_id == keep:
                continue
            tries += 1
            if unload(doc_id):
                self._drop(doc_id)

    def sweep(self, now: float, unload: Callable[[str], bool]) -> None:
        """Every ``idle_seconds``: unload the documents nobody used since the last
        sweep (those ``unload`` lets go)."""
        if self._next_sweep is None:
            self._next_sweep = now + self.idle_seconds
        if now < self._next_sweep:
            return
        self._next_sweep = now + self.idle_seconds
        for doc_id in [d for d in self._loaded if d not in self._recent]:
            if unload(doc_id):
                self._drop(doc_id)
        self._recent.clear()

    def _drop(self, doc_id: str) -> None:
        self._loaded.pop(doc_id, None)
        self._recent.discard(doc_id)
