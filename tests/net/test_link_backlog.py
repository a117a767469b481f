"""A peer that stops reading: the link reports its backlog, and recovers."""

from __future__ import annotations

import asyncio

import aiohttp
from aiohttp import web

from podsync.net import Link, LinkTable
from podsync.sync.limits import SEND_BACKLOG_PAUSE_BYTES

FRAME = b"x" * (256 * 1024)


async def test_backlog_crosses_the_pause_mark_and_back() -> None:
    reports: list[int] = []
    server_link: asyncio.Future[Link] = asyncio.get_running_loop().create_future()

    def on_open(link: Link) -> None:
        server_link.set_result(link)

    table = LinkTable(lambda conn, data: None, on_open, lambda conn: None,
                      lambda link: reports.append(link.queued_bytes))

    async def handler(request: web.Request) -> web.WebSocketResponse:
        ws = web.WebSocketResponse()
        await ws.prepare(request)
        await table.serve(Link(ws, "acceptor", "peer", "test"))
        return ws

    app = web.Application()
    app.router.add_get("/", handler)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]
    async with aiohttp.ClientSession() as session:
        client = await session.ws_connect(f"ws://127.0.0.1:{port}/", max_msg_size=0)
        link = await server_link
        frames = (2 * SEND_BACKLOG_PAUSE_BYTES) // len(FRAME)
        for _ in range(frames):
            link.send(FRAME)
        # The client reads nothing yet: the kernel buffers fill, the queue stays full.
        await asyncio.sleep(0.2)
        assert reports and reports[0] > SEND_BACKLOG_PAUSE_BYTES
        received = 0
        while received < frames:
            msg = await client.receive(timeout=10)
            assert msg.type == aiohttp.WSMsgType.BINARY
            received += 1
        for _ in range(100):
            if len(reports) >= 2:
                break
            await asyncio.sleep(0.01)
        assert len(reports) == 2 and reports[1] <= SEND_BACKLOG_PAUSE_BYTES
        assert link.queued_bytes == 0
        link.close("test over")
        await client.close()
    await runner.cleanup()
