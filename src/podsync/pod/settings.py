"""Pod settings: signed records any member may write; the latest one counts.

A setting is a ``pod.setting`` record in the pod document, body ``{name,
value}``. Records there are replayed in one causal order on every node (ties
broken by time, then id), so every node agrees on which value is the latest.
A record naming an unknown setting, or a value out of its range, changes
nothing (any member's node could sign one).

Settings:

- ``archive_after_days``: how long a closed item stays in the live listings
  after anything last happened to it (:mod:`podsync.pod.archive`).
- ``need_unheld_days``: after how many days an open need nobody holds shows as
  neglected (and comes to every member's inbox) (:mod:`podsync.pod.needs`).
- ``holder_silent_days``: after how many days without a word from a holder a
  need they hold shows as neglected (and comes to their inbox).
"""

from __future__ import annotations

from collections.abc import Iterable

import msgspec

from podsync.errors import InvalidInput
from podsync.pod import needs
from podsync.pod.events import Source
from podsync.records.format import Draft

SETTING = "pod.setting"
ARCHIVE_AFTER_DAYS = "archive_after_days"
NEED_UNHELD_DAYS = "need_unheld_days"
HOLDER_SILENT_DAYS = "holder_silent_days"


class Spec(msgspec.Struct, frozen=True):
    default: int
    low: int
    high: int
    about: str


SPECS: dict[str, Spec] = {
    # A season: a pod that meets monthly has talked about an attended need a few
    # times before it leaves the board; ten years is as good as never.
    ARCHIVE_AFTER_DAYS: Spec(90, 1, 3650, "days a closed, quiet item stays in the live "
                                          "listings before it moves to the archive"),
    # A day is the shortest span a board read daily can show; past a year a
    # threshold no longer says "neglected", it says "never".
    NEED_UNHELD_DAYS: Spec(needs.NEED_UNHELD_DAYS, 1, 365,
                           "days an open need may go with no holder before it shows "
                           "as neglected"),
    HOLDER_SILENT_DAYS: Spec(needs.HOLDER_SILENT_DAYS, 1, 365,
                             "days a holder may go without a word on a need they hold "
                             "before it shows as neglected"),
}


class Setting(msgspec.Struct, frozen=True):
    name: str
    value: int
    default: int
    about: str
    #: Who set it and when (None: never set, the default holds).
    set_by: str | None
    set_at: str | None


def _valid(name: object, value: object) -> bool:
    spec = SPECS.get(name) if isinstance(name, str) else None
    return (spec is not None and isinstance(value, int) and not isinstance(value, bool)
            and spec.low <= value <= spec.high)


def settings(records: Iterable[Source]) -> dict[str, Setting]:
    """Every setting as the pod's counted records (in replay order) leave it."""
    out = {name: Setting(name, spec.default, spec.default, spec.about, None, None)
           for name, spec in SPECS.items()}
    for c in records:
        r = c.record
        if r.type != SETTING or not isinstance(r.body, dict):
            continue
        name, value = r.body.get("name"), r.body.get("value")
        if _valid(name, value):
            assert isinstance(name, str) and isinstance(value, int)
            spec = SPECS[name]
            out[name] = Setting(name, value, spec.default, spec.about, c.member, r.at)
    return out


def neglect(found: dict[str, Setting]) -> needs.Neglect:
    """The needs board's neglect thresholds as the pod set them."""
    return needs.Neglect(unheld_days=found[NEED_UNHELD_DAYS].value,
                         silent_days=found[HOLDER_SILENT_DAYS].value)


def change_setting(name: str, value: int) -> Draft:
    """Set ``name`` to ``value`` for the whole pod."""
    spec = SPECS.get(name)
    if spec is None:
        raise InvalidInput(f"name: no setting {name!r}; settings are {', '.join(sorted(SPECS))}")
    if not _valid(name, value):
        raise InvalidInput(f"value: {name} is a whole number from {spec.low} to {spec.high}")
    return Draft(SETTING, {"name": name, "value": value})
