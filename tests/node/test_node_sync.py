"""Two and three real nodes on loopback sockets: sync, relay, restarts, status."""

from __future__ import annotations

import aiohttp
import automerge.core as am

from podsync.repo.values import get_path, put_value
from tests.node.conftest import NodeFactory, eventually


def items(node, doc_id):
    return get_path(node.repo.get(doc_id), "items") if node.repo.has(doc_id) else None


async def shared(node) -> str:
    """A document of another app, made on ``node`` and shared with the whole pod
    (until it is shared, only its member's own devices would read it)."""
    doc = await node.repo.create("test", lambda tx: put_value(tx, am.ROOT, "items", {}))
    await node.ledger.share(doc, "pod", node.context.now())
    return doc


async def add(node, doc_id, key, value):
    def edit(tx):
        obj = node.repo.get(doc_id).get(am.ROOT, "items")[1]
        put_value(tx, obj, key, value)
    await node.repo.change(doc_id, edit)


async def test_documents_and_edits_flow_both_ways(nodes: NodeFactory) -> None:
    a = await nodes.start("ada")
    b = await nodes.start("bo", peers=[a.listen_addresses[0]])
    doc = await shared(a)
    await eventually(lambda: b.repo.has(doc))
    await add(b, doc, "from_b", "hello")
    await eventually(lambda: (items(a, doc) or {}).get("from_b") == "hello")
    await add(a, doc, "from_a", "world")
    await eventually(lambda: items(b, doc) == {"from_b": "hello", "from_a": "world"})
    assert sorted(a.repo.get(doc).get_heads()) == sorted(b.repo.get(doc).get_heads())

    status = a.status()
    assert status["running"] is True
    [peer] = [p for p in status["peers"] if p["connected"]]
    assert peer["device_id"] == b.identity.device_id and peer["found_by"] == "incoming"
    [entry] = [d for d in status["documents"] if d["url"].endswith(doc)]
    await eventually(lambda: b.identity.device_id in
                     [d for d in a.status()["documents"] if d["url"].endswith(doc)][0]["in_sync_with"])
    assert entry["kind"] == "automerge"  # another app's document, shared with the pod


async def test_edits_are_relayed_through_a_middle_node(nodes: NodeFactory) -> None:
    a = await nodes.start("ada")
    b = await nodes.start("bo", peers=[a.listen_addresses[0]])
    c = await nodes.start("cy", peers=[b.listen_addresses[0]])
    doc = await shared(c)
    await eventually(lambda: a.repo.has(doc))
    await add(a, doc, "a", 1)
    await eventually(lambda: (items(c, doc) or {}).get("a") == 1)


async def test_offline_edits_merge_after_restart_and_survive_it(nodes: NodeFactory) -> None:
    a = await nodes.start("ada")
    b = await nodes.start("bo", peers=[a.listen_addresses[0]])
    doc = await shared(a)
    await eventually(lambda: b.repo.has(doc))
    await b.stop()
    nodes.nodes.remove(b)
    await add(a, doc, "while_b_away", "x")
    b_offline = await nodes.start("bo")
    await add(b_offline, doc, "b_offline", "y")
    await b_offline.stop()
    nodes.nodes.remove(b_offline)
    b2 = await nodes.start("bo", peers=[a.listen_addresses[0]])
    want = {"while_b_away": "x", "b_offline": "y"}
    await eventually(lambda: items(a, doc) == want and items(b2, doc) == want)


async def test_a_dropped_link_is_redialed_and_resyncs(nodes: NodeFactory) -> None:
    a = await nodes.start("ada")
    b = await nodes.start("bo", peers=[a.listen_addresses[0]])
    doc = await shared(a)
    await eventually(lambda: b.repo.has(doc))
    for link in list(a._links.links.values()):
        link.close("test drops the link")
    await add(a, doc, "after_drop", True)
    await eventually(lambda: (items(b, doc) or {}).get("after_drop") is True)


async def test_local_endpoints_refuse_a_missing_or_wrong_token(nodes: NodeFactory) -> None:
    a = await nodes.start("ada")
    base = f"http://{a.api_address}"
    async with aiohttp.ClientSession() as session:
        for query in ("", "?token=wrong"):
            async with session.get(f"{base}/api/status{query}") as resp:
                assert resp.status == 401
                assert a.identity.device_id not in await resp.text()
            try:
                await session.ws_connect(f"ws://{a.api_address}/automerge{query}")
            except aiohttp.WSServerHandshakeError as exc:
                assert exc.status == 401
            else:
                raise AssertionError("the local WebSocket accepted a bad token")
        async with session.get(f"{base}/api/status?token={a.token}") as resp:
            assert resp.status == 200
            assert (await resp.json())["device_id"] == a.identity.device_id


async def test_documents_received_are_not_measured_again_at_start(nodes: NodeFactory) -> None:
    a = await nodes.start("ada")
    b = await nodes.start("bo", peers=[a.listen_addresses[0]])
    doc = await shared(a)
    await eventually(lambda: b.repo.has(doc) and b.repo.store.heads(doc))
    await b.repo.flush()
    # Stored as it arrived, whole, and measured then: B's next start skips it.
    assert doc not in b.repo.store.unmeasured()
    # Changes that arrive later are measured as they are stored, and added.
    await add(a, doc, "later", 1)
    await eventually(lambda: (items(b, doc) or {}).get("later") == 1)
    await b.repo.flush()
    assert doc not in b.repo.store.unmeasured()
    # So are B's own changes.
    await add(b, doc, "mine", 2)
    await b.repo.flush()
    assert doc not in b.repo.store.unmeasured()
    # A write past the node (another program on the store) is not: the next
    # start measures the document again.
    past = b.repo.store.load(doc)
    before = past.get_heads()
    with past.transaction() as tx:
        put_value(tx, am.ROOT, "past the node", True)
    b.repo.store.append_changes(doc, [c.bytes for c in past.get_changes(before)], past.get_heads())
    assert doc in b.repo.store.unmeasured()


async def test_a_document_past_one_input_reaches_a_returning_member_and_a_new_one(
        nodes: NodeFactory, caplog) -> None:
    """More than a peer takes as one input (MAX_INPUT_BYTES inflated): a member
    back from offline gets what it missed in parts; one who holds nothing gets
    the document saved as it stood some way through its history, the rest by
    sync."""
    import logging
    import os

    from podsync.sync.limits import MAX_INPUT_BYTES

    caplog.set_level(logging.INFO, logger="podsync.sync")
    a = await nodes.start("ada")
    doc = await shared(a)
    b = await nodes.start("bo", peers=[a.listen_addresses[0]])
    await eventually(lambda: b.repo.has(doc))
    await b.stop()
    nodes.nodes.remove(b)
    piece = 1024 * 1024  # characters of random hex: a change of about a MiB
    for i in range(MAX_INPUT_BYTES // piece + 2):  # written while Bo is away
        await add(a, doc, f"k{i}", os.urandom(piece // 2).hex())

    def in_step(node) -> bool:
        return node.repo.has(doc) and sorted(node.repo.get(doc).get_heads()) \
            == sorted(a.repo.get(doc).get_heads())

    b = await nodes.start("bo", peers=[a.listen_addresses[0]])
    await eventually(lambda: in_step(b), timeout=60)
    assert items(b, doc) == items(a, doc)
    assert any(f"document {doc} goes to peer {b.identity.device_id} in parts" in r.getMessage()
               for r in caplog.records)
    c = await nodes.start("cy", peers=[a.listen_addresses[0]])
    await eventually(lambda: in_step(c), timeout=60)
    assert items(c, doc) == items(a, doc)
    assert any(f"document {doc} goes to peer {c.identity.device_id} whole as it stood" in r.getMessage()
               for r in caplog.records)
    # Nothing was refused and no link was closed on the way.
    assert not [r.getMessage() for r in caplog.records if "not synced" in r.getMessage()
                or "closing link" in r.getMessage() or "refused" in r.getMessage()]
    # Once Ada's node restarts, the document is loaded from her store with what it
    # was measured at when stored: the next new member gets the same start
    # without her node saving the whole document first to weigh it.
    heads = sorted(a.repo.get(doc).get_heads())
    await a.stop()
    nodes.nodes.remove(a)
    a = nodes.founder = await nodes.start("ada")
    assert a.repo.store.measured(doc) is not None and doc not in a.repo.store.unmeasured()
    d = await nodes.start("di", peers=[a.listen_addresses[0]])
    await eventually(lambda: d.repo.has(doc) and sorted(d.repo.get(doc).get_heads()) == heads,
                     timeout=60)
    assert items(d, doc) == items(c, doc)
    assert any(f"document {doc} goes to peer {d.identity.device_id} whole as it stood" in m
               and "the whole is measured at" in m for m in (r.getMessage() for r in caplog.records))
