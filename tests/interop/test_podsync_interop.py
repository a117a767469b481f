"""podsync nodes against real, unmodified JavaScript automerge-repo peers.

Three shapes, as pods meet them: browser-style JS apps on a node's local
endpoint (the node is their sync server and relays between them), a node
dialling a JS sync server (the node is a client there), and a JS app whose
process dies mid-sync and comes back.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import aiohttp
import automerge.core as am
import cbor2
import pytest

from jsdriver import JsPeer, start_js_client, start_js_server, stored_by
from podsync.cli.init import initialise
from podsync.errors import NotFound
from podsync.home import Home
from podsync.ids import document_url, encode_head, new_document_id, parse_url
from podsync.net import Dialer, Link, LinkTable
from podsync.node import Node, NodeOptions
from podsync.repo import Repo
from podsync.repo.values import get_path, put_value, to_python
from podsync.store import DocumentStore
from podsync.sync import AwaitDrain, Close, Effect, Send
from podsync.sync.intake import Measured

pytestmark = pytest.mark.slow

# Long enough for a find or an edit to cross the node on a loaded 2-core CI
# machine (they take tens of milliseconds here), short enough that a lost
# message fails the test rather than hanging it.
SYNC_TIMEOUT_MS = 10_000
SYNC_TIMEOUT_S = SYNC_TIMEOUT_MS / 1000
# A node answers a request for a document nobody holds once its other peers have
# said so, a round trip away; automerge-repo's own give-up is 60 s and the
# node's REQUEST_TIMEOUT 10 s, so 2 s separates an answer from a timeout.
UNAVAILABLE_WITHIN_MS = 2_000
# One small document found, edited once and left idle on a fresh link takes
# about a dozen frames from the node (peer, sync replies, one push); a sync
# loop runs into the hundreds within a second.
MAX_FRAMES_SMALL_DOC = 50
# How long an idle, converged link is watched for frames it should not carry.
IDLE_WATCH_S = 1.0


async def eventually(predicate: Callable[[], Any], timeout: float = SYNC_TIMEOUT_S,
                     what: str = "condition") -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"{what} not reached within {timeout} s")
        await asyncio.sleep(0.02)


async def eventually_async(predicate: Callable[[], Awaitable[bool]], timeout: float = SYNC_TIMEOUT_S,
                           what: str = "condition") -> None:
    deadline = time.monotonic() + timeout
    while not await predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"{what} not reached within {timeout} s")
        await asyncio.sleep(0.05)


def doc_id_of(url: str) -> str:
    return parse_url(url)[0]


def conn_of(repo: Repo, peer_id: str | None) -> int | None:
    """The link on which ``peer_id`` completed its handshake with ``repo``'s engine."""
    return next((p.conn for p in repo.engine.peers() if p.peer_id == peer_id), None)


class FrameCounter:
    """Counts the frames the node hands to each link, by wrapping the repo's
    transport callback (every Send the engine produces passes through it)."""

    def __init__(self, node: Node) -> None:
        self.frames: dict[int, list[str]] = collections.defaultdict(list)
        inner = node.repo.transport

        def transport(effect: Effect) -> None:
            if isinstance(effect, Send):
                self.frames[effect.conn].append(cbor2.loads(effect.data).get("type", "?"))
            inner(effect)

        node.repo.transport = transport


class SyncStack:
    """podsync's sync stack (store, repo, engine, links, dialer) without the node
    around it, dialling a plain-WebSocket automerge-repo server.

    A node's own peer links are TLS pinned to the pod roster, so a node does not
    dial a JS sync server; this is the same client role its links play, with the
    share policy left open as a relay's would be.
    """

    def __init__(self, root: Path, peer_id: str) -> None:
        self.store = DocumentStore(root / "podsync.db")
        self.repo = Repo(self.store, peer_id)
        self.links = LinkTable(self._on_frame, self._on_open, self._on_closed)
        self.repo.transport = self._on_effect
        self._session: aiohttp.ClientSession | None = None
        self._dialer: Dialer | None = None
        self._timers: asyncio.Task[None] | None = None

    def dial(self, address: str) -> None:
        self._session = aiohttp.ClientSession()
        self._dialer = Dialer(address, self._session, self.links.serve)
        self._dialer.start()
        self._timers = asyncio.get_running_loop().create_task(self.repo.run_timers())

    async def close(self) -> None:
        if self._dialer is not None:
            await self._dialer.stop()
        self.links.close_all("closing")
        if self._timers is not None:
            self._timers.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._timers
        if self._session is not None:
            await self._session.close()
        await self.repo.flush()
        self.store.close()

    def _on_open(self, link: Link) -> None:
        self.repo.dispatch(self.repo.engine.connect(link.conn, link.role, time.monotonic()))

    def _on_frame(self, conn: int, frame: Measured) -> None:
        self.repo.dispatch(self.repo.engine.receive_measured(conn, frame, time.monotonic()))

    def _on_closed(self, conn: int) -> None:
        self.repo.dispatch(self.repo.engine.disconnect(conn, time.monotonic()))

    def _on_effect(self, effect: Effect) -> None:
        if isinstance(effect, (Send, Close, AwaitDrain)):
            self.links.execute(effect)


class Rig:
    """A test's podsync node (in a temporary home), sync stacks and JS peers."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.node: Node | None = None
        self.js: list[JsPeer] = []
        self.killed: set[int] = set()
        self.stacks: list[SyncStack] = []

    async def start_node(self, name: str = "ada") -> Node:
        home = Home(self.root / name)
        initialise(home, name.capitalize())
        node = Node(home, NodeOptions(listen="127.0.0.1:0", api="127.0.0.1:0", peers=[],
                                      discovery=False))
        await node.start()
        self.node = node
        return node

    async def client(self, url: str | None = None, *, wait_peer: bool = True) -> JsPeer:
        if url is None:
            assert self.node is not None, "start the node first, or name the URL to dial"
            url = self.node.local_ws_url
        peer = await start_js_client(url)
        self.js.append(peer)
        if wait_peer:
            await peer.next_event("peer", timeout=SYNC_TIMEOUT_S)
        return peer

    async def server(self) -> tuple[JsPeer, int]:
        peer, port = await start_js_server()
        self.js.append(peer)
        return peer, port

    def stack(self, name: str = "stack") -> SyncStack:
        root = self.root / name
        root.mkdir()
        stack = SyncStack(root, f"podsync-{name}-{new_document_id()}")
        self.stacks.append(stack)
        return stack

    def kill(self, peer: JsPeer) -> None:
        self.killed.add(peer.pid)
        peer.kill()

    async def close(self) -> dict[str, int]:
        """Close every JS peer, then the node; the exit codes of the peers not killed."""
        codes = {}
        try:
            for peer in self.js:
                code = await peer.close()
                if peer.pid not in self.killed:
                    codes[repr(peer)] = code
        finally:
            for stack in self.stacks:
                await stack.close()
            if self.node is not None:
                await self.node.stop()
        return codes


@pytest.fixture
async def rig(tmp_path: Path) -> AsyncIterator[Rig]:
    rig = Rig(tmp_path)
    yield rig
    codes = await rig.close()
    assert all(code == 0 for code in codes.values()), f"JS peers exited badly: {codes}"


@pytest.fixture
async def node(rig: Rig) -> Node:
    return await rig.start_node()


def node_heads(node: Node, doc_id: str) -> list[str]:
    return sorted(encode_head(h) for h in node.repo.get(doc_id).get_heads())


# ---------------------------------------------------------------- JS apps on the local endpoint


async def test_js_client_document_is_relayed_and_stored(rig: Rig, node: Node) -> None:
    a, b = await rig.client(), await rig.client()
    content = {"title": "groceries", "items": {"milk": 1}}
    url = (await a.call("create", value=content))["url"]
    doc_id = doc_id_of(url)

    found = await b.call("find", url=url, timeoutMs=SYNC_TIMEOUT_MS)
    assert found["ok"], found
    assert found["doc"] == content

    await eventually(lambda: node.repo.has(doc_id), what="the node storing A's document")
    # JS strings are collaborative text; to_python reads text as str.
    assert to_python(node.repo.get(doc_id)) == content


async def test_live_edits_flow_between_js_clients_and_node(rig: Rig, node: Node) -> None:
    a, b = await rig.client(), await rig.client()
    url = (await a.call("create", value={"items": {"milk": 1}}))["url"]
    doc_id = doc_id_of(url)
    assert (await b.call("find", url=url, timeoutMs=SYNC_TIMEOUT_MS))["ok"]

    await a.call("change", url=url, path=["items", "eggs"], value=12)
    seen = await b.call("waitFor", url=url, path=["items", "eggs"], value=12, timeoutMs=SYNC_TIMEOUT_MS)
    assert seen["ok"], seen
    await eventually(lambda: get_path(node.repo.get(doc_id), "items", "eggs") == 12,
                     what="the node seeing A's edit")

    await b.call("change", url=url, path=["items", "bread"], value=2)
    seen = await a.call("waitFor", url=url, path=["items", "bread"], value=2, timeoutMs=SYNC_TIMEOUT_MS)
    assert seen["ok"], seen
    await eventually(lambda: get_path(node.repo.get(doc_id), "items", "bread") == 2,
                     what="the node seeing B's edit")

    def edit(tx: Any) -> None:
        put_value(tx, am.ROOT, "note", "from the node")
        put_value(tx, am.ROOT, "count", 3)

    await node.repo.change(doc_id, edit)
    for client in (a, b):
        # A Python str is a scalar string; JS reads it as an ImmutableString,
        # whose JSON form is the plain string.
        seen = await client.call("waitFor", url=url, path=["note"], value="from the node",
                                 timeoutMs=SYNC_TIMEOUT_MS)
        assert seen["ok"], (client, seen)
        got = await client.call("get", url=url)
        assert got["doc"] == {"items": {"milk": 1, "eggs": 12, "bread": 2},
                              "note": "from the node", "count": 3}
        assert sorted(got["heads"]) == node_heads(node, doc_id)


async def test_js_client_finds_document_created_on_node(rig: Rig, node: Node) -> None:
    def init(tx: Any) -> None:
        put_value(tx, am.ROOT, "title", "made by podsync")
        put_value(tx, am.ROOT, "tags", ["a", "b"])

    doc_id = await node.repo.create("note", init)
    # Another app's document, brought in by this member: theirs alone until shared.
    claim = node.ledger.claim(doc_id)
    assert claim is not None
    await claim
    a = await rig.client()
    found = await a.call("find", url=document_url(doc_id), timeoutMs=SYNC_TIMEOUT_MS)
    assert found["ok"], found
    assert found["doc"] == {"@kind": "note", "title": "made by podsync", "tags": ["a", "b"]}
    got = await a.call("get", url=document_url(doc_id))
    assert sorted(got["heads"]) == node_heads(node, doc_id)


async def test_unknown_document_is_refused_quickly(rig: Rig, node: Node) -> None:
    a, b = await rig.client(), await rig.client()
    # Something held, so the node has documents and another client to ask.
    await a.call("create", value={"n": 1})
    url = document_url(new_document_id())
    found = await b.call("find", url=url, timeoutMs=SYNC_TIMEOUT_MS)
    assert found["ok"] is False
    assert found["error"] == "unavailable", found
    assert found["ms"] < UNAVAILABLE_WITHIN_MS, found
    print(f"JS find of an unknown document refused by the node after {found['ms']:.0f} ms")
    assert not node.repo.has(doc_id_of(url))


async def test_ephemeral_messages_relayed_and_delivered(rig: Rig, node: Node) -> None:
    a, b = await rig.client(), await rig.client()
    url = (await a.call("create", value={"n": 0}))["url"]
    doc_id = doc_id_of(url)
    assert (await b.call("find", url=url, timeoutMs=SYNC_TIMEOUT_MS))["ok"]
    await eventually(lambda: node.repo.has(doc_id), what="the node holding the document")
    await b.call("listenEphemeral", url=url)
    await a.call("listenEphemeral", url=url)
    events = node.repo.subscribe()

    await a.call("broadcast", url=url, message={"cursor": [3, 4], "who": "a"})
    event = await b.next_event("ephemeral", timeout=SYNC_TIMEOUT_S)
    assert event["url"] == url
    assert event["message"] == {"cursor": [3, 4], "who": "a"}
    assert event["senderId"] == a.peer_id, "relayed under the original sender's id"

    async def next_ephemeral() -> Any:
        while True:
            change = await events.get()
            if change.origin == "ephemeral":
                return change

    change = await asyncio.wait_for(next_ephemeral(), SYNC_TIMEOUT_S)
    assert change.doc_id == doc_id
    assert change.peer_id == a.peer_id
    assert cbor2.loads(change.data) == {"cursor": [3, 4], "who": "a"}

    node.repo.broadcast(doc_id, cbor2.dumps({"from": "node"}))
    for client in (a, b):
        event = await client.next_event("ephemeral", timeout=SYNC_TIMEOUT_S)
        assert event["message"] == {"from": "node"}, (client, event)
        assert event["senderId"] == node.identity.device_id

    # automerge-repo passes every ephemeral message on to its other peers: B hands
    # the node back A's message, and both hand back the node's. Those copies reach
    # nobody again (A would hear itself, as B) and are no one's new message.
    await asyncio.sleep(IDLE_WATCH_S)
    for client in (a, b):
        while not client.events.empty():
            event = client.events.get_nowait()
            assert event.get("event") != "ephemeral", (client, event)
    while not events.empty():
        assert events.get_nowait().origin != "ephemeral"


async def test_join_without_protocol_1_gets_error_and_close(node: Node) -> None:
    async with aiohttp.ClientSession() as session:
        async with session.ws_connect(node.local_ws_url) as ws:
            await ws.send_bytes(cbor2.dumps({"type": "join", "senderId": "x",
                                             "supportedProtocolVersions": ["2"],
                                             "peerMetadata": {}}))
            reply = await ws.receive(timeout=SYNC_TIMEOUT_S)
            assert reply.type == aiohttp.WSMsgType.BINARY, reply
            message = cbor2.loads(reply.data)
            assert message["type"] == "error", message
            assert message["targetId"] == "x"
            after = await ws.receive(timeout=SYNC_TIMEOUT_S)
            assert after.type in (aiohttp.WSMsgType.CLOSE, aiohttp.WSMsgType.CLOSED), after
    assert node.repo.engine.peers() == []


async def test_local_endpoint_refuses_missing_or_wrong_token(rig: Rig, node: Node) -> None:
    base = node.local_ws_url.split("?", 1)[0]
    async with aiohttp.ClientSession() as session:
        for url in (base, base + "?token=wrong"):
            with pytest.raises(aiohttp.WSServerHandshakeError) as refused:
                await session.ws_connect(url)
            assert refused.value.status == 401, url

    intruder = await rig.client(base + "?token=wrong", wait_peer=False)
    # ws reports the refused upgrade as an error the adapter throws from its
    # socket callback; peer.mjs reports it as "uncaught".
    failure = await intruder.next_event("uncaught", timeout=SYNC_TIMEOUT_S)
    assert "401" in failure["error"], failure
    assert (await intruder.call("peers"))["peers"] == []
    assert node.repo.engine.peers() == []


# ---------------------------------------------------------------- podsync dialling a JS server


async def test_podsync_fetches_from_js_server(rig: Rig) -> None:
    server, port = await rig.server()
    c = await rig.client(f"ws://127.0.0.1:{port}")
    url = (await c.call("create", value={"title": "minutes", "n": 1}))["url"]
    doc_id = doc_id_of(url)

    # The client pushes a new document after automerge-repo's 100 ms throttle;
    # until then the server (sharePolicy false: it asks nobody) would rightly
    # answer doc-unavailable.
    await stored_by(server, doc_id, timeout=SYNC_TIMEOUT_S)

    stack = rig.stack()
    stack.dial(f"127.0.0.1:{port}")
    # The server reports each peer that joins; the JS client joined first.
    joined = [(await server.next_event("peer", timeout=SYNC_TIMEOUT_S))["peerId"] for _ in range(2)]
    assert joined == [c.peer_id, stack.repo.peer_id]
    await eventually(lambda: conn_of(stack.repo, server.peer_id) is not None,
                     what="podsync completing its handshake with the JS server")

    repo = stack.repo
    doc = await repo.find(doc_id, timeout=SYNC_TIMEOUT_S)
    assert to_python(doc) == {"title": "minutes", "n": 1}

    await c.call("change", url=url, path=["n"], value=2)
    await eventually(lambda: get_path(repo.get(doc_id), "n") == 2,
                     what="the JS client's live edit reaching podsync")
    await eventually(lambda: repo.has(doc_id), what="podsync storing the document")

    # podsync joined with its storageId and isEphemeral false, so the server
    # keeps its sync state as for a persistent peer. (The server saves one
    # storageId's states through a single trailing 100 ms throttle, so this is
    # checked before any other document is synced with it.)
    storage_id = stack.store.storage_id
    await stored_by(server, doc_id, "sync-state", storage_id, timeout=SYNC_TIMEOUT_S)

    started = time.monotonic()
    with pytest.raises(NotFound):
        await repo.find(new_document_id(), timeout=SYNC_TIMEOUT_S)
    assert time.monotonic() - started < UNAVAILABLE_WITHIN_MS / 1000


async def test_node_does_not_sync_with_a_plain_js_server(rig: Rig, node: Node) -> None:
    """Node links are TLS pinned to the roster: a JS server is no pod member."""
    server, port = await rig.server()
    address = f"127.0.0.1:{port}"
    node.dial(address)

    def dial_failed() -> bool:
        return any(p["address"] == address and not p["connected"] and p.get("last_error")
                   for p in node.status()["peers"])

    await eventually(dial_failed, what="the node reporting its failed dial")
    assert (await server.call("peers"))["peers"] == []
    assert node.repo.engine.peers() == []


# ---------------------------------------------------------------- relaying between JS clients


async def test_node_relays_concurrent_edits_between_js_clients(rig: Rig, node: Node) -> None:
    a, b = await rig.client(), await rig.client()
    url = (await a.call("create", value={"list": {"x": 0}}))["url"]
    doc_id = doc_id_of(url)
    assert (await b.call("find", url=url, timeoutMs=SYNC_TIMEOUT_MS))["ok"]

    await a.call("change", url=url, path=["list", "a"], value=1)
    assert (await b.call("waitFor", url=url, path=["list", "a"], value=1, timeoutMs=SYNC_TIMEOUT_MS))["ok"]
    await b.call("change", url=url, path=["list", "b"], value=2)
    assert (await a.call("waitFor", url=url, path=["list", "b"], value=2, timeoutMs=SYNC_TIMEOUT_MS))["ok"]

    # Concurrent edits to one key: both sides and the node end with one winner.
    await asyncio.gather(a.call("change", url=url, path=["list", "x"], value=10),
                         b.call("change", url=url, path=["list", "x"], value=20))
    await a.call("change", url=url, path=["done_a"], value=True)
    await b.call("change", url=url, path=["done_b"], value=True)
    assert (await a.call("waitFor", url=url, path=["done_b"], value=True, timeoutMs=SYNC_TIMEOUT_MS))["ok"]
    assert (await b.call("waitFor", url=url, path=["done_a"], value=True, timeoutMs=SYNC_TIMEOUT_MS))["ok"]

    async def converged() -> bool:
        got_a, got_b = await a.call("get", url=url), await b.call("get", url=url)
        return (sorted(got_a["heads"]) == sorted(got_b["heads"]) == node_heads(node, doc_id)
                and got_a["doc"] == got_b["doc"])

    await eventually_async(converged, what="A, B and the node agreeing on heads")
    doc = (await a.call("get", url=url))["doc"]
    assert doc["list"]["x"] in (10, 20)
    assert doc == to_python(node.repo.get(doc_id))


# ---------------------------------------------------------------- a JS app killed mid-sync


async def test_killed_js_client_then_new_client_converges_without_loop(rig: Rig, node: Node) -> None:
    counter = FrameCounter(node)
    a, b = await rig.client(), await rig.client()
    url = (await a.call("create", value={"items": {"milk": 1}}))["url"]
    doc_id = doc_id_of(url)
    assert (await b.call("find", url=url, timeoutMs=SYNC_TIMEOUT_MS))["ok"]

    # Edits in flight as the process dies: the node keeps whatever arrived.
    for n in range(5):
        await a.call("change", url=url, path=["items", f"k{n}"], value=n)
    rig.kill(a)
    await eventually(lambda: conn_of(node.repo, a.peer_id) is None,
                     what="the node dropping the killed client's link")

    a2 = await rig.client()
    conn = conn_of(node.repo, a2.peer_id)
    assert conn is not None
    found = await a2.call("find", url=url, timeoutMs=SYNC_TIMEOUT_MS)
    assert found["ok"], found
    await a2.call("change", url=url, path=["items", "rejoined"], value=True)
    seen = await b.call("waitFor", url=url, path=["items", "rejoined"], value=True,
                        timeoutMs=SYNC_TIMEOUT_MS)
    assert seen["ok"], seen

    async def converged() -> bool:
        got_a2, got_b = await a2.call("get", url=url), await b.call("get", url=url)
        return sorted(got_a2["heads"]) == sorted(got_b["heads"]) == node_heads(node, doc_id)

    await eventually_async(converged, what="the new client, B and the node agreeing on heads")
    doc = (await a2.call("get", url=url))["doc"]
    assert doc == to_python(node.repo.get(doc_id)) == (await b.call("get", url=url))["doc"]
    assert doc["items"]["rejoined"] is True and doc["items"]["milk"] == 1

    settled = len(counter.frames[conn])
    await asyncio.sleep(IDLE_WATCH_S)
    frames = counter.frames[conn]
    assert len(frames) == settled, f"frames kept flowing on an idle link: {frames[settled:]}"
    assert len(frames) < MAX_FRAMES_SMALL_DOC, collections.Counter(frames)
    print(f"frames the node sent the rejoined client: {dict(collections.Counter(frames))}")
    assert b.returncode is None and a.returncode not in (None, 0)


async def test_js_client_receives_a_document_past_one_input_in_parts(
        rig: Rig, node: Node, caplog: pytest.LogCaptureFixture) -> None:
    """A document more than a peer takes as one input (MAX_INPUT_BYTES inflated)
    reaches an unmodified automerge-repo client as several ordinary sync
    messages, each within the limits; the client holds all of it."""
    import logging
    import os

    caplog.set_level(logging.INFO, logger="podsync.sync")
    from podsync.sync.limits import MAX_INPUT_BYTES

    doc_id = await node.repo.create("note", lambda tx: put_value(tx, am.ROOT, "title", "large"))
    claim = node.ledger.claim(doc_id)
    assert claim is not None
    await claim
    piece = 1024 * 1024  # characters of random hex: a change of about a MiB
    for i in range(MAX_INPUT_BYTES // piece + 2):
        await node.repo.change(doc_id, lambda tx, i=i: put_value(
            tx, am.ROOT, f"k{i}", os.urandom(piece // 2).hex()))
    await node.repo.change(doc_id, lambda tx: put_value(tx, am.ROOT, "done", True))  # after every piece
    a = await rig.client()
    found = await a.call("find", url=document_url(doc_id), timeoutMs=60_000, reply_timeout=120)
    assert found["ok"], found
    waited = await a.call("waitFor", url=document_url(doc_id), path=["done"], value=True,
                          timeoutMs=60_000, reply_timeout=120)
    assert waited["ok"], waited
    # The client's own change depends on everything it holds: once it reaches the
    # node, the node's heads are exactly that change.
    changed = await a.call("change", url=document_url(doc_id), path=["seen"], value=1)
    await eventually(lambda: node_heads(node, doc_id) == sorted(changed["heads"]), 30)
    assert node.repo.get(doc_id).get(am.ROOT, "seen") is not None
    assert any(f"document {doc_id} goes to peer" in r.getMessage() and "in parts" in r.getMessage()
               for r in caplog.records)
    assert not any("not synced" in r.getMessage() for r in caplog.records)
