"""The API describes itself (OpenAPI) and streams changes (server-sent events)."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import aiohttp
import msgspec.inspect
import pytest

from podsync.api import ops
from tests.api.conftest import Pod
from tests.practices.helpers import call

pytestmark = pytest.mark.asyncio(loop_scope="module")

#: Generous bound for a change to travel one loopback link and reach the stream.
EVENT_TIMEOUT_S = 15.0


async def test_openapi_lists_every_operation_with_its_schema(pod: Pod) -> None:
    url = f"http://{pod.ada.api_address}/api/openapi.json"
    async with pod.session.get(url, headers={"Authorization": f"Bearer {pod.ada.token}"}) as resp:
        assert resp.status == 200
        spec = await resp.json()
    schemas = spec["components"]["schemas"]
    for name, operation in ops.all_ops().items():
        post = spec["paths"][f"/api/ops/{name}"]["post"]
        assert post["operationId"] == name and post["summary"]
        ref = post["requestBody"]["content"]["application/json"]["schema"]["$ref"]
        schema = schemas[ref.rsplit("/", 1)[-1]]
        assert schema["type"] == "object"
        declared = {f.encode_name for f in msgspec.inspect.type_info(operation.args).fields}
        assert set(schema.get("properties", {})) == declared, name
    add = schemas["NeedAddArgs"]
    assert add["required"] == ["title"]
    assert add["properties"]["sensing"]["enum"] == ["emergent", "neglected", "void"]
    assert add["properties"]["title"]["maxLength"] == 200
    async with pod.session.get(url) as resp:
        assert resp.status == 401


async def _next_change(resp: aiohttp.ClientResponse, want: Any) -> dict[str, Any]:
    """The next ``change`` event on the stream for which ``want(data)`` holds."""
    event = None
    async for raw in resp.content:
        line = raw.decode().rstrip("\n")
        if line.startswith("event: "):
            event = line[len("event: "):]
        elif line.startswith("data: ") and event == "change":
            data = json.loads(line[len("data: "):])
            if want(data):
                return data
    raise AssertionError("the event stream ended")


async def test_events_stream_local_changes_and_changes_from_a_peer(pod: Pod) -> None:
    url = f"http://{pod.ada.api_address}/api/events?token={pod.ada.token}"
    needs_doc = pod.ids["needs_doc"]
    async with pod.session.get(url) as resp:
        assert resp.status == 200
        assert resp.headers["Content-Type"].startswith("text/event-stream")
        assert (await resp.content.readline()).startswith(b": connected")

        status, _ = await pod.post("need.add", {"title": "Seen by the stream"})
        assert status == 200
        local = await asyncio.wait_for(_next_change(
            resp, lambda d: d["doc_id"] == needs_doc and d["origin"] == "local"), EVENT_TIMEOUT_S)
        assert local["kind"] == "needs" and local["url"] == f"automerge:{needs_doc}"
        assert local["heads"] and all(isinstance(h, str) for h in local["heads"])

        await call(pod.bo, "need.add", title="Added on Bo's node")
        remote = await asyncio.wait_for(_next_change(
            resp, lambda d: d["doc_id"] == needs_doc and d["origin"] == "remote"), EVENT_TIMEOUT_S)
        assert remote["peer_id"] == pod.bo.identity.device_id
    titles = [n["title"] for n in await call(pod.ada, "need.list")]
    assert "Added on Bo's node" in titles


async def test_events_need_the_token(pod: Pod) -> None:
    async with pod.session.get(f"http://{pod.ada.api_address}/api/events") as resp:
        assert resp.status == 401
        assert "token" in (await resp.json())["error"]["message"]
