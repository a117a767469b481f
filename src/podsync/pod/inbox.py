"""What needs me: everything the pod's practices wait on one member for.

Each practice says what it waits on a member for (``waiting_on`` in its module:
advice asked, a version to affirm, a review due, a check-in due, feedback waiting
for a steward...), each with since when and, where there is one, when it is due.
:func:`inbox` puts them together, most pressing first: what is due soonest (or
was due longest ago) first, then what has waited longest. Dates reached are what
put reminders here: a review date, an advice deadline, a check-in's rhythm, a
need's neglect threshold (pod settings) — read against ``now``, so a moved clock
moves them.

Each entry says what to do in plain words, the command that does it and the page
that shows it.
"""

from __future__ import annotations

import datetime as _dt
from collections.abc import Iterable

import msgspec

from podsync.pod import common as v
from podsync.pod.common import Waiting

#: (kind, reason) -> the command that acts on it (``{id}`` is the item).
COMMANDS: dict[tuple[str, str], str] = {
    ("need", "unheld"): "podsync need take {id}",
    ("need", "holder_silent"): "podsync need note {id} TEXT",
    ("agreement", "affirm"): "podsync agreement affirm {id}",
    ("agreement", "removed"): "podsync show {id}",
    ("agreement", "retire"): "podsync agreement retire {id}",
    ("agreement", "review_due"): "podsync agreement review {id} --review-on DATE",
    ("agreement", "renegotiating"): "podsync agreement revise {id}",
    ("decision", "advice_asked"): "podsync decision advise {id} --stance STANCE",
    ("decision", "deadline_passed"): "podsync decision decide {id} TEXT",
    ("decision", "review_due"): "podsync decision review {id} keep|revise|retire --note TEXT",
    ("ask", "view"): "podsync mobilizing view {id}",
    ("ask", "confirm"): "podsync mobilizing confirm {id} PROPOSAL",
    ("allies", "check_in"): "podsync allies met {id}",
    ("allies", "proposed"): "podsync allies accept {id}",
    ("nomination", "affirm"): "podsync steward affirm {id}",
    ("nomination", "consent"): "podsync steward consent {id}",
    ("team", "invited"): "podsync team accept {id}",
    ("thread", "reply"): "podsync feedback reply {id} TEXT",
    ("thread", "answer"): "podsync feedback consent {id} PROPOSAL",
    ("thread", "route"): "podsync feedback route {id} --carry-out PROPOSAL",
    ("thread", "consent"): "podsync feedback consent {id} PROPOSAL",
    ("statement", "respond"): "podsync feedback respond {id} TEXT",
}
#: Where the web page shows each kind.
PAGES = {"need": "/needs", "agreement": "/agreements", "decision": "/decisions",
         "ask": "/capacity", "allies": "/capacity", "team": "/capacity",
         "nomination": "/feedback", "thread": "/feedback", "statement": "/feedback"}


class Entry(msgspec.Struct, frozen=True):
    """One thing waiting on the member, as the inbox lists it."""

    kind: str
    id: str
    reason: str
    title: str
    action: str
    since: str
    due: str | None
    #: Its due time has come (a deadline passed, a review date reached...).
    overdue: bool
    command: str
    page: str


def _moment(value: str | None) -> _dt.datetime | None:
    try:
        moment = v.parse_at(value) if value else None
    except ValueError:
        return None
    return moment if moment is not None and moment.tzinfo is not None else None


def inbox(waiting: Iterable[Waiting], now: _dt.datetime) -> list[Entry]:
    """The entries for ``waiting``, most pressing first (one per item and reason)."""
    far = _dt.datetime.max.replace(tzinfo=_dt.timezone.utc)
    seen: set[tuple[str, str, str]] = set()
    ranked = []
    for w in waiting:
        if (w.kind, w.id, w.reason) in seen:
            continue
        seen.add((w.kind, w.id, w.reason))
        due, since = _moment(w.due), _moment(w.since)
        # What is simply waiting is due since it started waiting.
        when = due or since or far
        command = COMMANDS.get((w.kind, w.reason), "podsync show {id}").format(id=w.id)
        entry = Entry(kind=w.kind, id=w.id, reason=w.reason, title=w.title, action=w.action,
                      since=w.since, due=w.due, overdue=due is not None and due <= now,
                      command=command, page=PAGES.get(w.kind, "/"))
        ranked.append((when, since or far, w.kind, w.id, entry))
    ranked.sort(key=lambda r: r[:4])
    return [r[-1] for r in ranked]
