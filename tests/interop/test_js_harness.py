"""The JS peer harness itself, JS to JS: the podsync interop tests stand on it."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from jsdriver import JsHarnessError, JsPeer, start_js_client, start_js_server, stored_by
from podsync.ids import document_url, new_document_id, parse_url

pytestmark = pytest.mark.slow

# Long enough for a find through a sync server on a loaded CI machine (~0.2 s
# here), short enough that a broken harness fails quickly.
SYNC_TIMEOUT_MS = 10_000


@pytest.fixture
async def trio() -> AsyncIterator[tuple[JsPeer, JsPeer, JsPeer]]:
    """A JS sync server and two JS clients connected to it."""
    server, port = await start_js_server()
    peers = [server]
    try:
        for _ in range(2):
            client = await start_js_client(f"ws://127.0.0.1:{port}")
            peers.append(client)
            await client.next_event("peer")
        yield server, peers[1], peers[2]
    finally:
        codes = [await peer.close() for peer in peers]
    assert codes == [0] * len(peers), "every JS peer exits cleanly on close"


async def created_on_server(trio, value: dict) -> str:
    """A document A creates, once the server holds it (it asks nobody for one it
    lacks, so B's find would race A's push); its URL."""
    server, a, _ = trio
    url = (await a.call("create", value=value))["url"]
    await stored_by(server, parse_url(url)[0], timeout=SYNC_TIMEOUT_MS / 1000)
    return url


async def test_client_finds_document_through_server_and_sees_live_change(trio) -> None:
    _, a, b = trio
    url = await created_on_server(trio, {"title": "groceries", "items": {"milk": 1}})

    found = await b.call("find", url=url, timeoutMs=SYNC_TIMEOUT_MS)
    assert found["ok"], found
    assert found["doc"] == {"title": "groceries", "items": {"milk": 1}}

    heads = (await a.call("change", url=url, path=["items", "eggs"], value=12))["heads"]
    seen = await b.call("waitFor", url=url, path=["items", "eggs"], value=12, timeoutMs=SYNC_TIMEOUT_MS)
    assert seen["ok"], seen
    got = await b.call("get", url=url)
    assert got["doc"]["items"] == {"milk": 1, "eggs": 12}
    assert got["heads"] == heads


async def test_unknown_document_is_refused_as_unavailable(trio) -> None:
    _, _, b = trio
    url = document_url(new_document_id())
    found = await b.call("find", url=url, timeoutMs=SYNC_TIMEOUT_MS)
    assert found["ok"] is False
    assert found["error"] == "unavailable", found
    print(f"JS find of an unknown document refused after {found['ms']:.0f} ms")


async def test_ephemeral_message_reaches_other_client(trio) -> None:
    _, a, b = trio
    url = await created_on_server(trio, {"n": 0})
    assert (await b.call("find", url=url, timeoutMs=SYNC_TIMEOUT_MS))["ok"]
    await b.call("listenEphemeral", url=url)

    await a.call("broadcast", url=url, message={"cursor": [3, 4], "who": "a"})
    event = await b.next_event("ephemeral", timeout=SYNC_TIMEOUT_MS / 1000)
    assert event["url"] == url
    assert event["message"] == {"cursor": [3, 4], "who": "a"}
    assert event["senderId"] == a.peer_id


async def test_command_errors_are_reported_and_peer_survives(trio) -> None:
    _, a, _ = trio
    with pytest.raises(JsHarnessError, match="unknown command"):
        await a.call("no-such-command")
    with pytest.raises(JsHarnessError, match="no open handle"):
        await a.call("get", url=document_url(new_document_id()))
    assert (await a.call("peers"))["peers"], "still connected to the server after the errors"


async def test_killed_peer_is_reported_as_exited() -> None:
    server, _ = await start_js_server()
    server.kill()
    with pytest.raises(JsHarnessError, match="exited"):
        await server.call("peers")
    assert await server.close() != 0
