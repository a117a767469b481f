"""One-visit tickets for `podsync open`: good once, for a while, never many."""

from __future__ import annotations

from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer

from podsync.net.server import token_cookie_name
from podsync.web.routes import MAX_TICKETS, OPEN_PATH, TICKET_PATH, TICKET_SECONDS, Tickets, add_routes

TOKEN = "t" * 43


def test_a_ticket_opens_once_and_only_while_fresh() -> None:
    now = [1000.0]
    tickets = Tickets(clock=lambda: now[0])
    first, second = tickets.issue(), tickets.issue()
    assert first != second
    assert tickets.redeem(first) and not tickets.redeem(first)
    assert not tickets.redeem("") and not tickets.redeem("made-up")
    now[0] += TICKET_SECONDS + 1
    assert not tickets.redeem(second)


def test_unused_tickets_are_bounded_the_oldest_going_first() -> None:
    tickets = Tickets(clock=lambda: 0.0)
    issued = [tickets.issue() for _ in range(MAX_TICKETS + 5)]
    assert not any(tickets.redeem(t) for t in issued[:5])
    assert all(tickets.redeem(t) for t in issued[5:])


async def test_the_node_hands_out_tickets_only_for_its_token_and_swaps_one_for_the_cookie() -> None:
    app = web.Application()
    add_routes(app, TOKEN)
    async with TestClient(TestServer(app)) as client:
        refused = await client.post(TICKET_PATH)
        assert refused.status == 401 and "ticket" not in await refused.text()
        wrong = await client.post(TICKET_PATH, headers={"Authorization": "Bearer nope"})
        assert wrong.status == 401

        answer = await client.post(TICKET_PATH, headers={"Authorization": f"Bearer {TOKEN}"})
        assert answer.status == 200
        path = (await answer.json())["path"]
        assert path.startswith(f"{OPEN_PATH}?ticket=") and TOKEN not in path

        opened = await client.get(path, allow_redirects=False)
        assert opened.status == 303 and opened.headers["Location"] == "/"
        assert opened.cookies[token_cookie_name(TOKEN)].value == TOKEN
        page = await client.get("/")  # the cookie now opens the page
        assert page.status == 200

    async with TestClient(TestServer(app)) as stranger:  # no cookie: only the ticket could help
        again = await stranger.get(path, allow_redirects=False)
        assert again.status == 401 and "used or has expired" in await again.text()
        assert (await stranger.get(f"{OPEN_PATH}?ticket=guess", allow_redirects=False)).status == 401
        assert (await stranger.get(OPEN_PATH, allow_redirects=False)).status == 401
