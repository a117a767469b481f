"""Invite codes: encoding, every refusal with its own message, the join proof."""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path

import automerge.core as am
import pytest

from podsync import ids
from podsync.errors import PodsyncError, UsageError
from podsync.home import Home
from podsync.trust import invite as inv
from podsync.trust import membership
from tests.pod.helpers import Pod
from podsync.trust.identity import DeviceIdentity, create_identity

NOW = dt.datetime(2026, 11, 23, 12, 0, tzinfo=dt.timezone.utc)
ADDRESSES = ["192.168.1.20:8470", "[fe80::1]:8470", "laptop.local:8470"]
B58 = re.compile(r"^[1-9A-HJ-NP-Za-km-z]+$")


def _identity(tmp_path: Path, name: str) -> DeviceIdentity:
    home = Home(tmp_path / name)
    home.ensure_dirs()
    return create_identity(home)


@pytest.fixture
def inviter(tmp_path: Path) -> DeviceIdentity:
    return _identity(tmp_path, "inviter")


@pytest.fixture
def pod_id() -> str:
    return ids.new_document_id()


def _code(pod_id: str, inviter: DeviceIdentity, **kw: object) -> tuple[str, inv.InviteRecord]:
    member = ids.new_document_id()
    return inv.create_invite(pod_id, member, inviter.cert_der, ADDRESSES,
                             dt.timedelta(hours=24), NOW, **kw)  # type: ignore[arg-type]


def test_round_trip(pod_id: str, inviter: DeviceIdentity) -> None:
    code, record = _code(pod_id, inviter)
    assert code.startswith("podsync1-") and B58.match(code[len("podsync1-"):])
    assert "\n" not in code and len(code) < 300
    invite = inv.parse_invite(code, now=NOW, pod_id=pod_id)
    assert invite.pod_id == pod_id
    assert invite.invite_id == record.invite_id
    assert invite.addresses == ADDRESSES
    assert invite.expires_at == record.expires_at == NOW + dt.timedelta(hours=24)
    assert invite.inviter_device_id == inviter.device_id
    assert len(invite.secret) * 8 >= 128
    assert invite.for_member is None
    # The roster gets a verifier, never the secret.
    assert invite.secret not in record.verifier
    assert inv.verify_invite_secret(record, invite.secret)
    assert not inv.verify_invite_secret(record, bytes(16))
    # Codes wrapped or padded by a chat app still parse.
    wrapped = " " + code[:40] + "\n" + code[40:] + "\n"
    assert inv.parse_invite(wrapped, now=NOW) == invite


def test_each_invite_is_fresh(pod_id: str, inviter: DeviceIdentity) -> None:
    (code1, rec1), (code2, rec2) = _code(pod_id, inviter), _code(pod_id, inviter)
    assert code1 != code2 and rec1.invite_id != rec2.invite_id
    assert rec1.verifier != rec2.verifier


def test_new_device_invite_names_the_member(pod_id: str, inviter: DeviceIdentity) -> None:
    member = ids.new_document_id()
    code, record = inv.create_invite(pod_id, member, inviter.cert_der, ADDRESSES,
                                     dt.timedelta(hours=1), NOW, new_device=True)
    assert record.for_member == member
    assert inv.parse_invite(code, now=NOW).for_member == member


@pytest.mark.parametrize("position", [len("podsync1-"), 30, 60, -1])
def test_a_changed_character_is_refused_as_malformed(
        pod_id: str, inviter: DeviceIdentity, position: int) -> None:
    code, _ = _code(pod_id, inviter)
    chars = list(code)
    chars[position] = "2" if chars[position] != "2" else "3"
    with pytest.raises(inv.InviteMalformed, match="checksum does not match"):
        inv.parse_invite("".join(chars), now=NOW)


@pytest.mark.parametrize("text, why", [
    ("hello", "does not start with"),
    ("podsync1-", "checksum"),
    ("podsync1-0OIl", "checksum"),  # not base58 at all
    ("podsync1-" + "2" * 3000, "far longer"),
])
def test_garbage_is_refused_as_malformed(text: str, why: str) -> None:
    with pytest.raises(inv.InviteMalformed, match=why) as caught:
        inv.parse_invite(text, now=NOW)
    assert isinstance(caught.value, UsageError) and caught.value.exit_code == 2


def test_cut_short_is_refused(pod_id: str, inviter: DeviceIdentity) -> None:
    code, _ = _code(pod_id, inviter)
    with pytest.raises(inv.InviteMalformed, match="checksum"):
        inv.parse_invite(code[:-5], now=NOW)


def test_a_valid_checksum_over_nonsense_is_refused(pod_id: str) -> None:
    import base58

    code = "podsync1-" + base58.b58encode_check(b"\x93\x01\x02\x03").decode()
    with pytest.raises(inv.InviteMalformed, match="do not decode"):
        inv.parse_invite(code, now=NOW)


def test_wrong_pod(pod_id: str, inviter: DeviceIdentity) -> None:
    code, _ = _code(pod_id, inviter)
    other = ids.new_document_id()
    with pytest.raises(inv.InviteWrongPod) as caught:
        inv.parse_invite(code, now=NOW, pod_id=other)
    assert pod_id in str(caught.value) and other in str(caught.value)


def test_expired(pod_id: str, inviter: DeviceIdentity) -> None:
    code, _ = _code(pod_id, inviter)
    inv.parse_invite(code, now=NOW + dt.timedelta(hours=23, minutes=59))
    with pytest.raises(inv.InviteExpired, match="expired at 2026-11-24T12:00:00"):
        inv.parse_invite(code, now=NOW + dt.timedelta(hours=24))


def test_lifetime_and_addresses_are_checked(pod_id: str, inviter: DeviceIdentity) -> None:
    member = ids.new_document_id()
    with pytest.raises(UsageError, match="within 7 days"):
        inv.create_invite(pod_id, member, inviter.cert_der, ADDRESSES,
                          dt.timedelta(days=8), NOW)
    with pytest.raises(UsageError, match="not a host:port"):
        inv.create_invite(pod_id, member, inviter.cert_der, ["fe80::1:8470"],
                          dt.timedelta(hours=1), NOW)


def test_join_proof_is_bound_to_the_certificate_and_pod(
        tmp_path: Path, pod_id: str, inviter: DeviceIdentity) -> None:
    code, record = _code(pod_id, inviter)
    invite = inv.parse_invite(code, now=NOW)
    cert_a = _identity(tmp_path, "a").cert_der
    cert_b = _identity(tmp_path, "b").cert_der
    proof = inv.join_proof(invite, cert_a)
    assert inv.check_join_proof(record, proof, pod_id, cert_a)
    assert not inv.check_join_proof(record, proof, pod_id, cert_b)
    assert not inv.check_join_proof(record, proof, ids.new_document_id(), cert_a)
    _, other_record = _code(pod_id, inviter)
    assert not inv.check_join_proof(other_record, proof, pod_id, cert_a)


async def test_used_is_refused_by_the_roster(tmp_path: Path) -> None:
    pod = Pod(("ada",))
    ledger = pod.acting("ada")
    code, record = inv.create_invite(pod.pod_id, pod.id["ada"], pod.certs["ada"], ADDRESSES,
                                     dt.timedelta(hours=1), NOW)
    await membership.add_invite(ledger, record, pod.id["ada"])
    invite = inv.parse_invite(code, now=NOW, pod_id=pod.pod_id)
    first = _identity(tmp_path, "first").cert_der
    second = _identity(tmp_path, "second").cert_der
    await membership.admit(ledger, pod_id=pod.pod_id, invite_id=invite.invite_id,
                           proof=inv.join_proof(invite, first), cert_der=first,
                           member_id=ids.new_document_id(), name="Bo", by_member=pod.id["ada"],
                           now=NOW)
    with pytest.raises(inv.InviteUsed, match="already used") as caught:
        await membership.admit(ledger, pod_id=pod.pod_id, invite_id=invite.invite_id,
                               proof=inv.join_proof(invite, second), cert_der=second,
                               member_id=ids.new_document_id(), name="Cy",
                               by_member=pod.id["ada"], now=NOW)
    assert type(caught.value) is inv.InviteUsed
    roster = pod.ledger.roster
    assert roster is not None and len(roster.devices) == 2  # founder + first, not second


def test_every_refusal_has_its_own_class_and_message(
        pod_id: str, inviter: DeviceIdentity) -> None:
    code, _ = _code(pod_id, inviter)
    errors: list[PodsyncError] = []
    for attempt in (
        lambda: inv.parse_invite(code[:-1] + ("2" if code[-1] != "2" else "3"), now=NOW),
        lambda: inv.parse_invite(code, now=NOW, pod_id=ids.new_document_id()),
        lambda: inv.parse_invite(code, now=NOW + dt.timedelta(days=2)),
    ):
        with pytest.raises(inv.InviteError) as caught:
            attempt()
        errors.append(caught.value)
    assert len({type(e) for e in errors}) == len(errors)
    assert len({str(e) for e in errors}) == len(errors)
    assert all(isinstance(e, PodsyncError) for e in errors)
