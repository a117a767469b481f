"""Writing to the relay: this device's outbox, its index, compaction.

What this device writes for a podsync document is the changes the relay does
not hold yet: everything outside the past of the heads already written there,
by this device or any other (``Inbox.have``). A document nobody has written
yet goes as a snapshot (the whole document saved), and so does one whose
reader devices changed, so that its readers as they are now can read it whole.

**Compaction.** An automerge document keeps its whole history, so deleting
entries from an outbox would free nothing on the relay. Instead a device moves
to a new *generation*: a fresh outbox (random id) holding one snapshot per
document it had written, then a pointer to it in its index document. The old
outbox is never read again once readers have read the new one; a relay operator
may delete documents nobody has written to for a month (README). A device moves
on when the bundles written since the snapshots outweigh the snapshots
(automerge-repo compacts its own storage by the same rule), and when a device
was removed from the pod: from then on everything is sealed under the new
epoch key, old content included.
"""

from __future__ import annotations

import hashlib
import logging
import time
from collections.abc import Iterable
from dataclasses import dataclass

from podsync.ids import new_document_id
from podsync.relay import directory
from podsync.relay.context import RelayContext
from podsync.relay.documents import (
    ENTRIES, GIFTS, POINTERS, entry_key, gen_key, new_index, new_outbox, putter, read_map,
)
from podsync.relay.inbox import Inbox
from podsync.relay.keys import public_bytes
from podsync.relay.seal import Bundle, Pointer, Seal, now_iso, place, seal_entry
from podsync.trust.ledger import NOBODY, POD

log = logging.getLogger(__name__)

#: An outbox is compacted once its bundles outweigh its snapshots, and not before
#: they reach this: a small pod would otherwise move to a new generation every
#: few edits.
COMPACT_MIN_BYTES = 64 * 1024
#: More changes than this for one document go as a snapshot: it is smaller and
#: loads faster than the changes applied one by one.
SNAPSHOT_OVER_CHANGES = 500
RELAY_OUTBOX_KIND = "relay-outbox"
RELAY_INDEX_KIND = "relay-index"


@dataclass
class Sealing:
    how: Seal
    label: str  # "pod", or a digest of the reader devices


class Writer:
    def __init__(self, ctx: RelayContext, inbox: Inbox) -> None:
        self.ctx = ctx
        self.inbox = inbox
        self.gen = -1
        self.outbox: str | None = None
        self.seq = 0
        self.entry_bytes = 0
        self.snapshot_bytes = 0
        #: podsync document -> how its last entry in this generation was sealed
        self.seals: dict[str, str] = {}
        self.epoch: directory.EpochRecord | None = None
        self.rotate_due = ""  # why the next write starts a new generation

    # -- state -------------------------------------------------------------------

    def resume(self) -> None:
        """Carry on with the outbox the index names, if this node still holds it."""
        own = self.inbox.own()
        if self.outbox is not None or own.outbox is None or not self.ctx.relay_repo.has(own.outbox):
            return
        self.outbox, self.gen = own.outbox, own.gen
        sealed_under = next((e for e in self.ctx.view.epochs if e.key_id == own.pointer_key), None)
        if directory.removed_since(sealed_under, self.epoch):
            # A device was removed while this one was away: move on, as the others did.
            self.rotate_due = "a device was removed: everything is sealed again under a new key"
        self.seq = own.last_seq + 1
        self.seals = dict(own.seals)
        self.entry_bytes = self.snapshot_bytes = 0
        for raw in _entries(self.ctx, own.outbox):
            self.entry_bytes += len(raw)
        # Not known after a restart which entries were the snapshots: counting
        # all as snapshot weight only postpones the next compaction a little.
        self.snapshot_bytes = self.entry_bytes
        log.info("relay: writing on in generation %d (%d entries)", self.gen, self.seq)

    def set_epoch(self, epoch: directory.EpochRecord | None) -> bool:
        """Seal under ``epoch`` from now on; True when it changed."""
        before = self.epoch
        if epoch is None or (before is not None and before.key_id == epoch.key_id):
            return False
        self.epoch = epoch
        if directory.removed_since(before, epoch):
            self.rotate_due = "a device was removed: everything is sealed again under a new key"
        return True

    @property
    def may_write(self) -> bool:
        return self.epoch is not None and self.epoch.key_id in self.ctx.ring

    def sealing(self, doc_id: str) -> Sealing | None:
        """How ``doc_id`` is sealed now; None when it goes to nobody."""
        ctx = self.ctx
        readers = ctx.ledger.readers(doc_id)
        if readers == NOBODY or not ctx.ledger.may_read(ctx.member_id, doc_id):
            return None
        if readers == POD:
            assert self.epoch is not None
            return Sealing(Seal(epoch=(self.epoch.key_id, ctx.ring[self.epoch.key_id])), "pod")
        pubs = {d: ctx.view.device_keys[d] for d in ctx.active_devices()
                if d in ctx.view.device_keys and ctx.member_of(d) in readers}
        pubs[ctx.device_id] = public_bytes(ctx.device_key)
        label = hashlib.sha256("\n".join(sorted(pubs)).encode()).hexdigest()[:16]
        return Sealing(Seal(readers=tuple(pubs[d] for d in sorted(pubs))), label)

    def behind(self, doc_ids: Iterable[str]) -> list[str]:
        """Of ``doc_ids``, those this device may write whose stored heads the relay
        may lack (checked without loading any document)."""
        out = []
        for doc_id in doc_ids:
            heads = self.ctx.repo.heads(doc_id)
            if heads and not set(heads) <= set(self.inbox.have(doc_id)) \
                    and self.sealing(doc_id) is not None:
                out.append(doc_id)
        return out

    def compaction_due(self) -> bool:
        return self.entry_bytes - self.snapshot_bytes > max(COMPACT_MIN_BYTES, self.snapshot_bytes)

    # -- writing -----------------------------------------------------------------

    async def publish(self, doc_ids: list[str]) -> int:
        """Write what the relay lacks of ``doc_ids``; the number of entries written."""
        if not self.may_write:
            return 0
        if self.outbox is None or self.rotate_due:
            await self.rotate(self.rotate_due or "first generation")
        assert self.outbox is not None
        entries: dict[str, bytes] = {}
        for doc_id in doc_ids:
            raw = self._entry(doc_id, self.seq + len(entries), force_snapshot=False)
            if raw is not None:
                entries[entry_key(self.seq + len(entries))] = raw
        if not entries:
            return 0
        await self.ctx.relay_repo.change(self.outbox, putter(ENTRIES, entries))
        self.seq += len(entries)
        self.entry_bytes += sum(len(raw) for raw in entries.values())
        if self.compaction_due():
            await self.rotate("compaction")
        return len(entries)

    def _entry(self, doc_id: str, seq: int, *, force_snapshot: bool) -> bytes | None:
        """The sealed entry ``seq`` of the current outbox for ``doc_id``, if any is due."""
        ctx = self.ctx
        if not ctx.repo.has(doc_id):
            return None
        sealing = self.sealing(doc_id)
        if sealing is None:
            return None
        doc = ctx.repo.get(doc_id)
        heads = sorted(doc.get_heads())
        if not heads:
            return None
        have = self.inbox.have(doc_id)
        snapshot = force_snapshot or not have or self.seals.get(doc_id, sealing.label) != sealing.label
        if snapshot:
            data = [doc.save()]
        else:
            if set(heads) <= set(have):
                return None
            changes = doc.get_changes(have)
            if not changes:
                return None
            if len(changes) > SNAPSHOT_OVER_CHANGES:
                snapshot, data = True, [doc.save()]
            else:
                data = [c.bytes for c in changes]
        key = entry_key(seq)
        assert self.outbox is not None
        bundle = Bundle(by=ctx.device_id, place=place(self.outbox, key), doc=doc_id, snapshot=snapshot,
                        tips=heads, data=data, at=now_iso(), seal=sealing.label)
        raw = seal_entry(bundle, ctx.signing_key, sealing.how)
        self.seals[doc_id] = sealing.label
        self.inbox.note(ctx.device_id, doc_id, (self.gen, seq), heads)
        if snapshot:
            self.snapshot_bytes += len(raw)
        return raw

    async def rotate(self, reason: str) -> None:
        """Start a new generation: a fresh outbox holding a snapshot of every
        document this device writes to the relay, then the pointer to it."""
        ctx = self.ctx
        if not self.may_write:
            return
        docs = sorted(self.seals)
        new_id = new_document_id()
        gen = max(self.gen + 1, int(time.time() * 1000))
        # Wanted before it exists: the relay engine offers a new document only to
        # peers whose policy wants it.
        self.inbox.move_own(new_id, gen)
        old_gen, self.gen, self.outbox = self.gen, gen, new_id
        self.seals = {}
        entries: dict[str, bytes] = {}
        for doc_id in docs:
            raw = self._entry(doc_id, len(entries), force_snapshot=True)
            if raw is not None:
                entries[entry_key(len(entries))] = raw
        doc = new_outbox()
        with doc.transaction() as tx:
            putter(ENTRIES, entries)(tx)
        await ctx.relay_repo.create_with(new_id, doc, RELAY_OUTBOX_KIND)
        self.seq = len(entries)
        self.entry_bytes = self.snapshot_bytes = sum(len(raw) for raw in entries.values())
        await self.write_index(gen, new_id)
        self.rotate_due = ""
        log.info("relay: generation %d -> %d (%s): %d snapshot(s), %d bytes", old_gen, gen, reason,
                 len(entries), self.entry_bytes)

    async def write_index(self, gen: int | None = None, outbox: str | None = None) -> None:
        """Write the pointer to the current outbox, and the current epoch's keys."""
        ctx = self.ctx
        assert self.epoch is not None
        index = ctx.index_id(ctx.device_id)
        if not ctx.relay_repo.has(index):
            await ctx.relay_repo.create_with(index, new_index(), RELAY_INDEX_KIND)
        kid = self.epoch.key_id
        items: dict[str, dict[str, bytes]] = {
            GIFTS: {kid: directory.seal_gift(self.epoch, ctx.bootstrap_key, place(index, kid))}}
        if gen is not None and outbox is not None:
            key = gen_key(gen)
            pointer = Pointer(by=ctx.device_id, place=place(index, key), gen=gen, outbox=outbox,
                              at=now_iso())
            items[POINTERS] = {key: seal_entry(pointer, ctx.signing_key,
                                               Seal(epoch=(kid, ctx.ring[kid])))}

        def put(tx: object) -> None:
            for name, values in items.items():
                putter(name, values)(tx)

        await ctx.relay_repo.change(index, put)


def _entries(ctx: RelayContext, outbox: str) -> list[bytes]:
    return [v for v in read_map(ctx.relay_repo.get(outbox), ENTRIES).values() if isinstance(v, bytes)]
