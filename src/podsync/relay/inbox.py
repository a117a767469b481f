"""Reading the relay: every active device's index and outbox, opened, checked, applied.

For each active device of the pod (this one included) the node reads its index
document, follows the newest pointer that opens and verifies to the device's
current outbox, and opens every entry there. An entry counts only when it opens
where it is stored, is signed by the outbox's own device, that device is active
and its member may read the document, and this member may read it too: the same
rules as a change arriving over a LAN link. Entries that never will count are
refused, counted and logged; entries waiting for a key or a certificate that has
not arrived are tried again later.

Changes are applied to the pod's own documents through :meth:`Repo.absorb`, so
they are stored and passed on to LAN peers like any others, and their signed
records are judged by the ledger like any others: the relay is a second path,
never a second source of truth.
"""

from __future__ import annotations

import hashlib
import logging
from dataclasses import dataclass, field

import automerge.core as am

from podsync import amdoc
from podsync.ids import is_document_id
from podsync.relay import changes as changes_mod
from podsync.relay import directory
from podsync.relay.context import RelayContext
from podsync.relay.documents import ENTRIES, GIFTS, POINTERS, map_keys, parse_seq, read_map, value
from podsync.relay.seal import RETRY, Bundle, Opened, Pointer, Refused, open_entry, place, signature_ok
from podsync.trust.ledger import FOREIGN_KIND, NOBODY, POD

log = logging.getLogger(__name__)

_WAIT = object()


@dataclass
class Source:
    """One device's relay documents, as far as this node has read them."""

    device_id: str
    index_id: str
    gen: int = -1
    outbox: str | None = None
    gen_of: dict[str, int] = field(default_factory=dict)  # outbox -> its generation
    #: The outbox before ``outbox``, read until the new one has been read whole.
    previous: str | None = None
    done: dict[str, set[str]] = field(default_factory=dict)  # outbox -> entry keys finished
    seen_pointers: set[str] = field(default_factory=set)
    seen_gifts: set[str] = field(default_factory=set)
    #: For this device's own outbox: what the writer resumes from after a restart.
    last_seq: int = -1
    pointer_key: str = ""  # the epoch key id its newest pointer was sealed under
    seals: dict[str, str] = field(default_factory=dict)  # podsync doc -> seal of its last entry
    digests: dict[str, bytes] = field(default_factory=dict)  # own entry's place -> digest as read

    def documents(self) -> list[str]:
        return [d for d in (self.index_id, self.outbox, self.previous) if d is not None]


class Inbox:
    def __init__(self, ctx: RelayContext) -> None:
        self.ctx = ctx
        self.sources: dict[str, Source] = {}
        self._by_doc: dict[str, Source] = {}
        #: podsync document -> device -> ((gen, seq), heads) of its newest entry read
        self.tips: dict[str, dict[str, tuple[tuple[int, int], list[bytes]]]] = {}
        #: Entries read but not finished (waiting for a key, a certificate, or changes
        #: they depend on that another device's outbox brings).
        self.waiting: dict[str, int] = {}
        #: Set when this device's own relay documents hold something it did not write.
        self.own_tampered = False
        #: Relay documents this node will never read again (an outbox a newer
        #: generation covers, a removed device's documents), for the node to
        #: delete from its copy; the relay keeps them (README).
        self.superseded: set[str] = set()

    # -- which relay documents ---------------------------------------------------

    def refresh_sources(self) -> bool:
        """Follow exactly the active devices; True when the wanted documents changed."""
        before = set(self._by_doc)
        active = set(self.ctx.active_devices()) | {self.ctx.device_id}
        for device_id in list(self.sources):
            if device_id not in active:
                self.superseded.update(self.sources.pop(device_id).documents())
                for per_device in self.tips.values():
                    per_device.pop(device_id, None)
        for device_id in active:
            if device_id not in self.sources:
                self.sources[device_id] = Source(device_id, self.ctx.index_id(device_id))
        self._reindex()
        return set(self._by_doc) != before

    def _reindex(self) -> None:
        self._by_doc = {doc: s for s in self.sources.values() for doc in s.documents()}

    def wanted(self, doc_id: str) -> bool:
        return doc_id in self._by_doc

    def wanted_ids(self) -> list[str]:
        return sorted(self._by_doc)

    def own(self) -> Source:
        return self.sources[self.ctx.device_id]

    def move_own(self, outbox: str, gen: int) -> None:
        """This device starts writing generation ``gen`` in ``outbox``."""
        self._move(self.own(), outbox, gen)

    def _move(self, source: Source, outbox: str, gen: int) -> None:
        if source.outbox is not None and source.outbox != outbox:
            source.previous = source.outbox
        source.outbox, source.gen = outbox, gen
        source.gen_of[outbox] = gen
        self._reindex()

    def have(self, doc_id: str) -> list[bytes]:
        """Heads of ``doc_id`` the relay holds (as far as read): whatever is in
        their past need not be written again."""
        out: set[bytes] = set()
        for _, heads in self.tips.get(doc_id, {}).values():
            out.update(heads)
        return sorted(out)

    def note(self, device_id: str, doc_id: str, at: tuple[int, int], heads: list[bytes]) -> None:
        per_device = self.tips.setdefault(doc_id, {})
        if device_id not in per_device or per_device[device_id][0] < at:
            per_device[device_id] = (at, list(heads))

    # -- reading -----------------------------------------------------------------

    async def process(self, relay_doc: str) -> tuple[bool, bool]:
        """Read what is new in ``relay_doc``: (epoch keys were learnt, the wanted
        documents changed)."""
        source = self._by_doc.get(relay_doc)
        if source is None or not self.ctx.relay_repo.has(relay_doc):
            return False, False
        doc = self.ctx.relay_repo.get(relay_doc)
        if relay_doc == source.index_id:
            return self._read_index(source, doc)
        await self._read_outbox(source, relay_doc, doc)
        if relay_doc == source.outbox and source.previous is not None \
                and not self.waiting.get(relay_doc):
            # The new outbox's snapshots cover the old one: stop reading it.
            self.superseded.add(source.previous)
            source.done.pop(source.previous, None)
            source.gen_of.pop(source.previous, None)
            self.waiting.pop(source.previous, None)
            source.previous = None
            self._reindex()
            return False, True
        return False, False

    def _read_index(self, source: Source, doc: am.Document) -> tuple[bool, bool]:
        ctx = self.ctx
        learnt = False
        for key, raw in read_map(doc, GIFTS).items():
            if key in source.seen_gifts:
                continue
            source.seen_gifts.add(key)
            epoch = directory.open_gift(raw, ctx.bootstrap_key, place(source.index_id, key),
                                        source.device_id)
            found = directory.open_epoch(epoch, ctx.device_key) if epoch is not None else {}
            fresh = {k: v for k, v in found.items() if k not in ctx.ring}
            if fresh:
                ctx.ring.update(fresh)
                learnt = True
        best: tuple[Pointer, str] | None = None  # the newest pointer, its epoch key id
        for key, raw in read_map(doc, POINTERS).items():
            if key in source.seen_pointers:
                continue
            opened = self._open_pointer(source, key, raw)
            if opened is _WAIT:
                continue
            source.seen_pointers.add(key)
            if isinstance(opened, Opened) and isinstance(opened.payload, Pointer) \
                    and (best is None or opened.payload.gen > best[0].gen):
                best = (opened.payload, opened.key)
        if best is None or best[0].gen <= source.gen:
            return learnt, False
        self._move(source, best[0].outbox, best[0].gen)
        source.pointer_key = best[1]
        return learnt, True

    def _open_pointer(self, source: Source, key: str, raw: object) -> Opened | object | None:
        where = place(source.index_id, key)
        opened = open_entry(raw, where, self.ctx.ring, self.ctx.device_key)
        if isinstance(opened, Refused):
            if opened.reason in RETRY:
                return _WAIT
            self._refuse(source, where, opened.reason, opened.detail)
            return None
        pointer = opened.payload
        problem = ""
        if not isinstance(pointer, Pointer) or pointer.by != source.device_id:
            problem = "not a pointer of this index's device"
        elif parse_seq(key, 16) != pointer.gen:
            problem = "stored under another generation"
        elif not is_document_id(pointer.outbox):
            problem = "names no document"
        if problem:
            self._refuse(source, where, "malformed", problem)
            return None
        public = self.ctx.signing_public_key(source.device_id)
        if public is None:
            return _WAIT
        if not signature_ok(opened, public):
            self._refuse(source, where, "bad-signature", "not signed by the index's device")
            return None
        return opened

    async def _read_outbox(self, source: Source, outbox: str, doc: am.Document) -> None:
        done = source.done.setdefault(outbox, set())
        groups: dict[str, list[tuple[str, int, Bundle]]] = {}
        waiting = 0
        # This device's own outbox is checked whole each time it changes on the
        # relay's side: only someone on the way writes there.
        mine = source.device_id == self.ctx.device_id
        for obj, key in map_keys(doc, ENTRIES):
            if key in done and not mine:
                continue  # without reading it: entries of a snapshot can be large
            where = place(outbox, key)
            raw = value(doc, obj, key)
            if key in done and source.digests.get(where) == _digest(raw):
                continue
            if mine:
                source.digests[where] = _digest(raw)
            seq = parse_seq(key)
            if seq is None:
                done.add(key)
                self._refuse(source, where, "malformed", "not an entry key")
                continue
            bundle = self._open_bundle(source, where, raw)
            if bundle is _WAIT:
                waiting += 1
                continue
            if not isinstance(bundle, Bundle):
                done.add(key)
                continue
            groups.setdefault(bundle.doc, []).append((key, seq, bundle))
        for doc_id, bundles in groups.items():
            bundles.sort(key=lambda item: item[1])
            finished = await self._apply(source, outbox, doc_id, bundles)
            done.update(finished)
            waiting += len(bundles) - len(finished)
        self.waiting[outbox] = waiting

    def _open_bundle(self, source: Source, where: str, raw: object) -> Bundle | object | None:
        ctx = self.ctx
        mine = source.device_id == ctx.device_id
        opened = open_entry(raw, where, ctx.ring, ctx.device_key)
        if isinstance(opened, Refused):
            if opened.reason in RETRY:
                return _WAIT
            if opened.reason == "not-for-us" and not mine:
                return None  # sealed to a document's readers, and this member is not one
            self._refuse(source, where, "tampered" if opened.reason == "not-for-us" else opened.reason,
                         opened.detail)
            return None
        bundle = opened.payload
        if not isinstance(bundle, Bundle):
            self._refuse(source, where, "malformed", "a pointer where bundles go")
            return None
        if bundle.by != source.device_id:
            self._refuse(source, where, "wrong-author", "written by another device than the outbox's")
            return None
        if not is_document_id(bundle.doc):
            self._refuse(source, where, "malformed", "names no document")
            return None
        public = ctx.signing_public_key(source.device_id)
        if public is None:
            return _WAIT
        if not signature_ok(opened, public):
            self._refuse(source, where, "bad-signature", "not signed by the outbox's device")
            return None
        return bundle

    def _refuse(self, source: Source, where: str, reason: str, detail: str) -> None:
        if source.device_id == self.ctx.device_id:
            # Nobody else writes this device's relay documents: someone on the way did.
            self.own_tampered = True
        self.ctx.refuse(source.device_id, where, reason, detail)

    # -- applying ----------------------------------------------------------------

    async def _apply(self, source: Source, outbox: str, doc_id: str,
                     bundles: list[tuple[str, int, Bundle]]) -> set[str]:
        """Apply one device's bundles for one document; the keys finished with
        (applied and held, or refused for good). The others wait for changes they
        depend on, which another device's outbox brings."""
        ctx = self.ctx
        at = source.gen_of.get(outbox, -1)
        keys = {key for key, _, _ in bundles}
        if source.device_id == ctx.device_id:
            for _, seq, bundle in bundles:
                self.note(source.device_id, doc_id, (at, seq), bundle.tips)
                if outbox == source.outbox:
                    source.last_seq = max(source.last_seq, seq)
                    source.seals[doc_id] = bundle.seal
            return keys
        member = ctx.member_of(source.device_id)
        held = ctx.repo.has(doc_id)
        if member is None or (held and not (ctx.ledger.may_read(member, doc_id)
                                            and ctx.ledger.may_read(ctx.member_id, doc_id))):
            self._refuse_all(source, outbox, bundles, "not-allowed",
                             "its device may not change this document here")
            return keys
        bad: dict[str, str] = {}

        def feed(doc: am.Document) -> None:
            for key, _, bundle in bundles:
                try:
                    if bundle.snapshot:
                        changes_mod.feed_snapshot(doc, bundle.data[0])
                    else:
                        amdoc.feed_changes(doc, bundle.data)
                except Exception as exc:  # noqa: BLE001 - automerge raises plain Exception
                    bad[key] = str(exc)

        if held:
            if ctx.ledger.readers(doc_id) != POD:
                # As over a LAN link: a private document never takes history that
                # does not descend from its creation (content planted under its id).
                trial = ctx.repo.get(doc_id).fork()
                feed(trial)
                bad.clear()
                if ctx.ledger.would_graft(doc_id, trial):
                    self._refuse_all(source, outbox, bundles, "not-allowed",
                                     "history that does not descend from the document's creation")
                    return keys
            await ctx.repo.absorb(doc_id, feed)
            live = ctx.repo.get(doc_id)
        else:
            live = am.Document()
            feed(live)
            if live.get_heads():
                admitted = self._admit(doc_id, member, live)
                if admitted is None:
                    return set(bad)  # who reads it is not known here yet: try again later
                if not admitted:
                    self._refuse_all(source, outbox, bundles, "not-allowed",
                                     "its records do not let both members read it")
                    return keys
                try:
                    await ctx.repo.create_with(doc_id, live, ctx.ledger.kind(doc_id) or FOREIGN_KIND)
                except ValueError:
                    live = am.Document()  # it arrived by another path meanwhile: merge next time
        for key, why in bad.items():
            self._refuse(source, place(outbox, key), "unappliable", why)
        finished = set(bad)
        good = [(key, seq, b) for key, seq, b in bundles if key not in bad]
        if good and changes_mod.holds(live, good[-1][2].tips):
            finished.update(key for key, _, _ in good)
            self.note(source.device_id, doc_id, (at, good[-1][1]), good[-1][2].tips)
        return finished

    def _admit(self, doc_id: str, member: str, doc: am.Document) -> bool | None:
        """A document this node does not hold yet: kept only if its records let both
        the writing device's member and this member read it (as over a LAN link).
        None while no record here says who reads it: the record that does (a share
        in the pod document) may come by another outbox, later."""
        ledger = self.ctx.ledger
        readers = ledger.readers(doc_id)
        if readers == NOBODY:
            readers = ledger.candidate(doc_id, doc)
        if readers == NOBODY:
            return None
        if readers != POD and (member not in readers or self.ctx.member_id not in readers):
            return False
        ledger.admit_candidate(doc_id, doc)
        return True

    def _refuse_all(self, source: Source, outbox: str, bundles: list[tuple[str, int, Bundle]],
                    reason: str, detail: str) -> None:
        for key, _, _ in bundles:
            self._refuse(source, place(outbox, key), reason, detail)


def _digest(raw: object) -> bytes:
    return hashlib.sha256(raw if isinstance(raw, bytes) else repr(raw).encode()).digest()
