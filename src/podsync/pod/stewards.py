"""Stewards of members in leadership, named by consent.

A steward listens first to feedback meant for a leader (:mod:`podsync.pod.feedback`).
Naming one is a *proposal* any member can make; it takes effect only when the
steward affirms the role is within their capacity **and** the leader consents,
in either order. A leader is never their own steward. A steward may step down
and the leader may end the role; either is recorded with who did it.

Records in the pod document, read in replay order (``Ledger.pod_records``):

- ``steward.propose`` (no item; the nomination's id is the record's id), body
  ``leader``, ``steward``, ``note``: any member. One naming the leader as their
  own steward counts for nothing.
- ``steward.affirm`` (item: the nomination), body ``note``: the steward only,
  while it is proposed: "this is within my capacity".
- ``steward.consent`` (item), body ``note``: the leader only, while proposed.
- ``steward.decline`` (item), body ``note``: the steward or the leader, while
  proposed. The nomination is closed; a new one can be made.
- ``steward.step_down`` (item), body ``note``: the steward, while active.
- ``steward.remove`` (item), body ``note``: the leader, while active.

States of a nomination: ``proposed`` → ``active`` (affirmed and consented) →
``ended``; or ``proposed`` → ``declined``. Reading applies the same rules the
operations check, so a record signed against them changes nothing. Threads
capture the active stewards when they open: naming or ending a steward later
changes who hears new feedback, not who read the old.
"""

from __future__ import annotations

from collections.abc import Iterable

import msgspec

from podsync.errors import InvalidInput, NotFound, NotPermitted, TransitionRefused
from podsync.pod import common as v
from podsync.pod.common import Waiting
from podsync.pod.events import Source
from podsync.records.format import Draft, Record

PROPOSE = "steward.propose"
AFFIRM = "steward.affirm"
CONSENT = "steward.consent"
DECLINE = "steward.decline"
STEP_DOWN = "steward.step_down"
REMOVE = "steward.remove"
#: Every pod-document record type this module reads and writes.
STEWARD_TYPES = frozenset({PROPOSE, AFFIRM, CONSENT, DECLINE, STEP_DOWN, REMOVE})
STATES = ("proposed", "active", "declined", "ended")


class Nomination(msgspec.Struct, frozen=True):
    """One proposal that ``steward`` listen first for ``leader``, and what became of it."""

    id: str
    leader: str
    steward: str
    proposed_by: str
    proposed_at: str
    note: str
    state: str
    #: When the steward affirmed the role is within their capacity, and their note.
    affirmed_at: str | None
    affirm_note: str
    consented_at: str | None
    consent_note: str
    #: Who declined or ended it ("declined", "stepped_down" or "removed"), when, why.
    ended_by: str | None
    ended_at: str | None
    ending: str | None
    ending_note: str


class _Nomination(msgspec.Struct):
    record: Record
    proposed_by: str
    leader: str
    steward: str
    state: str = "proposed"
    affirmed: tuple[str, str] | None = None
    consented: tuple[str, str] | None = None
    ended: tuple[str, str, str, str] | None = None  # (by, at, ending, note)

    def view(self) -> Nomination:
        r = self.record
        return Nomination(
            id=r.id, leader=self.leader, steward=self.steward, proposed_by=self.proposed_by,
            proposed_at=r.at, note=v.shown(r.body.get("note")), state=self.state,
            affirmed_at=self.affirmed[0] if self.affirmed else None,
            affirm_note=self.affirmed[1] if self.affirmed else "",
            consented_at=self.consented[0] if self.consented else None,
            consent_note=self.consented[1] if self.consented else "",
            ended_by=self.ended[0] if self.ended else None,
            ended_at=self.ended[1] if self.ended else None,
            ending=self.ended[2] if self.ended else None,
            ending_note=self.ended[3] if self.ended else "")


def _member(value: object) -> str | None:
    try:
        return v.member_id(value)
    except InvalidInput:
        return None


class Roles(msgspec.Struct):
    """The pod's nominations folded one counted record at a time, in replay order
    (other readers of the pod document, such as the feedback summary, ask who was
    a steward at each point)."""

    nominations: dict[str, _Nomination] = msgspec.field(default_factory=dict)

    def apply(self, c: Source) -> None:
        r, signer = c.record, c.member
        if r.type == PROPOSE and r.item is None:
            leader, steward = _member(r.body.get("leader")), _member(r.body.get("steward"))
            if leader is not None and steward is not None and leader != steward:
                self.nominations[r.id] = _Nomination(r, signer, leader, steward)
            return
        n = self.nominations.get(r.item or "")
        if n is None or r.type not in STEWARD_TYPES or _refusal(n, r.type, signer) is not None:
            return
        note = v.shown(r.body.get("note"))
        if r.type == AFFIRM:
            n.affirmed = (r.at, note)
        elif r.type == CONSENT:
            n.consented = (r.at, note)
        else:
            n.ended = (signer, r.at, _ENDINGS[r.type], note)
            n.state = "declined" if r.type == DECLINE else "ended"
        if n.state == "proposed" and n.affirmed and n.consented:
            n.state = "active"

    def is_steward(self, member: str) -> bool:
        """Whether ``member`` stewards anyone at this point."""
        return any(n.state == "active" and n.steward == member for n in self.nominations.values())


_ENDINGS = {DECLINE: "declined", STEP_DOWN: "stepped_down", REMOVE: "removed"}
_DOING = {AFFIRM: "affirm this role", CONSENT: "consent to this steward",
          DECLINE: "decline this nomination", STEP_DOWN: "step down",
          REMOVE: "end this steward's role"}


def _refusal(n: _Nomination, op: str, by: str) -> Exception | None:
    """Why ``by`` may not ``op`` nomination ``n`` (None: they may); the operations
    raise it and reading skips a record it refuses."""
    who = {AFFIRM: (n.steward,), CONSENT: (n.leader,), DECLINE: (n.steward, n.leader),
           STEP_DOWN: (n.steward,), REMOVE: (n.leader,)}[op]
    if by not in who:
        named = {AFFIRM: "the steward named", CONSENT: "the leader",
                 DECLINE: "the steward named or the leader", STEP_DOWN: "the steward",
                 REMOVE: "the leader"}[op]
        return NotPermitted(f"only {named} can {_DOING[op]}")
    acts_in = ("active",) if op in (STEP_DOWN, REMOVE) else ("proposed",)
    if n.state not in acts_in:
        return TransitionRefused(f"cannot {_DOING[op]}: the nomination is {n.state}")
    if op == AFFIRM and n.affirmed:
        return TransitionRefused("you have already affirmed this role")
    if op == CONSENT and n.consented:
        return TransitionRefused("you have already consented to this steward")
    return None


def roles(records: Iterable[Source]) -> Roles:
    """Every nomination, from the pod's counted records in replay order (records
    of other types are passed over)."""
    folded = Roles()
    for c in records:
        if c.record.type in STEWARD_TYPES:
            folded.apply(c)
    return folded


def nominations(records: Iterable[Source]) -> list[Nomination]:
    """Every nomination, oldest first."""
    return sorted((n.view() for n in roles(records).nominations.values()),
                  key=lambda n: (n.proposed_at, n.id))


def nomination(records: Iterable[Source], nomination_id: str) -> Nomination:
    found = roles(records).nominations.get(nomination_id)
    if found is None:
        raise NotFound(f"no steward nomination {nomination_id}")
    return found.view()


def stewardships(records: Iterable[Source]) -> dict[str, list[str]]:
    """Leader → their active stewards (never the leader themself)."""
    named: dict[str, set[str]] = {}
    for n in roles(records).nominations.values():
        if n.state == "active":
            named.setdefault(n.leader, set()).add(n.steward)
    return {leader: sorted(s) for leader, s in sorted(named.items())}


def stewards_of(records: Iterable[Source], leader: str) -> list[str]:
    return stewardships(records).get(leader, [])


# -- operations --------------------------------------------------------------------


def propose_steward(records: Iterable[Source], by: str, leader: str, steward: str,
                    note: str = "") -> Draft:
    """Propose that ``steward`` listen first to feedback meant for ``leader``."""
    v.member_id(by, "by")
    leader, steward = v.member_id(leader, "leader"), v.member_id(steward, "steward")
    note = v.text(note, "note", required=False)
    if leader == steward:
        raise InvalidInput("steward: a leader cannot be their own steward")
    for n in roles(records).nominations.values():
        if (n.leader, n.steward) == (leader, steward) and n.state in ("proposed", "active"):
            raise TransitionRefused(
                f"{steward} is already {'a steward' if n.state == 'active' else 'proposed as a steward'}"
                f" for {leader} (nomination {n.record.id})")
    return Draft(PROPOSE, {"leader": leader, "steward": steward, "note": note})


def _act(records: Iterable[Source], op: str, nomination_id: str, by: str, note: str) -> Draft:
    by = v.member_id(by, "by")
    note = v.text(note, "note", required=False)
    found = roles(records).nominations.get(v.item_id(nomination_id, "nomination"))
    if found is None:
        raise NotFound(f"no steward nomination {nomination_id}")
    refusal = _refusal(found, op, by)
    if refusal is not None:
        raise refusal
    return Draft(op, {"note": note}, item=found.record.id)


def affirm_role(records: Iterable[Source], nomination_id: str, by: str, note: str = "") -> Draft:
    """The steward named: being a steward for this leader is within my capacity."""
    return _act(records, AFFIRM, nomination_id, by, note)


def consent_to_steward(records: Iterable[Source], nomination_id: str, by: str,
                       note: str = "") -> Draft:
    """The leader consents to this steward."""
    return _act(records, CONSENT, nomination_id, by, note)


def decline_nomination(records: Iterable[Source], nomination_id: str, by: str,
                       note: str = "") -> Draft:
    """The steward named, or the leader, declines a nomination not yet in effect."""
    return _act(records, DECLINE, nomination_id, by, note)


def step_down(records: Iterable[Source], nomination_id: str, by: str, note: str = "") -> Draft:
    """The steward steps down from the role."""
    return _act(records, STEP_DOWN, nomination_id, by, note)


def end_role(records: Iterable[Source], nomination_id: str, by: str, note: str = "") -> Draft:
    """The leader ends a steward's role (recorded with who did it)."""
    return _act(records, REMOVE, nomination_id, by, note)


def waiting_on(found: Iterable[Nomination], member: str) -> list[Waiting]:
    """Nominations waiting for ``member``'s word: as the steward proposed (affirm it is
    within their capacity, or decline), or as the leader once the steward affirmed."""
    out = []
    for n in found:
        if n.state != "proposed":
            continue
        if n.steward == member and n.affirmed_at is None:
            out.append(Waiting("nomination", n.id, "affirm", "steward nomination",
                               "you are proposed as a steward: affirm it if it is within "
                               "your capacity, or decline", n.proposed_at))
        elif n.leader == member and n.affirmed_at is not None and n.consented_at is None:
            out.append(Waiting("nomination", n.id, "consent", "steward nomination",
                               "a steward for you affirmed the role: consent, or decline",
                               n.affirmed_at))
    return out
