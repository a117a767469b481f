"""Validation of operation arguments, shared by every kind.

Every operation validates its arguments here, then reads the item, then decides
what to record; a bad argument raises :class:`InvalidInput` before any record
is made. :func:`shown` is the other side: how a view shows a record's text,
whatever a writer put there.
"""

from __future__ import annotations

import datetime as _dt
import unicodedata
from collections.abc import Iterable
from typing import Any

import msgspec

from podsync.errors import InvalidInput

#: Member ids come from the roster (device-derived ids); 128 characters is far
#: above any id podsync makes and keeps a forged id from bloating documents.
MAX_MEMBER_ID_CHARS = 128
#: A title is one line on a board; 200 characters is a long sentence.
MAX_TITLE_CHARS = 200
#: Notes, statements and advice are prose, not files. 20,000 characters (about
#: eight pages) fits any honest message and keeps every document quick to sync.
MAX_TEXT_CHARS = 20_000
#: Lists given in one operation (parties, anchors, team members): a pod has at
#: most about 50 members (DESIGN.md), so 100 leaves room without allowing abuse.
MAX_LIST_ITEMS = 100


class Note(msgspec.Struct, frozen=True):
    """A free-text remark left on an item; notes never change its state."""

    id: str
    at: str
    by: str
    text: str


class Waiting(msgspec.Struct, frozen=True):
    """Something a practice asks of one member now (an inbox lists these)."""

    #: need, agreement, decision, ask, allies, thread, statement, nomination, team.
    kind: str
    #: The item (document, nomination, team) it is about.
    id: str
    #: Why it waits on the member, one word per practice (``advice_asked``...).
    reason: str
    title: str
    #: What to do, in plain words.
    action: str
    #: Since when it waits (ISO time).
    since: str
    #: When it is or was due (ISO time); None when it is simply waiting.
    due: str | None = None


# -- arguments ---------------------------------------------------------------


def member_id(value: Any, field: str = "member") -> str:
    """A member id: a non-empty printable string without whitespace."""
    if not isinstance(value, str) or not value:
        raise InvalidInput(f"{field}: a member id is required")
    if len(value) > MAX_MEMBER_ID_CHARS:
        raise InvalidInput(f"{field}: a member id has at most {MAX_MEMBER_ID_CHARS} characters")
    if any(ch.isspace() or unicodedata.category(ch).startswith("C") for ch in value):
        raise InvalidInput(f"{field}: {value!r} is not a member id "
                           "(no spaces or control characters)")
    return value


def member_ids(values: Iterable[Any], field: str, *, required: bool = True) -> list[str]:
    """Distinct member ids, in the order given."""
    if isinstance(values, str):
        raise InvalidInput(f"{field}: give a list of member ids, not one string")
    out: list[str] = []
    for value in values:
        mid = member_id(value, field)
        if mid not in out:
            out.append(mid)
    if required and not out:
        raise InvalidInput(f"{field}: name at least one member")
    if len(out) > MAX_LIST_ITEMS:
        raise InvalidInput(f"{field}: at most {MAX_LIST_ITEMS} members")
    return out


def text(value: Any, field: str, *, required: bool = True) -> str:
    """Prose: trimmed, at most MAX_TEXT_CHARS, non-empty unless optional."""
    if value is None:
        value = ""
    if not isinstance(value, str):
        raise InvalidInput(f"{field}: expected text")
    value = value.strip()
    if required and not value:
        raise InvalidInput(f"{field}: must not be empty")
    if len(value) > MAX_TEXT_CHARS:
        raise InvalidInput(f"{field}: at most {MAX_TEXT_CHARS} characters")
    return value


def title(value: Any, field: str = "title") -> str:
    """A one-line title."""
    value = text(value, field)
    if "\n" in value or "\r" in value:
        raise InvalidInput(f"{field}: a title is one line")
    if len(value) > MAX_TITLE_CHARS:
        raise InvalidInput(f"{field}: at most {MAX_TITLE_CHARS} characters")
    return value


def shown(value: Any, limit: int = MAX_TEXT_CHARS) -> str:
    """A text field of a signed record as views show it: text as it is (cut at
    ``limit``), anything else (a writer's mistake or malice) as nothing."""
    return value[:limit] if isinstance(value, str) else ""


def choice(value: Any, field: str, allowed: Iterable[str]) -> str:
    allowed = tuple(allowed)
    if value not in allowed:
        raise InvalidInput(f"{field}: {value!r} is not one of {', '.join(allowed)}")
    return str(value)


def item_id(value: Any, field: str = "id") -> str:
    if not isinstance(value, str) or not value or len(value) > MAX_MEMBER_ID_CHARS:
        raise InvalidInput(f"{field}: not an id")
    return value


def iso_at(at: Any, field: str = "at") -> str:
    """A timezone-aware datetime as an ISO 8601 UTC string (second precision)."""
    if not isinstance(at, _dt.datetime) or at.tzinfo is None:
        raise InvalidInput(f"{field}: a timezone-aware date and time is required")
    return at.astimezone(_dt.timezone.utc).isoformat(timespec="seconds")


def iso_date(value: Any, field: str) -> str | None:
    """An optional calendar date as ``YYYY-MM-DD``."""
    if value is None:
        return None
    if isinstance(value, _dt.datetime) or not isinstance(value, _dt.date):
        raise InvalidInput(f"{field}: expected a date like \"2027-03-01\"")
    return value.isoformat()


def parse_at(value: str) -> _dt.datetime:
    return _dt.datetime.fromisoformat(value)


def days_between(earlier: str, now: _dt.datetime) -> int:
    """Whole days from the ISO time ``earlier`` to ``now``."""
    return (now - parse_at(earlier)).days


def day_start(iso_day: str) -> str:
    """The first moment (UTC) of the ISO date ``iso_day``, as an ISO time."""
    return _dt.datetime.combine(_dt.date.fromisoformat(iso_day), _dt.time(),
                                _dt.timezone.utc).isoformat()


def date_reached(iso_day: str | None, now: _dt.datetime) -> bool:
    """Whether the ISO date ``iso_day`` is today or past, in UTC."""
    if not iso_day:
        return False
    return _dt.date.fromisoformat(iso_day) <= now.astimezone(_dt.timezone.utc).date()


