"""An agreement's state, replayed from its records: which party operation acts in
which state, why one is refused, and what each changes.

The operations (:mod:`.agreements`) refuse what :func:`refusal_of` refuses; replay
applies the same rules, so a signed record from a non-party, or one the rules
refuse, changes nothing.
"""

from __future__ import annotations

from typing import Any

import msgspec
from msgspec.structs import replace

from podsync.errors import NotPermitted, PodsyncError, TransitionRefused
from podsync.pod.admission import admitted
from podsync.pod.agreement_terms import Version, body_ok, read_version, shown_day
from podsync.pod.events import Current, Event, Item, Lifecycle, Replayed, current

STATES = ("proposed", "declined", "active", "review_due", "renegotiating", "paused", "retired")

#: The states each party operation acts in (``review_due`` is ``active``, derived);
#: ``affirm`` and ``decline`` of a proposed revision act in any state but retired.
_ACTS_IN: dict[str, tuple[str, ...]] = {
    "affirm": ("proposed", "declined", "renegotiating"),
    "decline": ("proposed", "declined"),
    "no_longer": ("active", "renegotiating", "paused"),
    "withdraw": ("proposed", "declined", "active", "renegotiating", "paused"),
    "renew": ("active",),
    "revise": ("proposed", "declined", "active", "renegotiating", "paused"),
    "pause": ("active", "renegotiating"),
    "resume": ("paused",),
    "retire": ("proposed", "declined", "active", "renegotiating", "paused"),
}
_DOING = {"affirm": "affirm it", "decline": "decline it",
          "no_longer": "say it is no longer within your capacity",
          "withdraw": "withdraw from it", "renew": "renew it", "revise": "revise it",
          "pause": "pause it", "resume": "resume it", "retire": "retire it"}


Said = tuple[tuple[str, str], ...]  # (member, note)
Affirmed = tuple[tuple[str, str, str], ...]  # (member, at, note)


class State(msgspec.Struct, frozen=True):
    status: str
    versions: tuple[Version, ...]
    version_event: str
    affirmed: Affirmed
    no_longer: Said
    declined: Said
    withdrawn: tuple[str, ...]
    retiring: tuple[str, ...]
    review_on: str | None
    renewed_at: str | None
    #: The highest version number given so far (revisions replaced keep theirs).
    numbered: int = 1
    revision: Version | None = None
    revision_event: str = ""
    revision_affirmed: Affirmed = ()
    revision_declined: Said = ()

    @property
    def parties(self) -> list[str]:
        """The parties of the version in force who have not withdrawn."""
        return [m for m in self.versions[-1].parties if m not in self.withdrawn]

    def has_affirmed(self, member: str) -> bool:
        return any(m == member for m, _, _ in self.affirmed)

    @property
    def all_affirmed(self) -> bool:
        return {m for m, _, _ in self.affirmed} >= set(self.parties)


def _about_revision(s: State, args: dict[str, Any]) -> bool:
    """Whether an ``affirm`` or ``decline`` names the proposed revision."""
    return s.revision is not None and args.get("version") == s.revision.version


def refusal_of(s: State, op: str, by: str, args: dict[str, Any]) -> PodsyncError | None:
    """Why ``by`` may not ``op`` the agreement in state ``s`` (None: they may).
    The operations raise it; replay skips a record it refuses."""
    if op in ("affirm", "decline") and _about_revision(s, args):
        assert s.revision is not None
        if by not in s.revision.parties:
            return NotPermitted(f"only a party to version {s.revision.version} can {_DOING[op]}")
        if s.status == "retired":
            return TransitionRefused("the agreement is retired")
        done = s.revision_affirmed if op == "affirm" else s.revision_declined
        if any(x[0] == by for x in done):
            did = "affirmed" if op == "affirm" else "declined"
            return TransitionRefused(f"you have already {did} version {s.revision.version}")
        return None
    if "version" in args and args["version"] != s.versions[-1].version:
        return TransitionRefused(f"version {args['version']} is not the version in force "
                                 "nor a proposed revision")
    if by not in s.parties:
        return NotPermitted(f"only a party to the agreement can {_DOING[op]}")
    if s.status not in _ACTS_IN[op]:
        hint = "; decline it instead" if op == "no_longer" and s.status == "proposed" else ""
        return TransitionRefused(f"cannot {_DOING[op]}: the agreement is {s.status}{hint}")
    if op == "affirm" and s.has_affirmed(by):
        return TransitionRefused("you have already affirmed this version")
    if op == "decline" and any(m == by for m, _ in s.declined):
        return TransitionRefused("you have already declined this version")
    if op == "no_longer" and not s.has_affirmed(by):
        return TransitionRefused("you have not affirmed it; it is being renegotiated already"
                                 if s.status == "renegotiating" else
                                 "you have not affirmed it")
    if op == "retire" and by in s.retiring:
        return TransitionRefused("you have already consented to retire it")
    return None


def _without(said: Any, member: str) -> Any:
    return tuple(x for x in said if x[0] != member)


def _apply(s: State, e: Event) -> State:
    a = e.args
    if e.op not in _ACTS_IN or refusal_of(s, e.op, e.by, a) is not None or not body_ok(e.op, a):
        return s
    note = a.get("note") or ""
    if e.op in ("affirm", "decline") and _about_revision(s, a):
        return _on_revision(s, e, note)
    if e.op == "affirm":
        after = replace(s, affirmed=s.affirmed + ((e.by, e.at, note),),
                        no_longer=_without(s.no_longer, e.by), declined=_without(s.declined, e.by))
        if after.declined:
            return after
        return replace(after, status="active" if after.all_affirmed else
                       "proposed" if s.status == "declined" else s.status)
    if e.op == "decline":
        return replace(s, status="declined", affirmed=_without(s.affirmed, e.by),
                       declined=s.declined + ((e.by, note),))
    if e.op == "no_longer":
        return replace(s, status="renegotiating", affirmed=_without(s.affirmed, e.by),
                       no_longer=_without(s.no_longer, e.by) + ((e.by, note),), retiring=())
    if e.op == "withdraw":
        after = replace(s, withdrawn=s.withdrawn + (e.by,), affirmed=(), retiring=(),
                        no_longer=_without(s.no_longer, e.by), declined=_without(s.declined, e.by))
        return replace(after, status="renegotiating" if after.parties else "retired")
    if e.op == "renew":
        return replace(s, review_on=shown_day(a.get("review_on")), renewed_at=e.at)
    if e.op == "revise":
        return _revised(s, e)
    if e.op == "pause":
        return replace(s, status="paused")
    if e.op == "resume":
        return replace(s, status="active" if s.all_affirmed else "renegotiating")
    # retire
    if s.status in ("proposed", "declined", "renegotiating") \
            or set(s.retiring + (e.by,)) >= set(s.parties):
        return replace(s, status="retired", revision=None, retiring=s.retiring + (e.by,))
    return replace(s, retiring=s.retiring + (e.by,))


def _on_revision(s: State, e: Event, note: str) -> State:
    """An affirmation or a decline of the proposed revision."""
    assert s.revision is not None
    if e.op == "decline":
        return replace(s, revision_affirmed=_without(s.revision_affirmed, e.by),
                       revision_declined=s.revision_declined + ((e.by, note),))
    affirmed = s.revision_affirmed + ((e.by, e.at, note),)
    declined = _without(s.revision_declined, e.by)
    if declined or {m for m, _, _ in affirmed} < set(s.revision.parties):
        return replace(s, revision_affirmed=affirmed, revision_declined=declined)
    # Every party of the revision affirmed it: it is the version in force.
    return State("active", s.versions + (s.revision,), s.revision_event, affirmed, (), (), (), (),
                  s.revision.review_on, None, s.numbered)


def _revised(s: State, e: Event) -> State:
    current = s.versions[-1]
    number = s.numbered + 1
    version = read_version(e.args, number, e.at, e.by)
    if (version.what, version.parties) == (current.what, current.parties):
        # Anchors or the review date only: nothing anyone affirmed has changed.
        return replace(s, versions=s.versions + (version,), review_on=version.review_on,
                       numbered=number)
    if s.status in ("proposed", "declined"):
        return State("proposed", s.versions + (version,), e.id, (), (), (), (), (),
                      version.review_on, None, number)
    return replace(s, revision=version, revision_event=e.id, revision_affirmed=(),
                   revision_declined=(), numbered=number)


LIFECYCLE: Lifecycle[State] = Lifecycle(
    states=STATES, state_ops=frozenset(_ACTS_IN),
    apply=_apply, name=lambda s: s.status,
    key=lambda s: (s.status, s.version_event, s.revision_event if s.revision else ""),
    summary=lambda s: {"version": s.versions[-1].version, "what": s.versions[-1].what,
                       "affirmed": [m for m, _, _ in s.affirmed], "review_on": s.review_on,
                       "revision": s.revision.what if s.revision else None},
)


def initial(item: Item) -> State:
    first = read_version(item.fields, 1, item.created_at, item.created_by)
    return State("proposed", (first,), "", (), (), (), (), (), first.review_on, None)


def _allows(past: Replayed[State], e: Event) -> bool:
    """What the operations check, asked of a state event where it was made."""
    return not past.needs_reconciliation and e.op in _ACTS_IN \
        and refusal_of(past.state, e.op, e.by, e.args) is None and body_ok(e.op, e.args)


def counted(item: Item) -> Item:
    """``item`` with the state events that count (:func:`admitted` by this practice's rules)."""
    return admitted(item, LIFECYCLE, initial, _allows)


def load(item: Item, *, settled: bool = True) -> Current[State]:
    return current(counted(item), LIFECYCLE, initial, settled=settled)
