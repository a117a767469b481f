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

automerge's diff walks the whole document, though (about 10 ms for 40,000
records). After this node's own write there is nothing to find out: the
ledger says which records it is writing (:meth:`RecordBook.expect`) before the
change is made, and when the only change since the heads last read is that
local change, those records are taken as they are.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable
from dataclasses import dataclass, field

import automerge.core as am

from podsync.records.format import Record, Unreadable, parse
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
                    r'action: (?:PutMap|DeleteMap) \{ key: "([0-9a-f]{32})"')
_ROOT_PATCH = re.compile(r'Patch \{ obj: Root, path: \[\], ')


@dataclass
class DocRecords:
    """One document's records as this node knows them."""

    doc_id: str
    records: dict[str, Record] = field(default_factory=dict)
    #: Bytes under a key that are not a readable record (counted, never used).
    unreadable: dict[str, Unreadable] = field(default_factory=dict)
    #: Item id -> ids of its records (an item's id is its creation record's id).
    subjects: dict[str, list[str]] = field(default_factory=dict)
    #: Signature answers: True valid, False invalid, None signer not known yet.
    signed: dict[str, bool | None] = field(default_factory=dict)
    #: The document heads the records were last read at.
    heads: list[bytes] = field(default_factory=list)
    #: Bumped whenever a record is added or a signature answer changes.
    version: int = 0
    #: Subject -> the version at which one of its records was added or had its
    #: signature answer change (what a cache of items compares against).
    changed: dict[str, int] = field(default_factory=dict)

    #: prev id -> the records naming it as their signer's previous one.
    named_as_prev: dict[str, list[str]] = field(default_factory=dict)

    def add(self, record: Record, ok: bool | None) -> bool:
        """Hold ``record`` with its signature answer; False when nothing changed.
        An authentic record stays authentic (the chain rule may have vouched for it)."""
        if record.id not in self.records:
            self.records[record.id] = record
            self.subjects.setdefault(record.subject, []).append(record.id)
            if record.prev is not None:
                self.named_as_prev.setdefault(record.prev, []).append(record.id)
        elif self.signed.get(record.id) is True or self.signed.get(record.id) == ok:
            return False
        self.signed[record.id] = ok
        self.version += 1
        self.changed[record.subject] = self.version
        return True

    def answer(self, record_id: str, ok: bool) -> None:
        """A signature answer for a record held (its signer became known)."""
        self.signed[record_id] = ok
        self.version += 1
        self.changed[self.records[record_id].subject] = self.version

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
        if flipped:
            self.version += 1
            for rid in flipped:
                self.changed[self.records[rid].subject] = self.version
        return flipped


@dataclass(frozen=True)
class Expected:
    """Records this node is writing into a document whose records were read up to
    ``before``: the change that follows is this node's own."""

    before: list[bytes]
    records: list[Record]


@dataclass(frozen=True)
class Ingest:
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


class RecordBook:
    """Every document's records, loaded lazily from the store."""

    def __init__(self, store: DocumentStore | None, verifier: Verifier) -> None:
        self.store = store
        self.verifier = verifier
        self._docs: dict[str, DocRecords] = {}
        self._expected: dict[str, Expected] = {}

    def known(self, doc_id: str) -> DocRecords:
        """The records of ``doc_id`` held so far (from the store on first use)."""
        book = self._docs.get(doc_id)
        if book is None:
            book = self._docs[doc_id] = DocRecords(doc_id)
            if self.store is not None:
                rows, heads = self.store.load_records(doc_id)
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
        return self._docs.get(doc_id)

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
            self._save_flipped(doc_id, book, book.vouch(own), exclude={r.id for r in own})
            book.heads = heads
            self._save(doc_id, own, heads)
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
                continue
            book.unreadable.pop(key, None)
            added.append(parsed)
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
                if self.store is not None:
                    self.store.submit_records(
                        doc_id, [(rid, book.records[rid].sealed, ok) for rid, ok in got.items()])
        return changed

    def loaded(self) -> list[str]:
        return list(self._docs)

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
        if rows and self.store is not None:
            self.store.submit_records(doc_id, rows)

    def _save(self, doc_id: str, records: list[Record], heads: list[bytes] | None) -> None:
        if self.store is None or (not records and heads is None):
            return
        book = self._docs[doc_id]
        self.store.submit_records(doc_id, [(r.id, r.sealed, book.signed.get(r.id))
                                           for r in records], heads)

