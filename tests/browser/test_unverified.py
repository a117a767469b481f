"""The page says plainly when records could not be verified, and what they did
not change."""

from __future__ import annotations

import pytest
from playwright.async_api import expect

from podsync.api import ops
from podsync.pod import needs
from podsync.records.format import Draft, build_payload
from podsync.records.verify import Signer
from podsync.trust.identity import load_signing_key
from podsync.trust.ledger import parse_own
from tests.browser.conftest import Browser, NodeFactory, eventually, open_page, pod_of

pytestmark = pytest.mark.slow


async def test_a_forged_record_is_listed_on_the_page_and_changes_nothing(
        nodes: NodeFactory, browser: Browser) -> None:
    ana, ben = await pod_of(nodes, "ana", "ben")
    need = await ops.run(ana.context, "need.add", {"title": "Oil the bike chain"})
    board = ana.ledger.collections()[needs.KIND]
    # Ben's device signs a record that says Ana's device made it: Ana "attends".
    payload = build_payload(Draft("attend", {"note": "done"}, item=need.id), pod=ana.config.pod_id,
                            scope=board, by=ana.identity.device_id,
                            at=ana.context.now(), prev=None)
    forged = parse_own(payload, Signer(load_signing_key(ben.home), ben.identity.device_id)
                       .sign(payload))
    await ben.ledger.store_records(board, [forged])
    await eventually(lambda: ana.status()["unverified_records"]["total"] == 1)

    page = await open_page(browser, ana, "/")
    notice = page.page.locator("[data-part=unverified]")
    await expect(notice).to_contain_text("1 record could not be verified")
    await expect(notice).to_contain_text("signed by someone other than who it claims")
    got = await ops.run(ana.context, "need.get", {"id": need.id})
    assert got["state"] == "open"
    assert page.problems == []
