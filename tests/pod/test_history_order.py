"""History in the order things happened: records made within one clock tick keep
their order (each follows its signer's previous record), whatever their ids."""

from __future__ import annotations

from podsync.pod import needs
from podsync.pod.events import chronological
from podsync.records.format import build_payload
from podsync.trust.ledger import parse_own
from tests.pod.helpers import Pod, at


def test_same_tick_events_keep_the_order_they_were_made_in_not_their_ids() -> None:
    pod = Pod()
    doc = pod.collections[needs.KIND]
    need = pod.do(doc, needs.add_need("Fix the gate"), "ana", at()).id
    made: list[str] = []
    signer = pod.signers["ana"]
    # Notes at one and the same instant, each naming Ana's previous record as a node
    # does, until a later one has the smaller id.
    while len(made) < 2 or made[-1] > made[-2]:
        item = pod.item(doc, need, needs.ADD)
        draft = needs.note_need(item, pod.id["ana"], f"note {len(made)}")
        payload = build_payload(draft, pod=pod.pod_id, scope=doc, by=signer.device_id,
                                at=at(), prev=made[-1] if made else None)
        record = parse_own(payload, signer.sign(payload))
        pod.store(doc, record)
        made.append(record.id)
    history = [e.id for e in needs.derive(pod.item(doc, need, needs.ADD), at(1)).history]
    assert history == made
    item = pod.item(doc, need, needs.ADD)
    assert [e.id for e in chronological(list(reversed(item.events)))] == made
