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
"""

from __future__ import annotations

import datetime as _dt
from collections.abc import Callable, Iterable
from dataclasses import dataclass, replace
from typing import Any, Literal

import msgspec

from podsync.errors import InvalidInput, NotFound, NotPermitted, TransitionRefused
from podsync.pod import common as v
from podsync.pod.admission import admitted
from podsync.pod.agreement_terms import body_date
from podsync.pod.common import Note, Waiting
from podsync.pod.events import (
    Candidate, Current, Event, Item, Lifecycle, Replayed, chronological, current, event_draft,
    notes, replay, settle, state_draft,
)
from podsync.records.format import Draft

KIND = "decisions"
OPEN = "open"
STATES = ("gathering_advice", "decided", "review_due", "revising", "retired", "withdrawn")
REVIEW_OUTCOMES = ("keep", "revise", "retire")
#: The review outcome -> the state it leaves the decision in.
_REVIEWED = {"keep": "decided", "revise": "revising", "retire": "retired"}
ASK_REASONS = ("affected", "expertise")
STANCES = ("support", "concern", "discourage", "no_advice")
LINK_KINDS = ("need", "agreement")
#: Advice the decider must answer with an integration before deciding.
NEEDS_INTEGRATION = ("concern", "discourage")


class Asked(msgspec.Struct, frozen=True):
    member: str
    reason: str
    note: str
    at: str
    answered: bool
    #: The member declined to advise (with their note): nobody waits for them.
    declined: bool = False
    decline_note: str = ""
    #: The decider withdrew the ask (with a note).
    withdrawn: bool = False
    withdrawn_note: str = ""


class Integration(msgspec.Struct, frozen=True):
    integrated: bool
    why: str
    at: str


class Advice(msgspec.Struct, frozen=True):
    id: str
    by: str
    at: str
    stance: str
    text: str
    asked: bool
    integration: Integration | None


class Link(msgspec.Struct, frozen=True):
    kind: Literal["need", "agreement"]
    ref: str


class DeadlineMove(msgspec.Struct, frozen=True):
    at: str
    deadline: str
    note: str


class Review(msgspec.Struct, frozen=True):
    """The decider's review of a decision made: keep, revise or retire it."""

    id: str
    at: str
    outcome: str
    note: str
    #: The next review date it set, if any.
    review_on: str | None


class Basis(msgspec.Struct, frozen=True):
    """Why the decider could decide: advice from members asked, or a reason why
    nobody else is affected."""

    kind: Literal["advice", "no_one_affected"]
    advice: list[str]
    reason: str


class Decision(msgspec.Struct, frozen=True):
    id: str
    title: str
    proposal: str
    decider: str
    created_at: str
    deadline: str
    state: str
    asked: list[Asked]
    advice: list[Advice]
    decision: str | None
    decided_at: str | None
    review_on: str | None
    basis: Basis | None
    withdrawn_note: str | None
    reviews: list[Review]
    links: list[Link]
    deadline_moves: list[DeadlineMove]
    notes: list[Note]
    needs_reconciliation: bool
    candidates: list[Candidate]
    history: list[Event]


# -- what each record's body must be (the operations write these; replay checks them)


def _ask_body(member: Any, reason: Any, note: Any) -> dict[str, Any]:
    return {"member": v.member_id(member), "reason": v.choice(reason, "reason", ASK_REASONS),
            "note": v.text(note, "note", required=False)}


def _unask_body(member: Any, note: Any) -> dict[str, Any]:
    return {"member": v.member_id(member), "note": v.text(note, "note", required=False)}


def _advice_body(stance: Any, text: Any) -> dict[str, Any]:
    stance = v.choice(stance, "stance", STANCES)
    return {"stance": stance, "text": v.text(text, "text", required=stance != "no_advice")}


def _integration_body(advice: Any, integrated: Any, why: Any) -> dict[str, Any]:
    if not isinstance(integrated, bool):
        raise InvalidInput("integrated: yes or no")
    return {"advice": v.item_id(advice, "advice_id"), "integrated": integrated,
            "why": v.text(why, "why")}


def _link_body(kind: Any, ref: Any) -> dict[str, str]:
    return {"kind": v.choice(kind, "link kind", LINK_KINDS), "ref": v.item_id(ref, "link")}


def _deadline_body(deadline: Any, note: Any) -> dict[str, Any]:
    if _moment(deadline) is None:
        raise InvalidInput("deadline: a date and time with its offset")
    return {"deadline": deadline, "note": v.text(note, "note", required=False)}


def _decide_body(text: Any, review_on: Any, advice: Any, reason: Any) -> dict[str, Any]:
    if not isinstance(advice, list) or len(advice) > v.MAX_LIST_ITEMS:
        raise InvalidInput("advice: the advice the decision follows, as a list of ids")
    reason = v.text(reason, "reason", required=False)
    if not advice and not reason:
        raise InvalidInput("reason: with no advice from anyone asked, say why nobody else "
                           "is affected")
    return {"text": v.text(text, "text"), "review_on": body_date(review_on, "review_on"),
            "advice": [v.item_id(a, "advice") for a in advice], "reason": reason}


def _review_body(outcome: Any, note: Any, review_on: Any) -> dict[str, Any]:
    outcome = v.choice(outcome, "outcome", REVIEW_OUTCOMES)
    review = body_date(review_on, "review_on")
    if outcome == "retire" and review is not None:
        raise InvalidInput("review_on: a retired decision has no next review")
    return {"outcome": outcome, "note": v.text(note, "note"), "review_on": review}


def _checked(body: Callable[..., dict[str, Any]], *args: Any) -> dict[str, Any] | None:
    """``body(*args)`` for a record being replayed; None when an operation would refuse it."""
    try:
        return body(*args)
    except InvalidInput:
        return None


def _moment(value: Any) -> _dt.datetime | None:
    """A time with its offset, from a record's body; None for anything else."""
    try:
        moment = _dt.datetime.fromisoformat(value) if isinstance(value, str) else None
    except ValueError:
        return None
    return moment if moment is not None and moment.tzinfo is not None else None


# -- state ---------------------------------------------------------------------


@dataclass(frozen=True)
class _State:
    decider: str
    #: Ids of advice given by members the decider asked (a decision may follow them).
    asked_advice: frozenset[str]
    status: str = "gathering_advice"
    text: str | None = None
    at: str | None = None
    review_on: str | None = None
    basis: Basis | None = None
    withdrawn_note: str | None = None
    reviews: tuple[Review, ...] = ()


def _decided(s: _State, e: Event) -> dict[str, Any] | None:
    """The body of ``e`` if it is a decision the rules allow in state ``s``."""
    if e.op != "decide" or e.by != s.decider or s.status != "gathering_advice":
        return None
    a = e.args
    body = _checked(_decide_body, a.get("text"), a.get("review_on"), a.get("advice"),
                    a.get("reason"))
    if body is None or not set(body["advice"]) <= s.asked_advice:
        return None
    return body


def _apply(s: _State, e: Event) -> _State:
    if e.op == "withdraw" and e.by == s.decider and s.status == "gathering_advice":
        return replace(s, status="withdrawn", withdrawn_note=v.shown(e.args.get("note")))
    if e.op == "review":
        a = e.args
        body = _checked(_review_body, a.get("outcome"), a.get("note"), a.get("review_on"))
        if body is None or e.by != s.decider or s.status not in ("decided", "revising"):
            return s
        review = Review(e.id, e.at, body["outcome"], body["note"], body["review_on"])
        return replace(s, status=_REVIEWED[body["outcome"]], review_on=body["review_on"],
                       reviews=s.reviews + (review,))
    body = _decided(s, e)
    if body is None:
        return s
    basis = Basis("advice", body["advice"], body["reason"]) if body["advice"] \
        else Basis("no_one_affected", [], body["reason"])
    return replace(s, status="decided", text=body["text"], at=e.at, review_on=body["review_on"],
                   basis=basis)


def _allows(past: Replayed[_State], e: Event) -> bool:
    """What :func:`decide` and :func:`withdraw_decision` check of who and when,
    asked where the record was made."""
    return not past.needs_reconciliation and _apply(past.state, e) != past.state


LIFECYCLE: Lifecycle[_State] = Lifecycle(
    states=STATES, state_ops=frozenset({"decide", "withdraw", "review"}), apply=_apply,
    name=lambda s: s.status, key=lambda s: (s.status, s.text, s.review_on, len(s.reviews)),
    summary=lambda s: {"decision": s.text, "review_on": s.review_on,
                       "withdrawn": s.withdrawn_note},
)


def _initial(item: Item) -> _State:
    asked, advice = _parts(item)
    ever = {a.member for a in asked}
    return _State(item.created_by, frozenset(x.id for x in advice if x.by in ever))


# -- operations ------------------------------------------------------------------


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
                        "deadline": until, "links": [_link_body(k, r) for k, r in listed]})


def _counted(item: Item) -> Item:
    return admitted(item, LIFECYCLE, _initial, _allows)


def _load(item: Item, *, settled: bool = True) -> Current[_State]:
    return current(_counted(item), LIFECYCLE, _initial, settled=settled)


def _gathering(cur: Current[_State], doing: str) -> None:
    if cur.state.status != "gathering_advice":
        raise TransitionRefused(f"cannot {doing}: the decision has been "
                                f"{'withdrawn' if cur.state.status == 'withdrawn' else 'made'}")


def _decider(cur: Current[_State], by: str, doing: str) -> None:
    if by != cur.state.decider:
        raise NotPermitted(f"only the decider {doing}")


def ask_advice(item: Item, by: str, member: str, reason: str, note: str = "") -> Draft:
    """The decider asks ``member`` for advice, because affected or for expertise."""
    by = v.member_id(by, "by")
    body = _ask_body(member, reason, note)
    cur = _load(item, settled=False)
    _decider(cur, by, "asks for advice on this decision")
    if body["member"] == by:
        raise InvalidInput("member: the decider's own view goes into the decision")
    _gathering(cur, "ask for advice")
    if any(a.member == body["member"] and not a.withdrawn for a in _parts(item)[0]):
        raise TransitionRefused(f"{body['member']} has already been asked")
    return event_draft(cur, "ask", **body)


def withdraw_ask(item: Item, by: str, member: str, note: str = "") -> Draft:
    """The decider withdraws an ask (recorded, with a note): nobody waits for that member."""
    by = v.member_id(by, "by")
    body = _unask_body(member, note)
    cur = _load(item, settled=False)
    _decider(cur, by, "withdraws an ask")
    _gathering(cur, "withdraw an ask")
    if not any(a.member == body["member"] and not a.withdrawn for a in _parts(item)[0]):
        raise TransitionRefused(f"{body['member']} has not been asked")
    return event_draft(cur, "unask", **body)


def decline_to_advise(item: Item, by: str, note: str = "") -> Draft:
    """A member asked declines to advise: the decider no longer waits for them."""
    by, note = v.member_id(by, "by"), v.text(note, "note", required=False)
    cur = _load(item, settled=False)
    _gathering(cur, "decline")
    mine = next((a for a in _parts(item)[0] if a.member == by and not a.withdrawn), None)
    if mine is None:
        raise NotPermitted("only a member asked for advice can decline to give it")
    if mine.declined:
        raise TransitionRefused("you have already declined")
    return event_draft(cur, "decline", note=note)


def give_advice(item: Item, by: str, stance: str, text: str = "") -> Draft:
    """Advice from any member but the decider; it informs, it never blocks."""
    by = v.member_id(by, "by")
    body = _advice_body(stance, text)
    cur = _load(item, settled=False)
    if by == cur.state.decider:
        raise NotPermitted("the decider's own view goes into the decision, not into advice")
    _gathering(cur, "give advice")
    return event_draft(cur, "advise", **body)


def integrate_advice(item: Item, by: str, advice_id: str, integrated: bool, why: str) -> Draft:
    """The decider records whether a piece of advice was integrated, and why."""
    by = v.member_id(by, "by")
    body = _integration_body(advice_id, integrated, why)
    cur = _load(item, settled=False)
    _decider(cur, by, "records how advice was integrated")
    if not any(a.id == body["advice"] for a in _parts(item)[1]):
        raise NotFound(f"no advice {advice_id} on this decision")
    return event_draft(cur, "integrate", **body)


def move_deadline(item: Item, by: str, now: _dt.datetime, deadline: _dt.datetime,
                  note: str = "") -> Draft:
    """The decider moves the deadline for advice (recorded, with a note)."""
    by = v.member_id(by, "by")
    until = v.iso_at(deadline, "deadline")
    if deadline <= now:
        raise InvalidInput("deadline: the new deadline must be in the future")
    cur = _load(item, settled=False)
    _decider(cur, by, "moves the deadline")
    _gathering(cur, "move the deadline")
    return event_draft(cur, "deadline", **_deadline_body(until, note))


def link_decision(item: Item, by: str, kind: str, ref: str) -> Draft:
    """The decider links a need or an agreement the decision touches."""
    by = v.member_id(by, "by")
    body = _link_body(kind, ref)
    cur = _load(item, settled=False)
    _decider(cur, by, "links what the decision touches")
    if Link(**body) in _links(item):  # type: ignore[arg-type]
        raise TransitionRefused(f"the decision is already linked to that {kind}")
    return event_draft(cur, "link", **body)


def withdraw_decision(item: Item, by: str, note: str) -> Draft:
    """The decider withdraws the whole decision (recorded, with a note)."""
    by, note = v.member_id(by, "by"), v.text(note, "note")
    cur = _load(item)
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
    body = _review_body(outcome, note, review)
    cur = _load(item)
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
    cur = _load(item)
    _decider(cur, by, "decides; advice never decides for them")
    _gathering(cur, "decide again")
    asked, advice = _parts(item)
    waiting = [a.member for a in asked if not (a.answered or a.declined or a.withdrawn)]
    deadline = _deadline(item)
    if deadline is not None and now < deadline and waiting:
        raise TransitionRefused(
            f"the deadline for advice is {_deadline_text(item)}; still waiting for "
            f"{', '.join(waiting)} (decide after the deadline, once they have answered or "
            "declined, move the deadline, or withdraw the ask)")
    from_asked = [a.id for a in advice if a.id in cur.state.asked_advice]
    if not from_asked and not reason:
        raise TransitionRefused(
            "no member asked has given advice: ask someone affected or with expertise and "
            "hear them, or record why nobody else is affected (no_one_affected)")
    body = _decide_body(text, review, from_asked, reason)
    open_concerns = [a.id for a in advice
                     if a.stance in NEEDS_INTEGRATION and a.integration is None]
    if open_concerns:
        raise TransitionRefused(
            "record how each concern or discouragement was integrated (or why not) before "
            f"deciding: advice {', '.join(open_concerns)}")
    return state_draft(cur, "decide", **body)


def note_decision(item: Item, by: str, text: str) -> Draft:
    v.member_id(by, "by")
    return event_draft(_load(item, settled=False), "note", text=v.text(text, "text"))


def settle_decision(item: Item, by: str, choice: str) -> Draft:
    """Resolve concurrent, different decisions by choosing one candidate."""
    v.member_id(by, "by")
    return settle(_load(item, settled=False), choice)


# -- reading -------------------------------------------------------------------


def _parts(item: Item) -> tuple[list[Asked], list[Advice]]:
    """Who was asked and the advice given, counting only records the rules allow."""
    decider = item.created_by
    ordered = chronological(item.events)
    advised: list[tuple[Event, dict[str, Any]]] = []
    for e in ordered:
        if e.op == "advise" and e.by != decider:
            body = _checked(_advice_body, e.args.get("stance"), e.args.get("text"))
            if body is not None:
                advised.append((e, body))
    advisors = {e.by for e, _ in advised}
    asked: dict[str, Asked] = {}
    integrations: dict[str, Integration] = {}
    for e in ordered:
        a = e.args
        if e.op == "decline" and e.by in asked and not asked[e.by].withdrawn:
            asked[e.by] = msgspec.structs.replace(asked[e.by], declined=True,
                                                  decline_note=v.shown(a.get("note")))
        if e.by != decider:
            continue
        if e.op == "ask":
            body = _checked(_ask_body, a.get("member"), a.get("reason"), a.get("note"))
            if body is not None and body["member"] != decider and (
                    body["member"] not in asked or asked[body["member"]].withdrawn):
                asked[body["member"]] = Asked(body["member"], body["reason"], body["note"], e.at,
                                              body["member"] in advisors)
        elif e.op == "unask":
            body = _checked(_unask_body, a.get("member"), a.get("note"))
            if body is not None and body["member"] in asked:
                asked[body["member"]] = msgspec.structs.replace(
                    asked[body["member"]], withdrawn=True, withdrawn_note=body["note"])
        elif e.op == "integrate":
            body = _checked(_integration_body, a.get("advice"), a.get("integrated"),
                            a.get("why"))
            if body is not None:
                integrations[body["advice"]] = Integration(body["integrated"], body["why"], e.at)
    advice = [Advice(e.id, e.by, e.at, body["stance"], body["text"], e.by in asked,
                     integrations.get(e.id))
              for e, body in advised]
    return list(asked.values()), advice


def _moves(item: Item) -> list[DeadlineMove]:
    out = []
    for e in chronological(item.events):
        if e.op == "deadline" and e.by == item.created_by:
            body = _checked(_deadline_body, e.args.get("deadline"), e.args.get("note"))
            if body is not None:
                out.append(DeadlineMove(e.at, body["deadline"], body["note"]))
    return out


def _deadline_text(item: Item) -> str:
    """The deadline in force, as recorded: the decider's latest move, or the one it
    opened with ("" when neither is a time)."""
    moves = _moves(item)
    if moves:
        return moves[-1].deadline
    opened = item.fields.get("deadline")
    return opened if _moment(opened) is not None else ""


def _deadline(item: Item) -> _dt.datetime | None:
    return _moment(_deadline_text(item))


def _links(item: Item) -> list[Link]:
    found: list[Link] = []
    listed = item.fields.get("links")
    raw = [x for x in listed if isinstance(x, dict)] if isinstance(listed, list) else []
    raw += [e.args for e in chronological(item.events)
            if e.op == "link" and e.by == item.created_by]
    for x in raw[:v.MAX_LIST_ITEMS]:
        body = _checked(_link_body, x.get("kind"), x.get("ref"))
        if body is not None and Link(**body) not in found:  # type: ignore[arg-type]
            found.append(Link(**body))  # type: ignore[arg-type]
    return found


def decisions(items: dict[str, Item], now: _dt.datetime) -> list[Decision]:
    """Every decision, oldest first; ``review_due`` is derived against ``now``."""
    return sorted((derive(i, now) for i in items.values()), key=lambda d: (d.created_at, d.id))


def decision(items: dict[str, Item], decision_id: str, now: _dt.datetime) -> Decision:
    item = items.get(decision_id)
    if item is None:
        raise NotFound(f"no decision {decision_id}")
    return derive(item, now)


def derive(item: Item, now: _dt.datetime) -> Decision:
    """The decision as of ``now``; total: whatever a signed record's body holds."""
    events, raw = item.events, item.fields
    r = replay(_counted(item).events, LIFECYCLE, _initial(item))
    s = r.state
    state = s.status
    if state in ("decided", "revising") and v.date_reached(s.review_on, now):
        state = "review_due"
    asked, advice = _parts(item)
    return Decision(
        id=item.id, title=v.shown(raw.get("title"), v.MAX_TITLE_CHARS),
        proposal=v.shown(raw.get("proposal")), decider=item.created_by,
        created_at=item.created_at,
        deadline=_deadline_text(item),
        state=state, asked=asked, advice=advice, decision=s.text, decided_at=s.at,
        review_on=s.review_on, basis=s.basis, withdrawn_note=s.withdrawn_note,
        reviews=list(s.reviews), links=_links(item), deadline_moves=_moves(item), notes=notes(events),
        needs_reconciliation=r.needs_reconciliation, candidates=r.candidates,
        history=chronological(events))


def waiting_on(found: Iterable[Decision], member: str, now: _dt.datetime) -> list[Waiting]:
    """What the decisions ask of ``member`` now: advice asked of them (until the
    deadline), and for the decider a deadline passed or a review due."""
    out = []
    for d in found:
        if d.needs_reconciliation:
            continue
        deadline = _moment(d.deadline)
        if d.state == "gathering_advice":
            mine = next((a for a in d.asked if a.member == member), None)
            if mine is not None and not (mine.answered or mine.declined or mine.withdrawn) \
                    and (deadline is None or now < deadline):
                out.append(Waiting("decision", d.id, "advice_asked", d.title,
                                   "your advice is asked: give it, or decline to advise",
                                   mine.at, d.deadline or None))
            if member == d.decider and deadline is not None and now >= deadline:
                out.append(Waiting("decision", d.id, "deadline_passed", d.title,
                                   "the deadline for advice has passed: decide, move the "
                                   "deadline, or withdraw it", d.deadline, d.deadline))
        elif d.state == "review_due" and member == d.decider and d.review_on:
            due = v.day_start(d.review_on)
            out.append(Waiting("decision", d.id, "review_due", d.title,
                               "its review is due: keep it, revise it or retire it", due, due))
    return out
