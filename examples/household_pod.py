"""A household pod runs through each practice, end to end, on loopback.

Ada founds the pod; Bo and Cy join it with invite codes. Each runs a real node in
this process, linked to the others over pinned TLS on 127.0.0.1, and acts only
through the node's operations — the same ones the CLI and the local API call.

    python examples/household_pod.py

They make an agreement within everyone's capacity and revise it (a new version
is in force only once every party affirms it); form a team by invitation; decide
something by advice process, asking those affected; take on and attend a need;
check in on capacity, discern together whether Cy is over-mobilizing (an outcome
counts once she and another participant confirm it) and become allies; name Bo
Ada's steward (he affirms, she consents); and route feedback for Ada through Bo,
clarified in four parts, with the giver's consent and without her name. Ada's
response becomes an agreement. Then the example prints what each of them sees.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from podsync.api import ops
from podsync.cli.init import initialise
from podsync.errors import PodsyncError
from podsync.home import Home
from podsync.node import Node, NodeOptions
from podsync.trust.join import join_pod

#: Loopback sync takes well under a second; this only bounds a stuck run.
SYNC_TIMEOUT_SECONDS = 20.0


class Member:
    """One person and their node."""

    def __init__(self, name: str, node: Node) -> None:
        self.name = name
        self.node = node

    @property
    def id(self) -> str:
        return self.node.config.member_id

    async def do(self, name: str, /, **args: Any) -> Any:
        """Run operation ``name`` as this member; its JSON result."""
        return json.loads(ops.to_json(await ops.run(self.node.context, name, args)))

    async def sees(self, name: str, check: Callable[[Any], Any], /, **args: Any) -> Any:
        """Wait until this member's node shows what ``check`` looks for (sync is under way)."""
        deadline = time.monotonic() + SYNC_TIMEOUT_SECONDS
        while True:
            try:
                result = await self.do(name, **args)
                if check(result):
                    return result
            except PodsyncError:
                pass  # e.g. a collection that has not arrived on a new member's node yet
            if time.monotonic() > deadline:
                raise TimeoutError(f"{self.name}'s node never showed the expected {name}")
            await asyncio.sleep(0.05)


async def start_node(home: Home, peers: list[str]) -> Node:
    node = Node(home, NodeOptions(listen="127.0.0.1:0", api="127.0.0.1:0", peers=peers,
                                  discovery=False))
    await node.start()
    return node


async def form_pod(root: Path) -> list[Member]:
    """Ada founds the pod; Bo and Cy each join with an invite code from Ada's node."""
    ada_home = Home(root / "ada")
    initialise(ada_home, "Ada", "Linden Street house")
    ada = Member("Ada", await start_node(ada_home, []))
    members = [ada]
    for name in ("Bo", "Cy"):
        invite = await ada.do("invite.create")
        home = Home(root / name.lower())
        await join_pod(home, invite["code"], name)
        peers = [m.node.listen_addresses[0] for m in members]
        members.append(Member(name, await start_node(home, peers)))
    for member in members:
        await member.sees("members.list", lambda ms: len(ms) == 3)
        await member.sees("need.list", lambda ns: isinstance(ns, list))
    return members


def find(items: list[dict[str, Any]], item_id: str, key: str = "id") -> dict[str, Any] | None:
    return next((i for i in items if i[key] == item_id), None)


async def agreement_within_capacity(ada: Member, bo: Member, cy: Member) -> str:
    print("\n== An agreement within everyone's capacity, revised by all its parties")
    agreement = (await ada.do(
        "agreement.propose", what="Bo cooks on Mondays, Cy on Thursdays",
        parties=[bo.id, cy.id], anchors=[{"kind": "principle", "ref": "we share the care work"}],
        review_on=(dt.date.today() + dt.timedelta(days=60)).isoformat()))["id"]
    print(f"Ada proposes agreement {agreement} with Bo and Cy as parties.")
    await bo.sees("agreement.get", lambda a: a, id=agreement)
    await bo.do("agreement.affirm", id=agreement, note="within my capacity: I am home early")
    await cy.sees("agreement.get", lambda a: a, id=agreement)
    await cy.do("agreement.affirm", id=agreement, note="Thursdays work while my shifts hold")
    await ada.do("agreement.remind", id=agreement)
    await ada.sees("agreement.get", lambda a: a["state"] == "active", id=agreement)
    print("Bo and Cy each affirm it is within their capacity; Ada volunteers as a reminder.")
    await cy.sees("agreement.get", lambda a: a["state"] == "active", id=agreement)
    revised = await cy.do("agreement.revise", id=agreement,
                          what="Bo cooks on Mondays, Cy on Thursdays and Sundays")
    print(f"Cy proposes version {revised['revision']['version']} (the anchor and review date "
          "carry over); version 1 stays in force until both affirm it.")
    await cy.do("agreement.affirm", id=agreement, version=revised["revision"]["version"])
    await bo.sees("agreement.get", lambda a: a["revision"], id=agreement)
    await bo.do("agreement.affirm", id=agreement, version=revised["revision"]["version"],
                note="Sundays too, yes")
    await ada.sees("agreement.get", lambda a: a["version"] == 2, id=agreement)
    return agreement


async def team_by_invitation(bo: Member, cy: Member) -> str:
    print("\n== A team, joined by invitation")
    team = (await bo.do("team.add", name="Garden", members=[bo.id, cy.id]))["id"]
    await cy.sees("team.list", lambda ts: find(ts, team) and cy.id in find(ts, team)["invited"])
    await cy.do("team.accept", team_id=team)
    print("Bo forms the garden team and invites Cy; she accepts.")
    return team


async def advice_process(ada: Member, bo: Member, cy: Member, need: str) -> str:
    print("\n== A decision by advice process")
    deadline = (dt.datetime.now(dt.timezone.utc) + dt.timedelta(days=2)).isoformat()
    decision = (await cy.do("decision.start", title="Get a compost bin",
                            proposal="Buy a 300 l bin for the garden", deadline=deadline,
                            links=[{"kind": "need", "ref": need}]))["id"]
    await cy.do("decision.ask", id=decision, member=ada.id, reason="expertise",
                note="you kept one before")
    await cy.do("decision.ask", id=decision, member=bo.id, reason="affected",
                note="your window faces the garden")
    print("Cy will decide; asks Ada (expertise) and Bo (affected) for advice.")
    await ada.sees("decision.get", lambda d: len(d["asked"]) == 2, id=decision)
    await ada.do("decision.advise", id=decision, stance="support", text="Get one with a lid")
    await bo.sees("decision.get", lambda d: d["asked"], id=decision)
    concern = await bo.do("decision.advise", id=decision, stance="concern",
                          text="Not under my window, please")
    await cy.sees("decision.get", lambda d: len(d["advice"]) == 2, id=decision)
    await cy.do("decision.integrate", id=decision, advice_id=concern["advice_id"],
                integrated=True, why="It goes at the far end, by the shed")
    await cy.do("decision.decide", id=decision, text="We buy a lidded bin; it stands by the shed",
                review_on=(dt.date.today() + dt.timedelta(days=90)).isoformat())
    print("Ada supports; Bo raises a concern; Cy integrates it and decides on their advice.")
    own = (await ada.do("decision.start", title="Paint my room", proposal="Pale green",
                        deadline=deadline))["id"]
    await ada.do("decision.decide", id=own, text="Pale green it is",
                 no_one_affected="It is my own room; nobody else sleeps or works there")
    print("Ada decides on her own room without advice, recording why nobody else is affected.")
    return decision


async def need_attended(ada: Member, bo: Member) -> str:
    print("\n== A need taken on and attended")
    need = (await bo.do("need.add", title="The gutter is blocked",
                        detail="water runs down the back wall"))["id"]
    await ada.sees("need.get", lambda n: n, id=need)
    await ada.do("need.take", id=need, point_of_contact=True)
    await ada.do("need.done", id=need, note="Cleared it on Saturday")
    print("Bo names it; Ada takes it on without asking anyone, and attends it.")
    return need


async def capacity_and_mobilizing(ada: Member, bo: Member, cy: Member) -> tuple[str, str]:
    print("\n== Capacity, and \"are you mobilizing?\" discerned together")
    need = (await cy.do("need.add", title="Plan the street party"))["id"]
    await cy.do("need.take", id=need)
    checked = await cy.do("capacity.set", level="stretched", note="night shifts this week")
    print("Cy checks in stretched; for each thing she holds she is asked: "
          + "; ".join(f"{x['title']}: {x['question']}" for x in checked["review"]))
    await ada.do("capacity.set", level="spacious")
    await bo.do("capacity.set", level="baseline")
    await ada.sees("need.get", lambda n: n["state"] == "held", id=need)
    ask = (await ada.do("mobilizing.ask", member=cy.id, need_id=need,
                        question="With night shifts, are you mobilizing on this?"))["id"]
    await cy.sees("mobilizing.get", lambda a: a, ask_id=ask)
    await cy.do("mobilizing.view", ask_id=ask, purpose="the street meets once a year",
                within="little this week", void="nobody else would start it")
    await ada.do("mobilizing.view", ask_id=ask, around="Bo has evenings free")
    await bo.sees("mobilizing.get", lambda a: a, ask_id=ask)
    await bo.do("mobilizing.view", ask_id=ask, around="I can take the invitations")
    await cy.sees("mobilizing.get", lambda a: len(a["views"]) == 3, ask_id=ask)
    proposed = await cy.do("mobilizing.propose", ask_id=ask, outcome="ask_for_support",
                           note="Bo co-holds it until the shifts end")
    await ada.sees("mobilizing.get", lambda a: a["proposals"], ask_id=ask)
    await ada.do("mobilizing.confirm", ask_id=ask, proposal_id=proposed["proposals"][0]["id"])
    await cy.sees("mobilizing.get", lambda a: a["followed"], ask_id=ask)
    await bo.sees("need.get", lambda n: n["notes"], id=need)
    await bo.do("need.take", id=need)
    print("Cy, Ada and Bo each say their view; Cy proposes to ask for support and Ada confirms;")
    print("Cy's node asks for support on the need, and Bo co-holds it.")
    allies = (await bo.do("allies.propose", member=cy.id, every_days=7,
                          focus="time for reading, outside the pod's needs"))["id"]
    await cy.sees("allies.list", lambda xs: find(xs, allies))
    await cy.do("allies.accept", id=allies)
    print("Bo and Cy become allies, checking in weekly; it falls due in both their inboxes.")
    return need, ask


async def steward_by_consent(ada: Member, bo: Member, cy: Member) -> None:
    print("\n== Bo becomes Ada's steward, by consent")
    nomination = (await cy.do("steward.propose", leader=ada.id, steward=bo.id,
                              note="Bo listens well"))["id"]
    await bo.sees("steward.list", lambda ns: find(ns, nomination))
    await bo.do("steward.affirm", id=nomination, note="within my capacity this year")
    await ada.sees("steward.list", lambda ns: (find(ns, nomination) or {}).get("affirmed_at"))
    await ada.do("steward.consent", id=nomination)
    await cy.sees("feedback.stewards", lambda s: s == [bo.id], leader=ada.id)
    print("Cy proposes Bo; Bo affirms it is within his capacity; Ada consents.")


async def feedback_to_the_leader(ada: Member, bo: Member, cy: Member) -> tuple[str, str, str]:
    print("\n== Feedback for Ada, heard first by her steward")
    thread = (await cy.do("feedback.give", leader=ada.id,
                          text="Ada pays the bills and then tells us what we owe; "
                               "it feels like being handed invoices"))["thread_id"]
    print(f"Cy opens a private thread with Bo (Ada's steward): {thread}")
    await bo.sees("feedback.thread", lambda t: t, thread_id=thread)
    await bo.do("feedback.reply", thread_id=thread, text="Is it the amounts, or not being asked?")
    await cy.sees("feedback.thread", lambda t: len(t["messages"]) == 2, thread_id=thread)
    await cy.do("feedback.reply", thread_id=thread, text="Not being asked before she commits")
    await bo.sees("feedback.thread", lambda t: len(t["messages"]) == 3, thread_id=thread)
    await bo.do("feedback.clarify", thread_id=thread,
                happened="Twice this month the bills were paid before the house heard of them",
                feeling="uneasy", need="to have a say in shared money",
                request="Would you post big bills to the house before paying?")
    proposal = (await bo.do(
        "feedback.propose_route", thread_id=thread, route="leader",
        statement="Before committing shared money, please check with the household first.",
        parts={"happened": "Twice this month the bills were paid before the house heard of them",
               "feeling": "uneasy", "need": "to have a say in shared money",
               "request": "Would you post big bills to the house before paying?"}
    ))["proposal_id"]
    await cy.sees("feedback.thread", lambda t: t["proposals"], thread_id=thread)
    await cy.do("feedback.consent", thread_id=thread, proposal_id=proposal, consent=True,
                note="yes, that is it")
    await bo.sees("feedback.thread", lambda t: t["proposals"][0]["consent"], thread_id=thread)
    routed = await bo.do("feedback.route", thread_id=thread, proposal_id=proposal)
    statement = routed["target_doc"]
    await ada.sees("feedback.received", lambda ss: find(ss, statement, "statement_id"))
    responded = await ada.do(
        "feedback.respond", statement_id=statement,
        text="Fair. From now on I'll post big bills to the pod before paying.",
        agreement={"what": "Ada posts bills over 100 to the pod before paying them",
                   "review_on": (dt.date.today() + dt.timedelta(days=90)).isoformat()})
    agreement = responded["responses"][0]["agreement"]
    await bo.sees("agreement.get", lambda a: a, id=agreement)
    await bo.do("agreement.remind", id=agreement)
    print("Bo and Cy clarify it in four parts; Bo proposes a statement to Ada; Cy consents,")
    print("keeping her name out of it; Bo routes it. Ada's response becomes an agreement of hers,")
    print("and Bo volunteers to remind her.")
    if ada.node.store.has(thread):
        raise AssertionError("Ada's node holds the private thread")
    return thread, statement, agreement


def show(member: Member, names: dict[str, str], views: dict[str, Any]) -> None:
    def who(ids: list[str]) -> str:
        return ", ".join(names.get(i, i) for i in ids) or "nobody"

    print(f"\n---- What {member.name} sees ----")
    print("Needs:")
    for n in views["needs"]:
        print(f"  [{n['state']}] {n['title']} (held by {who([h['member'] for h in n['holders']])})")
    print("Agreements:")
    for a in views["agreements"]:
        parties = "; ".join(f"{names[p['member']]}: "
                            + ("within my capacity" if p["affirmed"] else "not yet affirmed")
                            for p in a["parties"])
        print(f"  [{a['state']}] {a['what']} (v{a['version']}) — {parties}; "
              f"reminders: {who(a['reminders'])}")
    print("Decisions:")
    for d in views["decisions"]:
        advice = "; ".join(f"{names[x['by']]} {x['stance']}" for x in d["advice"])
        basis = d["basis"] or {}
        why = ("after advice" if basis.get("kind") == "advice" else
               f"nobody else affected: {basis.get('reason')}" if basis else "")
        print(f"  [{d['state']}] {d['title']} by {names[d['decider']]} (advice: {advice or 'none'})"
              f" → {d['decision']} ({why})")
    print("Capacity and load:")
    for c in views["capacity"]:
        level = c["current"]["level"] if c["current"] else "not checked in"
        print(f"  {c['name']}: {level}; needs held: {len(c['load']['needs'])}, "
              f"agreements: {len(c['load']['agreements'])}")
    print("Are you mobilizing?:")
    for x in views["asks"]:
        outcome = x["outcome"]
        print(f"  {names[x['asker']]} asked {names[x['member']]} ({len(x['views'])} views): "
              + (f"{outcome['outcome']}, confirmed by {who(outcome['confirmed_by'])}"
                 if outcome else "still discerning"))
    print("Allies:")
    for x in views["allies"]:
        print(f"  {who(x['allies'])}, every {x['every_days']} days: {x['focus']} [{x['state']}]")
    print("Stewards:")
    for n in views["stewards"]:
        print(f"  {names[n['steward']]} for {names[n['leader']]} [{n['state']}]")
    routed = [f"{r['route']}: {r['count']}" for r in views["summary"]["routes"] if r["count"]]
    print(f"Where feedback ended up: {', '.join(routed) or 'nothing routed yet'}")
    print("Feedback threads I take part in:")
    for t in views["threads"]:
        print(f"  from {names[t['giver']]} for {names[t['leader']]}: {t['state']}, "
              f"{len(t['messages'])} messages")
    if not views["threads"]:
        print("  none")
    print("Feedback statements delivered to me:")
    for s in views["received"]:
        responses = " / ".join(r["text"] for r in s["responses"])
        print(f"  \"{s['statement']}\" — my response: {responses}")
    if not views["received"]:
        print("  none")


async def main() -> int:
    with tempfile.TemporaryDirectory(prefix="podsync-household-") as tmp:
        members = await form_pod(Path(tmp))
        ada, bo, cy = members
        try:
            print(f"Pod formed: {', '.join(m.name for m in members)}, each on their own node.")
            agreement = await agreement_within_capacity(ada, bo, cy)
            team = await team_by_invitation(bo, cy)
            need = await need_attended(ada, bo)
            decision = await advice_process(ada, bo, cy, need)
            party, ask = await capacity_and_mobilizing(ada, bo, cy)
            await steward_by_consent(ada, bo, cy)
            thread, statement, response = await feedback_to_the_leader(ada, bo, cy)
            names = {m.id: m.name for m in members}
            for member in members:
                # Everyone's node converges on the same shared records.
                await member.sees("agreement.get", lambda a: a["version"] == 2, id=agreement)
                await member.sees("team.list", lambda ts: len(find(ts, team)["members"]) == 2)
                await member.sees("decision.get", lambda d: d["state"] == "decided", id=decision)
                await member.sees("need.get", lambda n: n["state"] == "attended", id=need)
                await member.sees("need.get", lambda n: len(n["holders"]) == 2, id=party)
                await member.sees("capacity.list", lambda cs: all(c["current"] for c in cs))
                await member.sees("mobilizing.get", lambda a: a["followed"], ask_id=ask)
                await member.sees("allies.list", lambda xs: xs and xs[0]["state"] == "active")
                await member.sees("feedback.summary", lambda s: s["total"] == 1)
                await member.sees("agreement.get", lambda a: a["reminders"] == [bo.id],
                                  id=response)
                views = {"needs": await member.do("need.list"),
                         "agreements": await member.do("agreement.list"),
                         "decisions": await member.do("decision.list"),
                         "capacity": await member.do("capacity.list"),
                         "asks": await member.do("mobilizing.list"),
                         "allies": await member.do("allies.list"),
                         "stewards": await member.do("steward.list"),
                         "summary": await member.do("feedback.summary"),
                         "threads": await member.do("feedback.threads"),
                         "received": await member.do("feedback.received")}
                show(member, names, views)
            await bo.sees("feedback.statement", lambda s: s["responses"], statement_id=statement)
            print(f"\nThe thread {thread} stayed on Bo's and Cy's nodes; Ada received only the "
                  "statement they agreed on, without Cy's name, and answered it.")
        finally:
            for member in members:
                await member.node.stop()
    return 0


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
