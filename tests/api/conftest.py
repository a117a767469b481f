"""A running pod for API tests: Ada's node serves the API; Bo's node runs too; Cy has
joined (her node ran once, to affirm she stewards Bo).

The pod is made once per module (starting nodes is the slow part) and seeded
with one item of each kind in a known state, so requests can be aimed at them.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp
import pytest
import pytest_asyncio

from podsync.ids import new_document_id
from podsync.node import Node
from tests.node.conftest import NodeFactory
from tests.practices.helpers import call, holds_collections, until


@dataclass
class Pod:
    ada: Node
    bo: Node
    ids: dict[str, str]
    session: aiohttp.ClientSession

    async def post(self, name: str, body: bytes | dict[str, Any], *, node: Node | None = None,
                   token: str | None = None) -> tuple[int, Any]:
        """POST /api/ops/<name> to ``node`` (Ada's); the status and the decoded JSON body."""
        node = node or self.ada
        headers = {"Content-Type": "application/json"}
        if token is None:
            token = node.token
        if token:
            headers["Authorization"] = f"Bearer {token}"
        url = f"http://{node.api_address}/api/ops/{name}"
        kwargs: dict[str, Any] = {"data": body} if isinstance(body, bytes) else {"json": body}
        async with self.session.post(url, headers=headers, **kwargs) as resp:
            return resp.status, await resp.json(content_type=None)


@pytest_asyncio.fixture(loop_scope="module", scope="module")
async def pod(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Pod]:
    factory = NodeFactory(Path(tmp_path_factory.mktemp("pod")))
    ada = await factory.start("ada")
    bo = await factory.start("bo", peers=[ada.listen_addresses[0]])
    await factory.home("cy")  # a member whose node is not running (but for a moment)
    await holds_collections(bo)
    await until(ada, "members.list", lambda ms: len(ms) == 3)
    members = {m["name"].lower(): m["member_id"] for m in await call(ada, "members.list")}
    a, b, c = members["ada"], members["bo"], members["cy"]
    ids = {"ada": a, "bo": b, "cy": c, "unknown_doc": new_document_id(),
           "needs_doc": ada.context.collection("needs")}
    ids["need_open"] = (await call(ada, "need.add", title="Open need"))["id"]
    ids["need_held"] = (await call(ada, "need.add", title="Held need"))["id"]
    await call(ada, "need.take", id=ids["need_held"])
    ids["agreement_active"] = (await call(ada, "agreement.propose", what="Active", parties=[a]))["id"]
    await call(ada, "agreement.affirm", id=ids["agreement_active"])
    ids["agreement_retired"] = (await call(ada, "agreement.propose", what="Old", parties=[a]))["id"]
    await call(ada, "agreement.retire", id=ids["agreement_retired"])
    ids["agreement_bo"] = (await call(ada, "agreement.propose", what="Bo's", parties=[b]))["id"]
    deadline = (dt.datetime.now(dt.timezone.utc) + dt.timedelta(days=3)).isoformat()
    ids["decision"] = (await call(ada, "decision.start", title="D", proposal="P",
                                  deadline=deadline))["id"]
    ids["team"] = (await call(ada, "team.add", name="Kitchen"))["id"]
    ids["ask"] = (await call(ada, "mobilizing.ask", member=b, need_id=ids["need_open"]))["id"]
    # Cy stewards Bo: proposed by Ada, affirmed by Cy (her node runs for that), consented by Bo.
    ids["nomination"] = (await call(ada, "steward.propose", leader=b, steward=c))["id"]
    cy = await factory.start("cy", peers=[ada.listen_addresses[0]])
    await until(cy, "steward.list", lambda ns: ns and ns[0]["id"] == ids["nomination"])
    await call(cy, "steward.affirm", id=ids["nomination"])
    await until(bo, "steward.list", lambda ns: ns and ns[0]["affirmed_at"])
    await call(bo, "steward.consent", id=ids["nomination"])
    await until(ada, "feedback.stewards", lambda s: s == [c], leader=b)
    await until(cy, "feedback.stewards", lambda s: s == [c], leader=b)
    await cy.stop()
    factory.nodes.remove(cy)
    ids["thread"] = (await call(ada, "feedback.give", leader=b, text="raw"))["thread_id"]
    ids["allies"] = (await call(ada, "allies.propose", member=b, every_days=7,
                                focus="co-holding the garden"))["id"]
    async with aiohttp.ClientSession() as session:
        yield Pod(ada, bo, ids, session)
    for node in factory.nodes:
        await node.stop()
