"""Every page: loads cleanly, is usable by keyboard and at phone width, and is pictured."""

from __future__ import annotations

import asyncio
import datetime as dt
import json
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from playwright.async_api import expect

from podsync.api import ops
from podsync.api.context import PodContext
from podsync.home import Home
from podsync.node import Node
from podsync.trust.join import join_pod
from tests.browser.conftest import (
    NARROW, SCREENSHOTS, Browser, NodeFactory, eventually, open_page, page_url, pod_of, synced,
)
from tests.practices.helpers import steward_by_consent

pytestmark = pytest.mark.slow

#: Page name (and screenshot file) → path, with a text the seeded pod shows there.
PAGES = {
    "overview": ("/", "Cara"),
    "needs": ("/needs", "Open with no holder for 21 days"),
    "agreements": ("/agreements", "Ana and Ben cook dinner on Tuesdays"),
    "decisions": ("/decisions", "Buy a shared cargo bike"),
    "capacity": ("/capacity", "Back from a week away"),
    "feedback": ("/feedback", "Please tell the house two days before a guest stays over"),
    "archive": ("/archive", "Replace the broken fence panel"),
}

UNLABELLED = """() => [...document.querySelectorAll("input, select, textarea, button")].filter((el) =>
  el.tagName === "BUTTON" ? !(el.textContent.trim() || el.getAttribute("aria-label"))
                          : !(el.labels && el.labels.length) && !el.getAttribute("aria-label")
).map((el) => el.outerHTML).concat([...document.querySelectorAll("img:not([alt])")].map((el) => el.outerHTML))"""


async def run(node: Node, op_name: str, /, **args: Any) -> Any:
    return await ops.run(node.context, op_name, args)


async def seed(ana: Node, ben: Node, cara: Node) -> None:
    """A small household pod a few weeks in, as the README pictures it."""
    a, b, c = (n.context.member_id for n in (ana, ben, cara))
    soon = (dt.date.today() + dt.timedelta(days=40)).isoformat()
    tap = await run(ana, "need.add", title="Fix the dripping kitchen tap", sensing="neglected",
                    detail="It drips all night; the washer is worn.")
    # Named three weeks ago and never taken on: the board marks it neglected.
    weeks_ago = dt.datetime.now(dt.timezone.utc) - dt.timedelta(days=21)
    earlier = PodContext(ana.home, ana.repo, ana.config, ana.identity, ana.ledger, node=ana,
                         clock=lambda: weeks_ago)
    await ops.run(earlier, "need.add", {"title": "Someone to welcome new housemates", "sensing": "void",
                                        "detail": "Nobody shows newcomers where things are."})
    # Attended months ago and quiet since: in the archive.
    months_ago = dt.datetime.now(dt.timezone.utc) - dt.timedelta(days=120)
    then = PodContext(ana.home, ana.repo, ana.config, ana.identity, ana.ledger, node=ana,
                      clock=lambda: months_ago)
    fence = await ops.run(then, "need.add", {"title": "Replace the broken fence panel"})
    await ops.run(then, "need.take", {"id": fence.id})
    await ops.run(then, "need.done", {"id": fence.id, "note": "New panel from the yard."})
    garden = await run(ana, "team.add", name="Garden", members=[a, c])
    shop = await run(cara, "need.add", title="Weekly shop for the house")
    sweep = await run(cara, "need.add", title="Book the chimney sweep before winter")
    await run(cara, "need.take", id=sweep.id)
    await run(cara, "need.done", id=sweep.id, note="Booked for the 12th.")
    await run(ana, "capacity.set", level="stretched", note="Exams this month")
    await run(cara, "capacity.set", level="spacious", note="Back from a week away")
    cook = await run(ana, "agreement.propose", what="Ana and Ben cook dinner on Tuesdays",
                     parties=[a, b], anchors=[{"kind": "principle", "ref": "We eat together"}],
                     review_on=soon)
    quiet = await run(cara, "agreement.propose", what="Quiet hours after 22:00 on weeknights",
                      parties=[a, b, c])
    bike = await run(ana, "decision.start", title="Buy a shared cargo bike",
                     proposal="Buy a second-hand cargo bike for the weekly shop, up to 900 euros.",
                     deadline=(dt.datetime.now(dt.timezone.utc) + dt.timedelta(days=6)).isoformat())
    await run(ana, "decision.ask", id=bike.id, member=b, reason="affected", note="It would live in the hall")
    await run(ana, "decision.ask", id=bike.id, member=c, reason="expertise")
    await synced(ana, ben, cara)
    await steward_by_consent(ana, ana, cara)
    await steward_by_consent(ana, ben, cara)
    energy = await run(cara, "decision.start", title="Switch to a green energy supplier",
                       proposal="Move the house electricity to the cooperative supplier from next month.",
                       deadline=(dt.datetime.now(dt.timezone.utc) + dt.timedelta(days=2)).isoformat())
    await run(cara, "decision.ask", id=energy.id, member=b, reason="affected")
    await synced(ana, ben, cara)
    for_ben = await run(ana, "feedback.give", leader=b,
                        text="I would like more notice before guests stay over.")

    await run(cara, "team.item_add", team_id=garden.id, title="Plan the spring planting",
              detail="Which beds, and who waters in May.")
    await run(ben, "need.take", id=tap.id)
    await run(cara, "need.take", id=shop.id)
    await run(ben, "capacity.set", level="baseline")
    await run(ben, "agreement.affirm", id=cook.id, note="Tuesdays work for me")
    await run(cara, "agreement.affirm", id=quiet.id)
    await run(ben, "decision.advise", id=bike.id, stance="concern",
              text="Where would we keep it? The hall is narrow.")
    await run(ben, "decision.advise", id=energy.id, stance="support", text="Yes, and it is cheaper.")
    thread = await run(ben, "feedback.give", leader=a,
                       text="House meetings run long and the same voices fill them.")
    await synced(ana, ben, cara)
    await eventually(lambda: cara.repo.has(thread.thread_id) and cara.repo.has(for_ben.thread_id))
    await synced(ana, ben, cara)
    await run(cara, "decision.decide", id=energy.id, text="We switch on the first of next month.",
              review_on=soon)
    # Events within one second are ordered by id; a moment apart they read in order.
    await asyncio.sleep(1.1)
    await run(cara, "feedback.reply", thread_id=for_ben.thread_id,
              text="Thank you, Ana. Would a clear request to Ben help?")
    await run(cara, "feedback.propose_route", thread_id=for_ben.thread_id, route="leader",
              statement="Please tell the house two days before a guest stays over.")

    await run(ana, "agreement.affirm", id=cook.id, note="Within my capacity, even in exams")
    await run(ana, "agreement.revise", id=cook.id,
              what="Ana and Ben cook dinner on Tuesdays; Cara on Fridays", parties=[a, b, c])
    tap_ask = await run(ana, "mobilizing.ask", member=b, need_id=tap.id,
                        question="Are you mobilizing on the tap, or shall someone else?")
    advice = [x for x in (await run(ana, "decision.get", id=bike.id))["advice"]]
    await run(ana, "decision.integrate", id=bike.id, advice_id=advice[0]["id"], integrated=True,
              why="We measured: it fits beside the stairs.")
    proposal = await run(cara, "feedback.propose_route", thread_id=thread.thread_id, route="leader",
                         statement="Please keep house meetings to the agreed hour, and invite "
                                   "the quieter voices first.")
    await synced(ana, ben, cara)
    await run(ben, "mobilizing.view", ask_id=tap_ask.id, within="Enough for this one",
              around="The plumber comes on Saturday")
    proposed = await run(ben, "mobilizing.propose", ask_id=tap_ask.id, outcome="continue",
                         note="Until Saturday")
    await synced(ana, ben, cara)
    await run(ana, "mobilizing.confirm", ask_id=tap_ask.id,
              proposal_id=proposed["proposals"][0]["id"])
    await run(ben, "feedback.consent", thread_id=thread.thread_id, proposal_id=proposal.proposal_id,
              consent=True)
    await synced(ana, ben, cara)
    await run(cara, "feedback.route", thread_id=thread.thread_id, proposal_id=proposal.proposal_id)
    await eventually(lambda: any(d["kind"] == "feedback-statement" and d["heads"]
                                 for d in ana.status()["documents"]))
    statement = (await run(ana, "feedback.received"))[0]
    await run(ana, "feedback.respond", statement_id=statement["statement_id"],
              text="Thank you. I will keep time and ask Cara to open our next meeting.")
    await synced(ana, ben, cara)


async def test_every_page_loads_cleanly_reads_at_phone_width_and_is_pictured(
        nodes: NodeFactory, browser: Browser) -> None:
    ana, ben, cara = await pod_of(nodes, "ana", "ben", "cara")
    await seed(ana, ben, cara)
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    for name, (path, shows) in PAGES.items():
        wide = await open_page(browser, ana, path)
        await expect(wide.page.get_by_text(shows).first).to_be_visible()
        assert await wide.page.evaluate(UNLABELLED) == [], name
        await wide.page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=True)

        narrow = await open_page(browser, ana, path, viewport=NARROW)
        await expect(narrow.page.get_by_text(shows).first).to_be_visible()
        overflow = await narrow.page.evaluate("document.documentElement.scrollWidth")
        assert overflow <= NARROW["width"], (name, overflow)
        if name in ("overview", "needs"):
            await narrow.page.screenshot(path=str(SCREENSHOTS / f"{name}-phone.png"), full_page=True)
        assert wide.problems == [] and narrow.problems == [], (name, wide.problems, narrow.problems)
        await wide.page.context.close()
        await narrow.page.context.close()


async def test_keyboard_alone_names_a_need_and_takes_it_on(nodes: NodeFactory, browser: Browser) -> None:
    (ana,) = await pod_of(nodes, "ana")
    w = await open_page(browser, ana, "/needs")
    page = w.page
    await page.keyboard.press("Tab")
    assert await page.evaluate("document.activeElement.textContent") == "Skip to content"
    for _ in range(40):
        await page.keyboard.press("Tab")
        if await page.evaluate("document.activeElement.name") == "title":
            break
    await page.keyboard.type("Return the borrowed ladder")
    await page.keyboard.press("Enter")
    ladder = page.locator("li.item", has_text="Return the borrowed ladder")
    await expect(ladder).to_be_visible()
    take = ladder.get_by_role("button", name="Take it on")
    await take.focus()
    await page.keyboard.press("Enter")
    await expect(ladder).to_contain_text("Held by Ana")
    assert w.problems == []


async def test_invite_shows_a_working_code_and_qr_and_removal_warns_plainly(
        nodes: NodeFactory, browser: Browser, tmp_path: Path) -> None:
    ana, ben, cara = await pod_of(nodes, "ana", "ben", "cara")
    a = await open_page(browser, ana, "/")
    b = await open_page(browser, ben, "/")

    await a.page.get_by_role("button", name="Create invite").click()
    qr = a.page.get_by_role("img", name="The invite code as a QR code")
    await expect(qr).to_be_visible()
    assert await qr.evaluate("img => img.decode().then(() => img.naturalWidth)") > 0
    code = (await a.page.locator(".code").text_content() or "").strip()
    # The code on the page admits a newcomer, through Ana's node.
    await join_pod(Home(tmp_path / "dan"), code, "Dan")
    members = a.page.get_by_role("list", name="Members")
    await expect(members).to_contain_text("Dan")
    await expect(b.page.get_by_role("list", name="Members")).to_contain_text("Dan")

    cara_item = members.locator("li.item", has_text="Cara")
    await cara_item.get_by_role("button", name="Remove Cara…").click()
    dialog = a.page.get_by_role("dialog")
    await expect(dialog).to_contain_text("Data already on their devices cannot be recalled.")
    await dialog.get_by_role("button", name="Keep them").click()
    await expect(dialog).to_have_count(0)
    await expect(cara_item).to_be_visible()

    await cara_item.get_by_role("button", name="Remove Cara…").click()
    await a.page.get_by_role("dialog").get_by_role("button", name="Remove Cara").click()
    await expect(members.locator("li.item", has_text="Cara")).to_have_count(0)
    await expect(b.page.get_by_role("list", name="Members").locator("li.item", has_text="Cara")).to_have_count(0)
    await expect(b.page.get_by_text("Removed members")).to_be_visible()
    assert a.problems == [] and b.problems == []


async def test_the_pages_need_the_token_and_keep_it_in_a_strict_cookie(
        nodes: NodeFactory, browser: Browser) -> None:
    (ana,) = await pod_of(nodes, "ana")
    secrets = [ana.token, ana.config.pod_name or "", "Ana", ana.config.member_id]
    base = f"http://{ana.api_address}"
    # unsafe=True: aiohttp keeps no cookies for IP-address hosts otherwise.
    async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as session:
        for url in [f"{base}/", f"{base}/needs?token=wrong", f"{base}/ui/static/app.css",
                    f"{base}/ui/qr.svg?data=x"]:
            async with session.get(url, allow_redirects=False) as resp:
                body = await resp.text()
                assert resp.status == 401, url
                assert all(s not in body for s in secrets if s), url

        async with session.get(page_url(ana, "/needs"), allow_redirects=False) as resp:
            assert resp.status == 303
            assert resp.headers["Location"] == "/needs"
            cookie = resp.headers["Set-Cookie"]
            assert "HttpOnly" in cookie and "SameSite=Strict" in cookie and "Path=/" in cookie
        # The session now carries the cookie; the pages and the API accept it.
        async with session.get(f"{base}/needs") as resp:
            assert resp.status == 200 and "text/html" in resp.headers["Content-Type"]
            assert "script-src 'self'" in resp.headers["Content-Security-Policy"]
        async with session.post(f"{base}/api/ops/need.list", data=b"{}") as resp:
            assert resp.status == 200
        async with session.get(f"{base}/ui/qr.svg", params={"data": "hello"}) as resp:
            assert resp.status == 200 and resp.headers["Content-Type"] == "image/svg+xml"
            assert (await resp.text()).lstrip().startswith("<?xml")
        # Another site's page cannot use the cookie, even if the browser sent it.
        async with session.post(f"{base}/api/ops/need.list", data=b"{}",
                                headers={"Origin": "http://example.org"}) as resp:
            assert resp.status == 401

    context = await browser.new_context()
    page = await context.new_page()
    response = await page.goto(f"{base}/")
    assert response is not None and response.status == 401
    await expect(page.get_by_role("heading")).to_have_text("This page needs its key")
    content = await page.content()
    assert all(s not in content for s in secrets if s)
    await context.close()


async def test_a_member_downloads_their_copy_of_the_pod(nodes: NodeFactory, browser: Browser,
                                                        tmp_path: Path) -> None:
    (ana,) = await pod_of(nodes, "ana")
    await ops.run(ana.context, "need.add", {"title": "Sweep the stairs"})
    w = await open_page(browser, ana, "/")
    async with w.page.expect_download() as caught:
        await w.page.get_by_role("button", name="Download as Markdown").click()
    download = await caught.value
    saved = tmp_path / download.suggested_filename
    await download.save_as(saved)
    assert saved.suffix == ".md"
    assert "Sweep the stairs" in saved.read_text()
    assert w.problems == []


async def test_the_page_reports_a_quarantined_document_and_offers_its_bytes(
        nodes: NodeFactory, browser: Browser, tmp_path: Path) -> None:
    """A document set aside at start is named on the pod page, with why, and its
    stored bytes download exactly as kept."""
    from tests.sync.bombs import plant, run_length_bomb  # noqa: PLC0415
    home = await nodes.home("ana")
    bomb = run_length_bomb(1_000_000_000)
    doc_id = plant(home.root, bomb, "needs")
    ana = await nodes.start("ana")
    assert [d["url"].removeprefix("automerge:") for d in ana.status()["damaged_documents"]] == [doc_id]
    w = await open_page(browser, ana, "/")
    notice = w.page.locator('[data-part="quarantined"]')
    await expect(notice).to_contain_text("1 document is set aside")
    await expect(notice).to_contain_text("column entries")
    async with w.page.expect_download() as caught:
        await notice.get_by_role("button", name="Download stored bytes").click()
    download = await caught.value
    saved = tmp_path / download.suggested_filename
    await download.save_as(saved)
    assert saved.read_bytes() == bomb
    assert w.problems == []
