"""The pod's signed records as this node holds them: who is in the pod, who reads
each document, which records count, and writing new ones.

Everything the node decides about trust comes from here, and everything here
comes from records whose signature verifies (:mod:`podsync.records`), never
from what a document's other content says:

- **the roster**: the pod document's records replayed (:mod:`.graph`);
- **a document's kind and readers**: the pod document and the pod's
  collections (named in the founding record) are read by the whole pod; a
  document podsync creates for some members carries a creation record whose
  hash *is* the document id, naming its kind and readers, so nobody can give an
  existing id other readers; a document of another app is read by whom the
  member who brought it shares it with (``doc.share`` records in the pod
  document, naming the document only by a hash). Anything else: nobody;
- **which records count** in a document: signed by a device the roster ever
  admitted, before that device's or its member's removal, for this pod and
  this document.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import logging
from collections.abc import Callable, Iterable
from typing import Any, Literal

import automerge.core as am
import msgspec

from podsync.errors import PodsyncError
from podsync.ids import is_document_id
from podsync.records.book import RECORDS_KEY, DocRecords, Expected, RecordBook, records_object
from podsync.records.format import Draft, Record, build_payload, derived_id, parse, seal
from podsync.records.verify import Signer, Verifier
from podsync.trust import graph as graph_mod
from podsync.trust import roster as roster_mod

log = logging.getLogger(__name__)

POD: Literal["pod"] = "pod"
NOBODY: frozenset[str] = frozenset()
Readers = Literal["pod"] | frozenset[str]

#: A device certificate is a few hundred bytes; anything much larger is not one.
MAX_CERT_BYTES = 4096
#: Documents whose records :meth:`Ledger.establish` reads at once: well under the
#: book's cap, so each batch is still in memory when its readers are worked out.
ESTABLISH_BATCH = 500

CREATE = "doc.create"
SHARE = "doc.share"
READERS_CHANGE = "doc.readers"
FOREIGN_KIND = "automerge"
POD_KIND = "pod"
_SHARE_TAG = b"podsync-share\x00"

#: How a kind of private document lets its readers change: given the creation
#: record, the counted reader-change records in replay order and the member of
#: each signer, the readers now. Kinds register theirs (podsync.pod.access);
#: a kind with none keeps the readers it was created with.
ReaderRule = Callable[[Record, list[tuple[Record, str]]], "Readers"]
READER_RULES: dict[str, ReaderRule] = {}


class RecordRefused(PodsyncError):
    """The record would not count: it is not written."""


class LegacyPod(PodsyncError):
    """The pod was made by a podsync whose records were not signed."""


LEGACY_MESSAGE = (
    "this pod was made with podsync 0.1, whose records were not signed, so no node can "
    "tell which of them are genuine and this podsync will not sync or change it. Nothing "
    "is lost: `podsync export` still writes everything it holds. To go on, one member "
    "founds a new pod (`podsync init` in a new home) and invites the others; see the "
    "README, \"Pods made before signed records\"")


def share_ref(pod_id: str, doc_id: str) -> str:
    """How share records name a document: a hash, so the id itself stays private."""
    return hashlib.sha256(_SHARE_TAG + pod_id.encode() + b"\x00" + doc_id.encode()).digest()[:16].hex()


class Counted(msgspec.Struct, frozen=True):
    """A record that counts, with the member its signer belongs to."""

    record: Record
    member: str


class Ledger:
    """The pod's records for one node (the running node, or a command working
    directly on the store). ``write`` stores a record in a document; the node
    gives the repo's ``change``."""

    def __init__(self, *, pod_id: str, member_id: str, book: RecordBook,
                 signer: Signer | None,
                 load: Callable[[str], am.Document | None],
                 holds: Callable[[str], bool],
                 write: Callable[[str, Callable[[Any], None]], Any] | None = None,
                 heads: Callable[[str], list[bytes] | None] | None = None) -> None:
        self.pod_id = pod_id
        self.member_id = member_id
        self.book = book
        self.verifier: Verifier = book.verifier
        self.signer = signer
        self._load = load
        self._holds = holds
        self._write = write
        #: A document's heads without loading it (None: not known that way).
        self._heads = heads
        #: Roots counted before, as the store keeps them (read at first need).
        self._saved_roots: dict[str, tuple[list[bytes], int]] | None = None
        self._replay = graph_mod.Replay(None, [], {}, [], {}, None)
        self._collections: dict[str, str] = {}  # doc id -> kind
        self._readers: dict[str, Readers] = {}
        #: Private documents found contested when their readers were last worked
        #: out (kept current by readers(), whose cache says when to look again).
        self._contested_ids: set[str] = set()
        self._kinds: dict[str, str | None] = {}
        self._shares: dict[str, tuple[str, Readers]] | None = None
        self._own_heads: dict[str, str | None] = {}
        #: Held document -> (heads read, hashes of its changes without parents).
        self._roots: dict[str, tuple[list[bytes], list[bytes]]] = {}
        # The roots the last candidate() read (id, heads, roots): kept by
        # admit_candidate if it admits that very document.
        self._candidate_roots: tuple[str, list[bytes], list[bytes]] | None = None
        self._certs: set[bytes] = set()
        self._unverifiable: dict[str, tuple[tuple[int, int], dict[str, int]]] = {}
        #: Whether the counts of documents not read yet came from the store.
        self._unverifiable_stored = False
        #: Bumped whenever the counted pod records change (the roster, who reads
        #: what, teams, settings...): caches of what they say compare it.
        self.pod_version = 0
        #: Bumped whenever which records count may have changed (a device admitted,
        #: a member or device removed): caches of counted records compare it.
        self.roster_version = 0
        #: From the roster, for questions asked on every operation and record:
        #: removed member or device id -> its earliest removal, and active members.
        self._removed_at: dict[str, dt.datetime] = {}
        self._active_members: frozenset[str] = frozenset()
        self._active_devices: dict[str, str] = {}  # active device id -> its member
        #: Shares this node is writing (a local app's new document is the member's
        #: from the moment it arrives, before its record is durable).
        self._pending: dict[str, Readers] = {}
        book.keep(pod_id)  # every question about the roster reads its records
        self.refresh_pod()

    # -- the pod document -----------------------------------------------------

    @property
    def roster(self) -> roster_mod.Roster | None:
        return self._replay.roster

    @property
    def replay(self) -> graph_mod.Replay:
        return self._replay

    def refresh_pod(self) -> bool:
        """Replay the pod document's records; True when the active devices, the
        members or the counted records changed."""
        doc = self._load(self.pod_id)
        if doc is not None:
            self.book.ingest(self.pod_id, doc)
        book = self.book.known(self.pod_id)
        # A certificate proves itself (the device id is its hash), so every device
        # any record names is learnt before anything is replayed (its key is read
        # from the certificate when one of its signatures is first checked).
        learnt = False
        for record in book.records.values():
            cert = record.body.get("cert")
            if record.type in (graph_mod.FOUND, graph_mod.ADMIT) and isinstance(cert, bytes) \
                    and len(cert) <= MAX_CERT_BYTES and cert not in self._certs:
                self._certs.add(cert)
                self.verifier.learn(cert)
                learnt = True
        if learnt:
            self.book.recheck()
        before = self._replay
        self._replay = graph_mod.replay(self.pod_id, book.records, book.signed)
        root = self._root()
        collections = root.body.get("collections") if root is not None else None
        self._collections = {doc_id: kind for kind, doc_id in (collections or {}).items()
                             if isinstance(kind, str) and is_document_id(doc_id)}
        changed = (before.counted != self._replay.counted)
        if changed:
            self._readers.clear()
            self._kinds.clear()
            self._shares = None
            self.pod_version += 1
            signers = (before.device_members, self._removed_at)
            self._index_roster()
            if signers != (self._replay.device_members, self._removed_at):
                self.roster_version += 1
        return changed

    def _index_roster(self) -> None:
        roster = self._replay.roster
        self._removed_at = {}
        for removal in roster.removals if roster is not None else []:
            at = removal.at.astimezone(dt.timezone.utc)
            if removal.target not in self._removed_at or at < self._removed_at[removal.target]:
                self._removed_at[removal.target] = at
        self._active_members = frozenset(
            m.member_id for m in (roster.members if roster is not None else [])
            if m.status == "active")
        self._active_devices = {d.device_id: d.member_id
                                for d in (roster.devices if roster is not None else [])
                                if d.status == "active"}

    def is_active_member(self, member_id: str) -> bool:
        """Whether ``member_id`` is an active member of the pod now."""
        return member_id in self._active_members

    def active_device_member(self, device_id: str) -> str | None:
        """The member of ``device_id`` if the device is active now, else None."""
        return self._active_devices.get(device_id)

    def is_legacy(self) -> bool:
        """Whether the pod document is one podsync 0.1 wrote (a ``roster`` map and
        no founding record): none of its records are signed."""
        if self._replay.roster is not None:
            return False
        doc = self._load(self.pod_id)
        return doc is not None and doc.get(am.ROOT, "roster") is not None

    def _root(self) -> Record | None:
        if not self._replay.counted:
            return None
        return self.book.known(self.pod_id).records[self._replay.counted[0]]

    def collections(self) -> dict[str, str]:
        """Kind -> document id of every pod-wide collection."""
        return {kind: doc_id for doc_id, kind in self._collections.items()}

    def pod_records(self, types: Iterable[str] | None = None) -> list[Counted]:
        """The pod document's counted records (of ``types``), in replay order."""
        wanted = set(types) if types is not None else None
        book = self.book.known(self.pod_id)
        out = []
        for rid in self._replay.counted:
            record = book.records[rid]
            if wanted is None or record.type in wanted:
                out.append(Counted(record, self._replay.device_members.get(record.by, "")))
        return out

    # -- documents ------------------------------------------------------------

    def document_changed(self, doc_id: str) -> tuple[bool, list[Record]]:
        """Read ``doc_id``'s new records; (whether access may have changed, records
        this node holds that the document lost and that should be written back)."""
        doc = self._load(doc_id)
        if doc is None:
            return False, []
        if doc_id == self.pod_id:
            before_missing = self.book.ingest(doc_id, doc).missing
            return self.refresh_pod(), before_missing
        ingest = self.book.ingest(doc_id, doc)
        changed = False
        if ingest.added:
            changed = self._readers.pop(doc_id, None) is not None
            self._kinds.pop(doc_id, None)
        return changed, ingest.missing

    def kind(self, doc_id: str) -> str | None:
        """The document's kind as signed records establish it; None: not established."""
        if doc_id in self._kinds:
            return self._kinds[doc_id]
        kind: str | None
        if doc_id == self.pod_id:
            kind = POD_KIND
        elif doc_id in self._collections:
            kind = self._collections[doc_id]
        else:
            creation = self._creation(doc_id)
            if creation is not None:
                kind = str(creation.body.get("kind"))
            elif share_ref(self.pod_id, doc_id) in self._share_map():
                kind = FOREIGN_KIND
            else:
                kind = None
        self._kinds[doc_id] = kind
        return kind

    def readers(self, doc_id: str) -> Readers:
        """Who may read ``doc_id``: the whole pod, some members, or nobody."""
        cached = self._readers.get(doc_id)
        if cached is not None:
            return cached
        result: Readers
        if doc_id == self.pod_id or doc_id in self._collections:
            result = POD
        else:
            creation = self._creation(doc_id)
            if creation is not None:
                result = self._uncontested(doc_id, self._private_readers(doc_id, creation))
            else:
                self._contested_ids.discard(doc_id)
                shared = self._share_map().get(share_ref(self.pod_id, doc_id))
                result = shared[1] if shared is not None else NOBODY
        return self._remember(doc_id, result)

    def _uncontested(self, doc_id: str, readers: Readers) -> Readers:
        """The readers of a private document with a creation record: ``readers``,
        those the records make, unless its history is contested."""
        self._contested_ids.discard(doc_id)
        if self._contested(doc_id, readers):
            self._contested_ids.add(doc_id)
            # The document holds history that does not descend from its
            # creation: content someone sent under its id before the creation
            # record arrived here (a member who knew the id claimed it as their
            # app's document). Serve it to nobody rather than pass a
            # non-reader's changes on to the readers (see contested()).
            return NOBODY
        return readers

    def _remember(self, doc_id: str, readers: Readers) -> Readers:
        if readers is not NOBODY or self._holds(doc_id):
            self._readers[doc_id] = readers
        return readers

    def unread(self, doc_id: str) -> bool:
        """Whether working out the readers of ``doc_id`` would read its records
        from the store: a private document whose readers are not known and whose
        records are not in memory."""
        return doc_id != self.pod_id and doc_id not in self._collections \
            and doc_id not in self._readers and self.book.peek(doc_id) is None

    def by_creation(self, doc_id: str) -> tuple[str, Readers] | None:
        """The kind and readers that ``doc_id``'s creation record, among its records
        in memory, and the counted records after it make (before the history is
        looked at); None when its records in memory hold no creation record that counts."""
        book = self.book.peek(doc_id)
        if book is None or doc_id == self.pod_id or doc_id in self._collections:
            return None
        creation = self._creation_in(doc_id, book)
        if creation is None:
            return None
        return str(creation.body.get("kind")), self._private_readers(doc_id, creation)

    def adopt(self, doc_id: str, kind: str, readers: Readers) -> Readers:
        """Take ``kind`` and ``readers`` as what :meth:`by_creation` would find now
        (:mod:`podsync.trust.saved`: saved from the very records the store holds); the
        history is looked at all the same. The readers, as :meth:`readers`."""
        self._kinds[doc_id] = kind
        return self._remember(doc_id, self._uncontested(doc_id, readers))

    def catch_up(self) -> list[str]:
        """Read the records of every stored document that changed since its records
        were last read; the documents read. A document that does not load is left
        as it is (the store set it aside)."""
        if self.book.store is None:
            return []
        behind = [d for d in self.book.store.records_behind() if d != self.pod_id]
        for doc_id in behind:
            doc = self._load(doc_id)
            if doc is not None:
                self.book.ingest(doc_id, doc)
                self._readers.pop(doc_id, None)
                self._kinds.pop(doc_id, None)
        if behind:
            log.info("read the records of %d document(s) changed since they were last read",
                     len(behind))
        return behind

    def establish(self, doc_ids: Iterable[str]) -> None:
        """Work out the kind and readers of many documents now, reading their
        records from the store a few hundred at a time rather than one by one (a
        node starting with thousands of documents asks about each on its first
        link)."""
        todo = [d for d in doc_ids if d not in self._readers]
        for i in range(0, len(todo), ESTABLISH_BATCH):
            batch = todo[i:i + ESTABLISH_BATCH]
            self.preload(batch)
            for doc_id in batch:
                self.kind(doc_id)
                self.readers(doc_id)

    def preload(self, doc_ids: Iterable[str]) -> None:
        """Read the records of many private documents from the store at once, rather
        than one query each as their kinds and readers are asked for."""
        self.book.preload(d for d in doc_ids if d not in self._collections and d != self.pod_id)

    def contested(self, doc_ids: Iterable[str]) -> list[str]:
        """Those of ``doc_ids`` that are private documents holding history that does
        not descend from their creation: served to nobody here (fail closed).
        Looked at when their readers are worked out, so asking again costs nothing
        until they change."""
        out = []
        for doc_id in doc_ids:
            self.readers(doc_id)  # works them out again if anything changed
            if doc_id in self._contested_ids:
                out.append(doc_id)
        return out

    def _contested(self, doc_id: str, readers: Readers) -> bool:
        """Whether a private document with these ``readers`` holds foreign history.
        A document the whole pod reads has no non-reader to fear, and is not
        loaded to find out (a node starting with thousands of them)."""
        return readers != POD and self._grafted(doc_id)

    def would_graft(self, doc_id: str, doc: am.Document) -> bool:
        """Whether ``doc`` (this node's copy of a private document with changes a
        peer just sent applied) has a root change besides its creation."""
        if self._creation(doc_id) is None:
            return False
        # Only the changes since the roots were last read are looked at (a needs
        # board arriving in parts has tens of thousands); what is refused is not
        # remembered, as the document goes back to before it.
        now, roots = self._roots_now(doc_id, doc)
        if len(roots) > 1:
            return True
        self._roots[doc_id] = (now, roots)
        return False

    def _grafted(self, doc_id: str) -> bool:
        """Whether the document has a root change besides the one that created it.
        A private document starts with one change (its creation record) and every
        reader writes after holding it, so a second root is someone else's history."""
        store = self.book.store
        saved = None
        if store is not None and self._heads is not None:
            if self._saved_roots is None:
                self._saved_roots = store.load_roots()
            saved = self._saved_roots.get(doc_id)
            if saved is not None and saved[0] == self._heads(doc_id):
                # Counted before at these very heads, which name the whole history.
                return saved[1] > 1
        doc = self._load(doc_id)
        if doc is None:
            return False
        roots = self._held_roots(doc_id, doc)
        counted = (sorted(doc.get_heads()), len(roots))
        if self._saved_roots is not None and saved != counted:
            assert store is not None  # (the saved counts come from it)
            self._saved_roots[doc_id] = counted
            store.save_roots([(doc_id, *counted)])
        return len(roots) > 1

    def may_read(self, member_id: str | None, doc_id: str) -> bool:
        if member_id is None:
            return False
        who = self.readers(doc_id)
        return who == POD or member_id in who

    def candidate(self, doc_id: str, doc: am.Document) -> Readers:
        """Readers of a document this node does not hold yet, from its own creation
        record (a peer is offering it). Nothing is kept but the roots read, in
        one slot, for admit_candidate to take over if it admits this very
        document."""
        roots = _root_changes(doc, [])
        creation = self._find_creation(doc_id, doc, roots)
        self._candidate_roots = (doc_id, sorted(doc.get_heads()), roots)
        return creation_readers(creation, []) if creation is not None else NOBODY

    def _find_creation(self, doc_id: str, doc: am.Document, roots: list[bytes]) -> Record | None:
        """The valid creation record of ``doc_id`` in ``doc`` itself (not the book).

        Its creator wrote it in a change that starts the document (one of
        ``roots``), so besides the records map the document shows, the map each
        such change wrote is read as that change left it: another ``records`` map
        (or value) a writer put there can win the merge and hide it.
        """
        places: list[tuple[bytes, list[bytes] | None]] = []
        for root in roots:
            found = doc.get(am.ROOT, RECORDS_KEY, [root])
            if found is not None and found[0] == am.ObjType.Map:
                places.append((found[1], [root]))
        # The maps as the roots left them first: they hold a record or two, where
        # the map shown may hold tens of thousands (each parsed to look at it).
        # Only one record can be the valid creation (its payload makes the id).
        shown = records_object(doc)
        if shown:
            places.append((shown, None))
        for obj, heads in places:
            for key in doc.keys(obj, heads):
                found = doc.get(obj, key, heads)
                value = found[0][1] if found is not None and not isinstance(found[0], am.ObjType) else None
                record = parse(key, value)
                if isinstance(record, Record) and self._is_creation(doc_id, record) \
                        and self.verifier.check(record) is True and not self.why_not(doc_id, record):
                    return record
        return None

    def _held_roots(self, doc_id: str, doc: am.Document) -> list[bytes]:
        """The changes without parents of a document this node holds, read once:
        only the changes that arrived since the last call are looked at."""
        now, roots = self._roots_now(doc_id, doc)
        self._roots[doc_id] = (now, roots)
        return roots

    def _roots_now(self, doc_id: str, doc: am.Document) -> tuple[list[bytes], list[bytes]]:
        """``doc``'s heads and its changes without parents, from those read last
        time and the changes since (remembered by the caller if it keeps them)."""
        heads, roots = self._roots.get(doc_id, ([], []))
        now = sorted(doc.get_heads())
        if now != heads:
            try:
                new = _root_changes(doc, heads)
            except Exception:  # noqa: BLE001 - not the document read before: read it all
                roots, new = [], _root_changes(doc, [])
            roots = roots + [r for r in new if r not in roots]
        return now, roots

    def admit_candidate(self, doc_id: str, doc: am.Document) -> None:
        """Keep the records of a document just admitted (before it is stored); read
        as the document's change will find them, so they are read once."""
        self.book.ingest(doc_id, doc)
        self._readers.pop(doc_id, None)
        self._kinds.pop(doc_id, None)
        read_as_candidate, self._candidate_roots = self._candidate_roots, None
        if read_as_candidate is not None and read_as_candidate[0] == doc_id \
                and read_as_candidate[1] == sorted(doc.get_heads()):
            self._roots[doc_id] = read_as_candidate[1:]

    def _is_creation(self, doc_id: str, record: Record) -> bool:
        return (record.type == CREATE and record.scope == "" and record.item is None
                and record.pod == self.pod_id and derived_id("doc", record.payload) == doc_id)

    def _creation(self, doc_id: str) -> Record | None:
        if doc_id == self.pod_id or doc_id in self._collections:
            # The whole pod reads these whatever they hold; they have no creation
            # record to look for (a needs board's tens of thousands of records
            # were each parsed to find that out, at every input).
            return None
        book = self.book.peek(doc_id)
        if book is None:
            # Never load (and remember) records of a document this node does not
            # hold: a peer asking for random ids must not grow the book.
            if not self._holds(doc_id):
                return None
            book = self.book.known(doc_id)
        found = self._creation_in(doc_id, book)
        if found is not None:
            return found
        doc = self._load(doc_id)
        if doc is None:
            return None
        if not book.records and records_object(doc) is not None:
            self.book.ingest(doc_id, doc)
            if book.records:
                return self._creation(doc_id)
        # Changes the book has not read yet (it reads them once the change is
        # handled) may hold it: a node that held this id under a share claim
        # learns here, before pushing anything, that it is a private document.
        return self._find_creation(doc_id, doc, self._held_roots(doc_id, doc))

    def _creation_in(self, doc_id: str, book: DocRecords) -> Record | None:
        """The creation record of ``doc_id`` among ``book``'s records, if one counts."""
        for rid, record in book.records.items():
            if self._is_creation(doc_id, record) and book.signed.get(rid) is True \
                    and not self.why_not(doc_id, record):
                return record
        return None

    def _private_readers(self, doc_id: str, creation: Record) -> Readers:
        changes = [(c.record, c.member) for c in self.counted(doc_id)
                   if c.record.type == READERS_CHANGE]
        return creation_readers(creation, changes)

    def _share_map(self) -> dict[str, tuple[str, Readers]]:
        """Share ref -> (owner member, readers), from the pod's ``doc.share`` records:
        the owner is whoever shared it first (every later share follows theirs);
        only the owner's later records change the readers."""
        if self._shares is not None:
            return self._shares
        out: dict[str, tuple[str, Readers]] = {}
        first: dict[str, str] = {}
        conflicted: set[str] = set()
        for c in self.pod_records([SHARE]):
            ref, readers = c.record.body.get("ref"), c.record.body.get("readers")
            if not isinstance(ref, str):
                continue
            value: Readers
            if readers == POD:
                value = POD
            elif isinstance(readers, list):
                value = frozenset(r for r in readers if isinstance(r, str))
            else:
                continue
            if ref not in out:
                out[ref], first[ref] = (c.member, value), c.record.id
            elif c.member == out[ref][0]:
                out[ref] = (c.member, value)
            elif not self._replay_is_ancestor(first[ref], c.record.id):
                conflicted.add(ref)  # two members claimed it while apart: fail closed
        for ref in conflicted:
            out[ref] = ("", NOBODY)
        for ref, readers in self._pending.items():
            out.setdefault(ref, (self.member_id, readers))
        self._shares = out
        return out

    def owner(self, doc_id: str) -> str | None:
        """The member who brought another app's document into the pod, if any."""
        shared = self._share_map().get(share_ref(self.pod_id, doc_id))
        return shared[0] if shared is not None and shared[0] else None

    def claim(self, doc_id: str) -> Any:
        """A local app made ``doc_id``: it is this member's alone from now on. Returns
        the coroutine that records it (None when it is already recorded)."""
        ref = share_ref(self.pod_id, doc_id)
        if ref in self._share_map():
            return None
        self._pending[ref] = frozenset({self.member_id})
        self._forget_access(doc_id)
        return self._write_share(doc_id, ref, [self.member_id])

    async def share(self, doc_id: str, readers: Readers, now: dt.datetime) -> Record:
        """Let ``readers`` read another app's document this member brought (or one
        nobody has claimed yet, which makes this member its owner)."""
        owner = self.owner(doc_id)
        if owner is not None and owner != self.member_id:
            raise RecordRefused("only the member who brought this document into the pod can "
                                "change who reads it")
        if self.kind(doc_id) not in (None, FOREIGN_KIND):
            raise RecordRefused("this is one of the pod's own documents; who reads it follows "
                                "the pod's practices")
        if readers != POD:
            readers = frozenset(readers) | {self.member_id}
        body_readers: Any = POD if readers == POD else sorted(readers)
        return await self._write_share(doc_id, share_ref(self.pod_id, doc_id), body_readers, now)

    async def _write_share(self, doc_id: str, ref: str, readers: Any,
                           now: dt.datetime | None = None) -> Record:
        record = await self.append(self.pod_id, Draft(SHARE, {"ref": ref, "readers": readers}),
                                   now or dt.datetime.now(dt.timezone.utc))
        self._pending.pop(ref, None)
        self._forget_access(doc_id)
        return record

    def forget_access(self, doc_id: str) -> None:
        """Forget who reads ``doc_id`` and its kind: its content changed."""
        self._readers.pop(doc_id, None)
        self._kinds.pop(doc_id, None)

    def _forget_access(self, doc_id: str) -> None:
        self._shares = None
        self._readers.pop(doc_id, None)
        self._kinds.pop(doc_id, None)

    def _replay_is_ancestor(self, a: str, b: str) -> bool:
        return graph_mod.is_ancestor(self._replay, a, b)

    # -- which records count ---------------------------------------------------

    def why_not(self, doc_id: str, record: Record) -> str:
        """Why ``record`` does not count in ``doc_id``; "" when it does (its
        signature is checked by the book)."""
        if record.pod != self.pod_id:
            return "belongs to another pod"
        if record.scope != doc_id and not self._is_creation(doc_id, record):
            return "belongs to another document"
        member = self._replay.device_members.get(record.by)
        if member is None or self._replay.roster is None:
            return "signed by a device that is not in the pod"
        removals = [at for at in (self._removed_at.get(record.by), self._removed_at.get(member))
                    if at is not None]
        if removals:
            at = _when(record.at)
            if at is None or at >= min(removals):
                return "signed after its signer was removed"
        return ""

    def counted(self, doc_id: str, subject: str | None = None) -> list[Counted]:
        """The records of ``doc_id`` (about ``subject``) that count, in arrival order."""
        if doc_id == self.pod_id:
            out = self.pod_records()
            return [c for c in out if subject is None or c.record.subject == subject]
        book = self.book.known(doc_id)
        ids = book.subjects.get(subject, []) if subject is not None else list(book.records)
        out = []
        for rid in ids:
            record = book.records[rid]
            if book.signed.get(rid) is True and not self.why_not(doc_id, record):
                out.append(Counted(record, self._replay.device_members[record.by]))
        return out

    def counted_again(self, doc_id: str, record_ids: tuple[str, ...]) -> list[Counted] | None:
        """The records ``record_ids`` of ``doc_id`` as they count now, in that order,
        when each of them still does; None otherwise. Read from the store alone
        when the document's records are not in memory (an item derived before,
        whose records have not changed since, derived again as the time moves)."""
        book = self.book.peek(doc_id)
        if book is not None or self.book.store is None:
            found = self.book.known(doc_id)
            records = [found.records.get(rid) for rid in record_ids]
            answers = [found.signed.get(rid) for rid in record_ids]
        else:
            stored = {rid: (sealed, ok) for rid, sealed, ok
                      in self.book.store.load_records_by_id(doc_id, record_ids)}
            records, answers = [], []
            for rid in record_ids:
                sealed, ok = stored.get(rid, (b"", None))
                parsed = parse(rid, sealed) if sealed else None
                records.append(parsed if isinstance(parsed, Record) else None)
                answers.append(ok)
        out = []
        for record, ok in zip(records, answers):
            if record is None or ok is not True or self.why_not(doc_id, record):
                return None
            out.append(Counted(record, self._replay.device_members[record.by]))
        return out

    def subjects(self, doc_id: str) -> list[str]:
        return list(self.book.known(doc_id).subjects)

    def unverifiable(self) -> dict[str, dict[str, int]]:
        """Document id -> reason -> how many of its records do not count (each
        document counted again only when its records or the pod's change)."""
        for book in self.book.held():
            key = (book.version, self.pod_version)
            cached = self._unverifiable.get(book.doc_id)
            if cached is None or cached[0] != key:
                self._unverifiable[book.doc_id] = (key, self.reasons(book.doc_id, book))
        # Documents whose records were let go of since keep their last count:
        # nothing about them changes until they are read again. Those not read
        # since the node started count what their last reading could not read.
        if not self._unverifiable_stored and self.book.store is not None:
            self._unverifiable_stored = True
            for doc_id, entries in self.book.store.unreadable_records().items():
                if doc_id not in self._unverifiable:
                    reasons: dict[str, int] = {}
                    for reason, _ in entries.values():
                        reasons[reason] = reasons.get(reason, 0) + 1
                    self._unverifiable[doc_id] = ((-1, -1), reasons)
        return {doc_id: reasons for doc_id, (_, reasons) in self._unverifiable.items() if reasons}

    def forget_idle(self) -> list[str]:
        """Let go of the records of documents nobody used lately (the pod document
        stays); see RecordBook.sweep."""
        return self.book.sweep()

    def reasons(self, doc_id: str, book: DocRecords) -> dict[str, int]:
        """Reason -> how many of ``book``'s records (``doc_id``'s) do not count."""
        reasons: dict[str, int] = {}
        for u in book.unreadable.values():
            reasons[u.reason] = reasons.get(u.reason, 0) + 1
        for rid, record in book.records.items():
            ok = book.signed.get(rid)
            if doc_id == self.pod_id:
                why = self._replay.refused.get(rid, "")
            elif ok is None:
                why = "unknown-signer"
            elif not ok:
                why = "bad-signature"
            else:
                why = self.why_not(doc_id, record)
            if why:
                reasons[why] = reasons.get(why, 0) + 1
        return reasons

    # -- writing ---------------------------------------------------------------

    def sign(self, scope: str, draft: Draft, now: dt.datetime, *, pod: str | None = None) -> Record:
        """A record of ``draft`` signed by this device (not written anywhere)."""
        if self.signer is None:
            raise PodsyncError("this node cannot sign records (no device key loaded)")
        prev = self._own_head(scope) if scope else None
        payload = build_payload(draft, pod=self.pod_id if pod is None else pod, scope=scope,
                                by=self.signer.device_id, at=now, prev=prev)
        record = parse_own(payload, self.signer.sign(payload))
        return record

    def _own_head(self, scope: str) -> str | None:
        if scope not in self._own_heads:
            # Only records whose signature is this device's: anyone can write a record
            # naming this device as its signer, and naming it as ``prev`` would vouch
            # for it on every node that checks the chain (records/verify.py).
            book = self.book.known(scope)
            mine = {rid: r for rid, r in book.records.items()
                    if self.signer is not None and r.by == self.signer.device_id
                    and book.signed.get(rid) is True}
            referenced = {r.prev for r in mine.values()}
            heads = sorted((r.at, rid) for rid, r in mine.items() if rid not in referenced)
            self._own_heads[scope] = heads[-1][1] if heads else None
        return self._own_heads[scope]

    async def append(self, doc_id: str, draft: Draft, now: dt.datetime) -> Record:
        """Sign ``draft`` for ``doc_id``, check it would count, store it; durable on return."""
        if doc_id == self.pod_id:
            draft = Draft(draft.type, draft.body, draft.item, tuple(self._replay.heads))
        record = self.sign(doc_id, draft, now)
        if doc_id == self.pod_id:
            problem = graph_mod.allows(self._replay, self.pod_id, record)
            if problem:
                raise RecordRefused(f"this would not count in the pod: {problem}")
        await self.store_records(doc_id, [record])
        self._own_heads[doc_id] = record.id
        return record

    async def store_records(self, doc_id: str, records: list[Record]) -> None:
        """Write ``records`` into ``doc_id`` (creating its records map if a member
        removed it) and into the book; durable on return."""
        if self._write is None:
            raise PodsyncError("this node cannot write documents here")

        live = self._load(doc_id)
        before = live.get_heads() if live is not None else []
        expected: list[Expected] = []

        def put(tx: Any) -> None:
            obj = records_object(tx)
            if obj is None:
                obj = tx.put_object(am.ROOT, RECORDS_KEY, am.ObjType.Map)
            for record in records:
                tx.put(obj, record.id, am.ScalarType.Bytes, record.sealed)
            # The change this transaction makes is ours: the book need not work out
            # what it holds when the document reports it changed.
            expected.append(self.book.expect(doc_id, before, records))

        try:
            await self._write(doc_id, put)
        finally:
            for announced in expected:
                self.book.settle_expected(doc_id, announced)
        for record in records:
            self.book.add_own(doc_id, record)
        if doc_id == self.pod_id:
            self.refresh_pod()
            self._shares = None
            self._readers.clear()
            self._kinds.clear()
        else:
            self._readers.pop(doc_id, None)


def creation_readers(creation: Record, changes: list[tuple[Record, str]]) -> Readers:
    """Readers of a private document from its creation record and the counted
    reader changes after it, by its kind's rule (none: the readers it was made with)."""
    rule = READER_RULES.get(str(creation.body.get("kind")))
    if rule is not None:
        return rule(creation, changes)
    readers = creation.body.get("readers")
    if readers == POD:
        return POD
    if not isinstance(readers, list):
        return NOBODY
    return frozenset(r for r in readers if isinstance(r, str))


def _root_changes(doc: am.Document, since: list[bytes]) -> list[bytes]:
    """Hashes of ``doc``'s changes that have no parents, among those after ``since``."""
    return [c.hash for c in doc.get_changes(since) if not c.deps]


def parse_own(payload: bytes, signature: bytes) -> Record:
    from podsync.records.format import record_id  # noqa: PLC0415
    parsed = parse(record_id(payload), seal(payload, signature))
    if not isinstance(parsed, Record):
        raise PodsyncError(f"a record this node made does not parse: {parsed.detail}")
    return parsed


def replay_document(pod_id: str, doc: am.Document) -> roster_mod.Roster | None:
    """The roster a pod document's records make, read on their own (a newcomer
    checking what its admitter sent)."""
    ledger = Ledger(pod_id=pod_id, member_id="", book=RecordBook(None, Verifier()),
                    signer=None, load=lambda doc_id: doc if doc_id == pod_id else None,
                    holds=lambda doc_id: doc_id == pod_id)
    return ledger.roster


def new_document(records: list[Record]) -> am.Document:
    """A fresh document holding only ``records``."""
    doc = am.Document()
    with doc.transaction() as tx:
        obj = tx.put_object(am.ROOT, RECORDS_KEY, am.ObjType.Map)
        for record in records:
            tx.put(obj, record.id, am.ScalarType.Bytes, record.sealed)
    return doc


def _when(text: str) -> dt.datetime | None:
    try:
        moment = dt.datetime.fromisoformat(text)
    except ValueError:
        return None
    return moment.astimezone(dt.timezone.utc) if moment.tzinfo else None


__all__ = ["CREATE", "Counted", "FOREIGN_KIND", "Ledger", "NOBODY", "POD",
           "READERS_CHANGE", "READER_RULES", "Readers", "RecordRefused", "SHARE", "new_document",
           "share_ref"]
