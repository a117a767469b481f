"""A pod of real nodes on loopback, and a member whose node has turned hostile.

Ada's and Bo's nodes run and are linked; Mallory is a member of the same pod
(joined by a real invite) whose certificate the hostile peers use.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import automerge.core as am
import pytest

from podsync.home import Home
from podsync.node import Node
from podsync.repo.values import get_path, put_value
from podsync.trust.identity import DeviceIdentity, load_identity
from tests.trust_e2e.conftest import NodeFactory, eventually, invite, join_via

__all__ = ["Pod", "eventually", "pod"]


@dataclass
class Pod:
    nodes: NodeFactory
    ada: Node
    bo: Node
    mallory: DeviceIdentity
    mallory_home: Home

    async def shared(self, kind: str, init) -> str:  # noqa: ANN001 - a transaction callback
        """A document of another app on Ada's node, shared with the whole pod (until
        it is shared, only Ada's own devices would read it)."""
        doc_id = await self.ada.repo.create(kind, init)
        await self.ada.ledger.share(doc_id, "pod", self.ada.context.now())
        return doc_id

    async def bo_sees_adas_edits(self, label: str) -> None:
        """Ada writes a fresh document (shared with the pod); it reaches Bo over their link."""
        doc_id = await self.shared("test", lambda tx: put_value(tx, am.ROOT, "label", label))
        await eventually(lambda: self.bo.repo.has(doc_id)
                         and get_path(self.bo.repo.get(doc_id), "label") == label, 20)

    async def restart_ada(self) -> Node:
        """Stop Ada's node and start it again on the same home."""
        await self.ada.stop()
        self.nodes.nodes.remove(self.ada)
        self.ada = await self.nodes.start("ada")
        self.bo.dial(self.ada.listen_addresses[0])
        await eventually(lambda: self.ada.identity.device_id in self.bo._open_peer_ids(), 20)
        return self.ada


@pytest.fixture
async def pod(tmp_path: Path) -> AsyncIterator[Pod]:
    factory = NodeFactory(tmp_path)
    try:
        ada = await factory.start("ada")
        mallory_home = await join_via(tmp_path, "mallory", await invite(ada))
        bo = await factory.start("bo", peers=[ada.listen_addresses[0]])
        await eventually(lambda: ada.identity.device_id in bo._open_peer_ids(), 20)
        mallory = load_identity(mallory_home)
        assert ada.access.is_active_device(mallory.device_id)
        yield Pod(factory, ada, bo, mallory, mallory_home)
    finally:
        for node in factory.nodes:
            await node.stop()
