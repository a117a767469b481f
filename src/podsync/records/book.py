"""The records this node has ever held, per document, apart from the documents.

A document's ``records`` map is written by every member's node, and a member with
a modified node can delete or overwrite entries in it. The book keeps every
record the node has read (in memory, and in the store's ``records`` table), so a
record deleted or overwritten later still counts here, and the node writes it
back into the document (:meth:`RecordBook.repairs`) so members who never saw it
get it too.

Reading a document's new records after a change costs what changed, not the
whole map: the diff between the heads read last and the document's heads names
the keys that were put or deleted. Anything the diff cannot say precisely (the
map itself replaced, a change to the document root) falls back to reading every
key, which is always correct.

Records of a document nobody has read for a while are let go of
(:meth:`RecordBook.sweep`) and read again from the store when next asked for.

automerge's diff walks the whole document, though (about 10 ms for 40,000
records). After this node's own write there is nothing to find out: the
ledger says which records it is writing (:meth:`RecordBook.expect`) before the
change is made, and when the only change since the heads last read is that
local change, those records are taken as they are.
"""

from __future__ import annotations

import itertools
import logging
import re
from collections import OrderedDict
from collections.abc import Iterable
from concurrent.futures import Future
from typing import get_args

import automerge.core as am
import msgspec

import podsync
from podsync.records.format import Reason, Record, Unreadable, parse
from podsync.records.verify import Verifier
from podsync.store import DocumentStore

log = logging.getLogger(__name__)

RECORDS_KEY = "records"
#: Entries read from one document's ``records`` map. A pod that ran for years
#: holds some tens of thousands of records in its busiest document; a map far
#: larger is an attempt to make every node store and scan junk.
MAX_RECORDS_PER_DOCUMENT = 500_000

# One patch of automerge's diff, as the pinned binding prints it: a put or a
# delete of one key directly in the root's ``records`` map.
_PATCH = re.compile(r'Patch \{ obj: Id\(\d+, ActorID\("[0-9a-f]*"\), \d+\), '
                    r'path: \[\(Root, Map\("records"\)\)\], '
                    r'action: (?:PutMap|DeleteMap) \{ key: "((?:[^"\\]|\\.)*)"')
_ROOT_PATCH = re.compile(r'Patch \{ obj: Root, path: \[\], ')
#: Versions of every document's records, rising across all documents and every
#: reading from the store: a document's records read again after being let go
#: are newer than anything a cache saw before.
_versions = itertools.count(1)
#: How often a node lets go of the records of documents nobody asked for since
#: the last time: a document read in bursts (a listing, a sync) stays, one
#: untouched for a few minutes goes back to the store.
RECORDS_IDLE_SECONDS = 120.0
#: Documents whose records are kept in memory at most; past it the least recently
#: used make room (they stay in the store). A document's records take a few
#: kilobytes each: a node syncing 10,000 documents for the first time would hold
#: 100 MB of them otherwise, while a member uses a few hundred at a time.
MAX_RECORD_DOCUMENTS = 2000
#: Documents looked at per load to make room (some may be pending a write).
MAX_EVICTION_TRIES = 64


class DocRecords(msgspec.Struct):
    """One document's records as this node knows them."""

    doc_id: str
    records: dict[str, Record] = msgspec.field(default_factory=dict)
    #: Bytes under a key that are not a readable record (counted, never used).
    unreadable: dict[str, Unreadable] = msgspec.field(default_factory=dict)
    #: Item id -> ids of its records (an item's id is its creation record's id).
    subjects: dict[str, list[str]] = msgspec.field(default_factory=dict)
    #: Signature answers: True valid, False invalid, None signer not known yet.
    signed: dict[str, bool | None] = msgspec.field(default_factory=dict)
    #: The document heads the records were last read at.
    heads: list[bytes] = msgspec.field(default_factory=list)
    #: Raised whenever a record is added or a signature answer changes.
    version: int = 0
    #: How many writes of these records the store holds once every write this book
    #: made has landed (the store's count when they were read, plus one per write
    #: since): what views saved in the store are checked against.
    writes: int = 0
    #: Subject -> the version at which one of its records was added or had its
    #: signature answer change (what a cache of items compares against).
    changed: dict[str, int] = msgspec.field(default_factory=dict)
    #: prev id -> the records naming it as their signer's previous one.
    named_as_prev: dict[str, list[str]] = msgspec.field(default_factory=dict)

    def add(self, record: Record, ok: bool | None) -> bool:
        """Hold ``record`` with its signature answer (an authentic one stays
        authentic); False when nothing changed."""
        if record.id not in self.records:
            self.records[record.id] = record
            self.subjects.setdefault(record.subject, []).append(record.id)
            if record.prev is not None:
                self.named_as_prev.setdefault(record.prev, []).append(record.id)
        elif self.signed.get(record.id) is True or self.signed.get(record.id) == ok:
            return False
        if self.signed.get(record.id) is not True:
            self.signed[record.id] = ok
        self._changed(record.subject)
        return True

    def answer(self, record_id: str, ok: bool) -> None:
        """A signature answer for a record held (its signer became known)."""
        self.signed[record_id] = ok
        self._changed(self.records[record_id].subject)

    def _changed(self, subject: str) -> None:
        self.version = next(_versions)
        self.changed[subject] = self.version

    def vouch(self, records: Iterable[Record]) -> list[str]:
        """Apply the chain rule to ``records`` (just added or just checked): a record
        is authentic when its signature verifies, or when an authentic record of the
        same signer names it as ``prev`` (that signer signed its hash). Whatever
        order records arrive in, every node ends with the same answers. Returns the
        ids whose answer turned authentic here."""
        flipped: list[str] = []
        queue = []
        for r in records:
            if self.signed.get(r.id) is True:
                queue.append(r)
            elif any(self.signed.get(c) is True and self.records[c].by == r.by
                     for c in self.named_as_prev.get(r.id, ())):
                self.signed[r.id] = True
                flipped.append(r.id)
                queue.append(r)
        while queue:
            r = queue.pop()
            p = self.records.get(r.prev) if r.prev is not None else None
            if p is not None and p.by == r.by and self.signed.get(p.id) is not True:
                self.signed[p.id] = True
                flipped.append(p.id)
                queue.append(p)
        for rid in flipped:
            self._changed(self.records[rid].subject)
        return flipped


class Expected(msgspec.Struct, frozen=True):
    """Records this node is writing into a document whose records were read up to
    ``before``: the change that follows is this node's own."""

    before: list[bytes]
    records: list[Record]


class Ingest(msgspec.Struct, frozen=True):
    """What reading a document brought: new records, and ones it no longer holds."""

    added: list[Record]
    missing: list[Record]


def records_object(doc: am.Document) -> bytes | None:
    found = doc.get(am.ROOT, RECORDS_KEY)
    if found is None or found[0] != am.ObjType.Map:
        return None
    return found[1]


def read_value(doc: am.Document, obj: bytes, key: str) -> object:
    found = doc.get(obj, key)
    if found is None:
        return None
    value = found[0]
    if isinstance(value, am.ObjType):
        return value
    return value[1]


#: The reasons a stored note of unreadable entries may give (anything else in the
#: file is not ours and is dropped).
_REASONS = frozenset(get_args(Reason))


class RecordBook:
    """Every document's records, loaded lazily from the store."""

    def __init__(self, store: DocumentStore | None, verifier: Verifier) -> None:
        self.store = store
        self.verifier = verifier
        #: Least recently asked for first.
        self._docs: OrderedDict[str, DocRecords] = OrderedDict()
        self._expected: dict[str, Expected] = {}
        #: Documents whose records were asked for since the last sweep.
        self._recent: set[str] = set()
        #: The last write of each document's records to the store, until it lands.
        self._saving: dict[str, Future[None]] = {}
        #: Documents whose records always stay (the ledger's pod document).
        self._keep: set[str] = set()

    def known(self, doc_id: str) -> DocRecords:
        """The records of ``doc_id`` held so far (from the store on first use)."""
        self._recent.add(doc_id)
        book = self._docs.get(doc_id)
        if book is not None:
            self._docs.move_to_end(doc_id)
            return book
        if self.store is None:
            book = self._docs[doc_id] = DocRecords(doc_id)
            return book
        return self._held(doc_id, *self.store.load_records(doc_id))

    def preload(self, doc_ids: Iterable[str]) -> None:
        """Read the records of many documents from the store at once (as
        :meth:`known` would one by one); those already in memory are kept."""
        if self.store is None:
            return
        missing = [d for d in doc_ids if d not in self._docs]
        for doc_id, stored in self.store.load_records_many(missing).items():
            self._held(doc_id, *stored)

    def _held(self, doc_id: str, rows: list[tuple[str, bytes, bool | None]],
              heads: list[bytes] | None, unreadable: dict[str, tuple[str, str]],
              writes: int) -> DocRecords:
        """``doc_id``'s records as the store gave them, now in memory."""
        self._make_room()
        book = self._docs[doc_id] = DocRecords(doc_id, writes=writes)
        for key, (reason, detail) in unreadable.items():
            if reason in _REASONS:
                book.unreadable[key] = Unreadable(key, reason, detail)  # type: ignore[arg-type]
        parsed = [(parse(rid, sealed), ok) for rid, sealed, ok in rows]
        answers = self.verifier.check_many(
            [r for r, ok in parsed if isinstance(r, Record) and ok is None])
        for record, ok in parsed:
            if isinstance(record, Record):
                book.add(record, ok if ok is not None else answers.get(record.id))
        book.vouch(book.records.values())
        book.heads = heads or []
        return book

    def peek(self, doc_id: str) -> DocRecords | None:
        """The records of ``doc_id`` if they are loaded already."""
        book = self._docs.get(doc_id)
        if book is not None:
            self._recent.add(doc_id)
            self._docs.move_to_end(doc_id)
        return book

    def ingest(self, doc_id: str, doc: am.Document) -> Ingest:
        """Read the records ``doc`` holds that the book does not, and note those it
        no longer holds as they were read."""
        book = self.known(doc_id)
        heads = sorted(doc.get_heads())
        if heads == book.heads:
            return Ingest([], [])
        own = self._own_change(doc_id, book, doc)
        if own is not None:
            for record in own:
                book.add(record, True)
            book.heads = heads
            self._save(doc_id, own, heads)
            self._save_flipped(doc_id, book, book.vouch(own), exclude={r.id for r in own})
            return Ingest([], [])
        obj = records_object(doc)
        keys = self._changed_keys(doc, book.heads, heads) if obj is not None else None
        if obj is None:
            present: dict[str, object] = {}
        elif keys is None:
            present = self._read_all(doc, obj)
        else:
            present = {k: read_value(doc, obj, k) for k in keys}
            present = {k: v for k, v in present.items() if v is not None}
        added: list[Record] = []
        for key, value in present.items():
            known = book.records.get(key)
            if known is not None:
                continue
            parsed = parse(key, value)
            if isinstance(parsed, Unreadable):
                book.unreadable[key] = parsed
                book.version = next(_versions)  # what is counted as unreadable changed
                continue
            if book.unreadable.pop(key, None) is not None:
                book.version = next(_versions)
            added.append(parsed)
        # Entries that were unreadable and are gone from the document (deleted, or
        # the whole map replaced) are no longer there to count.
        for key in [k for k in (keys if keys is not None else list(book.unreadable))
                    if k in book.unreadable and k not in present]:
            del book.unreadable[key]
            book.version = next(_versions)
        answers = self.verifier.check_many(added)
        for record in added:
            book.add(record, answers.get(record.id))
        self._save_flipped(doc_id, book, book.vouch(added), exclude={r.id for r in added})
        checked = keys if keys is not None else list(book.records)
        missing = [book.records[k] for k in checked
                   if k in book.records and book.signed.get(k) is True
                   and present.get(k) != book.records[k].sealed]
        book.heads = heads
        self._save(doc_id, added, heads)
        return Ingest(added, missing)

    def expect(self, doc_id: str, before: list[bytes], records: list[Record]) -> Expected:
        """This node is about to write ``records`` into ``doc_id``, whose heads are
        ``before``, as one local change (called just before the change is made)."""
        expected = self._expected[doc_id] = Expected(sorted(before), list(records))
        return expected

    def settle_expected(self, doc_id: str, expected: Expected) -> None:
        """The write :meth:`expect` announced is done (or failed): forget it."""
        if self._expected.get(doc_id) is expected:
            del self._expected[doc_id]

    def _own_change(self, doc_id: str, book: DocRecords, doc: am.Document) -> list[Record] | None:
        """The records of this node's own write when it is the only change since
        the heads last read; None when anything else may have changed too."""
        expected = self._expected.pop(doc_id, None)
        if expected is None or expected.before != book.heads:
            return None
        try:
            changes = doc.get_changes(book.heads)
            last = doc.get_last_local_change()
        except Exception:  # noqa: BLE001 - heads the document lacks: read as usual
            return None
        # The write was announced right before its transaction, so a change exists
        # that is ours; a single change since ``before`` can only be that one.
        if len(changes) != 1 or last is None or changes[0].hash != last.hash \
                or sorted(changes[0].deps) != book.heads:
            return None
        return expected.records

    def add_own(self, doc_id: str, record: Record) -> None:
        """A record this node wrote into ``doc_id`` (its signature is its own)."""
        book = self.known(doc_id)
        if book.add(record, True):
            self._save(doc_id, [record], None)
            self._save_flipped(doc_id, book, book.vouch([record]), exclude={record.id})

    def adopt(self, doc_id: str, records: Iterable[Record]) -> None:
        """Records already checked elsewhere (a document admitted before it is stored)."""
        book = self.known(doc_id)
        fresh = [r for r in records if r.id not in book.records]
        answers = self.verifier.check_many(fresh)
        for r in fresh:
            book.add(r, answers.get(r.id))
        self._save(doc_id, fresh, None)
        self._save_flipped(doc_id, book, book.vouch(fresh), exclude={r.id for r in fresh})

    def recheck(self) -> list[str]:
        """Check again the signatures whose signer was unknown (after new devices
        were learnt); the documents whose answers changed."""
        changed = []
        for doc_id, book in self._docs.items():
            waiting = [book.records[rid] for rid, ok in book.signed.items() if ok is None]
            if not waiting:
                continue
            answers = self.verifier.check_many(waiting)
            got = {rid: ok for rid, ok in answers.items() if ok is not None}
            if got:
                for rid, ok in got.items():
                    book.answer(rid, ok)
                for rid in book.vouch([book.records[rid] for rid in got]):
                    got[rid] = True
                changed.append(doc_id)
                self._submit(book, [(rid, book.records[rid].sealed, ok) for rid, ok in got.items()])
        return changed

    def loaded(self) -> list[str]:
        return list(self._docs)

    def held(self) -> list[DocRecords]:
        """Every document's records in memory now (asking counts as no use)."""
        return list(self._docs.values())

    def keep(self, doc_id: str) -> None:
        """Never let go of ``doc_id``'s records (the pod document: every question
        about the roster reads them)."""
        self._keep.add(doc_id)

    def sweep(self) -> list[str]:
        """Let go of the records of documents nobody asked for since the last sweep
        (they are all in the store, and read again from it when next asked for);
        the documents let go of. Never one kept, nor one whose records are still
        being written (entries that could not be read are stored with the heads
        they were found at, and read back with the records)."""
        if self.store is None:
            return []
        gone = [doc_id for doc_id in list(self._docs)
                if doc_id not in self._recent and self._let_go(doc_id)]
        self._recent.clear()
        return gone

    def _let_go(self, doc_id: str) -> bool:
        """Drop ``doc_id``'s records from memory if nothing about them is pending."""
        book = self._docs[doc_id]
        saving = self._saving.get(doc_id)
        if (doc_id in self._keep or doc_id in self._expected
                or (saving is not None and not saving.done())):
            return False
        del self._docs[doc_id]
        self._saving.pop(doc_id, None)
        return True

    def _make_room(self) -> None:
        """Past MAX_RECORD_DOCUMENTS, let go of the least recently used (a few tries)."""
        if self.store is None or len(self._docs) < MAX_RECORD_DOCUMENTS:
            return
        for doc_id in list(self._docs)[:MAX_EVICTION_TRIES]:
            if self._let_go(doc_id) and len(self._docs) < MAX_RECORD_DOCUMENTS:
                return

    # -- internals ------------------------------------------------------------

    def _changed_keys(self, doc: am.Document, before: list[bytes],
                      after: list[bytes]) -> list[str] | None:
        if not before:
            return None
        try:
            patches = doc.diff(before, after)
        except Exception:  # noqa: BLE001 - heads the document lacks (rewritten store): read all
            return None
        keys: list[str] = []
        for patch in patches:
            text = repr(patch)
            match = _PATCH.match(text)
            if match:
                if "\\" in match.group(1):
                    return None  # a key written with escapes: read them all
                keys.append(match.group(1))
            elif _ROOT_PATCH.match(text) and f'key: "{RECORDS_KEY}"' in text[:200]:
                return None  # the map itself was replaced: read it all
        return keys

    def _read_all(self, doc: am.Document, obj: bytes) -> dict[str, object]:
        # keys() and values() list a map in the same (key) order; one call each
        # costs far less than a lookup per key.
        keys, values = doc.keys(obj), doc.values(obj)
        if len(keys) != len(values):
            return {k: read_value(doc, obj, k) for k in keys[:MAX_RECORDS_PER_DOCUMENT]}
        if len(keys) > MAX_RECORDS_PER_DOCUMENT:
            log.warning("a document holds %d records; reading the first %d",
                        len(keys), MAX_RECORDS_PER_DOCUMENT)
        out: dict[str, object] = {}
        for key, (value, _) in zip(keys[:MAX_RECORDS_PER_DOCUMENT], values):
            out[key] = value if isinstance(value, am.ObjType) else value[1]
        return out

    def _save_flipped(self, doc_id: str, book: DocRecords, flipped: list[str],
                      exclude: set[str]) -> None:
        """Store the answers the chain rule changed for records stored before."""
        rows = [(rid, book.records[rid].sealed, True) for rid in flipped if rid not in exclude]
        if rows:
            self._submit(book, rows)

    def _save(self, doc_id: str, records: list[Record], heads: list[bytes] | None) -> None:
        if not records and heads is None:
            return
        book = self._docs[doc_id]
        self._submit(book, [(r.id, r.sealed, book.signed.get(r.id)) for r in records], heads,
                     {u.key: (u.reason, u.detail) for u in book.unreadable.values()}
                     if heads is not None else None)

    def _submit(self, book: DocRecords, rows: list[tuple[str, bytes, bool | None]],
                heads: list[bytes] | None = None,
                unreadable: dict[str, tuple[str, str]] | None = None) -> None:
        """Write records (or their answers) of ``book`` to the store: one more write."""
        if self.store is None:
            return
        self._saving[book.doc_id] = self.store.submit_records(book.doc_id, rows, heads, unreadable)
        book.writes += 1

    def writes(self, doc_id: str) -> int:
        """How many writes of ``doc_id``'s records the store holds once this book's
        have landed (read from the store when the records are not in memory)."""
        return self.writes_of([doc_id])[doc_id]

    def writes_of(self, doc_ids: Iterable[str]) -> dict[str, int]:
        """:meth:`writes` of each of ``doc_ids``, those not in memory in one read."""
        wanted = list(dict.fromkeys(doc_ids))
        out = {d: self._docs[d].writes for d in wanted if d in self._docs}
        rest = [d for d in wanted if d not in out]
        if rest:
            out.update(self.store.record_writes(rest) if self.store is not None
                       else dict.fromkeys(rest, 0))
        return out



class _WritesBasis(msgspec.Struct, array_like=True, frozen=True):
    layout: int
    version: str  # podsync's
    doc_writes: int
    pod_writes: int


def writes_basis(layout: int, doc_writes: int, pod_writes: int) -> bytes:
    """What something kept in the store beside a document's records was worked out
    from, as it is saved with it: the layout it is kept in, this podsync's version,
    and the counts of writes of the document's records and of the pod document's
    (:meth:`RecordBook.writes`). The same bytes as the basis now: worked out from
    the very records the store holds."""
    return msgspec.msgpack.encode(_WritesBasis(layout, podsync.__version__, doc_writes, pod_writes))
