"""Signature checks: forged and altered records fail; chains vouch for their past."""

from __future__ import annotations

import datetime as dt

import pytest

from podsync.records import verify
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


def test_a_certificate_is_parsed_only_when_its_device_signs_something_to_check(
        monkeypatch: pytest.MonkeyPatch) -> None:
    ana, ana_cert = device()
    dee, dee_cert = device()
    parsed: list[bytes] = []
    real = verify.public_key_of

    def counting(cert: bytes):  # type: ignore[no-untyped-def]
        parsed.append(cert)
        return real(cert)

    monkeypatch.setattr(verify, "public_key_of", counting)
    v = Verifier()
    assert v.learn(ana_cert) == ana.device_id and v.learn(dee_cert) == dee.device_id
    assert parsed == []
    assert set(v.check_many(chain(ana, 5)).values()) == {True}
    assert parsed == [ana_cert]  # Dee signed nothing here
    assert v.check(chain(ana, 1)[0]) is True and parsed == [ana_cert]  # parsed once


def test_a_certificate_without_an_ed25519_key_vouches_for_nothing() -> None:
    ana, _ = device()
    garbage = b"not a certificate at all"
    v = Verifier()
    device_id = v.learn(garbage)
    assert device_id == device_id_from_cert_der(garbage)
    record = chain(ana, 1, by=device_id)[0]  # claims the garbage's device, signed by Ana
    assert v.check(record) is None  # the signer's key is unknown: neither true nor false
    assert not v.knows(device_id)
    assert not v.knows("NOT-LEARNT")


def test_a_signer_made_to_load_reads_its_key_at_the_first_signature() -> None:
    key, cert = new_device_key()
    loads: list[int] = []

    def load():  # type: ignore[no-untyped-def]
        loads.append(1)
        return key

    signer = Signer.loading(load, device_id_from_cert_der(cert))
    assert loads == []
    records = chain(signer, 3)
    assert loads == [1]
    v = Verifier()
    v.learn(cert)
    assert set(v.check_many(records).values()) == {True}
    with pytest.raises(ValueError):
        Signer(None, "X")
