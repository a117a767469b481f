"""Decisions by advice process: the decider asks, listens, integrates, decides.

Document kind ``decisions``. A decision is created by an ``open`` record whose
body holds ``title``, ``proposal``, ``deadline`` (ISO time) and ``links`` (the
needs and agreements it touches); its signer is the decider, its time when it
was opened.

Events that change no state, read in time order:

- ``ask`` (the decider: a member and why — affected / expertise), ``unask``
  (the decider withdraws an ask, with a note), ``decline`` (a member asked
  declines to advise, with a note: they are no longer waited for);
- ``advise`` (any member but the decider: a stance — support / concern /
  discourage / no advice — and text), ``integrate`` (the decider records, per
  piece of advice, whether it was integrated and why);
- ``deadline`` (the decider moves the deadline, with a note), ``link`` (the
  decider links a need or an agreement), ``note``.

State events: ``decide`` (decision text, optional review date, and its basis:
the advice of asked members it follows, or a recorded reason why nobody else is
affected), ``withdraw`` (the decider withdraws the decision, with a note),
``review`` (the decider reviews a decision made: ``outcome`` keep / revise /
retire, a ``note``, and for keep or revise an optional ``review_on``, the next
review date), ``settle``.

States: ``gathering_advice`` → ``decided`` → ``review_due`` (derived: decided
or revising, and its review date reached) → reviewed: ``decided`` again (kept),
``revising`` (to be revised: the decider opens a new decision) or ``retired``;
or ``withdrawn``. There are no votes and no veto:
only the decider decides, and a "discourage" never blocks. What the practice
does require is checked: deciding needs advice from at least one member asked,
or a reason why nobody else is affected; before the deadline the decider waits
for everyone asked who has not answered or declined; every concern or
discouragement has a recorded integration.

Replay counts only what the operations would have written: asks, withdrawals,
integrations, deadlines, links and decisions by the decider, declines by a
member asked, advice by anyone else, each with a body the operation would
write. A decision counts only if the advice it names is advice from a member
the decider asked (a record's id is the hash of what it names, so naming
advice proves it was there first), or it gives a reason. A signed record that
breaks those rules changes nothing. Whether the decider waited is checked when
deciding, on the decider's node; replay cannot check it, since it rests on the
signer's clock and on which advice their node held.

The operations, which return drafts, are here; the bodies they write are checked
in :mod:`.decision_bodies`, the events that change no state are read in
:mod:`.decision_advice`, the state is replayed in :mod:`.decision_replay`, and
decisions are read in :mod:`.decision_view`; what callers use of those is
importable from here.
"""

from __future__ import annotations

import datetime as _dt
from collections.abc import Iterable

from podsync.errors import InvalidInput, NotFound, NotPermitted, TransitionRefused
from podsync.pod import common as v
from podsync.pod.decision_advice import (
    Advice, Asked, DeadlineMove, Integration, Link, asked_and_advice, deadline_at, deadline_text,
    links_of,
)
from podsync.pod.decision_bodies import (
    ASK_REASONS, LINK_KINDS, REVIEW_OUTCOMES, STANCES, advice_body, ask_body, decide_body,
    deadline_body, integration_body, link_body, review_body, unask_body,
)
from podsync.pod.decision_replay import STATES, Basis, Review, State, load
from podsync.pod.decision_view import Decision, decision, decisions, derive, waiting_on
from podsync.pod.events import Current, Item, event_draft, settle, state_draft
from podsync.records.format import Draft

KIND = "decisions"
OPEN = "open"
#: Advice the decider must answer with an integration before deciding.
NEEDS_INTEGRATION = ("concern", "discourage")


def open_decision(now: _dt.datetime, title: str, proposal: str, deadline: _dt.datetime,
                  links: Iterable[tuple[str, str]] = ()) -> Draft:
    """Open a decision its signer will make, after asking for advice until ``deadline``;
    ``links`` are (kind, id) of the needs and agreements it touches."""
    v.iso_at(now, "now")
    until = v.iso_at(deadline, "deadline")
    if deadline <= now:
        raise InvalidInput("deadline: the deadline for advice must be in the future")
    listed = list(links)
    if len(listed) > v.MAX_LIST_ITEMS:
        raise InvalidInput(f"links: at most {v.MAX_LIST_ITEMS}")
    return Draft(OPEN, {"title": v.title(title), "proposal": v.text(proposal, "proposal"),
                        "deadline": until, "links": [link_body(k, r) for k, r in listed]})


def _gathering(cur: Current[State], doing: str) -> None:
    if cur.state.status != "gathering_advice":
        raise TransitionRefused(f"cannot {doing}: the decision has been "
                                f"{'withdrawn' if cur.state.status == 'withdrawn' else 'made'}")


def _decider(cur: Current[State], by: str, doing: str) -> None:
    if by != cur.state.decider:
        raise NotPermitted(f"only the decider {doing}")


def ask_advice(item: Item, by: str, member: str, reason: str, note: str = "") -> Draft:
    """The decider asks ``member`` for advice, because affected or for expertise."""
    by = v.member_id(by, "by")
    body = ask_body(member, reason, note)
    cur = load(item, settled=False)
    _decider(cur, by, "asks for advice on this decision")
    if body["member"] == by:
        raise InvalidInput("member: the decider's own view goes into the decision")
    _gathering(cur, "ask for advice")
    if any(a.member == body["member"] and not a.withdrawn for a in asked_and_advice(item)[0]):
        raise TransitionRefused(f"{body['member']} has already been asked")
    return event_draft(cur, "ask", **body)


def withdraw_ask(item: Item, by: str, member: str, note: str = "") -> Draft:
    """The decider withdraws an ask (recorded, with a note): nobody waits for that member."""
    by = v.member_id(by, "by")
    body = unask_body(member, note)
    cur = load(item, settled=False)
    _decider(cur, by, "withdraws an ask")
    _gathering(cur, "withdraw an ask")
    if not any(a.member == body["member"] and not a.withdrawn for a in asked_and_advice(item)[0]):
        raise TransitionRefused(f"{body['member']} has not been asked")
    return event_draft(cur, "unask", **body)


def decline_to_advise(item: Item, by: str, note: str = "") -> Draft:
    """A member asked declines to advise: the decider no longer waits for them."""
    by, note = v.member_id(by, "by"), v.text(note, "note", required=False)
    cur = load(item, settled=False)
    _gathering(cur, "decline")
    mine = next((a for a in asked_and_advice(item)[0] if a.member == by and not a.withdrawn), None)
    if mine is None:
        raise NotPermitted("only a member asked for advice can decline to give it")
    if mine.declined:
        raise TransitionRefused("you have already declined")
    return event_draft(cur, "decline", note=note)


def give_advice(item: Item, by: str, stance: str, text: str = "") -> Draft:
    """Advice from any member but the decider; it informs, it never blocks."""
    by = v.member_id(by, "by")
    body = advice_body(stance, text)
    cur = load(item, settled=False)
    if by == cur.state.decider:
        raise NotPermitted("the decider's own view goes into the decision, not into advice")
    _gathering(cur, "give advice")
    return event_draft(cur, "advise", **body)


def integrate_advice(item: Item, by: str, advice_id: str, integrated: bool, why: str) -> Draft:
    """The decider records whether a piece of advice was integrated, and why."""
    by = v.member_id(by, "by")
    body = integration_body(advice_id, integrated, why)
    cur = load(item, settled=False)
    _decider(cur, by, "records how advice was integrated")
    if not any(a.id == body["advice"] for a in asked_and_advice(item)[1]):
        raise NotFound(f"no advice {advice_id} on this decision")
    return event_draft(cur, "integrate", **body)


def move_deadline(item: Item, by: str, now: _dt.datetime, deadline: _dt.datetime,
                  note: str = "") -> Draft:
    """The decider moves the deadline for advice (recorded, with a note)."""
    by = v.member_id(by, "by")
    until = v.iso_at(deadline, "deadline")
    if deadline <= now:
        raise InvalidInput("deadline: the new deadline must be in the future")
    cur = load(item, settled=False)
    _decider(cur, by, "moves the deadline")
    _gathering(cur, "move the deadline")
    return event_draft(cur, "deadline", **deadline_body(until, note))


def link_decision(item: Item, by: str, kind: str, ref: str) -> Draft:
    """The decider links a need or an agreement the decision touches."""
    by = v.member_id(by, "by")
    body = link_body(kind, ref)
    cur = load(item, settled=False)
    _decider(cur, by, "links what the decision touches")
    if Link(**body) in links_of(item):  # type: ignore[arg-type]
        raise TransitionRefused(f"the decision is already linked to that {kind}")
    return event_draft(cur, "link", **body)


def withdraw_decision(item: Item, by: str, note: str) -> Draft:
    """The decider withdraws the whole decision (recorded, with a note)."""
    by, note = v.member_id(by, "by"), v.text(note, "note")
    cur = load(item)
    _decider(cur, by, "withdraws the decision")
    _gathering(cur, "withdraw it")
    return state_draft(cur, "withdraw", note=note)


def review_decision(item: Item, by: str, now: _dt.datetime, outcome: str, note: str,
                    review_on: _dt.date | None = None) -> Draft:
    """The decider reviews a decision made: keep it, revise it (a new decision will
    follow) or retire it, with a note; keeping or revising may set the next review."""
    by = v.member_id(by, "by")
    review = v.iso_date(review_on, "review_on")
    if review is not None and review <= v.iso_at(now, "now")[:10]:
        raise InvalidInput("review_on: the next review date must be after today")
    body = review_body(outcome, note, review)
    cur = load(item)
    _decider(cur, by, "reviews the decision")
    if cur.state.status not in ("decided", "revising"):
        raise TransitionRefused("cannot review it: the decision is "
                                + cur.state.status.replace("_", " "))
    return state_draft(cur, "review", **body)


def decide(item: Item, by: str, now: _dt.datetime, text: str,
           review_on: _dt.date | None = None, no_one_affected: str = "") -> Draft:
    """The decider decides, once advice has been heard and concerns answered. With no
    advice from anyone asked, ``no_one_affected`` says why nobody else is affected."""
    by, today = v.member_id(by, "by"), v.iso_at(now, "now")[:10]
    reason = v.text(no_one_affected, "no_one_affected", required=False)
    review = v.iso_date(review_on, "review_on")
    if review is not None and review <= today:
        raise InvalidInput("review_on: the review date must be after today")
    text = v.text(text, "text")
    cur = load(item)
    _decider(cur, by, "decides; advice never decides for them")
    _gathering(cur, "decide again")
    asked, advice = asked_and_advice(item)
    waiting = [a.member for a in asked if not (a.answered or a.declined or a.withdrawn)]
    deadline = deadline_at(item)
    if deadline is not None and now < deadline and waiting:
        raise TransitionRefused(
            f"the deadline for advice is {deadline_text(item)}; still waiting for "
            f"{', '.join(waiting)} (decide after the deadline, once they have answered or "
            "declined, move the deadline, or withdraw the ask)")
    from_asked = [a.id for a in advice if a.id in cur.state.asked_advice]
    if not from_asked and not reason:
        raise TransitionRefused(
            "no member asked has given advice: ask someone affected or with expertise and "
            "hear them, or record why nobody else is affected (no_one_affected)")
    body = decide_body(text, review, from_asked, reason)
    open_concerns = [a.id for a in advice
                     if a.stance in NEEDS_INTEGRATION and a.integration is None]
    if open_concerns:
        raise TransitionRefused(
            "record how each concern or discouragement was integrated (or why not) before "
            f"deciding: advice {', '.join(open_concerns)}")
    return state_draft(cur, "decide", **body)


def note_decision(item: Item, by: str, text: str) -> Draft:
    v.member_id(by, "by")
    return event_draft(load(item, settled=False), "note", text=v.text(text, "text"))


def settle_decision(item: Item, by: str, choice: str) -> Draft:
    """Resolve concurrent, different decisions by choosing one candidate."""
    v.member_id(by, "by")
    return settle(load(item, settled=False), choice)


__all__ = [
    "ASK_REASONS", "KIND", "LINK_KINDS", "NEEDS_INTEGRATION", "OPEN", "REVIEW_OUTCOMES", "STANCES",
    "STATES", "Advice", "Asked", "Basis", "DeadlineMove", "Decision", "Integration", "Link",
    "Review", "ask_advice", "decide", "decision", "decisions", "decline_to_advise", "derive",
    "give_advice", "integrate_advice", "link_decision", "move_deadline", "note_decision",
    "open_decision", "review_decision", "settle_decision", "waiting_on", "withdraw_ask",
    "withdraw_decision",
]
