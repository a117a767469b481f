"""The command line reads as people speak: in a three-member pod with every kind of
item, no output of any command (nor an error, nor the Markdown export) shows a raw
member id; every command takes the start of an id; ``show`` shows every kind.

The commands run as a member types them (``python -m podsync``), against their
real running node.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import sys
from dataclasses import dataclass

import pytest

from podsync.node import Node
from tests.node.conftest import NodeFactory
from tests.practices.helpers import (
    by_id, call, holds_collections, steward_by_consent, until,
)

pytestmark = pytest.mark.slow

#: A cold CLI start imports automerge, cryptography and rich; generous for a busy CI box.
COMMAND_TIMEOUT_S = 60
#: How the commands below shorten ids: what a member would type.
PREFIX = 6


@dataclass
class Ran:
    code: int
    out: str
    err: str


async def podsync(node: Node, *args: str) -> Ran:
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "podsync", "--home", str(node.home.root), *args,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
        env={"COLUMNS": "80", "PATH": "/usr/bin:/bin", "TZ": "Europe/Berlin"})
    out, err = await asyncio.wait_for(proc.communicate(), COMMAND_TIMEOUT_S)
    return Ran(proc.returncode or 0, out.decode(), err.decode())


@dataclass
class Pod:
    ana: Node
    bo: Node
    cy: Node
    ids: dict[str, str]


@pytest.fixture
async def pod(nodes: NodeFactory) -> Pod:
    """Three members with one of everything: a held need, an agreement with a
    reminder, a decision with advice, an ask, allies, a team with an item and an
    invitation, a steward, a feedback thread with a proposal, a statement."""
    ana = await nodes.start("ana")
    bo = await nodes.start("bo", peers=[ana.listen_addresses[0]])
    cy = await nodes.start("cy", peers=[ana.listen_addresses[0], bo.listen_addresses[0]])
    for node in (ana, bo, cy):
        await holds_collections(node)
        await until(node, "members.list", lambda ms: len(ms) == 3)
    a, b, c = (n.config.member_id for n in (ana, bo, cy))
    ids: dict[str, str] = {}
    ids["need"] = (await call(ana, "need.add", title="Fix the gate"))["id"]
    await call(ana, "need.take", id=ids["need"])
    ids["agreement"] = (await call(ana, "agreement.propose", what="Cook on Tuesdays",
                                   parties=[a, b]))["id"]
    deadline = (dt.datetime.now(dt.timezone.utc) + dt.timedelta(days=3)).isoformat()
    ids["decision"] = (await call(ana, "decision.start", title="Cargo bike", proposal="buy",
                                  deadline=deadline))["id"]
    await call(ana, "decision.ask", id=ids["decision"], member=b, reason="affected")
    ids["ask"] = (await call(ana, "mobilizing.ask", member=b, question="how is it?"))["id"]
    ids["allies"] = (await call(ana, "allies.propose", member=b, every_days=7,
                                focus="a weekly walk"))["id"]
    ids["team"] = (await call(ana, "team.add", name="Garden", members=[a, c]))["id"]
    ids["team item"] = (await call(ana, "team.item_add", team_id=ids["team"],
                                   title="Order seeds"))["id"]
    ids["nomination"] = await steward_by_consent(ana, bo, cy)
    ids["thread"] = (await call(ana, "feedback.give", leader=b,
                                text="meetings run late"))["thread_id"]
    await until(cy, "feedback.threads", lambda ts: by_id(ts, ids["thread"], "thread_id"))
    proposal = (await call(cy, "feedback.propose_route", thread_id=ids["thread"],
                           route="leader", statement="meetings could end on time"))
    await until(ana, "feedback.thread", lambda t: t["proposals"], thread_id=ids["thread"])
    await call(ana, "feedback.consent", thread_id=ids["thread"],
               proposal_id=proposal["proposal_id"], consent=True)
    await until(cy, "feedback.thread", lambda t: t["proposals"][0]["consent"],
                thread_id=ids["thread"])
    ids["statement"] = (await call(cy, "feedback.route", thread_id=ids["thread"],
                                   proposal_id=proposal["proposal_id"]))["target_doc"]
    for key in ("agreement", "decision", "ask", "allies"):
        await until(bo, "inbox.list", lambda es, key=key: any(e["id"] == ids[key] for e in es))
    await until(bo, "feedback.received", lambda ss: by_id(ss, ids["statement"], "statement_id"))
    return Pod(ana, bo, cy, ids)


def _raw_ids(pod: Pod, text: str) -> list[str]:
    """Member ids (or their first ten characters, as a cut id shows them) in ``text``."""
    return [i for i in (n.config.member_id for n in (pod.ana, pod.bo, pod.cy))
            if i[:10] in text]


async def test_no_command_output_nor_the_markdown_export_shows_a_raw_member_id(
        pod: Pod) -> None:
    p = {k: v[:PREFIX] for k, v in pod.ids.items()}
    runs = {
        pod.ana: [["inbox"], ["status"], ["members"], ["settings"], ["need", "list"],
                  ["agreement", "list"], ["agreement", "awaiting"], ["decision", "list"],
                  ["mobilizing", "list"], ["mobilizing", "show", p["ask"]],
                  ["mobilizing", "awaiting"], ["allies", "list"], ["allies", "due"],
                  ["team", "list"], ["team", "items"], ["steward", "list"],
                  ["feedback", "threads"], ["feedback", "stewards", "Bo"],
                  ["feedback", "summary"], ["capacity", "list"], ["capacity", "review"],
                  ["export", "--format", "markdown"],
                  # refusals name members too
                  ["decision", "decide", p["decision"], "We buy it"],
                  ["decision", "unask", p["decision"], "Cy"],
                  *[["show", p[k]] for k in pod.ids]],
        pod.bo: [["inbox"], ["feedback", "received"], ["decision", "decide", p["decision"], "x"],
                 ["agreement", "affirm", p["agreement"]]],
        pod.cy: [["inbox"], ["feedback", "threads"], ["show", p["thread"]]],
    }
    for node, commands in runs.items():
        for args in commands:
            ran = await podsync(node, *args)
            assert "Traceback" not in ran.err, (args, ran.err)
            assert _raw_ids(pod, ran.out + ran.err) == [], (args, ran.out, ran.err)
    refused = await podsync(pod.ana, "decision", "decide", p["decision"], "We buy it")
    assert refused.code == 1 and "still waiting for Bo" in refused.err
    exported = await podsync(pod.ana, "export", "--format", "markdown")
    assert "Ana" in exported.out and "Bo" in exported.out
    data = json.loads((await podsync(pod.ana, "export", "--format", "json")).out)
    assert data["names"] == {n.config.member_id: n.config.member_name
                             for n in (pod.ana, pod.bo, pod.cy)}


async def test_show_shows_every_kind_with_its_history_in_order(pod: Pod) -> None:
    for kind, item_id in pod.ids.items():
        node = pod.cy if kind in ("thread", "statement") else pod.ana
        shown = json.loads((await podsync(node, "show", item_id[:PREFIX], "--json")).out)
        assert (shown["kind"], shown["id"]) == (kind, item_id)
        ran = await podsync(node, "show", item_id[:PREFIX])
        assert ran.code == 0 and item_id in ran.out, (kind, ran.err)
    need = await podsync(pod.ana, "show", pod.ids["need"][:PREFIX])
    assert "Fix the gate" in need.out and "Ana: hold" in need.out
    decision = await podsync(pod.ana, "show", pod.ids["decision"][:PREFIX])
    lines = decision.out.splitlines()
    history = lines[[i for i, line in enumerate(lines) if line.startswith("history")][0] + 1:]
    assert "Ana: ask" in history[0] and "affected" in history[0]


async def test_every_command_takes_the_start_of_an_id_and_says_when_it_is_unknown(
        pod: Pod) -> None:
    p = {k: v[:PREFIX] for k, v in pod.ids.items()}
    worked = [
        (pod.bo, ["decision", "advise", p["decision"], "--stance", "support", "--text", "ok"]),
        (pod.bo, ["agreement", "affirm", p["agreement"]]),
        (pod.bo, ["mobilizing", "view", p["ask"], "--purpose", "fine"]),
        (pod.bo, ["allies", "accept", p["allies"]]),
        (pod.ana, ["team", "items", p["team"]]),
        (pod.ana, ["need", "note", p["need"], "hinges bought"]),
        (pod.ana, ["agreement", "remind", p["agreement"]]),
        (pod.bo, ["feedback", "respond", p["statement"], "I will keep time"]),
        (pod.cy, ["feedback", "reply", p["thread"], "thank you"]),
        (pod.ana, ["decision", "ask", p["decision"], pod.cy.config.member_id[:PREFIX],
                   "--reason", "expertise"]),
    ]
    for node, args in worked:
        ran = await podsync(node, *args)
        assert ran.code == 0, (args, ran.err)
    for node, args in [(pod.ana, ["need", "take", "ffffffff"]),
                       (pod.ana, ["agreement", "affirm", "ffffffff"]),
                       (pod.ana, ["decision", "advise", "ffffffff", "--stance", "support"]),
                       (pod.ana, ["show", "ffffffff"]),
                       (pod.cy, ["feedback", "reply", "zzzzzz", "hi"])]:
        ran = await podsync(node, *args)
        assert ran.code in (1, 2) and args[2 if args[0] != "show" else 1] in ran.err, \
            (args, ran.err)
        assert "Traceback" not in ran.err and ran.out == ""


async def test_a_start_two_ids_share_is_refused_naming_both_with_their_titles(
        tmp_path: object) -> None:
    from pathlib import Path

    from podsync.api import ops
    from podsync.api.context import offline_context
    from podsync.home import Home
    from podsync.cli.init import initialise

    home = Home(Path(str(tmp_path)) / "ada")
    initialise(home, "Ada")
    seen: dict[str, str] = {}
    shared = None
    async with offline_context(home) as ctx:
        # Four hex digits are shared by two of a few hundred ids: add needs until two do.
        for n in range(4000):
            made = (await ops.run(ctx, "need.add", {"title": f"need {n}"})).id
            if made[:4] in seen:
                shared = (made[:4], seen[made[:4]], made)
                break
            seen[made[:4]] = made
    assert shared is not None
    start, first, second = shared
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "podsync", "--home", str(home.root), "need", "take", start,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
    out, err = await asyncio.wait_for(proc.communicate(), COMMAND_TIMEOUT_S)
    text = err.decode()
    assert proc.returncode == 2 and out == b"", text
    assert first[:8] in text and second[:8] in text and "need" in text, text
    titles = [t for t in (f"'need {i}'" for i in range(4000)) if t in text]
    assert len(titles) == 2, text
