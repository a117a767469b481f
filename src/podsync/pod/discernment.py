"""Are you mobilizing? Discernment held together, never alone.

An *ask* is an item in the ``capacity`` document, created by an ``ask`` record
(the asker is its signer) whose body holds ``member`` (whose capacity it is
about), ``about`` and ``question``. ``about`` is ``held`` (a need the member
holds: are they over-mobilizing?), ``open`` (an open need nobody takes: could
they take it on?) or ``pattern`` (no need: a general pattern); ``need`` names
the need for the first two.

The asker, the member and any member who joins add their *view* against the
essay's criteria: the purpose, the capacity within me, the capacity I imagine
around me, the impact of the void if I step back, the impact of
over-mobilizing. An *outcome* — continue, release, ask for support, take on —
is proposed by one participant and takes effect only when the member whose
capacity it concerns **and** at least one other participant confirm it (a
proposal is its proposer's confirmation).

Records (``item``: the ask):

- ``view`` {``purpose``, ``within``, ``around``, ``void``, ``over``}: any
  member; whoever adds a view takes part from then on. Changes no state.
- ``propose`` {``outcome``, ``note``, ``title``, ``need``}: a participant,
  while the ask is open. ``title`` opens a new need (take on, ask for support);
  ``need`` names an existing one (default: the ask's).
- ``confirm`` {``proposal``}: a participant, while open.
- ``followed`` {``proposal``, ``done``, ``need``}: the member asked, once their
  node carried out a confirmed outcome on the needs board. Changes no state.
- ``note``, ``settle``.

``propose`` and ``confirm`` are state events: two sides that, while apart,
confirm different outcomes show the ask as needing reconciliation until a
participant settles it. States: ``open`` → ``discerned``.

**What an outcome does.** Only the member concerned may let go of a need or
take one on (:mod:`podsync.pod.needs` counts a hold or a release by its holder
alone), so their node carries the outcome out, as soon as it knows it is
confirmed (:func:`pending`): *release* releases the need they hold; *take on*
takes on the need (opening it first from ``title``); *ask for support* opens a
need from ``title``, or adds a note to the need named, asking others to co-hold
it; *continue* changes nothing. Opened needs carry the proposal as their
``origin``, so carrying out twice opens one need.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, Literal

import msgspec
from msgspec.structs import replace

from podsync.errors import InvalidInput, NotFound, NotPermitted, TransitionRefused
from podsync.pod import common as v
from podsync.pod.admission import admitted
from podsync.pod.common import Note, Waiting
from podsync.pod.events import (
    Candidate, Current, Event, Item, Lifecycle, Replayed, chronological, current, event_draft,
    notes, replay, settle, state_draft,
)
from podsync.records.format import Draft

KIND = "capacity"
ASK = "ask"
STATES = ("open", "discerned")
ABOUT = ("held", "open", "pattern")
OUTCOMES = ("continue", "release", "ask_for_support", "take_on")
#: The essay's criteria for discerning whether to mobilize, in the order asked.
CRITERIA = ("purpose", "within", "around", "void", "over")
FOLLOWED = ("released", "held", "opened", "linked", "nothing")


class View(msgspec.Struct, frozen=True):
    """One participant's view against the criteria (empty: not said)."""

    id: str
    by: str
    at: str
    purpose: str
    within: str
    around: str
    void: str
    over: str


class Proposal(msgspec.Struct, frozen=True):
    id: str
    by: str
    at: str
    outcome: str
    note: str
    #: A need to open (take on, ask for support), or one named, or neither.
    title: str
    need: str | None
    confirmed_by: list[str]


class Followed(msgspec.Struct, frozen=True):
    """What the member's node did on the needs board for the confirmed outcome."""

    proposal: str
    at: str
    done: str
    need: str | None


class Ask(msgspec.Struct, frozen=True):
    id: str
    asker: str
    member: str
    about: str
    need: str
    question: str
    created_at: str
    state: str
    participants: list[str]
    views: list[View]
    proposals: list[Proposal]
    #: The confirmed proposal, once discerned.
    outcome: Proposal | None
    followed: Followed | None
    notes: list[Note]
    needs_reconciliation: bool
    candidates: list[Candidate]
    history: list[Event]


# -- bodies, checked alike when written and when replayed --------------------------


def _view_body(raw: dict[str, Any]) -> dict[str, str]:
    out = {c: v.text(raw.get(c), c, required=False) for c in CRITERIA}
    if not any(out.values()):
        raise InvalidInput("view: say something about at least one of the purpose, the "
                           "capacity within you, around you, the void, over-mobilizing")
    return out


def _proposal_body(outcome: Any, note: Any, title: Any, need: Any,
                   ask_need: Any) -> dict[str, Any]:
    """A proposal's fields; ``ask_need`` is the need the ask is about, if any."""
    body: dict[str, Any] = {"outcome": v.choice(outcome, "outcome", OUTCOMES),
                            "note": v.text(note, "note", required=False),
                            "title": "" if not title else v.title(title),
                            "need": None if need is None else v.item_id(need, "need_id")}
    if body["title"] and body["need"]:
        raise InvalidInput("title: open a new need, or name one, not both")
    if body["title"] and body["outcome"] not in ("take_on", "ask_for_support"):
        raise InvalidInput(f"title: {body['outcome'].replace('_', ' ')} opens no need")
    target = body["title"] or body["need"] or (ask_need if isinstance(ask_need, str) else None)
    if body["outcome"] in ("take_on", "ask_for_support") and not target:
        doing = "what is taken on" if body["outcome"] == "take_on" else "where support is asked"
        raise InvalidInput(f"title: say {doing}: a need on the board, or a title for a new one")
    return body


def _checked_view(raw: dict[str, Any]) -> dict[str, str] | None:
    try:
        return _view_body(raw)
    except InvalidInput:
        return None


# -- state ---------------------------------------------------------------------


class _Proposed(msgspec.Struct, frozen=True):
    id: str
    by: str
    at: str
    body: dict[str, Any]
    confirmed: tuple[str, ...]


class _State(msgspec.Struct, frozen=True):
    asker: str
    member: str
    need: str | None
    #: The asker, the member, and every member who added a view.
    participants: frozenset[str]
    proposals: tuple[_Proposed, ...] = ()
    outcome: str | None = None

    def proposal(self, pid: Any) -> _Proposed | None:
        return next((p for p in self.proposals if p.id == pid), None)


def _complete(s: _State, p: _Proposed) -> _State:
    """Discerned once the member and at least one other participant confirmed ``p``."""
    if s.member in p.confirmed and any(m != s.member for m in p.confirmed):
        return replace(s, outcome=p.id)
    return s


def _apply(s: _State, e: Event) -> _State:
    if s.outcome is not None or e.by not in s.participants:
        return s
    if e.op == "propose":
        a = e.args
        try:
            body = _proposal_body(a.get("outcome"), a.get("note"), a.get("title"), a.get("need"),
                                  s.need)
        except InvalidInput:
            return s
        p = _Proposed(e.id, e.by, e.at, body, (e.by,))
        return _complete(replace(s, proposals=s.proposals + (p,)), p)
    if e.op == "confirm":
        p = s.proposal(e.args.get("proposal"))
        if p is None or e.by in p.confirmed:
            return s
        p = replace(p, confirmed=p.confirmed + (e.by,))
        s = replace(s, proposals=tuple(p if x.id == p.id else x for x in s.proposals))
        return _complete(s, p)
    return s


def _name(s: _State) -> str:
    return "discerned" if s.outcome else "open"


LIFECYCLE: Lifecycle[_State] = Lifecycle(
    states=STATES, state_ops=frozenset({"propose", "confirm"}), apply=_apply, name=_name,
    key=lambda s: s.outcome,
    summary=lambda s: {"outcome": s.proposal(s.outcome).body["outcome"] if s.outcome else None,
                       "proposal": s.outcome},
)


def _initial(item: Item) -> _State:
    asker, member = item.created_by, v.shown(item.fields.get("member"))
    need = item.fields.get("need")
    joined = {e.by for e in item.events if e.op == "view" and _checked_view(e.args) is not None}
    return _State(asker, member, need if isinstance(need, str) else None,
                  frozenset({asker, member} | joined))


def _allows(past: Replayed[_State], e: Event) -> bool:
    return not past.needs_reconciliation and _apply(past.state, e) != past.state


def _is_ask(item: Item) -> bool:
    """An ask of the asker themself is refused when written; signed anyway, it is
    no ask."""
    return item.fields.get("member") != item.created_by


def _counted(item: Item) -> Item:
    return admitted(item, LIFECYCLE, _initial, _allows)


def _load(item: Item, *, settled: bool = True) -> Current[_State]:
    if not _is_ask(item):
        raise NotFound(f"no ask {item.id}")
    return current(_counted(item), LIFECYCLE, _initial, settled=settled)


# -- operations ------------------------------------------------------------------


def ask_mobilizing(by: str, member: str, about: str = "pattern", need_id: str | None = None,
                   question: str = "") -> Draft:
    """``by`` asks ``member`` "are you mobilizing?" about a need they hold (``held``),
    an open need nobody takes (``open``), or a general pattern (``pattern``)."""
    about = v.choice(about, "about", ABOUT)
    body: dict[str, Any] = {"member": v.member_id(member), "about": about,
                            "question": v.text(question, "question", required=False)}
    if about == "pattern":
        if need_id is not None:
            raise InvalidInput("need_id: a question about a pattern names no need")
    else:
        body["need"] = v.item_id(need_id, "need_id")
    if v.member_id(by, "by") == body["member"]:
        raise NotPermitted("this question is asked of someone else; check in instead")
    return Draft(ASK, body)


def add_view(item: Item, by: str, purpose: str = "", within: str = "", around: str = "",
             void: str = "", over: str = "") -> Draft:
    """``by`` adds their view against the criteria (joining the conversation)."""
    by = v.member_id(by, "by")
    body = _view_body({"purpose": purpose, "within": within, "around": around, "void": void,
                       "over": over})
    cur = _load(item, settled=False)
    if cur.state.outcome is not None:
        raise TransitionRefused("this has been discerned; a note is still welcome")
    return event_draft(cur, "view", **body)


def propose_outcome(item: Item, by: str, outcome: str, note: str = "", title: str = "",
                    need_id: str | None = None) -> Draft:
    """A participant proposes an outcome; it is their own confirmation of it."""
    by = v.member_id(by, "by")
    body = _proposal_body(outcome, note, title, need_id, item.fields.get("need"))
    cur = _load(item)
    s = cur.state
    if by not in s.participants:
        raise NotPermitted("add your view first: whoever takes part in the discernment proposes")
    if s.outcome is not None:
        raise TransitionRefused("this has been discerned already")
    return state_draft(cur, "propose", **body)


def confirm_outcome(item: Item, by: str, proposal_id: str) -> Draft:
    """A participant confirms a proposed outcome."""
    by = v.member_id(by, "by")
    cur = _load(item)
    s = cur.state
    if by not in s.participants:
        raise NotPermitted("add your view first: whoever takes part in the discernment confirms")
    if s.outcome is not None:
        raise TransitionRefused("this has been discerned already")
    p = s.proposal(proposal_id)
    if p is None:
        raise NotFound(f"no proposal {proposal_id} on this ask")
    if by in p.confirmed:
        raise TransitionRefused("you have already confirmed it")
    return state_draft(cur, "confirm", proposal=proposal_id)


def note_ask(item: Item, by: str, text: str) -> Draft:
    v.member_id(by, "by")
    return event_draft(_load(item, settled=False), "note", text=v.text(text, "text"))


def settle_ask(item: Item, by: str, choice: str) -> Draft:
    by = v.member_id(by, "by")
    cur = _load(item, settled=False)
    if by not in cur.state.participants:
        raise NotPermitted("only those taking part in the discernment settle it")
    return settle(cur, choice)


# -- carrying out a confirmed outcome ------------------------------------------------


class Effect(msgspec.Struct, frozen=True):
    """A confirmed outcome the member's node has yet to carry out on the needs board."""

    ask: str
    proposal: str
    outcome: str
    #: The need it is about (the proposal's, else the ask's), or None.
    need: str | None
    #: A need to open first, or "".
    title: str
    note: str


def pending(items: dict[str, Item], member: str) -> list[Effect]:
    """The confirmed outcomes about ``member`` their node has not carried out yet."""
    out = []
    for ask_item in items.values():
        got = derive(ask_item) if _is_ask(ask_item) else None
        if got is None or got.member != member or got.outcome is None \
                or got.needs_reconciliation \
                or (got.followed is not None and got.followed.proposal == got.outcome.id):
            continue
        p = got.outcome
        out.append(Effect(got.id, p.id, p.outcome, p.need or got.need or None, p.title, p.note))
    return out


def followed(item: Item, by: str, proposal_id: str, done: str, need: str | None) -> Draft:
    """The member records what their node did for the confirmed outcome."""
    by = v.member_id(by, "by")
    cur = _load(item)
    if by != cur.state.member:
        raise NotPermitted("only the member the ask is about carries out its outcome")
    if cur.state.outcome != proposal_id:
        raise TransitionRefused("that is not the outcome confirmed")
    return event_draft(cur, "followed", proposal=proposal_id, done=v.choice(done, "done", FOLLOWED),
                       need=None if need is None else v.item_id(need, "need"))


# -- reading -------------------------------------------------------------------


def asks(items: dict[str, Item]) -> list[Ask]:
    """Every ask (``ask`` items), oldest first."""
    out = [derive(i) for i in items.values() if _is_ask(i)]
    return sorted(out, key=lambda a: (a.created_at, a.id))


def ask(items: dict[str, Item], ask_id: str) -> Ask:
    found = items.get(ask_id)
    if found is None or not _is_ask(found):
        raise NotFound(f"no ask {ask_id}")
    return derive(found)


def _proposal_view(p: _Proposed) -> Proposal:
    b = p.body
    return Proposal(p.id, p.by, p.at, b["outcome"], b["note"], b["title"], b["need"],
                    list(p.confirmed))


def derive(item: Item) -> Ask:
    """The ask as its records make it; total: whatever a signed record's body holds."""
    events = chronological(item.events)
    r = replay(_counted(item).events, LIFECYCLE, _initial(item))
    s = r.state
    raw = item.fields
    about = raw.get("about")
    views = []
    for e in events:
        body = _checked_view(e.args) if e.op == "view" else None
        if body is not None:
            views.append(View(e.id, e.by, e.at, **body))
    outcome = s.proposal(s.outcome)
    done = None
    for e in events:
        a = e.args
        # The first record counts: a node carrying an outcome out twice at once finds
        # the need already changed the second time and records that it did nothing.
        if e.op == "followed" and e.by == s.member and outcome is not None and done is None \
                and a.get("proposal") == outcome.id and a.get("done") in FOLLOWED:
            need = a.get("need")
            done = Followed(outcome.id, e.at, a["done"], need if isinstance(need, str) else None)
    return Ask(
        id=item.id, asker=s.asker, member=s.member,
        about=about if about in ABOUT else ("held" if s.need else "pattern"),
        need=v.shown(raw.get("need")), question=v.shown(raw.get("question")),
        created_at=item.created_at, state=_name(s), participants=sorted(s.participants),
        views=views, proposals=[_proposal_view(p) for p in s.proposals],
        outcome=_proposal_view(outcome) if outcome else None, followed=done,
        notes=notes(events), needs_reconciliation=r.needs_reconciliation,
        candidates=r.candidates, history=events)


class Awaiting(msgspec.Struct, frozen=True):
    """An ask waiting for a member's word, and why."""

    ask: str
    #: ``view``: asked of them (or by them) and they have not said their view yet;
    #: ``confirm``: an outcome they have not confirmed is proposed.
    reason: Literal["view", "confirm"]


def awaiting(found: Iterable[Ask], member: str) -> list[Awaiting]:
    """What open asks wait for from ``member`` (an inbox reads this)."""
    out = []
    for a in found:
        if a.state != "open" or a.needs_reconciliation or member not in a.participants:
            continue
        if member in (a.asker, a.member) and not any(x.by == member for x in a.views):
            out.append(Awaiting(a.id, "view"))
        if any(member not in p.confirmed_by for p in a.proposals):
            out.append(Awaiting(a.id, "confirm"))
    return out


def waiting_on(found: Iterable[Ask], member: str) -> list[Waiting]:
    """:func:`awaiting` for an inbox: what to do, and since when."""
    by_id = {a.id: a for a in found}
    out = []
    for w in awaiting(by_id.values(), member):
        a = by_id[w.ask]
        title = a.question or "are you mobilizing?"
        if w.reason == "view":
            action = ("you are asked whether you are mobilizing: say your view" if member == a.member
                      else "say your view in the discernment you asked for")
            out.append(Waiting("ask", a.id, "view", title, action, a.created_at))
        else:
            since = max([a.created_at] + [p.at for p in a.proposals if member not in p.confirmed_by])
            out.append(Waiting("ask", a.id, "confirm", title,
                               "an outcome is proposed: confirm it, or propose another", since))
    return out
