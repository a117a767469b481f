"""A node lets go of documents and records nobody uses; what it reads back is the
same, and the cached listings stay true across it."""

from __future__ import annotations

import asyncio

from podsync.node import Node
from tests.node.conftest import NodeFactory
from tests.practices.helpers import by_id, call


async def written(node: Node) -> None:
    """Until everything the node wrote has landed in its store (jobs land in order)."""
    await node.repo.flush()
    await asyncio.wrap_future(node.store.submit_records(node.config.pod_id, []))


async def test_listings_stay_true_when_records_and_documents_are_let_go(nodes: NodeFactory) -> None:
    ada = await nodes.start("ada")
    ids = [(await call(ada, "need.add", title=f"need {i}"))["id"] for i in range(5)]
    before = await call(ada, "need.list")
    needs_doc = ada.context.collection("needs")
    await written(ada)
    ada.ledger.forget_idle()  # the needs were used since the last time
    assert needs_doc in ada.ledger.book.loaded()
    assert needs_doc in ada.ledger.forget_idle()  # idle for a whole period: let go
    assert needs_doc not in ada.ledger.book.loaded()
    assert ada.repo.engine._docs.unload(needs_doc)  # and the automerge document too
    assert await call(ada, "need.list") == before  # read back from the store alike

    await call(ada, "need.take", id=ids[2])  # a change after both were read back
    after = await call(ada, "need.list")
    assert by_id(after, ids[2])["state"] == "held"
    assert [n for n in after if n["id"] != ids[2]] == [n for n in before if n["id"] != ids[2]]
    await written(ada)
    ada.ledger.forget_idle()
    ada.ledger.forget_idle()
    assert by_id(await call(ada, "need.list"), ids[2])["state"] == "held"
