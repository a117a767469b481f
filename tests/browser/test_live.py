"""Two members, two browsers: what one does appears on the other's open page."""

from __future__ import annotations

from typing import Any

import msgspec
import pytest
from playwright.async_api import expect

from podsync.api import ops
from podsync.api.context import offline_context
from podsync.errors import NotFound
from podsync.node import Node
from podsync.pod import needs as needs_domain
from podsync.pod.events import items_from
from tests.browser.conftest import Browser, NodeFactory, eventually, open_page, pod_of

pytestmark = pytest.mark.slow


async def test_a_need_added_in_one_browser_appears_in_the_other_and_taking_it_shows_the_holder(
        nodes: NodeFactory, browser: Browser) -> None:
    ana, ben = await pod_of(nodes, "ana", "ben")
    a = await open_page(browser, ana, "/needs")
    b = await open_page(browser, ben, "/needs")
    # A marker that a reload would wipe: the update must come live.
    await b.page.evaluate("window.notReloaded = true")

    await a.page.get_by_label("What is needed").fill("Water the seedlings while Cara is away")
    await a.page.get_by_role("button", name="Add to the board").click()

    need_in_b = b.page.locator("li.item", has_text="Water the seedlings while Cara is away")
    await expect(need_in_b).to_be_visible()
    await expect(need_in_b.locator(".badge").first).to_have_text("open")

    await need_in_b.get_by_role("button", name="Take it on").click()
    need_in_a = a.page.locator("li.item", has_text="Water the seedlings while Cara is away")
    await expect(need_in_a).to_contain_text("Held by Ben")
    await expect(need_in_a.locator(".badge").first).to_have_text("held")
    # Ben's load, next to his capacity, counts the need on Ana's page too.
    await expect(a.page.locator("li", has=a.page.locator("strong", has_text="Ben")).filter(
        has_text="Holds 1 need")).to_be_visible()

    assert await b.page.evaluate("window.notReloaded") is True
    assert a.problems == [] and b.problems == []


async def test_typing_survives_live_updates(nodes: NodeFactory, browser: Browser) -> None:
    ana, ben = await pod_of(nodes, "ana", "ben")
    need = await ops.run(ben.context, "need.add", {"title": "Mend the garden gate"})
    a = await open_page(browser, ana, "/needs")
    gate = a.page.locator("li.item", has_text="Mend the garden gate")
    await expect(gate).to_be_visible()

    # Half a new need in the top form, and a note under way on the gate itself.
    await a.page.get_by_label("What is needed").fill("Collect the seed order")
    await gate.get_by_text("Add a note…").click()
    note = gate.get_by_role("textbox", name="Note")
    await note.click()
    await note.type("I have hinges in the shed")

    # Meanwhile Ben adds a need and writes on the very item Ana is typing in.
    await ops.run(ben.context, "need.add", {"title": "Book the community hall"})
    await ops.run(ben.context, "need.note", {"id": need.id, "text": "The latch is loose too"})
    await expect(a.page.locator("li.item", has_text="Book the community hall")).to_be_visible()
    await expect(gate).to_contain_text("The latch is loose too")

    assert await a.page.get_by_label("What is needed").input_value() == "Collect the seed order"
    assert await note.input_value() == "I have hinges in the shed"
    assert await note.evaluate("el => el === document.activeElement")
    # Typing goes on where it was, and the note is sent.
    await a.page.keyboard.type(" and screws.")
    await gate.get_by_role("button", name="Add note").click()
    await expect(gate).to_contain_text("I have hinges in the shed and screws.")
    await eventually(lambda: any(n["text"] == "I have hinges in the shed and screws."
                                 for n in _need(ben, need.id)["notes"]))
    assert a.problems == []


def _need(node: Node, need_id: str) -> dict[str, Any]:
    board = items_from(node.ledger.counted(node.context.collection(needs_domain.KIND)),
                       needs_domain.ADD)
    return msgspec.to_builtins(needs_domain.need(board, need_id, node.context.now()))


async def test_changes_made_apart_are_marked_and_settled_from_the_page(
        nodes: NodeFactory, browser: Browser) -> None:
    ana, ben = await pod_of(nodes, "ana", "ben")
    need = await ops.run(ana.context, "need.add", {"title": "Paint the shed"})
    await eventually(lambda: _has_need(ben, need.id))
    await ben.stop()
    # Apart: Ana takes it on while Ben, offline, lets it be.
    await ops.run(ana.context, "need.take", {"id": need.id})
    async with offline_context(ben.home) as ctx:
        await ops.run(ctx, "need.let_be", {"id": need.id, "reason": "The shed is being sold"})

    a = await open_page(browser, ana, "/needs")
    shed = a.page.locator("li.item", has_text="Paint the shed")
    await expect(shed).to_contain_text("Held by Ana")
    ben = await nodes.start("ben", peers=[ana.listen_addresses[0]])

    await expect(shed).to_contain_text("Needs reconciliation")
    await expect(shed.get_by_role("button", name="Keep “held by Ana (you)”")).to_be_visible()
    await expect(shed.get_by_role("button", name="Keep “let be”")).to_be_visible()
    b = await open_page(browser, ben, "/needs")
    shed_b = b.page.locator("li.item", has_text="Paint the shed")
    await expect(shed_b).to_contain_text("Needs reconciliation")

    await shed.get_by_role("button", name="Keep “held by Ana (you)”").click()
    await expect(shed).not_to_contain_text("Needs reconciliation")
    await expect(shed_b).not_to_contain_text("Needs reconciliation")
    await expect(shed_b).to_contain_text("Held by Ana")
    assert a.problems == [] and b.problems == []


def _has_need(node: Node, need_id: str) -> bool:
    try:
        _need(node, need_id)
    except NotFound:  # not synced yet
        return False
    return True
