"""A relay that hands out corrupted, truncated, replayed and forged bundles, and a
member who writes where they may not: every such entry is refused and reported,
nothing of it is applied, nothing real is lost. The attacker is a client built
from podsync's own modules, writing into the real relay (the JS sync server)
over the real protocol, with a member's real keys where the attack needs them."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import automerge.core as am
import pytest

from podsync.api import ops
from podsync.pod import needs as needs_mod
from podsync.records.book import RECORDS_KEY
from podsync.relay.changes import holds
from podsync.relay.keys import public_bytes
from podsync.relay.seal import Bundle, Seal, now_iso, place, seal_entry
from tests.relay.conftest import eventually, make_steward, relay_pod
from tests.relay.hostile import RelayClient
from tests.relay.test_relay_loopback import _has, own_entries, titles, until

pytestmark = pytest.mark.slow

FORGED = "forged-need-nobody-wrote"


def forged_changes(node, doc_id: str) -> tuple[list[bytes], list[bytes]]:
    """Changes adding a need record that ``node``'s member really signed (it would
    count if its own device wrote it to the relay), and the heads after them."""
    doc = node.repo.get(doc_id).fork()
    before = doc.get_heads()
    record = node.ledger.sign(doc_id, needs_mod.add_need(FORGED), dt.datetime.now(dt.timezone.utc))
    with doc.transaction() as tx:
        obj = doc.get(am.ROOT, RECORDS_KEY)[1]
        tx.put(obj, record.id, am.ScalarType.Bytes, record.sealed)
    return [c.bytes for c in doc.get_changes(before)], sorted(doc.get_heads())


def unrelated_history() -> tuple[list[bytes], list[bytes]]:
    doc = am.Document()
    with doc.transaction() as tx:
        tx.put(am.ROOT, "records", am.ScalarType.Str, "planted")
    return [c.bytes for c in doc.get_changes([])], sorted(doc.get_heads())


async def test_a_hostile_relay_and_member_are_refused_reported_and_lose_nothing(
        nodes, relay_factory, tmp_path: Path) -> None:
    relay = relay_factory()
    ada, bo, fay = await relay_pod(nodes, relay.url, ("ada", "bo", "fay"), homes_only=("eve",))
    eve = await make_steward(ada, nodes.root / "eve", bo.home.root)
    thread = (await ops.run(ada.context, "feedback.give", {"leader": eve, "text": "hi"})).thread_id
    await eventually(lambda: bo.repo.has(thread), 20)
    await ops.run(fay.context, "need.add", {"title": "from Fay"})  # an entry to replay
    await until(lambda: _has(titles(ada), "from Fay"))
    bo_ctx, bo_outbox = bo.relays.ctx, bo.relays.writer.outbox
    assert bo_ctx is not None and bo_outbox is not None
    await bo.stop()
    nodes.nodes.remove(bo)
    await ops.run(ada.context, "need.add", {"title": "Fix the gate"})
    needs_doc = ada.ledger.collections()["needs"]
    gate = next(where for where, (_, b) in own_entries(ada).items()
                if b.doc == needs_doc and not b.snapshot)
    ada_outbox, gate_key = gate.rsplit("/", 1)
    fay_ctx = fay.relays.ctx
    assert fay_ctx is not None and fay.relays.writer is not None
    epoch = fay.relays.writer.epoch
    assert epoch is not None
    fay_outbox = fay.relays.writer.outbox
    assert fay_outbox is not None

    gen = ada.relays.writer.gen
    async with RelayClient(relay.url, tmp_path / "evil") as evil:
        ada_entries = await evil.entries(ada_outbox)
        fay_entries = await evil.entries(fay_outbox)
        real = ada_entries[gate_key]
        assert isinstance(real, bytes)
        middle = len(real) // 2
        flipped = real[:middle] + bytes([real[middle] ^ 0x01]) + real[middle + 1:]
        changes, heads = forged_changes(fay, needs_doc)
        key = 0x10000

        def at(n: int) -> tuple[str, str]:
            k = f"{key + n:08x}"
            return k, place(ada_outbox, k)

        # The relay alone: bits flipped (at the entry's own key and a new one),
        # cut short, replayed at another key, replayed from another outbox.
        attacks = {gate_key: flipped, at(0)[0]: flipped, at(1)[0]: real[: len(real) // 2],
                   at(2)[0]: real, at(3)[0]: next(v for v in fay_entries.values())}
        # A member's keys: a bundle claiming to be Ada's, signed by Fay; and one
        # saying it is Fay's, in Ada's outbox.
        as_ada = Bundle(by=ada.identity.device_id, place=at(4)[1], doc=needs_doc, snapshot=False,
                        tips=heads, data=changes, at=now_iso(), seal="pod")
        attacks[at(4)[0]] = seal_entry(as_ada, fay_ctx.signing_key,
                                       Seal(epoch=(epoch.key_id, fay_ctx.ring[epoch.key_id])))
        as_fay = Bundle(by=fay.identity.device_id, place=at(5)[1], doc=needs_doc, snapshot=False,
                        tips=heads, data=changes, at=now_iso(), seal="pod")
        attacks[at(5)[0]] = seal_entry(as_fay, fay_ctx.signing_key,
                                       Seal(epoch=(epoch.key_id, fay_ctx.ring[epoch.key_id])))
        await evil.put(ada_outbox, attacks)
        # Fay, in her own outbox, writing to a thread she may not read, sealed to Bo.
        bo_key = fay_ctx.view.device_keys[bo.identity.device_id]
        k = f"{0x20000:08x}"
        into_thread = Bundle(by=fay.identity.device_id, place=place(fay_outbox, k), doc=thread,
                             snapshot=False, tips=heads, data=changes, at=now_iso(), seal="x")
        await evil.put(fay_outbox, {k: seal_entry(into_thread, fay_ctx.signing_key,
                                                  Seal(readers=(bo_key, public_bytes(fay_ctx.device_key))))})
        # Bo, a reader of the thread, planting history that does not descend from
        # its creation (what a LAN link refuses too), sealed to Ada.
        planted, planted_heads = unrelated_history()
        ada_key = bo_ctx.view.device_keys[ada.identity.device_id]
        k = f"{0x30000:08x}"
        graft = Bundle(by=bo.identity.device_id, place=place(bo_outbox, k), doc=thread,
                       snapshot=False, tips=planted_heads, data=planted, at=now_iso(), seal="x")
        await evil.put(bo_outbox, {k: seal_entry(graft, bo_ctx.signing_key,
                                                 Seal(readers=(ada_key, public_bytes(bo_ctx.device_key))))})

    # Ada sees her own outbox altered and moves to a fresh one holding everything.
    await eventually(lambda: ada.relays.writer.gen != gen, 20)
    bo = await nodes.start("bo")
    await until(lambda: _has(titles(bo), "Fix the gate"), 30)
    await ops.run(ada.context, "need.add", {"title": "after the attack"})
    await until(lambda: _has(titles(bo), "after the attack"), 30)

    refused = bo.relays.status()[1]["refused"]
    for reason in ("tampered", "malformed", "bad-signature", "wrong-author", "not-allowed"):
        assert refused.get(reason, 0) >= 1, (reason, refused)
    assert FORGED not in await titles(bo)
    assert FORGED not in await titles(ada)
    assert not holds(bo.repo.get(needs_doc), heads)  # the forged change is nowhere in it
    assert ada.relays.status()[1]["refused"].get("tampered", 0) >= 1
    await eventually(lambda: any("does not descend" in r["detail"]
                                 for r in ada.relays.status()[1]["recent_refusals"]), 20)
    assert not holds(ada.repo.get(thread), planted_heads)
    recent = bo.relays.status()[1]["recent_refusals"]
    assert recent and all({"device_id", "entry", "reason", "detail"} <= set(r) for r in recent)
