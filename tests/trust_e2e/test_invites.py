"""Invites end to end: redeemed through the inviter or any other member, and
refused, each with its own message, when used, expired, altered or foreign."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import base58
import msgspec
import pytest

from podsync import config as config_mod
from podsync.home import Home
from podsync.trust import invite as invite_mod
from podsync.trust import membership
from podsync.trust import roster as roster_mod
from podsync.trust.join import join_pod
from tests.trust_e2e.conftest import (
    NodeFactory,
    active_names,
    eventually,
    invite,
    join_via,
    podsync_cli,
    roster_of,
)

_SECRET_FIELD = 2  # position of the secret in the code's msgpack array


def tamper_secret(code: str) -> str:
    """The same code with a different secret, re-encoded with a valid checksum:
    what someone altering a code on purpose (not a typo) would produce."""
    fields = msgspec.msgpack.decode(base58.b58decode_check(code[len(invite_mod.INVITE_PREFIX):]))
    fields[_SECRET_FIELD] = bytes(b ^ 0xFF for b in fields[_SECRET_FIELD])
    return invite_mod.INVITE_PREFIX + base58.b58encode_check(
        msgspec.msgpack.encode(fields)).decode("ascii")


def mistype(code: str) -> str:
    """One character of the code changed, as a typo would."""
    at = len(code) // 2
    return code[:at] + ("2" if code[at] != "2" else "3") + code[at + 1:]


def invite_known(node, code: str) -> bool:
    invite_id = invite_mod.parse_invite(code).invite_id
    return roster_mod.invite_state(roster_of(node), invite_id) is not None


async def test_a_newcomer_joins_through_the_inviter_and_links(nodes: NodeFactory, tmp_path: Path) -> None:
    a = await nodes.start("ada")
    home = await join_via(tmp_path, "nia", await invite(a))
    config = config_mod.load_config(home)
    assert config.pod_id == a.config.pod_id
    assert "Nia" in active_names(a)
    nia = await nodes.start("nia")  # given no peer: it remembers who admitted it
    await eventually(lambda: any(p.peer_id == a.identity.device_id for p in nia.repo.engine.peers()))
    await eventually(lambda: all(nia.repo.has(info.doc_id) for info in a.store.list_documents()))


@pytest.mark.slow
async def test_a_newcomer_joins_through_another_member_while_the_inviter_is_away(
        nodes: NodeFactory, tmp_path: Path) -> None:
    a = await nodes.start("ada")
    b = await nodes.start("bo", peers=[a.listen_addresses[0]])
    code = await invite(a)
    await eventually(lambda: invite_known(b, code))
    await a.stop()  # the code's own address (the inviter's) now refuses connections

    joined = await podsync_cli(tmp_path / "nia", "join", code, "--name", "Nia",
                               "--peer", b.listen_addresses[0])
    assert joined.returncode == 0, joined.stderr
    assert "Joined the pod" in joined.stdout
    nia_roster = roster_of(b)
    [nia_member] = [m for m in nia_roster.members if m.name == "Nia"]
    assert nia_member.added_by == b.config.member_id  # admitted by B, not the inviter
    state = roster_mod.invite_state(nia_roster, invite_mod.parse_invite(code).invite_id)
    assert state is not None and state.record.created_by == a.config.member_id
    assert state.used_by is not None and roster_mod.member_of_device(
        nia_roster, state.used_by) == nia_member.member_id

    nia = await nodes.start("nia")  # given no peer: it remembers who admitted it
    await eventually(lambda: any(p.peer_id == b.identity.device_id for p in nia.repo.engine.peers()))
    a2 = await nodes.start("ada", peers=[b.listen_addresses[0]])
    await eventually(lambda: "Nia" in active_names(a2))


@pytest.mark.slow
async def test_bad_codes_are_refused_each_with_its_own_message(nodes: NodeFactory, tmp_path: Path) -> None:
    a = await nodes.start("ada")
    other_pod = await nodes.start("zed", own_pod=True)
    assert other_pod.config.pod_id != a.config.pod_id
    refusals: dict[str, str] = {}

    async def refused(name: str, code: str, exit_code: int, *extra: str) -> str:
        result = await podsync_cli(tmp_path / name, "join", code, "--name", name.capitalize(), *extra)
        assert result.returncode == exit_code, (name, result.returncode, result.stderr)
        assert "Traceback" not in result.stderr and result.stdout == ""
        [line] = result.stderr.strip().splitlines()[-1:]
        assert line.startswith("podsync: ")
        refusals[name] = line
        return line

    # Used: a first newcomer redeems the code, a second one presents it again.
    used = await invite(a)
    await join_via(tmp_path, "first", used)
    assert "already used" in await refused("second", used, 1)

    # Expired: recorded in the roster with an expiry in the past.
    past = a.context.now() - dt.timedelta(hours=2)
    expired, record = invite_mod.create_invite(
        a.config.pod_id, a.config.member_id, a.identity.cert_der, a.reachable_addresses(),
        dt.timedelta(hours=1), past)
    await membership.add_invite(a.ledger, record, a.config.member_id)
    assert "expired" in await refused("late", expired, 1)

    # A typo (one character changed): caught by the checksum, a usage error.
    fresh = await invite(a)
    assert "checksum" in await refused("typo", mistype(fresh), 2)
    # A deliberate alteration with a valid checksum: the admitter refuses the proof.
    assert "proof does not match" in await refused("forger", tamper_secret(fresh), 1)

    # Another pod: with the inviter away, only a member of a different pod answers.
    foreign = await invite(a)
    await a.stop()
    assert "another pod" in await refused("astray", foreign, 1, "--peer", other_pod.listen_addresses[0])

    assert len(set(refusals.values())) == len(refusals), refusals
    assert "Second" not in active_names(other_pod)
    # Nothing was joined by any refused newcomer.
    for name in refusals:
        assert not Home(tmp_path / name).is_initialised(), name


async def test_the_admitter_checks_expiry_with_its_own_clock(nodes: NodeFactory, tmp_path: Path) -> None:
    """A newcomer whose clock runs behind still cannot use an expired invite."""
    a = await nodes.start("ada")
    past = a.context.now() - dt.timedelta(hours=2)
    code, record = invite_mod.create_invite(
        a.config.pod_id, a.config.member_id, a.identity.cert_der, a.reachable_addresses(),
        dt.timedelta(hours=1), past)
    await membership.add_invite(a.ledger, record, a.config.member_id)
    with pytest.raises(invite_mod.InviteExpired, match="expired at"):
        await join_pod(Home(tmp_path / "slow-clock"), code, "Slow", now=past)
    assert "Slow" not in active_names(a)
    assert not Home(tmp_path / "slow-clock").is_initialised()
