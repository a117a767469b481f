"""The inbox panel and the count in the navigation follow the pod live; a new item
raises a desktop notification once the member asked for them with the button."""

from __future__ import annotations

import datetime as dt

import pytest
from playwright.async_api import expect

from podsync.api import ops
from tests.browser.conftest import SCREENSHOTS, Browser, NodeFactory, open_page, pod_of

pytestmark = pytest.mark.slow

#: Headless Chromium cannot show the permission prompt a person answers, so the
#: page gets a stand-in for the Notification API that records what the page asks
#: of it (the only fake here; everything else is the real page on real nodes).
NOTIFICATIONS = """
window.__asked = 0;
window.__shown = [];
let permission = "default";
window.Notification = class {
  constructor(title, options) { window.__shown.push({ title, body: options && options.body }); }
  static get permission() { return permission; }
  static async requestPermission() { window.__asked += 1; permission = "granted"; return permission; }
};
"""


async def test_the_inbox_panel_and_count_follow_the_pod_live_and_notify_on_request(
        nodes: NodeFactory, browser: Browser) -> None:
    ana, ben = await pod_of(nodes, "ana", "ben")
    a_id, b_id = ana.config.member_id, ben.config.member_id
    a = await open_page(browser, ana, "/")
    await a.page.context.add_init_script(NOTIFICATIONS)
    await a.page.reload()
    a.problems.clear()  # the reload itself cut the first page's event stream
    panel = a.page.locator("#inbox")
    count = a.page.locator("#inbox-count")
    await expect(panel).to_contain_text("Nothing needs you now.")
    await expect(count).to_be_hidden()
    assert await a.page.evaluate("window.__asked") == 0  # never asked on load

    # Ben proposes an agreement to both of them: it waits for Ana's word.
    agreement = await ops.run(ben.context, "agreement.propose", {
        "what": "Cook on Tuesdays", "parties": [a_id, b_id]})
    entry = panel.locator("li.item", has_text="Cook on Tuesdays")
    await expect(entry).to_contain_text("affirm it if it is within your capacity")
    await expect(count).to_have_text("1")
    assert await a.page.evaluate("window.__shown") == []  # nobody asked for notifications

    await panel.get_by_role("button", name="Notify me when something new needs me").click()
    await expect(panel.get_by_role("button", name="Notify me when something new needs me")) \
        .to_be_hidden()
    assert await a.page.evaluate("window.__asked") == 1

    # Ben opens a decision and asks Ana's advice: a second item, and a notification.
    deadline = (dt.datetime.now(dt.timezone.utc) + dt.timedelta(days=3)).isoformat()
    decision = await ops.run(ben.context, "decision.start", {
        "title": "Buy a cargo bike", "proposal": "A shared bike", "deadline": deadline})
    await ops.run(ben.context, "decision.ask", {"id": decision.id, "member": a_id,
                                                "reason": "affected"})
    await expect(panel.locator("li.item", has_text="Buy a cargo bike")).to_contain_text(
        "your advice is asked")
    await expect(count).to_have_text("2")
    shown = await a.page.evaluate("window.__shown")
    assert [n["title"] for n in shown] == ["Decision: Buy a cargo bike"]
    await panel.screenshot(path=str(SCREENSHOTS / "inbox.png"))

    # Acting on an item takes it out of the panel and the count.
    await ops.run(ana.context, "agreement.affirm", {"id": agreement.id})
    await expect(entry).to_be_hidden()
    await expect(count).to_have_text("1")
    assert a.problems == []
