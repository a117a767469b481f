"""Derived views of the pod's items, kept between operations.

Deriving an item replays its records; a listing of 10,000 needs derived from
scratch takes over a second. A running node keeps, per collection and kind of
item, each item's view as the API shows it (as JSON: the objects of 10,000
derived needs would take several times the memory), and uses it again while
nothing it was made from has changed:

- **the item's records**: the book bumps a subject's version whenever one of
  its records arrives or its signature answer changes
  (:attr:`~podsync.records.book.DocRecords.changed`); only those items are read
  again;
- **who counts**: which records count depends on the roster (who was admitted,
  who removed and when); when it changes every item is read again, and those
  whose counted records are the same keep their views;
- **the time**: a view is derived as of a moment. The practices' views depend on
  the moment only through whole days since (or until) a time the item carries —
  a record's time, or a time in a record's body — and through the calendar date
  in UTC (neglect after N days, a review date reached). So a view derived at
  ``now`` holds until the next moment one of those changes
  (:func:`stable_until`), and is derived again once that passes.

Whether an item is archived is decided at each listing, from the cached time it
went quiet (:mod:`podsync.pod.archive`) and the pod's setting.

The views of live items are also kept in the store, each a row of its own
(:meth:`Views.save`: by the node after warming them, every VIEWS_SAVE_SECONDS
while they change, and as it stops; by a command that had to derive some).
Archived items, most of a pod's years, are left out: an item archived stays
archived while its records stay the same, so the rows hold every item live
from the moment they were saved. They are kept with their **basis**: how many writes of the collection's records and of the pod
document's records the store held when they were derived
(:meth:`~podsync.records.book.RecordBook.writes`), the pod's settings, and the
version of podsync that derived them. Every write of records, or of their
signature answers, adds one to its document's count, so saved views whose basis
is the store's now were derived from exactly the records it holds: a command
run without a node lists the live items without reading a record (the archive
is derived from the records when asked for). An item whose view the time
has moved past is derived again from its own records alone. Under any other
basis the saved views are only a cache keyed by each item's counted records
(derived again where those differ); saved by another version of podsync or
under other settings, they are not used at all, and a saved view that does not
read back is derived again.

Views of a whole private document (a feedback thread: :meth:`Views.of_document`)
are saved the same way, each with the counts of writes of the document's records
and of the pod document's it was derived from, and taken only when both are the
store's now (:meth:`Views.recall`). They are served only after the readers check
(:func:`podsync.api.pod_common.private_document`), made afresh for every request.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import msgspec

import podsync
from podsync.pod import archive, needs, settings
from podsync.pod.events import Item, items_from
from podsync.records.book import writes_basis
from podsync.trust.ledger import Ledger

if TYPE_CHECKING:
    from podsync.store import DocumentStore

log = logging.getLogger(__name__)

DAY = dt.timedelta(days=1)
#: Items derived per step while warming the caches in the background: about
#: 10-30 ms of work, so the node keeps answering peers and members meanwhile.
WARM_STEP_ITEMS = 200
#: How often a running node saves views that changed (they are saved as it stops too).
VIEWS_SAVE_SECONDS = 600.0
#: The layout of saved views; views saved in another are derived again.
VIEWS_FORMAT = 1


class Kind(msgspec.Struct, frozen=True):
    """A kind of item listed from one of the pod's collections."""

    name: str
    collection: str  # the pod collection's kind, as the founding record names it
    create: str  # the record type that creates such an item
    #: The item's view as of a moment, under the pod's settings; None when the item
    #: is not one of this kind after all (an ask of oneself is no ask).
    derive: Callable[[Item, dt.datetime, dict[str, settings.Setting]], Any]
    show: Callable[[Any], dict[str, Any]]  # the derived view as the API returns it
    view: type  # the derived view's type (read back from what ``show`` made)


#: Every listed kind; the operation modules register theirs (warmed at node start).
KINDS: dict[str, Kind] = {}


def register(kind: Kind) -> Kind:
    KINDS[kind.name] = kind
    return kind


class Entry(msgspec.Struct, array_like=True, frozen=True):
    """One item as the cache keeps it: the view as the API shows it, as JSON (a
    fraction of the memory the view's objects take), and what says when it is stale.
    Saved in the store as it is (msgpack)."""

    counted: tuple[str, ...]  # ids of the item's counted records it was derived from
    raw: bytes  # ``show(view)`` as JSON, without ``archived``
    created_at: str
    derived_at: dt.datetime
    until: dt.datetime  # the view holds for moments in [derived_at, until)
    quiet: dt.datetime | None  # closed and quiet since (archive), or None

    def archived(self, after_days: int, now: dt.datetime) -> bool:
        return self.quiet is not None and now - self.quiet >= after_days * DAY


class _Collection(msgspec.Struct):
    doc_version: int = -1  # the book's version the entries follow
    roster_version: int = -1
    entries: dict[str, Entry] = msgspec.field(default_factory=dict)
    pending: dict[str, None] = msgspec.field(default_factory=dict)  # subjects to read again
    order: list[str] | None = None  # entry ids, oldest first (None: to sort again)
    #: What the entries (here and in the store) were derived from: the counts of
    #: writes of the collection's records and of the pod document's (module
    #: docstring); None when not known.
    basis: tuple[int, int] | None = None
    #: Every saved entry is in ``entries`` (or there is none to read); else
    #: ``live_read``: those of live items are.
    complete: bool = False
    live_read: bool = False
    #: Not saved yet: entries changed or gone, the basis; ``replace``: what the store
    #: holds is not to be kept (saved by another version, or under other settings).
    changed: set[str] = msgspec.field(default_factory=set)
    removed: set[str] = msgspec.field(default_factory=set)
    basis_unsaved: bool = False
    replace: bool = False
    #: The settings the entries (here and in the store) were derived under
    #: (:func:`_settings_key`); None before any.
    settings_key: bytes | None = None
    #: The saved views hold every item live from this moment on (None: not known).
    live_from: dt.datetime | None = None


class _SavedBasis(msgspec.Struct, array_like=True, frozen=True):
    """What saved views were derived from (module docstring)."""

    format: int
    version: str  # podsync's
    settings: bytes  # the pod's settings, as :func:`_settings_key` writes them
    collection_writes: int
    pod_writes: int
    #: Every item live at this moment has its view saved (those archived then are
    #: left out: they are most of a pod's years, and stay archived).
    live_from: dt.datetime


_decode_entry = msgspec.msgpack.Decoder(Entry).decode


class Views:
    """The cached views of one ledger's collections."""

    def __init__(self, ledger: Ledger, store: DocumentStore | None = None) -> None:
        self.ledger = ledger
        #: Where views are saved and read back from (None: kept in memory only).
        self.store = store
        self._collections: dict[tuple[str, str], _Collection] = {}
        self._settings: tuple[int, dict[str, settings.Setting]] | None = None
        self._documents: dict[tuple[str, str], tuple[tuple[int, int], Any]] = {}
        #: Views of whole documents derived since the last save, with their basis.
        self._unsaved_documents: dict[tuple[str, str], tuple[bytes, Any]] = {}

    # -- settings ----------------------------------------------------------------

    def settings(self) -> dict[str, settings.Setting]:
        """The pod's settings (read again when the pod's records change)."""
        version = self.ledger.pod_version
        if self._settings is None or self._settings[0] != version:
            found = settings.settings(self.ledger.pod_records([settings.SETTING]))
            self._settings = (version, found)
        return self._settings[1]

    def archive_after_days(self) -> int:
        return self.settings()[settings.ARCHIVE_AFTER_DAYS].value

    def neglect(self) -> needs.Neglect:
        """The needs board's neglect thresholds, as the pod set them."""
        return settings.neglect(self.settings())

    # -- items -------------------------------------------------------------------

    def entries(self, doc_id: str, kind: Kind, now: dt.datetime, *,
                everything: bool = True) -> list[Entry]:
        """Every item of ``kind`` in ``doc_id`` as of ``now``, oldest first (at least
        every live one, unless ``everything``)."""
        coll = self._collection(doc_id, kind)
        saved = not everything and coll.live_from is not None and coll.live_from <= now \
            and self._current(coll, doc_id)
        if saved:
            # Saved from the very records the store holds, every item live now among
            # them: read, not derived.
            self._read_saved(coll, doc_id, kind, now - self.archive_after_days() * DAY)
        if not saved or coll.basis is None:  # (or a saved one did not read back)
            self._refresh(coll, doc_id, kind, now, budget=None)
        if coll.order is None:
            coll.order = sorted(coll.entries, key=lambda i: (coll.entries[i].created_at, i))
        out = []
        for item_id in coll.order:
            entry = coll.entries[item_id]
            if not entry.derived_at <= now < entry.until:
                entry = self._derive_again(coll, doc_id, kind, item_id, now)
            out.append(entry)
        return out

    def views(self, doc_id: str, kind: Kind, now: dt.datetime, *,
              everything: bool = True, as_type: type | None = None) -> list[Any]:
        """Every item's derived view, oldest first (only the live ones unless
        ``everything``: an archived item is closed, so it weighs on nobody).
        ``as_type``: a struct with only the fields the caller reads (the rest
        of each view is skipped unread, a fraction of the cost)."""
        decode = msgspec.json.Decoder(as_type or kind.view).decode
        after_days = self.archive_after_days()
        return [decode(e.raw) for e in self.entries(doc_id, kind, now, everything=everything)
                if everything or not e.archived(after_days, now)]

    def listing(self, doc_id: str, kind: Kind, now: dt.datetime, *,
                everything: bool) -> msgspec.Raw:
        """The items as the API lists them, as one JSON array: the live ones, or
        ``everything`` (archived too), each with ``archived`` saying which it is."""
        after_days = self.archive_after_days()
        parts: list[bytes | memoryview] = []
        for entry in self.entries(doc_id, kind, now, everything=everything):
            archived = entry.archived(after_days, now)
            if everything or not archived:
                parts += (b",", memoryview(entry.raw)[:-1],
                          b',"archived":true}' if archived else b',"archived":false}')
        parts[:1] = [b"["]
        return msgspec.Raw(b"".join([*parts, b"]"]) if parts else b"[]")

    def is_archived(self, view: Any, now: dt.datetime) -> bool:
        """Whether one derived view is in the archive now."""
        return archive.archived(archive.quiet_since(view), self.archive_after_days(), now)

    async def warm(self, now: Callable[[], dt.datetime]) -> None:
        """Derive every registered kind's items in small steps, yielding between
        them, so the first listing after a start is answered from the cache."""
        for kind in list(KINDS.values()):
            doc_id = self.ledger.collections().get(kind.collection)
            if doc_id is None:
                continue
            coll = self._collection(doc_id, kind)
            while not self._refresh(coll, doc_id, kind, now(), budget=WARM_STEP_ITEMS):
                await asyncio.sleep(0)
            await asyncio.sleep(0)

    def of_document(self, doc_id: str, what: str, compute: Callable[[], Any], *,
                    recalled: dict[str, Any] | None = None) -> Any:
        """``compute()``, a view of the whole document ``doc_id`` that does not
        depend on the time (a feedback thread), kept until its records or the
        roster change; also saved in the store (:meth:`save`). ``recalled``: saved
        views :meth:`recall` found current just now."""
        book = self.ledger.book.peek(doc_id)
        if book is not None:
            cached = self._documents.get((doc_id, what))
            if cached is not None and cached[0] == (book.version, self.ledger.roster_version):
                return cached[1]
        if recalled is not None and doc_id in recalled:
            return recalled[doc_id]
        value = compute()
        book = self.ledger.book.known(doc_id)
        key = (book.version, self.ledger.roster_version)
        self._documents[(doc_id, what)] = (key, value)
        if self.store is not None:
            writes = self.ledger.book.writes_of([doc_id, self.ledger.pod_id])
            self._unsaved_documents[(doc_id, what)] = (
                _document_basis(writes[doc_id], writes[self.ledger.pod_id]), value)
        return value

    def recall(self, what: str, doc_ids: list[str], as_type: type) -> dict[str, Any]:
        """The saved views ``what`` (of type ``as_type``) of those of ``doc_ids``
        derived from the very records of the document and of the pod document
        that the store holds now, or will once this node's writes land (their
        counts of writes are those saved with them: module docstring). To be
        used at once (:meth:`of_document`), before any write changes the counts."""
        if self.store is None or not doc_ids:
            return {}
        writes = self.ledger.book.writes_of([*doc_ids, self.ledger.pod_id])
        pod_writes = writes[self.ledger.pod_id]
        decode = msgspec.msgpack.Decoder(as_type).decode
        out = {}
        for doc_id, (basis, blob) in self.store.load_document_views(what, doc_ids).items():
            if basis != _document_basis(writes[doc_id], pod_writes):
                continue
            try:
                out[doc_id] = decode(blob)
            except (msgspec.DecodeError, msgspec.ValidationError):
                log.warning("a saved view of %s does not read back; deriving it again", doc_id)
        return out

    def save(self, now: dt.datetime) -> int:
        """Save in the store the views of live items that changed since they were
        last saved (or read from it), and the views of whole documents derived
        since, with their basis; how many collections (and kinds of whole
        documents) had something to save. Views of items archived as of ``now``
        are not kept."""
        if self.store is None:
            return 0
        saved = self._save_documents()
        after_days = self.archive_after_days()
        for (doc_id, kind_name), coll in self._collections.items():
            if coll.pending or coll.basis is None or coll.settings_key is None or not (
                    coll.changed or coll.removed or coll.basis_unsaved or coll.replace):
                continue
            ids = list(coll.entries) if coll.replace else \
                [i for i in coll.changed if i in coll.entries]
            archived = {i for i in ids if coll.entries[i].archived(after_days, now)}
            rows = [(i, _timestamp(coll.entries[i].quiet), msgspec.msgpack.encode(coll.entries[i]))
                    for i in ids if i not in archived]
            live_from = max(now, coll.live_from) if coll.live_from is not None else now
            basis = msgspec.msgpack.encode(_SavedBasis(
                VIEWS_FORMAT, podsync.__version__, coll.settings_key, *coll.basis, live_from))
            self.store.save_views(doc_id, kind_name, basis, rows, sorted(coll.removed | archived),
                                  replace=coll.replace)
            coll.changed.clear()
            coll.removed.clear()
            coll.basis_unsaved = coll.replace = False
            # Items live later were live now (an archived item stays archived while
            # its records stay the same), so the saved views hold them all.
            coll.live_from = live_from
            saved += 1
        return saved

    # -- internals ---------------------------------------------------------------

    def _save_documents(self) -> int:
        """Save the views of whole documents derived since the last save; how many
        kinds of them had some."""
        assert self.store is not None
        by_what: dict[str, list[tuple[str, bytes, bytes]]] = {}
        for (doc_id, what), (basis, value) in self._unsaved_documents.items():
            by_what.setdefault(what, []).append((doc_id, basis, msgspec.msgpack.encode(value)))
        self._unsaved_documents.clear()
        for what, rows in by_what.items():
            self.store.save_document_views(what, rows)
        return len(by_what)

    def _collection(self, doc_id: str, kind: Kind) -> _Collection:
        key = (doc_id, kind.name)
        coll = self._collections.get(key)
        if coll is None:
            coll = self._collections[key] = self._saved_collection(doc_id, kind)
        return coll

    def _basis(self, doc_id: str) -> tuple[int, int]:
        """What views of ``doc_id`` derived now are derived from: the counts of
        writes of its records and of the pod document's (module docstring)."""
        book = self.ledger.book
        return book.writes(doc_id), book.writes(self.ledger.pod_id)

    def _current(self, coll: _Collection, doc_id: str) -> bool:
        """Whether the collection's entries, as read from the store, were derived
        from the records the store holds now (the node's own, once it has read the
        records, follow them as they change: :meth:`_refresh`)."""
        return coll.doc_version < 0 and not coll.pending and coll.basis is not None \
            and coll.basis == self._basis(doc_id)

    def _saved_collection(self, doc_id: str, kind: Kind) -> _Collection:
        """A collection whose entries are in the store, read when first needed: with
        its basis when saved by this version of podsync in this layout under the
        pod's settings now; else one whose saved entries are replaced at the next save."""
        coll = _Collection()
        blob = self.store.views_basis(doc_id, kind.name) if self.store is not None else None
        if blob is None:
            coll.complete = True
            return coll
        try:
            basis = msgspec.msgpack.decode(blob, type=_SavedBasis)
        except (msgspec.DecodeError, msgspec.ValidationError):
            basis = None
        if basis is None or (basis.format, basis.version, basis.settings) != (
                VIEWS_FORMAT, podsync.__version__, _settings_key(self.settings())):
            coll.complete = coll.replace = True
            return coll
        coll.basis = (basis.collection_writes, basis.pod_writes)
        coll.settings_key = basis.settings
        coll.live_from = basis.live_from if basis.live_from.tzinfo is not None else None
        return coll

    def _read_saved(self, coll: _Collection, doc_id: str, kind: Kind,
                    live_after: dt.datetime | None) -> None:
        """Bring the saved entries into memory: all of them, or (``live_after``) at
        least those of items not quiet since before then. Entries in memory are
        newer than the store's and stay; one that does not read back leaves the
        collection's basis unknown, so its items are derived again."""
        if self.store is None or coll.complete or (live_after is not None and coll.live_read):
            return
        quiet_after = None if live_after is None else live_after.timestamp() - 1.0
        for item_id, blob in self.store.load_views(doc_id, kind.name, quiet_after=quiet_after):
            if item_id in coll.entries or item_id in coll.removed:
                continue
            try:
                entry = _decode_entry(blob)
            except (msgspec.DecodeError, msgspec.ValidationError):
                entry = None
            if entry is None or not _sound(entry):
                log.warning("a saved view of %s in %s does not read back; deriving it again",
                            kind.name, doc_id)
                coll.basis = None
                continue
            coll.entries[item_id] = entry
        coll.order = None
        if live_after is None:
            coll.complete = True
        else:
            coll.live_read = True

    def _refresh(self, coll: _Collection, doc_id: str, kind: Kind, now: dt.datetime,
                 budget: int | None) -> bool:
        """Read again the items whose records (or whose signers' standing) changed;
        at most ``budget`` of them. True when none is left to read."""
        # Saved entries are kept where their counted records are the same.
        self._read_saved(coll, doc_id, kind, None)
        basis = self._basis(doc_id)
        book = self.ledger.book.known(doc_id)
        tuned = self.settings()
        tuned_key = _settings_key(tuned)
        # A threshold moved (since the entries here, or those saved, were derived):
        # every view is derived again, and none saved under the old one is kept.
        moved = coll.settings_key is not None and coll.settings_key != tuned_key
        if moved:
            coll.entries.clear()
            coll.order = None
            coll.replace = True
            coll.changed.clear()
            coll.removed.clear()
        coll.settings_key = tuned_key
        if moved or coll.roster_version != self.ledger.roster_version:
            coll.roster_version = self.ledger.roster_version
            coll.pending.update(dict.fromkeys(book.subjects))
            for gone in [i for i in coll.entries if i not in book.subjects]:
                self._set(coll, gone, None)
        elif coll.doc_version != book.version:
            coll.pending.update(dict.fromkeys(
                s for s, version in book.changed.items() if version > coll.doc_version))
        coll.doc_version = book.version
        done = 0
        while coll.pending and (budget is None or done < budget):
            subject = next(iter(coll.pending))
            del coll.pending[subject]
            done += 1
            counted = self.ledger.counted(doc_id, subject)
            old = coll.entries.get(subject)
            key = tuple(c.record.id for c in counted)
            if old is not None and old.counted == key:
                continue  # the same records count: the same item
            item = items_from(counted, kind.create).get(subject)
            self._set(coll, subject, derive_entry(kind, item, key, now, tuned)
                      if item is not None else None)
        if coll.pending:
            return False
        if coll.basis != basis:
            coll.basis = basis
            coll.basis_unsaved = True
        return True

    @staticmethod
    def _set(coll: _Collection, item_id: str, entry: Entry | None) -> None:
        """``item_id``'s entry is now ``entry`` (None: it has none), to be saved."""
        old = coll.entries.get(item_id)
        if entry is not None:
            coll.entries[item_id] = entry
            coll.changed.add(item_id)
            coll.removed.discard(item_id)
        elif old is not None:
            del coll.entries[item_id]
            coll.removed.add(item_id)
            coll.changed.discard(item_id)
        if (old is None) != (entry is None):
            coll.order = None

    def _derive_again(self, coll: _Collection, doc_id: str, kind: Kind, item_id: str,
                      now: dt.datetime) -> Entry:
        """An item whose view the time has moved past (its records are unchanged).
        Only its own records are read again (from the store, when the collection's
        records are not in memory); all of them when one no longer counts."""
        key = coll.entries[item_id].counted
        counted = self.ledger.counted_again(doc_id, key)
        if counted is None:
            counted = self.ledger.counted(doc_id, item_id)
            key = tuple(c.record.id for c in counted)
        item = items_from(counted, kind.create)[item_id]
        entry = derive_entry(kind, item, key, now, self.settings())
        # Whether an item is of the kind does not depend on the time.
        assert entry is not None
        self._set(coll, item_id, entry)
        return entry


def derive_entry(kind: Kind, item: Item, counted: tuple[str, ...], now: dt.datetime,
                 tuned: dict[str, settings.Setting]) -> Entry | None:
    view = kind.derive(item, now, tuned)
    if view is None:
        return None
    quiet = archive.quiet_since(view)
    return Entry(counted, msgspec.json.encode(kind.show(view)), item.created_at, now,
                 stable_until(item, now), _moment(quiet) if quiet is not None else None)


def _document_basis(doc_writes: int, pod_writes: int) -> bytes:
    """What a saved view of a whole document was derived from (module docstring)."""
    return writes_basis(VIEWS_FORMAT, doc_writes, pod_writes)


def _timestamp(moment: dt.datetime | None) -> float | None:
    return moment.timestamp() if moment is not None else None


def _settings_key(tuned: dict[str, settings.Setting]) -> bytes:
    """The pod's settings as saved views record them (views depend on their values)."""
    return msgspec.msgpack.encode(sorted((name, s.value) for name, s in tuned.items()))


def _sound(entry: Entry) -> bool:
    """A saved entry the listing can splice as it is: a JSON object, aware times."""
    return entry.raw.startswith(b"{") and entry.raw.endswith(b"}") \
        and entry.derived_at.tzinfo is not None and entry.until.tzinfo is not None \
        and (entry.quiet is None or entry.quiet.tzinfo is not None)


def stable_until(item: Item, now: dt.datetime) -> dt.datetime:
    """The first moment after ``now`` at which a view of ``item`` may differ from
    its view at ``now``: the next UTC midnight, or the next whole number of days
    since (or until) any time the item carries, whichever comes first."""
    limit = dt.datetime.combine(now.astimezone(dt.timezone.utc).date() + DAY, dt.time(),
                                dt.timezone.utc)
    for moment in _times(item):
        if moment > now:
            nxt = moment
        else:
            nxt = moment + ((now - moment) // DAY + 1) * DAY
        if nxt < limit:
            limit = nxt
    return limit


def _times(item: Item) -> list[dt.datetime]:
    texts = [item.created_at, *(e.at for e in item.events)]
    for body in (item.fields, *(e.args for e in item.events)):
        texts += [v for v in body.values() if isinstance(v, str) and _looks_like_time(v)]
    return [m for m in map(_moment, texts) if m is not None]


def _looks_like_time(text: str) -> bool:
    return 19 <= len(text) <= 40 and text[:4].isdigit() and text[10:11] == "T"


def _moment(text: str) -> dt.datetime | None:
    try:
        moment = dt.datetime.fromisoformat(text)
    except ValueError:
        return None
    return moment if moment.tzinfo is not None else None
