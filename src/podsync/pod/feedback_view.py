"""Reading a feedback thread: what its counted records say, and what an open thread
waits for from a member.
"""

from __future__ import annotations

import msgspec

from podsync.pod import common as v
from podsync.pod.common import Note, Waiting
from podsync.pod.events import Candidate, Event, Item, chronological, replay
from podsync.pod.feedback_bodies import Parts, shown_parts
from podsync.pod.feedback_documents import people
from podsync.pod.feedback_replay import (
    LIFECYCLE, Routed, Withdrawn, initial, participants_only, state_name,
)


class Clarification(msgspec.Struct, frozen=True):
    """One draft of the statement, by the giver or a steward."""

    id: str
    at: str
    by: str
    parts: Parts


class Proposal(msgspec.Struct, frozen=True):
    id: str
    by: str
    at: str
    route: str
    title: str
    statement: str
    team: str | None
    public: bool
    parts: Parts | None
    #: The giver's word: True consent (a giver's own proposal is consented), False
    #: declined, None not yet.
    consent: bool | None
    consent_note: str
    #: A steward's word on a giver's proposal (a steward's own proposal: True).
    agreed: bool | None
    agreed_by: str | None
    #: Whether the giver's name travels with it (the giver's choice; by default not).
    named: bool


class Thread(msgspec.Struct, frozen=True):
    giver: str
    leader: str
    stewards: list[str]
    created_at: str
    state: str
    messages: list[Note]
    clarifications: list[Clarification]
    proposals: list[Proposal]
    routed: Routed | None
    withdrawn: Withdrawn | None
    needs_reconciliation: bool
    candidates: list[Candidate]
    history: list[Event]


def thread(item: Item) -> Thread:
    """The thread as its counted records make it; total, whatever their bodies hold."""
    giver, leader, stewards = people(item)
    visible = participants_only(item)
    r = replay(visible.events, LIFECYCLE, initial(visible))
    s = r.state
    first = Note(id=item.id, at=item.created_at, by=giver, text=v.shown(item.fields.get("text")))
    events = chronological(visible.events)
    messages = [first] + [Note(id=e.id, at=e.at, by=e.by, text=v.shown(e.args.get("text")))
                          for e in events if e.op == "message"]
    clarifications = []
    for e in events:
        parts = shown_parts(e.args) if e.op == "clarify" else None
        if parts is not None:
            clarifications.append(Clarification(e.id, e.at, e.by, parts))
    proposals = []
    for p in s.proposals.values():
        answer = s.answers.get(p.id)
        by_giver = p.by == s.giver
        a = p.args
        proposals.append(Proposal(
            id=p.id, by=p.by, at=p.at, route=a["route"], title=a["title"],
            statement=a["statement"], team=a["team"], public=a["public"],
            parts=Parts(**a["parts"]) if a["parts"] else None,
            consent=True if by_giver else (answer[0] if answer else None),
            consent_note="" if by_giver or not answer else answer[1],
            agreed=(answer[0] if answer else None) if by_giver else True,
            agreed_by=(answer[2] if answer else None) if by_giver else p.by,
            named=s.named(p.id)))
    return Thread(
        giver=giver, leader=leader, stewards=stewards, created_at=item.created_at,
        state=state_name(s), messages=messages, clarifications=clarifications, proposals=proposals,
        routed=s.routed, withdrawn=s.withdrawn, needs_reconciliation=r.needs_reconciliation,
        candidates=r.candidates, history=events)


def waiting_on(thread_id: str, t: Thread, member: str) -> list[Waiting]:
    """What an open thread waits for from ``member``: as a steward, a giver's last
    message or proposal unanswered, or an agreed proposal not yet routed; as the
    giver, a steward's proposal waiting for their consent."""
    if t.state != "open" or t.needs_reconciliation:
        return []
    title = "feedback"
    out = []
    if member in t.stewards:
        unanswered = [p for p in t.proposals if p.by == t.giver and p.agreed is None]
        agreed = [p for p in t.proposals if p.consent is True and p.agreed is True]
        if agreed:
            out.append(Waiting("thread", thread_id, "route", agreed[-1].title or title,
                               "the giver and a steward agree where it goes: route it",
                               agreed[-1].at))
        elif unanswered:
            out.append(Waiting("thread", thread_id, "answer", unanswered[-1].title or title,
                               "the giver proposes where it goes: agree, or say why not",
                               unanswered[-1].at))
        elif t.messages and t.messages[-1].by == t.giver:
            out.append(Waiting("thread", thread_id, "reply", title,
                               "feedback is waiting for a steward: reply, or clarify it "
                               "together", t.messages[-1].at))
    if member == t.giver:
        for p in t.proposals:
            if p.by != t.giver and p.consent is None:
                out.append(Waiting("thread", thread_id, "consent", p.title or title,
                                   "a steward proposes where your feedback goes: consent, "
                                   "or say why not", p.at))
    return out
