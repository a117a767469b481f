"""The ledger: which records count in a document, and who reads what, decided
from signed records only."""

from __future__ import annotations

from podsync import ids
from podsync.pod import needs
from podsync.records.format import Draft, build_payload, derived_id
from podsync.trust.ledger import CREATE, FOREIGN_KIND, NOBODY, POD, SHARE, parse_own, share_ref
from tests.pod.helpers import T0, Pod, at, merged


def test_a_removed_members_records_count_when_dated_before_the_removal_only() -> None:
    pod = Pod()
    board = pod.collections[needs.KIND]
    need = pod.do(board, needs.add_need("Mend the fence"), "ana", at())
    pod.remove(pod.id["dee"], "ana", at(2))
    before = pod.do(board, Draft("note", {"text": "said before"}, item=need.id), "dee", at(1))
    after = pod.do(board, Draft("note", {"text": "said after"}, item=need.id), "dee", at(3))
    counted = {c.record.id for c in pod.ledger.counted(board)}
    assert before.id in counted and after.id not in counted
    assert pod.ledger.why_not(board, after) == "signed after its signer was removed"


def test_kinds_and_readers_come_from_signed_records_only() -> None:
    pod = Pod()
    ledger = pod.ledger
    assert ledger.kind(pod.pod_id) == "pod" and ledger.readers(pod.pod_id) == POD
    for kind, doc_id in pod.collections.items():
        assert ledger.kind(doc_id) == kind and ledger.readers(doc_id) == POD
    # A private document: its creation record's hash is its id.
    draft = Draft(CREATE, {"kind": "feedback-statement", "readers": [pod.id["ana"], pod.id["bo"]]})
    payload = build_payload(draft, pod=pod.pod_id, scope="", by=pod.signers["ana"].device_id,
                            at=T0, prev=None)
    creation = parse_own(payload, pod.signers["ana"].sign(payload))
    private = derived_id("doc", payload)
    pod.store(private, creation)
    assert ledger.kind(private) == "feedback-statement"
    assert ledger.readers(private) == frozenset({pod.id["ana"], pod.id["bo"]})
    # The same creation record under another id creates nothing there.
    elsewhere = ids.new_document_id()
    pod.store(elsewhere, creation)
    assert ledger.kind(elsewhere) is None and ledger.readers(elsewhere) == NOBODY


def test_a_shared_app_document_belongs_to_whoever_shared_it_first() -> None:
    pod = Pod()
    ledger = pod.ledger
    doc_id = ids.new_document_id()
    ref = share_ref(pod.pod_id, doc_id)
    assert ledger.readers(doc_id) == NOBODY  # nobody claimed it: nobody reads it
    pod.do(pod.pod_id, Draft(SHARE, {"ref": ref, "readers": [pod.id["bo"]]}), "bo", at())
    assert ledger.kind(doc_id) == FOREIGN_KIND and ledger.owner(doc_id) == pod.id["bo"]
    assert ledger.readers(doc_id) == frozenset({pod.id["bo"]})
    # Cy, who saw Bo's claim, claims it too: only the owner's records change readers.
    pod.do(pod.pod_id, Draft(SHARE, {"ref": ref, "readers": "pod"}), "cy", at(1))
    assert ledger.readers(doc_id) == frozenset({pod.id["bo"]})
    pod.do(pod.pod_id, Draft(SHARE, {"ref": ref, "readers": "pod"}), "bo", at(2))
    assert ledger.readers(doc_id) == POD


def test_two_members_claiming_one_app_document_while_apart_leave_it_to_nobody() -> None:
    pod = Pod()
    doc_id = ids.new_document_id()
    ref = share_ref(pod.pod_id, doc_id)
    apart = pod.fork()
    pod.do(pod.pod_id, Draft(SHARE, {"ref": ref, "readers": [pod.id["bo"]]}), "bo", at())
    apart.do(apart.pod_id, Draft(SHARE, {"ref": ref, "readers": [pod.id["cy"]]}), "cy", at())
    merged(pod, apart)
    for replica in (pod, apart):
        assert replica.ledger.readers(doc_id) == NOBODY


def test_records_of_another_pod_or_document_do_not_count() -> None:
    pod = Pod()
    board, other_board = pod.collections[needs.KIND], pod.collections["agreements"]
    misplaced = pod.sign(other_board, needs.add_need("Wrong document"), "bo", at())
    pod.store(board, misplaced)
    assert misplaced.id not in {c.record.id for c in pod.ledger.counted(board)}
    assert pod.ledger.unverifiable()[board] == {"belongs to another document": 1}


def test_input_to_a_pod_collection_is_not_searched_for_a_creation_record(monkeypatch) -> None:
    """The graft check guards private documents; the pod's collections are read by
    the whole pod whatever they hold, so changes arriving for one are not parsed
    record by record looking for a creation (a needs board of years: 33,000
    records, a second of a new member's time). A private document still is."""
    import podsync.trust.ledger as ledger_module

    pod = Pod()
    board = pod.collections[needs.KIND]
    for i in range(30):
        pod.do(board, needs.add_need(f"Need {i}"), "ana", at(i))
    draft = Draft(CREATE, {"kind": "feedback-statement", "readers": [pod.id["ana"], pod.id["bo"]]})
    payload = build_payload(draft, pod=pod.pod_id, scope="", by=pod.signers["ana"].device_id,
                            at=T0, prev=None)
    private = derived_id("doc", payload)
    pod.store(private, parse_own(payload, pod.signers["ana"].sign(payload)))
    parsed: list[str] = []
    real_parse = ledger_module.parse

    def counting(key, value):  # type: ignore[no-untyped-def]
        parsed.append(key)
        return real_parse(key, value)

    monkeypatch.setattr(ledger_module, "parse", counting)
    assert pod.ledger.would_graft(board, pod.docs[board]) is False
    assert parsed == []
    assert pod.ledger.would_graft(private, pod.docs[private]) is False
