"""Teams, stewards of members in leadership, and the items a team attends to.

In the ``pod`` document (whose ``roster`` key belongs to the trust layer) this
module owns two root maps, created once with the pod by :func:`init_pod_keys`:

- ``teams``: team id → ``{id, name, created_by, created_at, members}``, where
  ``members`` maps member id → ``{added_by, added_at}`` plus ``removed_by`` /
  ``removed_at`` once removed (kept, so the pod sees who changed what).
- ``stewards``: a key derived from leader and steward → ``{leader, steward, named_by,
  named_at}`` (+ ``removed_by`` / ``removed_at``). A leader is never their own
  steward. Threads capture the stewards when they open, so naming or removing a
  steward later changes who hears new feedback, not who read the old.

Document kind ``team-items``: root map ``items``, one item per matter a team is
asked to attend to (from a member, or routed from feedback: then it carries only
the clarified statement). Creation fields ``team``, ``title``, ``detail``,
``origin``, ``created_by``, ``created_at``; state events ``address`` (with a
note), ``reopen``, ``settle``; ``note``. States: ``open`` → ``addressed``.
"""

from __future__ import annotations

import datetime as _dt
from collections.abc import Iterable
from dataclasses import dataclass, replace
from typing import Any

import automerge.core as am
import msgspec

from podsync.errors import InvalidInput, NotFound, TransitionRefused
from podsync.pod import common as v
from podsync.pod.common import ITEMS_KEY, Note
from podsync.pod.events import (
    Candidate, Current, Event, Lifecycle, chronological, load, notes, parse_events, replay,
    settle, write_event, write_state_event,
)
from podsync.repo.values import get_path, put_value

POD_KIND = "pod"
TEAMS_KEY = "teams"
STEWARDS_KEY = "stewards"
ITEMS_KIND = "team-items"
ITEM_STATES = ("open", "addressed")
ORIGINS = ("member", "feedback")


class Team(msgspec.Struct, frozen=True):
    id: str
    name: str
    created_by: str
    created_at: str
    members: list[str]


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


def init_pod_keys(tx: Any) -> None:
    """Create the teams and stewards maps; call once, in the pod's creating transaction."""
    tx.put_object(am.ROOT, TEAMS_KEY, am.ObjType.Map)
    tx.put_object(am.ROOT, STEWARDS_KEY, am.ObjType.Map)


# -- teams ---------------------------------------------------------------------


def create_team(tx: Any, by: str, at: _dt.datetime, name: str, members: Iterable[str] = ()) -> str:
    by, when, name = v.member_id(by, "by"), v.iso_at(at), v.title(name, "name")
    listed = v.member_ids(members, "members", required=False)
    teams_obj = v.container(tx, TEAMS_KEY, POD_KIND)
    if any(t.name.casefold() == name.casefold() for t in teams(tx)):
        raise TransitionRefused(f"there is already a team named {name!r}")
    new = v.new_id()
    put_value(tx, teams_obj, new, {
        "id": new, "name": name, "created_by": by, "created_at": when,
        "members": {m: {"added_by": by, "added_at": when} for m in listed}})
    return new


def _members_obj(tx: Any, team_id: str) -> tuple[bytes, dict[str, Any]]:
    team_obj = v.child(tx, v.container(tx, TEAMS_KEY, POD_KIND), v.item_id(team_id, "team"), "team")
    members_obj = v.child(tx, team_obj, "members", "member list of team")
    return members_obj, v.read(tx, members_obj)


def add_team_member(tx: Any, team_id: str, by: str, at: _dt.datetime, member: str) -> None:
    by, when, member = v.member_id(by, "by"), v.iso_at(at), v.member_id(member)
    members_obj, current = _members_obj(tx, team_id)
    if member in _active(current):
        raise TransitionRefused(f"{member} is already in the team")
    put_value(tx, members_obj, member, {"added_by": by, "added_at": when})


def remove_team_member(tx: Any, team_id: str, by: str, at: _dt.datetime, member: str) -> None:
    by, when, member = v.member_id(by, "by"), v.iso_at(at), v.member_id(member)
    members_obj, current = _members_obj(tx, team_id)
    if member not in _active(current):
        raise TransitionRefused(f"{member} is not in the team")
    entry = v.child(tx, members_obj, member, "team member")
    put_value(tx, entry, "removed_by", by)
    put_value(tx, entry, "removed_at", when)


def _active(entries: dict[str, Any]) -> list[str]:
    return sorted(k for k, e in entries.items() if isinstance(e, dict) and "removed_at" not in e)


def teams(doc: Any) -> list[Team]:
    out = [Team(id=str(t.get("id")), name=str(t.get("name", "")),
                created_by=str(t.get("created_by", "")), created_at=str(t.get("created_at", "")),
                members=_active(t.get("members") or {}))
           for t in v.collection(doc, TEAMS_KEY).values()]
    return sorted(out, key=lambda t: (t.name.casefold(), t.id))


def team(doc: Any, team_id: str) -> Team:
    for t in teams(doc):
        if t.id == team_id:
            return t
    raise NotFound(f"no team {team_id}")


# -- stewards ------------------------------------------------------------------


def name_steward(tx: Any, by: str, at: _dt.datetime, leader: str, steward: str) -> None:
    """Name ``steward`` as a listener for feedback meant for ``leader``."""
    by, when = v.member_id(by, "by"), v.iso_at(at)
    leader, steward = v.member_id(leader, "leader"), v.member_id(steward, "steward")
    if leader == steward:
        raise InvalidInput("steward: a leader cannot be their own steward")
    stewards_obj = v.container(tx, STEWARDS_KEY, POD_KIND)
    if steward in stewards_of(tx, leader):
        raise TransitionRefused(f"{steward} is already a steward for {leader}")
    put_value(tx, stewards_obj, _steward_key(leader, steward),
              {"leader": leader, "steward": steward, "named_by": by, "named_at": when})


def remove_steward(tx: Any, by: str, at: _dt.datetime, leader: str, steward: str) -> None:
    by, when = v.member_id(by, "by"), v.iso_at(at)
    leader, steward = v.member_id(leader, "leader"), v.member_id(steward, "steward")
    stewards_obj = v.container(tx, STEWARDS_KEY, POD_KIND)
    if steward not in stewards_of(tx, leader):
        raise TransitionRefused(f"{steward} is not a steward for {leader}")
    entry = v.child(tx, stewards_obj, _steward_key(leader, steward), "steward")
    put_value(tx, entry, "removed_by", by)
    put_value(tx, entry, "removed_at", when)


def _steward_key(leader: str, steward: str) -> str:
    # Hashed rather than joined with a separator, so no member id can collide.
    return v.derived_id("steward", leader, steward)


def stewardships(doc: Any) -> dict[str, list[str]]:
    """Leader → their current stewards (never the leader themself)."""
    out: dict[str, list[str]] = {}
    raw = get_path(doc, STEWARDS_KEY)
    for entry in (raw.values() if isinstance(raw, dict) else []):
        if not isinstance(entry, dict) or "removed_at" in entry:
            continue
        leader, steward = entry.get("leader"), entry.get("steward")
        if isinstance(leader, str) and isinstance(steward, str) and leader != steward:
            out.setdefault(leader, []).append(steward)
    return {k: sorted(set(s)) for k, s in sorted(out.items())}


def stewards_of(doc: Any, leader: str) -> list[str]:
    return stewardships(doc).get(leader, [])


# -- team items ----------------------------------------------------------------


@dataclass(frozen=True)
class _State:
    status: str
    note: str | None


def _apply(s: _State, e: Event) -> _State:
    if e.op == "address" and s.status == "open":
        return replace(s, status="addressed", note=str(e.args.get("note", "")))
    if e.op == "reopen" and s.status == "addressed":
        return _State("open", None)
    return s


LIFECYCLE: Lifecycle[_State] = Lifecycle(
    states=ITEM_STATES, state_ops=frozenset({"address", "reopen"}), apply=_apply,
    name=lambda s: s.status, key=lambda s: s.status, summary=lambda s: {"note": s.note},
)


def _initial(fields: dict[str, Any]) -> _State:
    return _State("open", None)


def init_team_items(tx: Any) -> None:
    """Set up a new team-items document (call once, when the document is created)."""
    v.init_document(tx, ITEMS_KIND, maps=[ITEMS_KEY])


def add_team_item(tx: Any, by: str, at: _dt.datetime, team_id: str, title: str,
                  detail: str = "", origin: str = "member", item_id: str | None = None) -> str:
    """Ask team ``team_id`` to attend to something; returns the item id."""
    fields = {"team": v.item_id(team_id, "team"), "title": v.title(title),
              "detail": v.text(detail, "detail", required=False),
              "origin": v.choice(origin, "origin", ORIGINS),
              "created_by": v.member_id(by, "by"), "created_at": v.iso_at(at)}
    new = v.item_id(item_id) if item_id is not None else v.new_id()
    items = v.container(tx, ITEMS_KEY, ITEMS_KIND)
    if tx.get(items, new) is not None:
        raise TransitionRefused(f"team item {new} already exists")
    v.create_item(tx, items, new, fields)
    return new


def _load(tx: Any, item: str, *, settled: bool = True) -> Current[_State]:
    return load(tx, v.container(tx, ITEMS_KEY, ITEMS_KIND), v.item_id(item, "item"),
                "team item", LIFECYCLE, _initial, settled=settled)


def address_team_item(tx: Any, item: str, by: str, at: _dt.datetime, note: str) -> str:
    by, when, note = v.member_id(by, "by"), v.iso_at(at), v.text(note, "note")
    cur = _load(tx, item)
    if cur.state.status != "open":
        raise TransitionRefused("this item has already been addressed")
    return write_state_event(tx, cur, by=by, at=when, op="address", note=note)


def reopen_team_item(tx: Any, item: str, by: str, at: _dt.datetime, note: str = "") -> str:
    by, when, note = v.member_id(by, "by"), v.iso_at(at), v.text(note, "note", required=False)
    cur = _load(tx, item)
    if cur.state.status != "addressed":
        raise TransitionRefused("this item is still open")
    return write_state_event(tx, cur, by=by, at=when, op="reopen", note=note)


def note_team_item(tx: Any, item: str, by: str, at: _dt.datetime, text: str) -> str:
    by, when, body = v.member_id(by, "by"), v.iso_at(at), v.text(text, "text")
    return write_event(tx, _load(tx, item, settled=False), by=by, at=when, op="note", text=body)


def settle_team_item(tx: Any, item: str, by: str, at: _dt.datetime, choice: str) -> str:
    by, when = v.member_id(by, "by"), v.iso_at(at)
    return settle(tx, _load(tx, item, settled=False), by=by, at=when, choice=choice)


def team_items(doc: Any, team_id: str | None = None) -> list[TeamItem]:
    """Items of every team (or of ``team_id``), oldest first."""
    out = [_derive(raw) for raw in v.collection(doc, ITEMS_KEY).values()
           if team_id is None or raw.get("team") == team_id]
    return sorted(out, key=lambda t: (t.created_at, t.id))


def team_item(doc: Any, item: str) -> TeamItem:
    raw = v.collection(doc, ITEMS_KEY).get(item)
    if raw is None:
        raise NotFound(f"no team item {item}")
    return _derive(raw)


def _derive(raw: dict[str, Any]) -> TeamItem:
    events = parse_events(raw.get("events"))
    r = replay(events, LIFECYCLE, _initial(raw))
    return TeamItem(
        id=str(raw.get("id")), team=str(raw.get("team", "")), title=str(raw.get("title", "")),
        detail=str(raw.get("detail", "")), origin=str(raw.get("origin", "")),
        created_by=str(raw.get("created_by", "")), created_at=str(raw.get("created_at", "")),
        state=r.state.status, addressed_note=r.state.note, notes=notes(events),
        needs_reconciliation=r.needs_reconciliation, candidates=r.candidates,
        history=chronological(events))
