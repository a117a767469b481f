"""Two practices held together in the browser: the giver and a steward drafting a
statement in four parts (evaluative words pointed out, never blocking), and a
discernment conversation between the member asked and the one asking."""

from __future__ import annotations

import pytest
from playwright.async_api import expect

from podsync.api import ops
from tests.browser.conftest import Browser, NodeFactory, open_page, pod_of, synced
from tests.practices.helpers import steward_by_consent

pytestmark = pytest.mark.slow

RAW = "Ana always runs the meeting and it is rude."


async def test_giver_and_steward_clarify_the_statement_in_four_parts(
        nodes: NodeFactory, browser: Browser) -> None:
    ana, ben, cara = await pod_of(nodes, "ana", "ben", "cara")
    await steward_by_consent(ben, ana, cara)
    await synced(ana, ben, cara)
    giver = await open_page(browser, ben, "/feedback")
    steward = await open_page(browser, cara, "/feedback")
    leader = await open_page(browser, ana, "/feedback")

    await giver.page.get_by_label("Feedback for").select_option(label="Ana")
    await giver.page.get_by_label("What you want to say").fill(RAW)
    await giver.page.get_by_role("button", name="Open a private thread").click()
    mine = giver.page.get_by_role("list", name="Threads you opened").locator("li.item")
    inbox = steward.page.get_by_role("list", name="Threads you steward").locator("li.item")
    await expect(inbox).to_contain_text(RAW)

    # The steward drafts the four parts; a judging word is pointed out, not refused.
    await inbox.get_by_text("Clarify it together: four parts…").click()
    happened = inbox.get_by_label("What happened (as a camera would have seen it)")
    await happened.fill("You always opened and closed Tuesday's meeting yourself")
    flags = inbox.locator("[data-flags=happened]")
    await expect(flags).to_contain_text("“always” may be heard as a judgment")
    await inbox.get_by_label("The feeling it brings up").fill("left out")
    await inbox.get_by_role("button", name="Save this draft").click()
    await expect(inbox.locator("[data-part=draft]")).to_contain_text("left out")

    # The giver sees the draft live, takes the judgment out and adds the need and request.
    draft = mine.locator("[data-part=draft]")
    await expect(draft).to_contain_text("You always opened and closed")
    await mine.get_by_text("Clarify it together: four parts…").click()
    mine_happened = mine.get_by_label("What happened (as a camera would have seen it)")
    await expect(mine_happened).to_have_value("You always opened and closed Tuesday's meeting yourself")
    await expect(mine.locator("[data-flags=happened]")).to_contain_text("“always”")
    await mine_happened.fill("In Tuesday's meeting you opened and closed each item yourself")
    await expect(mine.locator("[data-flags=happened]")).to_have_text("")
    await mine.get_by_label("The need behind the feeling").fill("to take part in shaping decisions")
    await mine.get_by_label("A request the leader can say yes to").fill(
        "Would you invite someone else to close one item next week?")
    await mine.get_by_role("button", name="Save this draft").click()
    await expect(inbox.locator("[data-part=draft]")).to_contain_text("to take part in shaping")

    # The steward proposes the statement the four parts make; the giver consents,
    # leaving their name out (the default); the steward routes it.
    await inbox.get_by_text("Propose where it goes…").click()
    await inbox.get_by_label("To Ana, as a clear statement").check()
    statement = inbox.get_by_label("The clarified statement (all that travels)")
    await expect(statement).to_have_value(
        "In Tuesday's meeting you opened and closed each item yourself I feel left out because I need "
        "to take part in shaping decisions. Would you invite someone else to close one item next week?")
    await inbox.get_by_role("button", name="Propose to the giver").click()
    await expect(mine).to_contain_text("waiting for the giver")
    await mine.get_by_label("Yes, route it like this").check()
    await expect(mine.get_by_label("Let my name travel with it (otherwise it goes without your name)")) \
        .not_to_be_checked()
    await mine.get_by_role("button", name="Answer", exact=True).click()
    await expect(inbox).to_contain_text("giver consents")
    await expect(mine).to_contain_text("Without the giver's name")
    await inbox.get_by_role("button", name="Route it now").click()

    received = leader.page.get_by_role("list", name="Feedback received").locator("li.item")
    await expect(received).to_contain_text("Would you invite someone else to close one item next week?")
    await expect(received).to_contain_text("The giver's name was not passed on")
    assert RAW not in await leader.page.content()
    assert "Ben" not in await received.inner_text()
    for watched in (giver, steward, leader):
        assert watched.problems == []


async def test_a_discernment_held_together_in_two_browsers(nodes: NodeFactory,
                                                           browser: Browser) -> None:
    ana, ben = await pod_of(nodes, "ana", "ben")
    tap = await ops.run(ben.context, "need.add", {"title": "Fix the dripping tap"})
    await ops.run(ben.context, "need.take", {"id": tap.id})
    await synced(ana, ben)
    asker = await open_page(browser, ana, "/capacity")
    asked = await open_page(browser, ben, "/capacity")

    await asker.page.get_by_text("Ask someone…").click()
    await asker.page.get_by_label("Whom").select_option(label="Ben")
    await asker.page.get_by_label("About", exact=True).select_option(label="Held: Fix the dripping tap")
    await asker.page.get_by_role("button", name="Ask", exact=True).click()
    conversation = asked.page.get_by_role("list", name="Are you mobilizing?").locator("li.item")
    await expect(conversation).to_contain_text("Ana asks Ben (you)")
    await expect(conversation).to_contain_text("About a need they hold: Fix the dripping tap")

    # Each says their view against the criteria.
    await conversation.get_by_text("Say my view…").click()
    await conversation.get_by_label("Capacity within me").fill("Low: exams all month")
    await conversation.get_by_label("The void if I step back").fill("The tap drips on")
    await conversation.get_by_role("button", name="Add my view").click()
    theirs = asker.page.get_by_role("list", name="Are you mobilizing?").locator("li.item")
    await expect(theirs).to_contain_text("Low: exams all month")
    await theirs.get_by_text("Say my view…").click()
    await theirs.get_by_label("Capacity around them").fill("I can do it on Saturday")
    await theirs.get_by_role("button", name="Add my view").click()
    await expect(conversation).to_contain_text("I can do it on Saturday")

    # Ben proposes to release it: his word alone does not decide.
    await conversation.get_by_text("Propose an outcome…").click()
    await conversation.get_by_label("Release it").check()
    await conversation.get_by_role("button", name="Propose", exact=True).click()
    await expect(conversation).to_contain_text("Confirmed by Ben (you)")
    await expect(conversation).to_contain_text("discerning together")
    # Ana confirms: discerned together; Ben's node lets go of the need by itself.
    await theirs.get_by_role("button", name="Confirm “Release it”").click()
    await expect(conversation.locator("[data-part=outcome]")).to_contain_text("Discerned together: Release it")
    await expect(theirs.locator("[data-part=outcome]")).to_contain_text("their node let go of the need")

    board = asker.page.context
    needs = await board.new_page()
    await needs.goto(asker.page.url.replace("/capacity", "/needs"))
    tap_item = needs.get_by_role("listitem", name="Fix the dripping tap", exact=True)
    await expect(tap_item.locator("> [data-part=head]")).to_contain_text("open")
    await expect(tap_item.locator("> [data-part=holders]")).to_have_count(0)
    for watched in (asker, asked):
        assert watched.problems == []
