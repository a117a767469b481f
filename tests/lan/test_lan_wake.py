"""A member's computer sleeps and wakes on a new network lease: its node
announces itself again on mDNS, the others learn its new address from that,
and it catches up with what they wrote meanwhile, without a restart."""

from __future__ import annotations

import signal
import time

import pytest

from podsync.net.link import HEARTBEAT_SECONDS
from podsync.node.wake import WAKE_GAP_SECONDS, WAKE_TICK_SECONDS
from tests.lan.test_lan_pod import PORT, SETUP_DEADLINE, Member, Pod, mdns_pod, pod, wait_for  # noqa: F401

pytestmark = pytest.mark.slow

NEW_IP = "10.77.0.99"


def _sees_by_mdns(member: Member, device_id: str, address: str) -> bool:
    """``member``'s mDNS sees the device advertising ``address``."""
    return address in member.status()["discovery"]["addresses"].get(device_id, [])


def test_a_node_that_wakes_on_a_new_address_is_found_again_and_catches_up(pod: Pod) -> None:
    ada, bo, cy = members = mdns_pod(pod, "ada", "bo", "cy")
    assert cy.proc is not None
    pid = cy.proc.pid

    cy.proc.send_signal(signal.SIGSTOP)  # the lid closes
    try:
        wait_for(lambda: cy.device_id not in ada.connected() and cy.device_id not in bo.connected(),
                 HEARTBEAT_SECONDS * 4, "Ada and Bo to give up on Cy's silent links")
        cy.host.set_ip(NEW_IP)  # ... and opens at another place, with another lease
        ada.api("need.add", title="Water the seedlings")
        bo.api("need.add", title="Fix the gate")
        # Past the point where Cy's wake watcher must call it a sleep.
        time.sleep(WAKE_TICK_SECONDS + WAKE_GAP_SECONDS)
    finally:
        cy.proc.send_signal(signal.SIGCONT)

    wait_for(lambda: {"Water the seedlings", "Fix the gate"} <= cy.need_titles(), SETUP_DEADLINE,
             "Cy to catch up with what Ada and Bo wrote")
    new_address = f"{NEW_IP}:{PORT}"
    for other in (ada, bo):
        wait_for(lambda other=other: _sees_by_mdns(other, cy.device_id, new_address), SETUP_DEADLINE,
                 f"{other.host.name} to hear Cy's new address announced on mDNS")
    assert cy.proc.poll() is None and cy.proc.pid == pid
    status = cy.status()
    assert status["last_wake"] is not None
    assert set(status["last_synced"]) >= {ada.status()["member_id"], bo.status()["member_id"]}
    assert all(m.proc is not None and m.proc.poll() is None for m in members)
