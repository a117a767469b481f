"""The page's node goes away under it and comes back: the page says so, keeps
what the member typed, and recovers by itself. The node is a real ``podsync``
process, opened with ``podsync open`` and killed with SIGKILL."""

from __future__ import annotations

import json
import os
import re
import signal
import socket
import subprocess
import sys
from pathlib import Path

import pytest
from playwright.async_api import expect

from tests.browser.conftest import Browser, Watched

pytestmark = pytest.mark.slow

RECORDER = """import sys, pathlib
pathlib.Path(sys.argv[1]).open("a").write(sys.argv[2] + "\\n")
"""


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Member:
    """A home driven through the real command line, its browser a recorder."""

    def __init__(self, root: Path) -> None:
        self.home = root / "home"
        self.urls = root / "opened.txt"
        recorder = root / "browser.py"
        recorder.write_text(RECORDER)
        self.env = {k: v for k, v in os.environ.items() if not k.startswith("PODSYNC_")}
        self.env["BROWSER"] = f"{sys.executable} {recorder} {self.urls} %s"
        self.api = f"127.0.0.1:{_free_port()}"

    def podsync(self, *args: str) -> subprocess.CompletedProcess[str]:
        done = subprocess.run([sys.executable, "-m", "podsync", "--home", str(self.home), *args],
                              capture_output=True, text=True, env=self.env, timeout=60)
        assert done.returncode == 0, (args, done.stdout, done.stderr)
        return done

    def open(self) -> tuple[str, str]:
        """`podsync open`: what it printed, and the address the browser was given."""
        done = self.podsync("open", "--listen", "127.0.0.1:0", "--api", self.api, "--no-discovery")
        return done.stdout + done.stderr, self.urls.read_text().splitlines()[-1]

    def token(self) -> str:
        return (self.home / "token").read_text().strip()

    def pid(self) -> int:
        return int(json.loads((self.home / "node.json").read_text())["pid"])


@pytest.fixture
def member(tmp_path: Path):
    m = Member(tmp_path)
    m.podsync("init", "--name", "Ada", "--pod-name", "Maple Street")
    yield m
    subprocess.run([sys.executable, "-m", "podsync", "--home", str(m.home), "stop"],
                   capture_output=True, env=m.env, timeout=60)


async def test_podsync_open_gives_the_browser_a_one_visit_link_not_the_token(
        member: Member, browser: Browser) -> None:
    said, url = member.open()
    assert "started one in the background" in said
    token = member.token()
    assert token not in said and token not in url and "token=" not in url
    assert re.fullmatch(r"http://127\.0\.0\.1:\d+/ui/open\?ticket=[\w-]+", url), url
    for log in (member.home / "logs").iterdir():
        assert token not in log.read_text(errors="replace"), log

    context = await browser.new_context()
    page = await context.new_page()
    await page.goto(url)
    await expect(page.locator("#live")).to_have_class(re.compile(r"\bon\b"))
    await expect(page.locator("#pod-name")).to_have_text("Maple Street")
    assert "ticket" not in page.url

    # The same link, a second time (another browser, or someone reading history): refused.
    stranger = await (await browser.new_context()).new_page()
    answer = await stranger.goto(url)
    assert answer is not None and answer.status == 401
    await expect(stranger.get_by_role("heading")).to_have_text("This link has been used or has expired")

    # With the node already running, `podsync open` starts nothing and says nothing of it.
    said_again, second = member.open()
    assert "started" not in said_again and second != url


async def test_the_page_says_when_its_node_is_gone_keeps_typing_and_recovers(
        member: Member, browser: Browser) -> None:
    _, url = member.open()
    context = await browser.new_context()
    watched = Watched(await context.new_page())
    page = watched.page
    await page.goto(url)
    await page.get_by_role("link", name="Needs").click()
    await expect(page.locator("#live")).to_have_class(re.compile(r"\bon\b"))
    what = page.get_by_label("What is needed")
    await what.fill("Collect the seed order")
    await page.evaluate("window.notReloaded = true")

    os.kill(member.pid(), signal.SIGKILL)
    notice = page.locator("#offline")
    await expect(notice).to_be_visible()
    await expect(notice.get_by_role("heading")).to_have_text("Your podsync node is not running")
    await expect(notice).to_contain_text("podsync open")
    await expect(page.locator("#live-text")).to_have_text("Reconnecting…")
    assert await what.input_value() == "Collect the seed order"

    # Meanwhile a need is added with no node running (straight into the store).
    member.podsync("need", "add", "Mend the garden gate")
    said, _ = member.open()
    assert "started one in the background" in said

    await expect(notice).to_be_hidden()
    await expect(page.locator("#live")).to_have_class(re.compile(r"\bon\b"))
    await expect(page.locator("li.item", has_text="Mend the garden gate")).to_be_visible()
    assert await what.input_value() == "Collect the seed order"
    assert await page.evaluate("window.notReloaded") is True
    # And the page works again: the typed need is added through the new node.
    await page.get_by_role("button", name="Add to the board").click()
    await expect(page.locator("li.item", has_text="Collect the seed order")).to_be_visible()
