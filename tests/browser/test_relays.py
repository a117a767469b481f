"""The pod page's relays: added from the page, shown reachable once the node links
to the real sync server, a plain ws:// address refused in words, removed again."""

from __future__ import annotations

from pathlib import Path

import pytest
from playwright.async_api import expect

from tests.browser.conftest import Browser, NodeFactory, open_page
from tests.relay.conftest import JsRelay

pytestmark = pytest.mark.slow


async def test_a_member_adds_a_relay_sees_it_reachable_and_removes_it(
        nodes: NodeFactory, browser: Browser, tmp_path: Path) -> None:
    relay = JsRelay(tmp_path / "relay-data", None, "127.0.0.1", 0, "all", ())
    relay.start()
    try:
        ana = await nodes.start("ana")
        watched = await open_page(browser, ana, "/")
        page = watched.page
        form = page.locator("[data-part=relay-add]").first
        await form.locator("summary").click()
        await form.get_by_label("Sync server address").fill("ws://relay.example.org")
        await form.get_by_role("button", name="Add relay").click()
        await expect(form.locator(".form-error")).to_contain_text("use wss://")

        await form.get_by_label("Sync server address").fill(relay.url)
        await form.get_by_role("button", name="Add relay").click()
        row = page.locator("[data-part=relays] tbody tr")
        await expect(row).to_have_count(1)
        await expect(row).to_contain_text(relay.url)
        await expect(row).to_contain_text("reachable", timeout=30_000)
        await expect(row.locator(".badge")).not_to_contain_text("not reachable", timeout=30_000)

        await row.get_by_role("button", name="Remove").click()
        await expect(page.locator("[data-part=relays]")).to_have_count(0)
        await expect(page.get_by_text("No relay yet.")).to_be_visible()
        # The refused address was the one failed request (the browser logs it too).
        assert [p for p in watched.problems if "400" not in p] == []
        assert any("relay.add" in p for p in watched.problems)
    finally:
        relay.stop()
