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
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import msgspec

from podsync.pod import archive, needs, settings
from podsync.pod.events import Item, items_from
from podsync.trust.ledger import Ledger

log = logging.getLogger(__name__)

DAY = dt.timedelta(days=1)
#: Items derived per step while warming the caches in the background: about
#: 10-30 ms of work, so the node keeps answering peers and members meanwhile.
WARM_STEP_ITEMS = 200


@dataclass(frozen=True)
class Kind:
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


@dataclass
class Entry:
    """One item as the cache keeps it: the view as the API shows it, as JSON (a
    fraction of the memory the view's objects take), and what says when it is stale."""

    counted: tuple[str, ...]  # ids of the item's counted records it was derived from
    raw: bytes  # ``show(view)`` as JSON, without ``archived``
    created_at: str
    derived_at: dt.datetime
    until: dt.datetime  # the view holds for moments in [derived_at, until)
    quiet: dt.datetime | None  # closed and quiet since (archive), or None

    def archived(self, after_days: int, now: dt.datetime) -> bool:
        return self.quiet is not None and now - self.quiet >= after_days * DAY


@dataclass
class _Collection:
    doc_version: int = -1  # the book's version the entries follow
    roster_version: int = -1
    settings: dict[str, settings.Setting] | None = None  # the settings the entries follow
    entries: dict[str, Entry] = field(default_factory=dict)
    pending: dict[str, None] = field(default_factory=dict)  # subjects to read again
    order: list[str] | None = None  # entry ids, oldest first (None: to sort again)


class Views:
    """The cached views of one ledger's collections."""

    def __init__(self, ledger: Ledger) -> None:
        self.ledger = ledger
        self._collections: dict[tuple[str, str], _Collection] = {}
        self._settings: tuple[int, dict[str, settings.Setting]] | None = None
        self._documents: dict[tuple[str, str], tuple[tuple[int, int], Any]] = {}

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

    def entries(self, doc_id: str, kind: Kind, now: dt.datetime) -> list[Entry]:
        """Every item of ``kind`` in ``doc_id`` as of ``now``, oldest first."""
        coll = self._collection(doc_id, kind)
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
        return [decode(e.raw) for e in self.entries(doc_id, kind, now)
                if everything or not e.archived(after_days, now)]

    def listing(self, doc_id: str, kind: Kind, now: dt.datetime, *,
                everything: bool) -> msgspec.Raw:
        """The items as the API lists them, as one JSON array: the live ones, or
        ``everything`` (archived too), each with ``archived`` saying which it is."""
        after_days = self.archive_after_days()
        parts: list[bytes | memoryview] = []
        for entry in self.entries(doc_id, kind, now):
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

    def of_document(self, doc_id: str, what: str, compute: Callable[[], Any]) -> Any:
        """``compute()``, a view of the whole document ``doc_id`` that does not
        depend on the time (a feedback thread), kept until its records or the
        roster change."""
        book = self.ledger.book.known(doc_id)
        key = (book.version, self.ledger.roster_version)
        cached = self._documents.get((doc_id, what))
        if cached is not None and cached[0] == key:
            return cached[1]
        value = compute()
        self._documents[(doc_id, what)] = (key, value)
        return value

    # -- internals ---------------------------------------------------------------

    def _collection(self, doc_id: str, kind: Kind) -> _Collection:
        key = (doc_id, kind.name)
        coll = self._collections.get(key)
        if coll is None:
            coll = self._collections[key] = _Collection()
        return coll

    def _refresh(self, coll: _Collection, doc_id: str, kind: Kind, now: dt.datetime,
                 budget: int | None) -> bool:
        """Read again the items whose records (or whose signers' standing) changed;
        at most ``budget`` of them. True when none is left to read."""
        book = self.ledger.book.known(doc_id)
        tuned = self.settings()
        moved = coll.settings is not None and coll.settings != tuned
        if moved:  # a threshold moved: every view is derived again
            coll.entries.clear()
            coll.order = None
        coll.settings = tuned
        if moved or coll.roster_version != self.ledger.roster_version:
            coll.roster_version = self.ledger.roster_version
            coll.pending.update(dict.fromkeys(book.subjects))
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
            entry = derive_entry(kind, item, key, now, tuned) if item is not None else None
            if entry is not None:
                coll.entries[subject] = entry
            elif old is not None:
                del coll.entries[subject]
            if (old is None) != (entry is None):
                coll.order = None
        return not coll.pending

    def _derive_again(self, coll: _Collection, doc_id: str, kind: Kind, item_id: str,
                      now: dt.datetime) -> Entry:
        """An item whose view the time has moved past (its records are unchanged)."""
        counted = self.ledger.counted(doc_id, item_id)
        item = items_from(counted, kind.create)[item_id]
        entry = derive_entry(kind, item, coll.entries[item_id].counted, now, self.settings())
        # Whether an item is of the kind does not depend on the time.
        assert entry is not None
        coll.entries[item_id] = entry
        return entry


def derive_entry(kind: Kind, item: Item, counted: tuple[str, ...], now: dt.datetime,
                 tuned: dict[str, settings.Setting]) -> Entry | None:
    view = kind.derive(item, now, tuned)
    if view is None:
        return None
    quiet = archive.quiet_since(view)
    return Entry(counted, msgspec.json.encode(kind.show(view)), item.created_at, now,
                 stable_until(item, now), _moment(quiet) if quiet is not None else None)


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
