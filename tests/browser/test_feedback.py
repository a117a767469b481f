"""Feedback for a leader stays with the giver and the stewards until routed, with consent."""

from __future__ import annotations

import pytest
from playwright.async_api import expect

from podsync.api import ops
from tests.browser.conftest import Browser, NodeFactory, open_page, pod_of, synced
from tests.practices.helpers import steward_by_consent

pytestmark = pytest.mark.slow

RAW = "When Ana chairs, the meetings run an hour over and I stop speaking."
STATEMENT = "Please keep house meetings to the agreed hour, and invite quieter voices first."


async def test_a_thread_is_invisible_to_the_leader_until_routed_to_them(
        nodes: NodeFactory, browser: Browser) -> None:
    ana, ben, cara = await pod_of(nodes, "ana", "ben", "cara")
    # Cara listens first for feedback meant for Ana: Ben proposed it, Cara and Ana said yes.
    await steward_by_consent(ben, ana, cara)
    await synced(ana, ben, cara)
    leader = await open_page(browser, ana, "/feedback")
    giver = await open_page(browser, ben, "/feedback")
    steward = await open_page(browser, cara, "/feedback")

    await giver.page.get_by_label("Feedback for").select_option(label="Ana")
    await giver.page.get_by_label("What you want to say").fill(RAW)
    await giver.page.get_by_role("button", name="Open a private thread").click()
    mine = giver.page.get_by_role("list", name="Threads you opened").locator("li.item")
    await expect(mine).to_contain_text(RAW)

    # The steward sees it live and proposes a clarified statement for the leader.
    inbox = steward.page.get_by_role("list", name="Threads you steward").locator("li.item")
    await expect(inbox).to_contain_text(RAW)
    await inbox.get_by_text("Propose where it goes…").click()
    await inbox.get_by_label("To Ana, as a clear statement").check()
    await inbox.get_by_label("The clarified statement (all that travels)").fill(STATEMENT)
    await inbox.get_by_role("button", name="Propose to the giver").click()

    # Only with the giver's consent can it be routed.
    await expect(mine).to_contain_text(STATEMENT)
    await expect(mine.get_by_role("button", name="Route it now")).to_have_count(0)
    await mine.get_by_label("Yes, route it like this").check()
    await mine.get_by_role("button", name="Answer", exact=True).click()
    await expect(inbox).to_contain_text("giver consents")
    thread_id = (await ops.run(ben.context, "feedback.threads", {}))[0]["thread_id"]

    # All this while, nothing of it reached the leader: not the page, not the node.
    await synced(ana, ben, cara)
    assert not ana.repo.has(thread_id) or not ana.repo.get(thread_id).get_heads()
    assert RAW not in await leader.page.content()
    assert STATEMENT not in await leader.page.content()
    received = leader.page.get_by_role("list", name="Feedback received")
    await expect(received).to_contain_text("Nothing has been routed to you.")

    await inbox.get_by_role("button", name="Route it now").click()
    await expect(received.locator("li.item")).to_contain_text(STATEMENT)
    await expect(inbox).to_contain_text("Routed by Cara")
    await expect(mine).to_contain_text("Routed by Cara")
    # The leader may respond; the giver's raw words never travel.
    await received.get_by_text("Respond…").click()
    await received.get_by_label("Your response").fill("Thank you. I will keep to the hour.")
    await received.get_by_role("button", name="Respond", exact=True).click()
    await expect(received).to_contain_text("Thank you. I will keep to the hour.")
    assert RAW not in await leader.page.content()
    assert not ana.repo.has(thread_id) or not ana.repo.get(thread_id).get_heads()
    for watched in (leader, giver, steward):
        assert watched.problems == []
