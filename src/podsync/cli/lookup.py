"""What the practice commands share: names for members and teams, times, output.

A member argument may be a member id, the start of one, or a member's name (as
``podsync members`` shows it); a team argument a team id, its start or its name.
Names are matched without regard to case; a name two members share must be
given as an id. Item ids may be shortened anywhere: the node resolves any unique
start of an id (:mod:`podsync.api.find`).

People read names, never member ids, and times in their own time zone, relative
where that reads better (:func:`when`); listings show ids cut to the shortest
start that is still unique (:func:`shorts`).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import msgspec
import typer

from podsync.api import client
from podsync.cli.context import Lines, escape, home_of, out, print_json
from podsync.errors import InvalidInput, NotFound, UsageError
from podsync.home import Home


class Lookup:
    """Member and team names for one command, fetched once and only if needed."""

    def __init__(self, home: Home) -> None:
        self.home = home
        self._members: list[dict[str, Any]] | None = None
        self._teams: list[dict[str, Any]] | None = None

    @classmethod
    def of(cls, ctx: typer.Context) -> Lookup:
        return cls(home_of(ctx))

    def call(self, name: str, args: dict[str, Any] | None = None, *, as_type: Any = Any) -> Any:
        return client.call(self.home, name, args or {}, as_type=as_type)

    def listing(self, name: str, row: type, *, everything: bool,
                json: bool) -> list[dict[str, Any]] | None:
        """The items listing ``name`` returns (archived ones too with
        ``everything``), each with only the fields of ``row`` (the rest, most of
        the bytes, skipped unread); None when ``json`` printed the listing, as
        the node (or the store path) wrote it."""
        args = {"all": True} if everything else {}
        if json:
            print_json(self.call(name, args, as_type=msgspec.Raw))
            return None
        return [msgspec.structs.asdict(r) for r in self.call(name, args, as_type=list[row])]

    @property
    def members(self) -> list[dict[str, Any]]:
        if self._members is None:
            self._members = self.call("members.list")
        return self._members

    @property
    def teams(self) -> list[dict[str, Any]]:
        if self._teams is None:
            self._teams = self.call("team.list")
        return self._teams

    def member(self, text: str) -> str:
        """The member id ``text`` names (an id or its start, or a name)."""
        if any(m["member_id"] == text for m in self.members):
            return text
        named = [m for m in self.members if m["name"].casefold() == text.strip().casefold()]
        if not named and len(text.strip()) >= MIN_PREFIX:
            named = [m for m in self.members if m["member_id"].startswith(text.strip())]
        active = [m for m in named if m["status"] == "active"] or named
        if not active:
            raise NotFound(f"no member named {text!r} in this pod; `podsync members` lists them")
        if len(active) > 1:
            cut = shorts([m["member_id"] for m in active])
            raise UsageError(f"several members match {text!r}; give more of a member id: "
                             + ", ".join(f"{cut[m['member_id']]} ({m['name']})" for m in active))
        return str(active[0]["member_id"])

    def name(self, member_id: str | None) -> str:
        """A member's name for people to read (the id when the roster lacks it)."""
        if member_id is None:
            return ""
        found = next((m for m in self.members if m["member_id"] == member_id), None)
        return str(found["name"]) if found else member_id

    def names(self, member_ids: list[str]) -> str:
        return ", ".join(self.name(m) for m in member_ids)

    def named(self, text: str) -> str:
        """``text`` with every member id in it replaced by the member's name."""
        for m in sorted(self.members, key=lambda m: -len(m["member_id"])):
            text = text.replace(m["member_id"], m["name"])
        return text

    def team(self, text: str) -> str:
        """The team id ``text`` names (an id or its start, or a team's name)."""
        for t in self.teams:
            if t["id"] == text or t["name"].casefold() == text.strip().casefold():
                return str(t["id"])
        started = [t for t in self.teams if len(text) >= MIN_PREFIX and t["id"].startswith(text)]
        if len(started) == 1:
            return str(started[0]["id"])
        if started:
            raise UsageError(f"several teams start with {text!r}: "
                             + ", ".join(f"{t['id'][:len(text) + 4]} ({t['name']})"
                                         for t in started))
        raise NotFound(f"no team named {text!r} in this pod; `podsync team list` lists them")

    def team_name(self, team_id: str | None) -> str:
        found = next((t for t in self.teams if t["id"] == team_id), None)
        return str(found["name"]) if found else str(team_id)


#: Fewer characters than this name too much to be meant (as the node resolves ids).
MIN_PREFIX = 4
#: Listings cut ids to at least this many characters: enough to tell the items of
#: a small pod apart at a glance, and to be typed back.
SHORT_ID = 6


def shorts(ids: list[str]) -> dict[str, str]:
    """Each id cut to the shortest start (at least :data:`SHORT_ID` characters)
    that no other of ``ids`` shares."""
    unique = list(dict.fromkeys(ids))
    length = SHORT_ID
    longest = max((len(i) for i in unique), default=0)
    while length < longest and len({i[:length] for i in unique}) < len(unique):
        length += 1
    return {i: i[:length] for i in unique}


def _ago(seconds: float) -> str:
    for unit, size in (("day", 86400), ("hour", 3600), ("minute", 60)):
        if seconds >= size:
            n = int(seconds // size)
            return f"{n} {unit}{'s' if n != 1 else ''}"
    return ""


#: Past this, a relative time reads worse than the date.
RELATIVE_DAYS = 45


def when(iso: str | None, now: dt.datetime | None = None) -> str:
    """An ISO time or date for people: in their own time zone, and relative where
    that reads better ("in 3 days", "2 hours ago"); "" for nothing."""
    if not iso:
        return ""
    now = now or dt.datetime.now(dt.timezone.utc)
    try:
        if len(iso) == 10:  # a calendar date: the day, in the member's own calendar
            day = dt.date.fromisoformat(iso)
            days = (day - now.astimezone().date()).days
            rel = ("today" if days == 0 else "tomorrow" if days == 1 else
                   "yesterday" if days == -1 else f"in {days} days" if 0 < days <= RELATIVE_DAYS
                   else f"{-days} days ago" if -RELATIVE_DAYS <= days < 0 else "")
            return f"{iso} ({rel})" if rel else iso
        moment_ = dt.datetime.fromisoformat(iso)
    except ValueError:
        return iso
    if moment_.tzinfo is None:
        moment_ = moment_.replace(tzinfo=dt.timezone.utc)
    local = moment_.astimezone()
    seconds = (moment_ - now).total_seconds()
    if abs(seconds) > RELATIVE_DAYS * 86400:
        return local.strftime("%Y-%m-%d %H:%M")
    span = _ago(abs(seconds))
    if not span:
        return "just now"
    return f"in {span}" if seconds > 0 else f"{span} ago"


def moment(text: str, field: str) -> str:
    """``3d`` / ``12h`` / ``30m`` from now, or an ISO date or date-time (local time
    unless it says otherwise), as an ISO date-time with its offset."""
    # Only commands that take a time need the operations' parser (and what it imports).
    from podsync.api.trust_ops import parse_duration  # noqa: PLC0415

    try:
        return (dt.datetime.now(dt.timezone.utc) + parse_duration(text)).isoformat(
            timespec="seconds")
    except InvalidInput:
        pass
    try:
        parsed = dt.datetime.fromisoformat(text.strip())
    except ValueError:
        raise InvalidInput(f"{field}: {text!r} is neither a duration like 3d nor a date "
                           "like 2025-06-01 or 2025-06-01T18:00") from None
    if parsed.tzinfo is None:
        parsed = parsed.astimezone()  # as the person's clock reads it
    return parsed.isoformat(timespec="seconds")


def show(result: Any, json: bool, human: str) -> None:
    """Print ``result`` as JSON, or the ``human`` line (rich markup) otherwise."""
    if json:
        print_json(result)
    else:
        out().print(human)


def reconciliation(item: dict[str, Any], lookup: Lookup) -> str:
    """A line saying which candidates an item could settle to, or ''."""
    if not item.get("needs_reconciliation"):
        return ""
    options = "; ".join(f"{c['state']} (by {escape(lookup.names(c['by']))}, choice {c['id']})"
                        for c in item["candidates"])
    return f"[bold yellow]needs reconciliation[/bold yellow]: {options}"


def archived(item: dict[str, Any]) -> str:
    """A marker for an item in the archive (listed with --all), or ''."""
    return " (archived)" if item.get("archived") else ""


def show_item(item: dict[str, Any], json: bool, lookup: Lookup, title: str) -> None:
    """One item (a need, an agreement, a decision) with its history, or its JSON."""
    if json:
        print_json(item)
        return
    lines = Lines()
    lines.add(f"[bold]{escape(title)}[/bold] ({item['id']})")
    by = item.get("created_by") or item.get("decider")
    lines.add(f"  {item['state']}{archived(item)}; started by {escape(lookup.name(by))} "
              f"at {item['created_at']}")
    line = reconciliation(item, lookup)
    if line:
        lines.add(f"  {line}")
    for event in item.get("history", []):
        words = ", ".join(f"{k}: {v}" for k, v in event["args"].items()
                          if isinstance(v, str) and v and k not in ("state",))
        lines.add(f"  {event['at']} {escape(lookup.name(event['by']))} {event['op']}"
                  + (f" — {escape(words)}" if words else ""))
    out().print(lines)


JSON_OPTION = typer.Option(False, "--json", help="Print one JSON document.")
ALL_OPTION = typer.Option(False, "--all", help="Archived items too: closed, and quiet for "
                                               "longer than the pod's archive setting.")
NOTE_OPTION = typer.Option("", "--note", help="A note to keep with the change.")
