"""The archive page: closed, quiet items are there, search reaches them, and a
member moves the line for the whole pod."""

from __future__ import annotations

import datetime as dt

import pytest
from playwright.async_api import expect

from podsync.api import ops
from podsync.api.context import PodContext
from tests.browser.conftest import Browser, NodeFactory, open_page, pod_of

pytestmark = pytest.mark.slow


async def test_search_reaches_the_archive_and_the_setting_brings_items_back(
        nodes: NodeFactory, browser: Browser) -> None:
    (ana,) = await pod_of(nodes, "ana")
    months_ago = dt.datetime.now(dt.timezone.utc) - dt.timedelta(days=120)
    then = PodContext(ana.home, ana.repo, ana.config, ana.identity, ana.ledger, node=ana,
                      clock=lambda: months_ago)
    fence = await ops.run(then, "need.add", {"title": "Replace the broken fence panel"})
    await ops.run(then, "need.take", {"id": fence.id})
    await ops.run(then, "need.done", {"id": fence.id, "note": "New panel from the yard."})
    await ops.run(ana.context, "need.add", {"title": "Oil the garden gate"})

    w = await open_page(browser, ana, "/archive")
    page = w.page
    archived = page.get_by_role("list", name="Archived needs")
    await expect(archived).to_contain_text("Replace the broken fence panel")
    await expect(archived).not_to_contain_text("Oil the garden gate")

    await page.get_by_label("Words to find").fill("FENCE panel")
    await page.get_by_role("button", name="Search").click()
    results = page.get_by_role("list", name="Search results")
    await expect(results.locator("li")).to_have_count(1)
    await expect(results).to_contain_text("archived")

    needs = await open_page(browser, ana, "/needs")
    await expect(needs.page.get_by_text("Oil the garden gate")).to_be_visible()
    await expect(needs.page.get_by_text("Replace the broken fence panel")).to_have_count(0)

    await page.get_by_label("Days a closed item stays").fill("365")
    await page.get_by_role("button", name="Change").click()
    await expect(archived).not_to_contain_text("Replace the broken fence panel")
    await expect(needs.page.get_by_text("Replace the broken fence panel")).to_have_count(1)
    assert w.problems == [] and needs.problems == []
