"""Teams, joined by consent, and the items a team attends to.

Teams are records in the pod document, next to the membership records (hence
the namespaced types). They are read from the pod document's counted records in
replay order (``Ledger.pod_records``), folded in that order:

- ``team.create`` (no item; the team id is the record's id): body ``name`` and
  ``members`` (member ids). The signer is a member at once if listed; everyone
  else listed is *invited*.
- ``team.add`` (item: the team), body ``member``: signed by that member, they
  join; signed by anyone else, it invites them. Being added to a team is an
  invitation the member accepts (``team.accept``) or declines
  (``team.decline``), both signed by the invited member only.
- ``team.remove`` (item: the team), body ``member``: takes a member (or an
  invitation) out; the records stay, so the pod sees who changed what.

Any member may form a team and invite; the ledger counts only records whose
signer was an active member when signing. Stewards of members in leadership are
records in the same document too: :mod:`podsync.pod.stewards`.

Document kind ``team-items``: one item per matter a team is asked to attend to
(from a member, or routed from feedback: then it carries only the clarified
statement and the proposal it came from). Created by an ``add`` record whose body
holds ``team``, ``title``, ``detail``, ``origin`` (member / feedback) and, when
routed, ``proposal``; state events ``address`` (with a note), ``reopen``,
``settle``; ``note``. States: ``open`` → ``addressed``.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import msgspec
from msgspec.structs import replace

from podsync.errors import InvalidInput, NotFound, TransitionRefused
from podsync.pod import common as v
from podsync.pod.common import Note, Waiting
from podsync.pod.events import (
    Candidate, Current, Event, Item, Lifecycle, Source, chronological, current, event_draft,
    notes, replay, settle, state_draft,
)
from podsync.records.format import Draft

POD_KIND = "pod"
TEAM_CREATE = "team.create"
TEAM_ADD = "team.add"
TEAM_REMOVE = "team.remove"
TEAM_ACCEPT = "team.accept"
TEAM_DECLINE = "team.decline"
#: Every pod-document record type this module reads and writes.
TEAM_TYPES = frozenset({TEAM_CREATE, TEAM_ADD, TEAM_REMOVE, TEAM_ACCEPT, TEAM_DECLINE})
ITEMS_KIND = "team-items"
ITEM_ADD = "add"
ITEM_STATES = ("open", "addressed")
ORIGINS = ("member", "feedback")


class Team(msgspec.Struct, frozen=True):
    id: str
    name: str
    created_by: str
    created_at: str
    members: list[str]
    #: Members invited who have not accepted or declined yet.
    invited: list[str]


class TeamItem(msgspec.Struct, frozen=True):
    id: str
    team: str
    title: str
    detail: str
    origin: str
    created_by: str
    created_at: str
    state: str
    addressed_note: str | None
    notes: list[Note]
    needs_reconciliation: bool
    candidates: list[Candidate]
    history: list[Event]


def _member(value: Any) -> str | None:
    """A member id from a record's body, or None for anything that is not one."""
    try:
        return v.member_id(value)
    except InvalidInput:
        return None


# -- teams ---------------------------------------------------------------------


def teams(records: Iterable[Source]) -> list[Team]:
    """Every team, by name, from the pod's counted records in replay order (records
    of other types are passed over)."""
    found: dict[str, Team] = {}
    members: dict[str, dict[str, None]] = {}  # team id -> its members, an ordered set
    invited: dict[str, dict[str, None]] = {}
    for c in records:
        r = c.record
        if r.type == TEAM_CREATE and r.item is None:
            listed = r.body.get("members")
            named = [m for m in (listed if isinstance(listed, list) else [])[:v.MAX_LIST_ITEMS]
                     if _member(m) is not None]
            found[r.id] = Team(id=r.id, name=v.shown(r.body.get("name"), v.MAX_TITLE_CHARS),
                               created_by=c.member, created_at=r.at, members=[], invited=[])
            members[r.id] = dict.fromkeys(m for m in named if m == c.member)
            invited[r.id] = dict.fromkeys(m for m in named if m != c.member)
        elif r.item in members:
            _fold(r.type, c.member, _member(r.body.get("member")), members[r.item],
                  invited[r.item])
    out = [msgspec.structs.replace(t, members=sorted(members[t.id]), invited=sorted(invited[t.id]))
           for t in found.values()]
    return sorted(out, key=lambda t: (t.name.casefold(), t.id))


def _fold(op: str, signer: str, member: str | None, members: dict[str, None],
          invited: dict[str, None]) -> None:
    """Apply one membership record about a team, as the rules allow it."""
    if op == TEAM_ADD and member is not None and member not in members:
        if member == signer:  # joining oneself needs nobody else's word
            members[member] = None
            invited.pop(member, None)
        else:
            invited[member] = None
    elif op == TEAM_ACCEPT and signer in invited:
        del invited[signer]
        members[signer] = None
    elif op == TEAM_DECLINE and signer in invited:
        del invited[signer]
    elif op == TEAM_REMOVE and member is not None:
        members.pop(member, None)
        invited.pop(member, None)


def team(records: Iterable[Source], team_id: str) -> Team:
    for t in teams(records):
        if t.id == team_id:
            return t
    raise NotFound(f"no team {team_id}")


def create_team(records: Iterable[Source], by: str, name: str,
                members: Iterable[str] = ()) -> Draft:
    """Form a team named ``name`` (no other team may have that name, in any case).
    ``by`` is a member if listed; the others listed are invited."""
    v.member_id(by, "by")
    name = v.title(name, "name")
    listed = v.member_ids(members, "members", required=False)
    if any(t.name.casefold() == name.casefold() for t in teams(records)):
        raise TransitionRefused(f"there is already a team named {name!r}")
    return Draft(TEAM_CREATE, {"name": name, "members": listed})


def add_team_member(records: Iterable[Source], team_id: str, by: str, member: str) -> Draft:
    """``by`` joins the team (``member`` is ``by``) or invites ``member`` to it."""
    by = v.member_id(by, "by")
    member = v.member_id(member)
    found = team(records, v.item_id(team_id, "team"))
    if member in found.members:
        raise TransitionRefused(f"{member} is already in the team")
    if member in found.invited and member != by:
        raise TransitionRefused(f"{member} is already invited; they accept or decline")
    return Draft(TEAM_ADD, {"member": member}, item=found.id)


def _invited(records: Iterable[Source], team_id: str, by: str) -> Team:
    by = v.member_id(by, "by")
    found = team(records, v.item_id(team_id, "team"))
    if by not in found.invited:
        raise TransitionRefused("you have not been invited to this team")
    return found


def accept_team(records: Iterable[Source], team_id: str, by: str) -> Draft:
    """The invited member accepts: they are in the team."""
    return Draft(TEAM_ACCEPT, {}, item=_invited(records, team_id, by).id)


def decline_team(records: Iterable[Source], team_id: str, by: str) -> Draft:
    """The invited member declines: the invitation is gone, nothing else changes."""
    return Draft(TEAM_DECLINE, {}, item=_invited(records, team_id, by).id)


def remove_team_member(records: Iterable[Source], team_id: str, by: str, member: str) -> Draft:
    """Take a member, or an invitation, out of the team (leaving, when ``member`` is ``by``)."""
    v.member_id(by, "by")
    member = v.member_id(member)
    found = team(records, v.item_id(team_id, "team"))
    if member not in found.members and member not in found.invited:
        raise TransitionRefused(f"{member} is not in the team")
    return Draft(TEAM_REMOVE, {"member": member}, item=found.id)


# -- team items ----------------------------------------------------------------


class _State(msgspec.Struct, frozen=True):
    status: str
    note: str | None


def _apply(s: _State, e: Event) -> _State:
    if e.op == "address" and s.status == "open":
        return replace(s, status="addressed", note=v.shown(e.args.get("note")))
    if e.op == "reopen" and s.status == "addressed":
        return _State("open", None)
    return s


LIFECYCLE: Lifecycle[_State] = Lifecycle(
    states=ITEM_STATES, state_ops=frozenset({"address", "reopen"}), apply=_apply,
    name=lambda s: s.status, key=lambda s: s.status, summary=lambda s: {"note": s.note},
)


def _initial(item: Item) -> _State:
    return _State("open", None)


def add_team_item(team_id: str, title: str, detail: str = "", origin: str = "member", *,
                  proposal: str | None = None) -> Draft:
    """Ask team ``team_id`` to attend to something. ``proposal`` ties an item routed
    from feedback to the proposal it carries out, so routing it twice is seen."""
    body: dict[str, Any] = {"team": v.item_id(team_id, "team"), "title": v.title(title),
                            "detail": v.text(detail, "detail", required=False),
                            "origin": v.choice(origin, "origin", ORIGINS)}
    if proposal is not None:
        body["proposal"] = v.item_id(proposal, "proposal")
    return Draft(ITEM_ADD, body)


def _load(item: Item, *, settled: bool = True) -> Current[_State]:
    return current(item, LIFECYCLE, _initial, settled=settled)


def address_team_item(item: Item, by: str, note: str) -> Draft:
    v.member_id(by, "by")
    note = v.text(note, "note")
    cur = _load(item)
    if cur.state.status != "open":
        raise TransitionRefused("this item has already been addressed")
    return state_draft(cur, "address", note=note)


def reopen_team_item(item: Item, by: str, note: str = "") -> Draft:
    v.member_id(by, "by")
    note = v.text(note, "note", required=False)
    cur = _load(item)
    if cur.state.status != "addressed":
        raise TransitionRefused("this item is still open")
    return state_draft(cur, "reopen", note=note)


def note_team_item(item: Item, by: str, text: str) -> Draft:
    v.member_id(by, "by")
    return event_draft(_load(item, settled=False), "note", text=v.text(text, "text"))


def settle_team_item(item: Item, by: str, choice: str) -> Draft:
    v.member_id(by, "by")
    return settle(_load(item, settled=False), choice)


def team_items(items: dict[str, Item], team_id: str | None = None) -> list[TeamItem]:
    """Items of every team (or of ``team_id``), oldest first."""
    out = [derive(i) for i in items.values()
           if team_id is None or i.fields.get("team") == team_id]
    return sorted(out, key=lambda t: (t.created_at, t.id))


def team_item(items: dict[str, Item], item_id: str) -> TeamItem:
    found = items.get(item_id)
    if found is None:
        raise NotFound(f"no team item {item_id}")
    return derive(found)


def derive(item: Item) -> TeamItem:
    """The team item as its records make it; total: whatever a signed record's body holds."""
    raw, events = item.fields, item.events
    r = replay(events, LIFECYCLE, _initial(item))
    origin = raw.get("origin")
    return TeamItem(
        id=item.id, team=v.shown(raw.get("team")), title=v.shown(raw.get("title")),
        detail=v.shown(raw.get("detail")), origin=origin if origin in ORIGINS else "",
        created_by=item.created_by, created_at=item.created_at, state=r.state.status,
        addressed_note=r.state.note, notes=notes(events),
        needs_reconciliation=r.needs_reconciliation, candidates=r.candidates,
        history=chronological(events))


def waiting_on(found: Iterable[Team], member: str) -> list[Waiting]:
    """Team invitations waiting for ``member``'s answer."""
    return [Waiting("team", t.id, "invited", t.name, "you are invited to the team: accept or "
                    "decline", t.created_at) for t in found if member in t.invited]
