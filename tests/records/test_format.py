"""Record bytes: what parses, what is refused, and that refusal never raises."""

from __future__ import annotations

import datetime as dt

import msgspec
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from podsync.records.format import (
    MAX_BODY_DEPTH, MAX_PARENTS, MAX_RECORD_BYTES, Draft, Payload, Record, Unreadable,
    build_payload, derived_id, parse, record_id, seal,
)
from podsync.records.verify import Signer, Verifier
from podsync.trust.identity import device_id_from_cert_der, new_device_key

T0 = dt.datetime(2026, 3, 1, 9, 0, tzinfo=dt.timezone.utc)


@pytest.fixture(scope="module")
def signer() -> tuple[Signer, bytes]:
    key, cert = new_device_key()
    return Signer(key, device_id_from_cert_der(cert)), cert


def sealed(signer: Signer, draft: Draft, **kw) -> tuple[str, bytes]:
    payload = build_payload(draft, pod=kw.get("pod", "P"), scope=kw.get("scope", "D"),
                            by=signer.device_id, at=kw.get("at", T0), prev=None)
    return record_id(payload), seal(payload, signer.sign(payload))


def test_a_record_parses_with_its_id_and_verifies(signer) -> None:
    s, cert = signer
    rid, data = sealed(s, Draft("need.hold", {"note": "x"}, item="i" * 32, after=("a",)))
    record = parse(rid, data)
    assert isinstance(record, Record)
    assert (record.type, record.item, record.after, record.body, record.by) == \
        ("need.hold", "i" * 32, ("a",), {"note": "x"}, s.device_id)
    verifier = Verifier()
    assert verifier.check(record) is None  # the signer's certificate is not known yet
    verifier.learn(cert)
    assert verifier.check(record) is True


def test_the_id_binds_pod_scope_and_content(signer) -> None:
    s, _ = signer
    a, _ = sealed(s, Draft("t", {}), pod="P1")
    b, _ = sealed(s, Draft("t", {}), pod="P2")
    c, _ = sealed(s, Draft("t", {}), scope="D2")
    assert len({a, b, c}) == 3
    # A creation record's hash is the id of the document it creates.
    payload = build_payload(Draft("doc.create", {}), pod="P", scope="", by=s.device_id, at=T0,
                            prev=None)
    assert derived_id("doc", payload) != derived_id("pod", payload)


def test_stored_under_another_key_it_is_misplaced(signer) -> None:
    s, _ = signer
    _, data = sealed(s, Draft("t", {}))
    got = parse("0" * 32, data)
    assert isinstance(got, Unreadable) and got.reason == "misplaced"


@pytest.mark.parametrize("value", [None, 7, "text", b"", b"\x93\x01", b"\xc1" * 10,
                                   b"x" * (MAX_RECORD_BYTES + 1)])
def test_junk_is_unreadable_never_an_exception(value) -> None:
    got = parse("k", value)
    assert isinstance(got, Unreadable) and got.reason == "malformed"


def _raw(payload: Payload) -> tuple[str, bytes]:
    data = msgspec.msgpack.encode(payload)
    return record_id(data), seal(data, b"s" * 64)


@pytest.mark.parametrize("payload", [
    Payload(1, "P", "D", "t", None, "dev", "yesterday", None, (), {}),
    Payload(1, "P", "D", "t", None, "dev", "2026-03-01T09:00:00", None, (), {}),  # no offset
    Payload(2, "P", "D", "t", None, "dev", "2026-03-01T09:00:00+00:00", None, (), {}),
    Payload(1, "P", "D", "", None, "dev", "2026-03-01T09:00:00+00:00", None, (), {}),
    Payload(1, "P", "D", "t", None, "dev", "2026-03-01T09:00:00+00:00", None,
            tuple(str(i) for i in range(MAX_PARENTS + 1)), {}),
])
def test_malformed_payloads_are_refused(payload: Payload) -> None:
    rid, data = _raw(payload)
    got = parse(rid, data)
    assert isinstance(got, Unreadable) and got.reason == "malformed"


def test_deep_bodies_are_refused_without_recursion() -> None:
    body: dict = {}
    cursor = body
    for _ in range(MAX_BODY_DEPTH + 1):
        cursor["x"] = {}
        cursor = cursor["x"]
    rid, data = _raw(Payload(1, "P", "D", "t", None, "d", "2026-03-01T09:00:00+00:00", None, (), body))
    got = parse(rid, data)
    assert isinstance(got, Unreadable) and "deeper" in got.detail
    deep = b"\x91" * 100_000 + b"\xc0"  # msgpack arrays nested 100,000 deep
    assert isinstance(parse("k", deep), Unreadable)


def test_times_are_shown_in_utc(signer) -> None:
    s, _ = signer
    rid, data = sealed(s, Draft("t", {}), at=dt.datetime(2026, 3, 1, 11, 0,
                                                          tzinfo=dt.timezone(dt.timedelta(hours=2))))
    record = parse(rid, data)
    assert isinstance(record, Record) and record.at == "2026-03-01T09:00:00.000000+00:00"


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=400))
def test_any_bytes_parse_or_are_counted(data: bytes) -> None:
    assert isinstance(parse("k", data), (Record, Unreadable))
