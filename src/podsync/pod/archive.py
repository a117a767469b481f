"""Which items are done with, and since when: what the archive takes.

An item leaves the live listings once it is closed and nothing has happened to
it for as long as the pod's archive setting says (:mod:`podsync.pod.settings`):
an attended or let-be need, a declined or retired agreement, a decided or
withdrawn decision, an addressed team item, a routed or withdrawn feedback
thread, a discerned "are you mobilizing?" ask. A note on a closed item is something happening: it is live
again for that long. An item that needs reconciliation, and a decision whose
review is due, are never archived: they wait for a person.

Archived items are still read by every ``get`` and ``show``, by the listings
asked for everything, by search and by exports; only the live listings leave
them out.
"""

from __future__ import annotations

import datetime as _dt
from typing import Any

from podsync.pod.agreements import Agreement
from podsync.pod.decisions import Decision
from podsync.pod.discernment import Ask
from podsync.pod.feedback import Thread
from podsync.pod.needs import Need
from podsync.pod.teams import TeamItem

#: The states in which each kind of item is done with.
CLOSED: dict[type, frozenset[str]] = {
    Need: frozenset({"attended", "let_be"}),
    Agreement: frozenset({"declined", "retired"}),
    Decision: frozenset({"decided", "withdrawn"}),
    TeamItem: frozenset({"addressed"}),
    Thread: frozenset({"routed", "withdrawn"}),
    Ask: frozenset({"discerned"}),
}


def quiet_since(view: Any) -> str | None:
    """When a closed item last saw anything happen (ISO time); None while it is
    open, or of a kind never archived."""
    states = CLOSED.get(type(view))
    if states is None or view.state not in states or view.needs_reconciliation:
        return None
    if getattr(view, "review_due", False):
        return None  # due for review: it waits for a person
    return max([view.created_at, *(e.at for e in view.history)])


def archived(quiet: str | None, after_days: int, now: _dt.datetime) -> bool:
    """Whether an item quiet since ``quiet`` is in the archive at ``now``."""
    if quiet is None:
        return False
    try:
        since = _dt.datetime.fromisoformat(quiet)
    except ValueError:
        return False
    if since.tzinfo is None:
        return False
    return now - since >= _dt.timedelta(days=after_days)
