"""Signature checks: forged and altered records fail; chains vouch for their past."""

from __future__ import annotations

import datetime as dt

from podsync.records.format import Draft, Record, build_payload, parse, record_id, seal
from podsync.records.verify import Signer, Verifier
from podsync.trust.identity import device_id_from_cert_der, new_device_key

T0 = dt.datetime(2026, 3, 1, 9, 0, tzinfo=dt.timezone.utc)


def device() -> tuple[Signer, bytes]:
    key, cert = new_device_key()
    return Signer(key, device_id_from_cert_der(cert)), cert


def chain(signer: Signer, n: int, *, by: str | None = None, sign_with: Signer | None = None) -> list[Record]:
    out: list[Record] = []
    prev = None
    for i in range(n):
        payload = build_payload(Draft("t", {"i": i}), pod="P", scope="D", by=by or signer.device_id,
                                at=T0 + dt.timedelta(seconds=i), prev=prev)
        record = parse(record_id(payload), seal(payload, (sign_with or signer).sign(payload)))
        assert isinstance(record, Record)
        out.append(record)
        prev = record.id
    return out


def test_a_record_signed_by_another_device_fails() -> None:
    ana, ana_cert = device()
    dee, dee_cert = device()
    forged = chain(ana, 1, sign_with=dee)[0]  # says it is Ana's, signed by Dee
    v = Verifier()
    v.learn(ana_cert)
    v.learn(dee_cert)
    assert v.check(forged) is False


def test_a_valid_chain_head_vouches_for_earlier_records_and_a_bad_head_does_not() -> None:
    ana, cert = device()
    records = chain(ana, 200)
    v = Verifier()
    v.learn(cert)
    assert set(v.check_many(records).values()) == {True}
    # A chain whose head is forged: the earlier records are checked one by one.
    dee, _ = device()
    honest = chain(ana, 3)
    bad_payload = build_payload(Draft("t", {"i": 9}), pod="P", scope="D", by=ana.device_id,
                                at=T0, prev=honest[-1].id)
    bad = parse(record_id(bad_payload), seal(bad_payload, dee.sign(bad_payload)))
    answers = Verifier()
    answers.learn(cert)
    got = answers.check_many(honest + [bad])
    assert got[bad.id] is False and all(got[r.id] is True for r in honest)


def test_an_altered_signature_fails() -> None:
    ana, cert = device()
    record = chain(ana, 1)[0]
    tampered = parse(record.id, seal(record.payload, bytes(64)))
    v = Verifier()
    v.learn(cert)
    assert isinstance(tampered, Record) and v.check(tampered) is False
