"""Identity comes from the link: a member's node cannot speak for another in
ephemeral messages, and a local app holding the token cannot take a member's
peer id, replace that member's link, or change whom the node dials."""

from __future__ import annotations

import asyncio

import aiohttp
import automerge.core as am
import cbor2

from podsync.repo.values import put_value
from tests.hostile.conftest import Pod, eventually
from tests.hostile.peer import HostilePeer

JS_MAX_SAFE_COUNT = 2**53


async def local_app(pod: Pod, session: aiohttp.ClientSession, sender_id: str) -> tuple[aiohttp.ClientWebSocketResponse, bool]:
    """A local automerge-repo app joining Ada's node as ``sender_id``: (socket, admitted)."""
    ws = await session.ws_connect(pod.ada.local_ws_url)
    await ws.send_bytes(cbor2.dumps({"type": "join", "senderId": sender_id, "supportedProtocolVersions": ["1"]}))
    try:
        msg = await ws.receive(timeout=10)
    except asyncio.TimeoutError:
        return ws, False
    admitted = msg.type == aiohttp.WSMsgType.BINARY and cbor2.loads(msg.data).get("type") == "peer"
    return ws, admitted


async def test_a_local_app_cannot_take_a_members_peer_id_or_replace_their_link(pod: Pod) -> None:
    bo_id = pod.bo.identity.device_id
    for attempt in ("before a restart", "after a restart"):
        async with aiohttp.ClientSession() as session:
            for claimed in (bo_id, pod.ada.identity.device_id, pod.mallory.device_id):
                ws, admitted = await local_app(pod, session, claimed)
                assert not admitted, (claimed, attempt)
                await ws.close()
            # Bo's real link is untouched and still carries edits.
            assert bo_id in pod.ada._open_peer_ids()
            await pod.bo_sees_adas_edits(f"after the impersonation, {attempt}")
            # An app under its own id is welcome, and counts as no device's link.
            ws, admitted = await local_app(pod, session, "an-app-of-adas")
            assert admitted
            assert "an-app-of-adas" not in pod.ada._open_peer_ids()
            await ws.close()
        if attempt == "before a restart":
            await pod.restart_ada()


async def test_a_local_app_cannot_stop_the_node_dialing_a_member(pod: Pod) -> None:
    bo_id = pod.bo.identity.device_id
    await pod.bo.stop()
    pod.nodes.nodes.remove(pod.bo)
    await eventually(lambda: bo_id not in pod.ada._open_peer_ids(), 20)
    async with aiohttp.ClientSession() as session:
        ws, admitted = await local_app(pod, session, bo_id)
        assert not admitted
        await ws.close()
    # Bo comes back (on a new port, which Ada is told): Ada's dialer still
    # counts Bo as unlinked, so it dials and the link comes up.
    pod.bo = await pod.nodes.start("bo")
    pod.ada.dial(pod.bo.listen_addresses[0])
    await eventually(lambda: bo_id in pod.ada._open_peer_ids(), 30)
    await pod.bo_sees_adas_edits("after Bo came back")


async def test_ephemeral_messages_are_from_the_link_that_carried_them(pod: Pod) -> None:
    doc_id = await pod.shared("test", lambda tx: put_value(tx, am.ROOT, "n", 1))
    await eventually(lambda: pod.bo.repo.has(doc_id), 20)
    heard = pod.ada.repo.subscribe()
    bo_id = pod.bo.identity.device_id
    async with HostilePeer(pod.mallory, pod.ada.identity.cert_der, pod.ada.listen_addresses[0]) as mallory:
        ada_id = await mallory.handshake()
        # Mallory speaks as Bo, with Bo's session and the largest count there is.
        await mallory.send({"type": "ephemeral", "senderId": bo_id, "targetId": ada_id, "documentId": doc_id,
                            "count": float(JS_MAX_SAFE_COUNT), "sessionId": pod.bo.repo.engine.session_id,
                            "data": cbor2.dumps({"cursor": "fake"})})
        event = await asyncio.wait_for(heard.get(), 10)
        while event.origin != "ephemeral":
            event = await asyncio.wait_for(heard.get(), 10)
        assert event.peer_id == mallory.peer_id != bo_id
    # Bo's own presence, count 1 of the same session, still gets through as Bo's.
    pod.bo.repo.broadcast(doc_id, cbor2.dumps({"cursor": "real"}))
    event = await asyncio.wait_for(heard.get(), 10)
    while event.origin != "ephemeral":
        event = await asyncio.wait_for(heard.get(), 10)
    assert event.peer_id == bo_id and cbor2.loads(event.data) == {"cursor": "real"}
