"""A pod with years of activity, built fast, for the scale benchmarks.

:func:`build` makes a real home (``podsync init``), admits members with real
device keys through real signed invite and admission records, then simulates
the pod's practice over ``years``: needs named, held and attended, agreements
proposed, affirmed, renewed and retired, decisions opened with asked and given
advice and decided, feedback threads between givers and stewards, team items,
check-ins and "are you mobilizing?" asks. Every record is made by the pod's own
operations (:mod:`podsync.pod`) from the item as it stood, signed with the
acting member's device key (with its ``prev`` chain, as a node signs), and put
into the documents one change per record, as nodes write them. The documents go
straight into the home's store rather than through thousands of API calls;
then the home is opened once as a command working on the store would, so its
ledger reads and verifies every record and keeps them in the store's records
table, as a node that wrote them would have.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import heapq
import random
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import automerge.core as am

from podsync.api.context import offline_context
from podsync.cli.init import initialise
from podsync.config import load_config
from podsync.errors import PodsyncError
from podsync.home import Home
from podsync.pod import (
    agreements, capacity, decisions, discernment, feedback, needs, statements, stewards, teams,
)
from podsync.pod.events import Event, Item
from podsync.records.book import RECORDS_KEY
from podsync.records.format import Draft, Record, build_payload, derived_id
from podsync.records.verify import Signer
from podsync.store import DocumentStore
from podsync.trust import membership
from podsync.trust.identity import device_id_from_cert_der, new_device_key
from podsync.trust.invite import create_invite, join_proof, parse_invite
from podsync.trust.ledger import CREATE, new_document, parse_own

DAY = dt.timedelta(days=1)
NAMES = ("Ada", "Bo", "Cy", "Dee", "Eli", "Fay", "Gus", "Hal", "Ivy", "Jo", "Kit", "Lu")


@dataclass(frozen=True)
class Scale:
    needs: int = 10_000
    agreements: int = 1_000
    decisions: int = 2_000
    threads: int = 500
    team_items: int = 300
    asks: int = 200
    years: float = 3.0
    #: Statements delivered to a leader and made public: each a document every
    #: member reads (how a node comes to hold many thousands of documents).
    statements: int = 0

    def scaled(self, factor: float) -> Scale:
        return Scale(int(self.needs * factor), int(self.agreements * factor),
                     int(self.decisions * factor), int(self.threads * factor),
                     int(self.team_items * factor), int(self.asks * factor), self.years,
                     int(self.statements * factor))


@dataclass
class Built:
    home: Home
    pod_id: str
    member_ids: dict[str, str]  # name -> member id
    collections: dict[str, str]  # kind -> document id
    threads: list[str]
    records: int
    #: Items the benchmark acts on as Ada, by purpose.
    targets: dict[str, list[str]] = field(default_factory=dict)
    #: Steps of the simulation the practices refused (and that were not written).
    refused: int = 0


class _Member:
    def __init__(self, name: str, member_id: str, signer: Signer) -> None:
        self.name = name
        self.id = member_id
        self.signer = signer


class _World:
    """Items as the pod's records make them, and the records to write, per document."""

    def __init__(self, pod_id: str, members: list[_Member]) -> None:
        self.pod_id = pod_id
        self.members = members
        self.by_id = {m.id: m for m in members}
        self.items: dict[str, Item] = {}
        self.writes: dict[str, list[Record]] = defaultdict(list)
        self.prev: dict[tuple[str, str], str] = {}
        self.refused = 0

    def sign(self, doc_id: str, draft: Draft, member: _Member, when: dt.datetime,
             *, scope: str | None = None) -> Record:
        scope = doc_id if scope is None else scope
        key = (member.signer.device_id, doc_id)
        payload = build_payload(draft, pod=self.pod_id, scope=scope, by=member.signer.device_id,
                                at=when, prev=self.prev.get(key) if scope else None)
        record = parse_own(payload, member.signer.sign(payload))
        if scope:
            self.prev[key] = record.id
        self.writes[doc_id].append(record)
        return record

    def create(self, doc_id: str, draft: Draft, member: _Member, when: dt.datetime) -> str:
        record = self.sign(doc_id, draft, member, when)
        self.items[record.id] = Item(record.id, member.id, record.at, dict(record.body), [])
        return record.id

    def act(self, doc_id: str, item_id: str, member: _Member, when: dt.datetime,
            decide: Callable[[Item], Draft]) -> Record | None:
        """Record what ``decide(item)`` says, if the practice allows it now."""
        item = self.items[item_id]
        try:
            draft = decide(item)
        except PodsyncError:
            self.refused += 1
            return None
        record = self.sign(doc_id, draft, member, when)
        item.events.append(Event(record.id, record.at, member.id, record.type,
                                 list(record.after), dict(record.body)))
        item.events.sort(key=lambda e: (e.at, e.id))
        return record


def _text(rng: random.Random, words: int) -> str:
    vocab = ("garden", "kitchen", "rota", "bins", "roof", "heating", "bikes", "shared", "fund",
             "meeting", "childcare", "repair", "paint", "compost", "laundry", "guests", "van",
             "bees", "solar", "shopping", "cleaning", "quiet", "hours", "budget", "tools")
    return " ".join(rng.choice(vocab) for _ in range(words)).capitalize()


def _moments(rng: random.Random, start: dt.datetime, end: dt.datetime, n: int) -> list[dt.datetime]:
    span = (end - start).total_seconds()
    return sorted(start + dt.timedelta(seconds=rng.random() * span) for _ in range(n))


class _Plan:
    """Events at times; run in time order so every operation sees the item as it stood
    (an event may schedule later ones)."""

    def __init__(self, now: dt.datetime) -> None:
        self.now = now
        self.events: list[tuple[dt.datetime, int, Callable[[dt.datetime], None]]] = []
        self.count = 0

    def at(self, when: dt.datetime, fn: Callable[[dt.datetime], None]) -> None:
        if when < self.now:
            self.count += 1
            heapq.heappush(self.events, (when, self.count, fn))

    def run(self) -> None:
        while self.events:
            when, _, fn = heapq.heappop(self.events)
            fn(when)


def _simulate(world: _World, scale: Scale, collections: dict[str, str], now: dt.datetime,
              rng: random.Random, teams_ids: list[str], leaders: dict[str, list[str]],
              targets: int) -> dict[str, list[str]]:
    members = world.members
    others = members[1:]
    start = now - dt.timedelta(days=365 * scale.years)
    plan = _Plan(now)
    need_doc, agr_doc = collections[needs.KIND], collections[agreements.KIND]
    dec_doc, cap_doc = collections[decisions.KIND], collections[capacity.KIND]
    team_doc = collections[teams.ITEMS_KIND]
    need_ids: list[str] = []

    def pick(exclude: tuple[_Member, ...] = ()) -> _Member:
        while True:
            m = rng.choice(members)
            if m not in exclude:
                return m

    def days(lo: float, hi: float) -> dt.timedelta:
        return dt.timedelta(days=rng.uniform(lo, hi))

    # -- needs: most are taken on and attended; some let be; recent ones still open
    def need_life(t0: dt.datetime) -> None:
        namer = pick()
        nid = world.create(need_doc, needs.add_need(_text(rng, 5), _text(rng, 12)), namer, t0)
        need_ids.append(nid)
        if rng.random() < 0.85:
            holder = pick()
            t1 = t0 + days(0.1, 10)
            plan.at(t1, lambda w: world.act(need_doc, nid, holder, w,
                                            lambda it: needs.hold_need(it, holder.id)))
            if rng.random() < 0.3:
                co = pick((holder,))
                plan.at(t1 + days(0, 5), lambda w: world.act(
                    need_doc, nid, co, w, lambda it: needs.hold_need(it, co.id)))
            if rng.random() < 0.3:
                plan.at(t1 + days(0, 10), lambda w: world.act(
                    need_doc, nid, holder, w, lambda it: needs.note_need(it, holder.id, _text(rng, 8))))
            if rng.random() < 0.9:
                plan.at(t1 + days(1, 40), lambda w: world.act(
                    need_doc, nid, holder, w, lambda it: needs.attend_need(it, holder.id, _text(rng, 6))))
            elif rng.random() < 0.7:
                # Let go of in time, and most of those then left as voids on purpose.
                t2 = t1 + days(10, 60)
                plan.at(t2, lambda w: world.act(
                    need_doc, nid, holder, w, lambda it: needs.release_need(it, holder.id, "")))
                if rng.random() < 0.7:
                    plan.at(t2 + days(1, 20), lambda w: world.act(
                        need_doc, nid, namer, w, lambda it: needs.let_need_be(it, namer.id, _text(rng, 6))))
        elif rng.random() < 0.8:
            plan.at(t0 + days(3, 30), lambda w: world.act(
                need_doc, nid, namer, w, lambda it: needs.let_need_be(it, namer.id, _text(rng, 6))))

    for t0 in _moments(rng, start, now, scale.needs):
        plan.at(t0, need_life)

    # -- agreements: affirmed by every party, some renewed, most retired in time
    def agreement_life(t0: dt.datetime) -> None:
        proposer = pick()
        parties = [proposer] + rng.sample([m for m in members if m is not proposer], rng.randint(1, 2))
        review = (t0 + days(150, 200)).date() if rng.random() < 0.5 else None
        try:
            draft = agreements.propose_agreement(t0, _text(rng, 10), [p.id for p in parties],
                                                 review_on=review)
        except PodsyncError:
            return
        aid = world.create(agr_doc, draft, proposer, t0)
        for p in parties:
            plan.at(t0 + days(0.1, 7), lambda w, p=p: world.act(
                agr_doc, aid, p, w, lambda it: agreements.affirm_agreement(it, p.id, "within capacity")))
        if rng.random() < 0.2:
            reminder = pick()
            plan.at(t0 + days(8, 20), lambda w: world.act(
                agr_doc, aid, reminder, w, lambda it: agreements.volunteer_reminder(it, reminder.id)))
        if review is not None and rng.random() < 0.4:
            when = dt.datetime.combine(review, dt.time(10), dt.timezone.utc)
            plan.at(when, lambda w: world.act(agr_doc, aid, proposer, w,
                                              lambda it: agreements.renew_agreement(
                                                  it, proposer.id, w, (w + days(180, 200)).date())))
        if rng.random() < 0.8:
            plan.at(t0 + days(60, 600), lambda w: world.act(
                agr_doc, aid, proposer, w, lambda it: agreements.retire_agreement(it, proposer.id, "done")))

    for t0 in _moments(rng, start, now, scale.agreements):
        plan.at(t0, agreement_life)

    # -- decisions: asked, advised, concerns integrated, decided after the deadline
    def decision_life(t0: dt.datetime) -> None:
        decider = pick()
        draft = decisions.open_decision(t0, _text(rng, 5), _text(rng, 20), t0 + dt.timedelta(days=14))
        did = world.create(dec_doc, draft, decider, t0)
        asked = rng.sample([m for m in members if m is not decider], 2)
        for m in asked:
            plan.at(t0 + days(0.01, 0.2), lambda w, m=m: world.act(
                dec_doc, did, decider, w, lambda it: decisions.ask_advice(
                    it, decider.id, m.id, rng.choice(decisions.ASK_REASONS))))
        advisors = asked + rng.sample([m for m in members if m is not decider and m not in asked],
                                      rng.randint(0, 2))
        for m in advisors:
            stance = rng.choices(decisions.STANCES, (60, 25, 5, 10))[0]

            def advise(w: dt.datetime, m: _Member = m, stance: str = stance) -> None:
                record = world.act(dec_doc, did, m, w, lambda it: decisions.give_advice(
                    it, m.id, stance, _text(rng, 12)))
                if record is not None and stance in decisions.NEEDS_INTEGRATION:
                    plan.at(t0 + days(12, 13.9), lambda w2: world.act(
                        dec_doc, did, decider, w2, lambda it: decisions.integrate_advice(
                            it, decider.id, record.id, rng.random() < 0.6, _text(rng, 8))))

            plan.at(t0 + days(0.5, 11), advise)
        review = rng.random() < 0.3
        plan.at(t0 + days(14.1, 20), lambda w: world.act(
            dec_doc, did, decider, w, lambda it: decisions.decide(
                it, decider.id, w, _text(rng, 15), (w + days(300, 400)).date() if review else None)))

    for t0 in _moments(rng, start, now, scale.decisions):
        plan.at(t0, decision_life)

    # -- team items, check-ins, mobilizing asks
    def team_item_life(t0: dt.datetime) -> None:
        by = pick()
        iid = world.create(team_doc, teams.add_team_item(rng.choice(teams_ids), _text(rng, 5),
                                                         _text(rng, 10)), by, t0)
        if rng.random() < 0.85:
            plan.at(t0 + days(1, 30), lambda w: world.act(
                team_doc, iid, by, w, lambda it: teams.address_team_item(it, by.id, _text(rng, 6))))

    for t0 in _moments(rng, start, now, scale.team_items):
        plan.at(t0, team_item_life)
    for m in members:
        for t0 in _moments(rng, start, now, int(12 * scale.years)):
            plan.at(t0, lambda w, m=m: world.create(cap_doc, capacity.check_in(
                rng.choice(capacity.LEVELS), _text(rng, 4)), m, w))

    def ask_life(t0: dt.datetime) -> None:
        if not need_ids:
            return
        asker = pick()
        member = pick((asker,))
        aid = world.create(cap_doc, discernment.ask_mobilizing(asker.id, member.id, "pattern",
                                                               question=_text(rng, 8)), asker, t0)
        plan.at(t0 + days(0.5, 5), lambda w: world.act(
            cap_doc, aid, member, w, lambda it: discernment.add_view(
                it, member.id, purpose=_text(rng, 8), within=_text(rng, 6))))

    for t0 in _moments(rng, start, now, scale.asks):
        plan.at(t0, ask_life)

    # -- feedback threads: private documents between a giver and a leader's stewards
    threads: list[str] = []
    leader_ids = list(leaders)

    def thread_life(t0: dt.datetime) -> None:
        leader = rng.choice(leader_ids)
        named = leaders[leader]
        giver = rng.choice([m for m in others if m.id != leader and m.id not in named])
        opening = feedback.give_feedback(giver.id, leader, named, _text(rng, 25))
        creation = world.sign("", opening.draft(), giver, t0, scope="")
        doc_id = derived_id("doc", creation.payload)
        world.writes.pop("")
        world.writes[doc_id].append(creation)
        world.items[doc_id] = Item(creation.id, giver.id, creation.at, dict(creation.body), [])
        threads.append(doc_id)
        steward = world.by_id[rng.choice(named)]
        for k in range(rng.randint(1, 4)):
            who = giver if k % 2 == 0 else steward
            plan.at(t0 + days(k, k + 1), lambda w, who=who: world.act(
                doc_id, doc_id, who, w, lambda it: feedback.reply(it, who.id, _text(rng, 15))))
        if rng.random() < 0.7:
            def route(w: dt.datetime) -> None:
                proposal = world.act(doc_id, doc_id, steward, w, lambda it: feedback.propose_route(
                    it, steward.id, "dissolved"))
                if proposal is None:
                    return
                plan.at(w + days(0.5, 2), lambda w2: world.act(
                    doc_id, doc_id, giver, w2, lambda it: feedback.answer_route(
                        it, giver.id, proposal.id, True)))
                plan.at(w + days(2.5, 4), lambda w3: world.act(
                    doc_id, doc_id, steward, w3, lambda it: feedback.record_route(
                        it, steward.id, proposal.id)))
            plan.at(t0 + days(5, 10), route)

    for t0 in _moments(rng, start, now, scale.threads):
        plan.at(t0, thread_life)

    def statement_life(t0: dt.datetime) -> None:
        leader = rng.choice(leader_ids)
        steward = world.by_id[rng.choice(leaders[leader])]
        giver = rng.choice([m for m in others if m.id != leader and m is not steward])
        draft = feedback.creation_draft(feedback.STATEMENT_KIND, "pod", {
            "leader": leader, "giver": giver.id, "stewards": leaders[leader],
            "statement": _text(rng, 20), "origin": f"{rng.getrandbits(128):032x}"})
        creation = world.sign("", draft, steward, t0, scope="")
        doc_id = derived_id("doc", creation.payload)
        world.writes.pop("")
        world.writes[doc_id].append(creation)
        world.items[doc_id] = Item(creation.id, steward.id, creation.at, dict(creation.body), [])
        for k in range(rng.randint(0, 2)):
            plan.at(t0 + days(k + 1, k + 3), lambda w: world.act(
                doc_id, doc_id, world.by_id[leader], w,
                lambda it: statements.respond_to_statement(it, leader, _text(rng, 10))))

    for t0 in _moments(rng, start, now, scale.statements):
        plan.at(t0, statement_life)

    plan.run()
    # Recent items by others that Ada is asked to act on (affirm as a party, advise).
    ada = members[0]
    affirm, advise = [], []
    for t0 in _moments(rng, now - dt.timedelta(days=2), now - dt.timedelta(hours=1), targets):
        proposer = pick((ada,))
        affirm.append(world.create(agr_doc, agreements.propose_agreement(
            t0, _text(rng, 10), [proposer.id, ada.id]), proposer, t0))
        decider = pick((ada,))
        advise.append(world.create(dec_doc, decisions.open_decision(
            t0, _text(rng, 5), _text(rng, 20), now + dt.timedelta(days=10)), decider, t0))
    return {"needs": need_ids, "threads": threads, "affirm": affirm, "advise": advise}


def _write_documents(store: DocumentStore, world: _World, kinds: dict[str, str]) -> int:
    """Put every record into its document, one change per record, as nodes do."""
    written = 0
    for doc_id, records in world.writes.items():
        if not records:
            continue
        records.sort(key=lambda r: r.at)
        kind = kinds.get(doc_id) or str(records[0].body.get("kind"))
        if doc_id in kinds:
            doc = store.load(doc_id)
        else:
            creation = records.pop(0)
            doc = new_document([creation])
            store.create_document(doc_id, kind, doc)
            written += 1
        before = doc.get_heads()
        obj = doc.get(am.ROOT, RECORDS_KEY)[1]
        for record in records:
            with doc.transaction() as tx:
                tx.put(obj, record.id, am.ScalarType.Bytes, record.sealed)
        if not records:
            continue
        store.append_changes(doc_id, [c.bytes for c in doc.get_changes(before)], doc.get_heads(),
                             kind)
        store.compact(doc_id)
        written += len(records)
    return written


async def _admit_members(home: Home, names: tuple[str, ...], start: dt.datetime) -> tuple[
        list[_Member], dict[str, list[str]], list[str]]:
    """Admit each member's device with a real invite and proof, name stewards and
    form teams, as Ada's node would record them."""
    config = load_config(home)
    members: list[_Member] = []
    async with offline_context(home) as ctx:
        from podsync.trust.identity import load_signing_key  # noqa: PLC0415
        members.append(_Member("Ada", config.member_id,
                               Signer(load_signing_key(home), ctx.identity.device_id)))
        for i, name in enumerate(names[1:]):
            key, cert = new_device_key()
            when = start + dt.timedelta(minutes=i)
            code, invite = create_invite(config.pod_id, config.member_id, ctx.identity.cert_der,
                                         ["127.0.0.1:7850"], dt.timedelta(days=1), when)
            await membership.add_invite(ctx.ledger, invite, config.member_id)
            from podsync import ids  # noqa: PLC0415
            member_id = ids.new_document_id()
            await membership.admit(ctx.ledger, pod_id=config.pod_id, invite_id=invite.invite_id,
                                   proof=join_proof(parse_invite(code, now=when), cert),
                                   cert_der=cert, member_id=member_id, name=name,
                                   by_member=config.member_id, now=when)
            members.append(_Member(name, member_id, Signer(key, device_id_from_cert_der(cert))))
        by_name = {m.name: m.id for m in members}
        leaders = {by_name["Bo"]: [by_name["Cy"], by_name["Dee"]],
                   by_name["Eli"]: [by_name["Fay"], by_name["Ada"]]}
        by_id = {m.id: m for m in members}
        when = start + dt.timedelta(hours=1)

        async def as_member(member: _Member, draft: Draft) -> Record:
            """``draft`` for the pod document, signed by ``member``'s own device."""
            draft = Draft(draft.type, draft.body, draft.item, tuple(ctx.ledger.replay.heads))
            payload = build_payload(draft, pod=ctx.pod_id, scope=ctx.pod_id,
                                    by=member.signer.device_id, at=when, prev=None)
            record = parse_own(payload, member.signer.sign(payload))
            await ctx.ledger.store_records(ctx.pod_id, [record])
            return record

        # A steward is proposed by someone else, affirmed by the steward and
        # consented to by the leader, each with their own device.
        for leader, named in leaders.items():
            for steward in named:
                proposer = next(m for m in members if m.id not in (leader, steward))
                nomination = (await as_member(proposer, stewards.propose_steward(
                    ctx.ledger.pod_records(), proposer.id, leader, steward))).id
                await as_member(by_id[steward], stewards.affirm_role(
                    ctx.ledger.pod_records(), nomination, steward))
                await as_member(by_id[leader], stewards.consent_to_steward(
                    ctx.ledger.pod_records(), nomination, leader))
                assert steward in stewards.stewards_of(ctx.ledger.pod_records(), leader)
        # Teams of four: Ada forms each, the three she invites accept.
        team_ids = []
        for team_name in ("Kitchen", "Garden", "House"):
            record = await ctx.ledger.append(ctx.pod_id, teams.create_team(
                ctx.ledger.pod_records(), config.member_id, team_name,
                [m.id for m in members[:4]]), when)
            team_ids.append(record.id)
            for member in members[1:4]:
                await as_member(member, teams.accept_team(ctx.ledger.pod_records(), record.id, member.id))
            team = teams.team(ctx.ledger.pod_records(), record.id)
            assert set(team.members) == {m.id for m in members[:4]}, team
    return members, leaders, team_ids


def build(root: Path, scale: Scale, *, seed: int = 1, now: dt.datetime | None = None,
          targets: int = 0) -> Built:
    """Ada's home under ``root``, holding a pod of ``scale`` activity up to ``now``,
    plus ``targets`` recent agreements naming Ada as a party and decisions by others
    asking for advice (:attr:`Built.targets` ``affirm`` and ``advise``)."""
    now = now or dt.datetime.now(dt.timezone.utc)
    rng = random.Random(seed)
    home = Home(root / "ada")
    initialise(home, "Ada", "Three years")
    start = now - dt.timedelta(days=365 * scale.years + 2)
    members, leaders, team_ids = asyncio.run(_admit_members(home, NAMES, start))
    config = load_config(home)
    with DocumentStore(home.db_path) as store:
        kinds = {info.doc_id: info.kind for info in store.list_documents()}
    collections = {kind: doc_id for doc_id, kind in kinds.items() if kind != "pod"}
    world = _World(config.pod_id, members)
    made = _simulate(world, scale, collections, now, rng, team_ids, leaders, targets)
    with DocumentStore(home.db_path) as store:
        written = _write_documents(store, world, kinds)
    asyncio.run(_read_everything(home))
    return Built(home, config.pod_id, {m.name: m.id for m in members}, collections,
                 made["threads"], written, {"affirm": made["affirm"], "advise": made["advise"]},
                 world.refused)


async def _read_everything(home: Home) -> None:
    """Open the home once, so its ledger verifies every record and keeps them in
    the store's records table, as the node that held them would have."""
    async with offline_context(home) as ctx:
        for info in ctx.repo.store.list_documents():
            ctx.ledger.document_changed(info.doc_id)
        await ctx.repo.flush()


__all__ = ["Built", "CREATE", "Scale", "build"]
