"""The inbox end to end: three members' real nodes; each source of the inbox puts
its item on the right member's node only (through the API, and through the
``podsync inbox`` command against the running node), and it leaves once acted on.
Reminders come on their day: the nodes' clocks are moved, never slept through."""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import sys
from typing import Any

import pytest

from podsync.node import Node
from tests.node.conftest import NodeFactory
from tests.practices.helpers import by_id, call, holds_collections, steward_by_consent, until

#: A cold CLI start imports automerge, cryptography and rich; generous for a busy CI box.
COMMAND_TIMEOUT_S = 60

Key = tuple[str, str, str]  # (kind, reason, id)


def keys(entries: list[dict[str, Any]]) -> set[Key]:
    return {(e["kind"], e["reason"], e["id"]) for e in entries}


async def boxes(*members: Node) -> list[set[Key]]:
    return [keys(await call(n, "inbox.list")) for n in members]


async def appears(key: Key, on: Node, *not_on: Node) -> None:
    """``key`` reaches ``on``'s inbox (sync may still carry it) and no other's."""
    await until(on, "inbox.list", lambda es: key in keys(es))
    for other in not_on:
        assert key not in keys(await call(other, "inbox.list")), other.config.member_name


async def leaves(key: Key, *members: Node) -> None:
    for node in members:
        await until(node, "inbox.list", lambda es: key not in keys(es))


def move_clock(node: Node, days: float) -> None:
    """``node``'s clock ``days`` ahead of the real one (reminders read it)."""
    node.context.clock = lambda: dt.datetime.now(dt.timezone.utc) + dt.timedelta(days=days)


async def cli_inbox(node: Node) -> list[dict[str, Any]]:
    """``podsync inbox --json`` as a member types it, against their running node."""
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "podsync", "--home", str(node.home.root), "inbox", "--json",
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
    out, err = await asyncio.wait_for(proc.communicate(), COMMAND_TIMEOUT_S)
    assert proc.returncode == 0, err.decode()
    return json.loads(out)


@pytest.fixture
async def pod(nodes: NodeFactory) -> tuple[Node, Node, Node]:
    ana = await nodes.start("ana")
    bo = await nodes.start("bo", peers=[ana.listen_addresses[0]])
    cy = await nodes.start("cy", peers=[ana.listen_addresses[0], bo.listen_addresses[0]])
    for node in (ana, bo, cy):
        await holds_collections(node)
        await until(node, "members.list", lambda ms: len(ms) == 3)
    return ana, bo, cy


def _days(n: int) -> str:
    return (dt.datetime.now(dt.timezone.utc) + dt.timedelta(days=n)).isoformat()


def _date(n: int) -> str:
    return (dt.date.today() + dt.timedelta(days=n)).isoformat()


async def test_decisions_advice_asked_deadline_passed_review_due(
        pod: tuple[Node, Node, Node]) -> None:
    ana, bo, cy = pod
    did = (await call(ana, "decision.start", title="Cargo bike", proposal="buy one",
                      deadline=_days(3)))["id"]
    await call(ana, "decision.ask", id=did, member=bo.config.member_id, reason="affected")
    asked = ("decision", "advice_asked", did)
    await appears(asked, bo, ana, cy)
    assert asked in keys(await cli_inbox(bo))
    assert asked not in keys(await cli_inbox(cy))
    await call(bo, "decision.advise", id=did, stance="support", text="yes")
    await leaves(asked, bo)
    passed = ("decision", "deadline_passed", did)
    assert passed not in (await boxes(ana))[0]
    move_clock(ana, 4)
    await appears(passed, ana, bo, cy)
    await until(ana, "decision.get", lambda d: d["advice"], id=did)
    await call(ana, "decision.decide", id=did, text="We buy it", review_on=_date(30))
    await leaves(passed, ana)
    review = ("decision", "review_due", did)
    move_clock(ana, 31)
    await appears(review, ana, bo, cy)
    await call(ana, "decision.review", id=did, outcome="keep", note="works well",
               review_on=_date(200))
    await leaves(review, ana)


async def test_agreements_affirm_review_due_for_parties_and_reminders(
        pod: tuple[Node, Node, Node]) -> None:
    ana, bo, cy = pod
    aid = (await call(ana, "agreement.propose", what="Cook on Tuesdays",
                      parties=[ana.config.member_id, bo.config.member_id],
                      review_on=_date(10)))["id"]
    affirm = ("agreement", "affirm", aid)
    await appears(affirm, bo, cy)
    await appears(affirm, ana, cy)
    await call(ana, "agreement.affirm", id=aid)
    await leaves(affirm, ana)
    await until(bo, "agreement.get", lambda a: a["parties"][0]["affirmed"], id=aid)
    await call(bo, "agreement.affirm", id=aid)
    await leaves(affirm, bo)
    await until(cy, "agreement.get", lambda a: a["state"] == "active", id=aid)
    await call(cy, "agreement.remind", id=aid)
    due = ("agreement", "review_due", aid)
    for node in pod:
        move_clock(node, 10)
    await appears(due, cy)
    await appears(due, ana)
    await appears(due, bo)
    await until(bo, "agreement.get", lambda a: cy.config.member_id in a["reminders"], id=aid)
    await call(bo, "agreement.review", id=aid, review_on=_date(60))
    await leaves(due, ana, bo, cy)


async def test_needs_quiet_holders_and_unheld_needs_past_the_pods_setting(
        pod: tuple[Node, Node, Node]) -> None:
    ana, bo, cy = pod
    quiet = (await call(ana, "need.add", title="Water the plants"))["id"]
    unheld = (await call(ana, "need.add", title="Fix the gate"))["id"]
    await until(bo, "need.list", lambda ns: by_id(ns, quiet))
    await call(bo, "need.take", id=quiet)
    await call(cy, "pod.setting", name="need_unheld_days", value=2)
    for node in pod:
        await until(node, "pod.settings", lambda s: by_id(s, "need_unheld_days", "name")
                    ["value"] == 2)
        move_clock(node, 31)
    silent = ("need", "holder_silent", quiet)
    await appears(silent, bo, ana, cy)
    for node in pod:
        await appears(("need", "unheld", unheld), node)
    await call(bo, "need.note", id=quiet, text="watered on Sunday")
    await leaves(silent, bo)
    await call(cy, "need.take", id=unheld)
    await leaves(("need", "unheld", unheld), ana, bo, cy)


async def test_mobilizing_allies_teams_and_stewards(pod: tuple[Node, Node, Node]) -> None:
    ana, bo, cy = pod
    bo_id = bo.config.member_id
    ask = (await call(ana, "mobilizing.ask", member=bo_id, question="how is the week?"))["id"]
    view = ("ask", "view", ask)
    await appears(view, bo, cy)
    await appears(view, ana, cy)  # the asker says their view too
    await call(bo, "mobilizing.view", ask_id=ask, purpose="I am fine")
    await leaves(view, bo)

    allies = (await call(ana, "allies.propose", member=bo_id, every_days=7,
                         focus="weekly walk"))["id"]
    proposed = ("allies", "proposed", allies)
    await appears(proposed, bo, ana, cy)
    await call(bo, "allies.accept", id=allies)
    await leaves(proposed, bo)
    check_in = ("allies", "check_in", allies)
    for node in pod:
        move_clock(node, 8)
    await appears(check_in, ana, cy)
    await appears(check_in, bo, cy)
    await call(ana, "allies.met", id=allies)
    await leaves(check_in, ana, bo)

    team = (await call(ana, "team.add", name="Garden", members=[ana.config.member_id]))["id"]
    await call(ana, "team.join", team_id=team, member=cy.config.member_id)
    invited = ("team", "invited", team)
    await appears(invited, cy, ana, bo)
    await call(cy, "team.accept", team_id=team)
    await leaves(invited, cy)

    nomination = (await call(ana, "steward.propose", leader=bo_id,
                             steward=cy.config.member_id))["id"]
    affirm = ("nomination", "affirm", nomination)
    await appears(affirm, cy, ana, bo)
    await call(cy, "steward.affirm", id=nomination)
    consent = ("nomination", "consent", nomination)
    await appears(consent, bo, ana, cy)
    await call(bo, "steward.consent", id=nomination)
    await leaves(consent, bo)
    await leaves(affirm, cy)


async def test_feedback_waits_on_the_steward_the_giver_and_the_leader(
        pod: tuple[Node, Node, Node]) -> None:
    gil, lee, sam = pod
    await steward_by_consent(gil, lee, sam)
    thread = (await call(gil, "feedback.give", leader=lee.config.member_id,
                         text="the meetings run late"))["thread_id"]
    reply = ("thread", "reply", thread)
    await appears(reply, sam, gil, lee)
    await call(sam, "feedback.reply", thread_id=thread, text="thank you, tell me more")
    await leaves(reply, sam)
    proposal = (await call(sam, "feedback.propose_route", thread_id=thread, route="leader",
                           statement="meetings could end on time"))["proposal_id"]
    consent = ("thread", "consent", thread)
    await appears(consent, gil, sam, lee)
    await call(gil, "feedback.consent", thread_id=thread, proposal_id=proposal, consent=True)
    await leaves(consent, gil)
    route = ("thread", "route", thread)
    await appears(route, sam, gil, lee)
    statement = (await call(sam, "feedback.route", thread_id=thread,
                            proposal_id=proposal))["target_doc"]
    await leaves(route, sam)
    respond = ("statement", "respond", statement)
    await appears(respond, lee, gil, sam)
    assert respond in keys(await cli_inbox(lee))
    await call(lee, "feedback.respond", statement_id=statement, text="I will keep time")
    await leaves(respond, lee)


