"""Real nodes on loopback and Debian's Chromium driven by Playwright, in one event loop.

Each node runs in the test's event loop (NodeFactory); Playwright's async API runs
in the same loop, so a test can act in a browser, on a node, and in the other
browser in any order.
"""

from __future__ import annotations

import re
import shutil
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from podsync.errors import PodsyncError
from podsync.node import Node
from tests.node.conftest import NodeFactory, eventually

playwright_api = pytest.importorskip("playwright.async_api")

__all__ = ["NARROW", "SCREENSHOTS", "Browser", "NodeFactory", "Watched", "eventually", "open_page",
           "page_url", "pod_of", "synced"]

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]
#: Screenshots of each page, shown in the README; the tests keep them current.
SCREENSHOTS = Path(__file__).resolve().parents[2] / "docs" / "screenshots"
#: A roomy laptop window and the narrowest phone the pages promise to serve.
WIDE = {"width": 1200, "height": 900}
NARROW = {"width": 360, "height": 740}
#: Generous for a busy two-core machine; only a guard against a hung test.
UI_TIMEOUT_MS = 15_000

Browser = playwright_api.Browser
Page = playwright_api.Page
expect = playwright_api.expect
expect.set_options(timeout=UI_TIMEOUT_MS)


@dataclass
class Watched:
    """A page and every problem it reported: console errors, failed requests."""

    page: Page
    problems: list[str] = field(default_factory=list)

    def watch(self) -> None:
        page = self.page
        page.on("console", lambda m: m.type == "error"
                and self.problems.append(f"console {m.type}: {m.text}"))
        page.on("pageerror", lambda e: self.problems.append(f"page error: {e}"))
        page.on("requestfailed", lambda r: self.problems.append(f"failed: {r.url} {r.failure}"))
        page.on("response", lambda r: r.status >= 400
                and self.problems.append(f"HTTP {r.status}: {r.url}"))


def page_url(node: Node, path: str = "/") -> str:
    """``node.api_url`` (``http://host:port/?token=...``) for page ``path``."""
    base, _, query = node.api_url.partition("/?")
    return f"{base}{path}?{query}"


async def open_page(browser: Browser, node: Node, path: str = "/", *,
                    viewport: dict[str, int] = WIDE) -> Watched:
    """A fresh browser context (its own cookies) on ``node``'s page ``path``, live."""
    context = await browser.new_context(viewport=viewport)
    context.set_default_timeout(UI_TIMEOUT_MS)
    watched = Watched(await context.new_page())
    watched.watch()
    await watched.page.goto(page_url(node, path))
    try:
        await expect(watched.page.locator("#live")).to_have_class(re.compile(r"\bon\b"))
        await expect(watched.page.locator("main h1")).to_be_visible()
    except AssertionError as exc:
        shown = await watched.page.locator("#problem").all_text_contents()
        raise AssertionError(f"{path} did not come up live; the page reported "
                             f"{watched.problems} and showed {shown}") from exc
    return watched


async def pod_of(nodes: NodeFactory, *names: str) -> list[Node]:
    """Nodes of one pod, each dialling every earlier one, all holding the pod's records."""
    started: list[Node] = []
    for name in names:
        node = await nodes.start(name, peers=[n.listen_addresses[0] for n in started])
        started.append(node)
    for node in started:
        await eventually(lambda node=node: _holds_everything(node, len(started)), 30)
    # Private documents travel only between their readers, so every pair needs its own link.
    for node in started:
        others = {n.config.member_id for n in started if n is not node}
        await eventually(lambda node=node, others=others: others <= _connected(node), 60)
    return started


def _connected(node: Node) -> set[str]:
    return {p["member_id"] for p in node.status()["peers"] if p["connected"]}


async def synced(*members: Node) -> None:
    """Wait until every document two of ``members`` both hold has the same heads on both."""
    def agree() -> bool:
        heads = [{d["url"]: d["heads"] for d in n.status()["documents"]} for n in members]
        return all(x[url] == y[url] for x in heads for y in heads for url in x.keys() & y.keys())
    await eventually(agree, 30)


def _holds_everything(node: Node, members: int) -> bool:
    try:
        for kind in ("needs", "agreements", "decisions", "capacity", "team-items"):
            node.context.collection(kind)
        return len(node.context.roster().members) == members
    except PodsyncError:  # not synced yet
        return False


@pytest.fixture
async def nodes(tmp_path: Path) -> AsyncIterator[NodeFactory]:
    factory = NodeFactory(tmp_path)
    yield factory
    for node in factory.nodes:
        await node.stop()


@pytest.fixture
async def browser() -> AsyncIterator[Browser]:
    if shutil.which(CHROMIUM) is None:
        pytest.fail(f"the browser tests need Debian's Chromium at {CHROMIUM} (apt-get install chromium)")
    async with playwright_api.async_playwright() as p:
        launched = await p.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        yield launched
        await launched.close()
