"""What every practice operation shares: argument types and the checks on members.

The argument types carry the domain's limits (:mod:`podsync.pod.common`) as
msgspec constraints, so an over-long or mistyped field is refused while decoding,
with the field named, before any operation runs; the domain validates again
when it writes.

Every operation starts with :func:`caller`: only an active member of the pod may
act through their node (a removed member's node still holds the documents, but
what it writes on their behalf is refused here). Member ids given in arguments
go through :func:`active_members` so an operation never names a stranger.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Annotated, Any

import msgspec

from podsync.api.context import PodContext
# One schema for "no arguments", shared with the membership operations.
from podsync.api.trust_ops import NoArgs  # noqa: F401 - re-exported
from podsync.errors import InvalidInput, NotFound, NotPermitted
from podsync.pod import common as limits
from podsync.pod.access import POD, readers
from podsync.trust import roster as roster_mod

#: An item, event, team or document id: ids podsync makes are far shorter.
Id = Annotated[str, msgspec.Meta(min_length=1, max_length=limits.MAX_MEMBER_ID_CHARS)]
MemberId = Annotated[str, msgspec.Meta(min_length=1, max_length=limits.MAX_MEMBER_ID_CHARS)]
Title = Annotated[str, msgspec.Meta(min_length=1, max_length=limits.MAX_TITLE_CHARS)]
Text = Annotated[str, msgspec.Meta(min_length=1, max_length=limits.MAX_TEXT_CHARS)]
OptionalTitle = Annotated[str, msgspec.Meta(max_length=limits.MAX_TITLE_CHARS)]
OptionalText = Annotated[str, msgspec.Meta(max_length=limits.MAX_TEXT_CHARS)]
MemberList = Annotated[list[MemberId], msgspec.Meta(max_length=limits.MAX_LIST_ITEMS)]
#: A moment with its timezone: a deadline means the same instant on every node.
Moment = Annotated[dt.datetime, msgspec.Meta(tz=True)]


class Args(msgspec.Struct, forbid_unknown_fields=True):
    """Base of every argument Struct: unknown fields are refused, never ignored."""


class ItemArgs(Args):
    id: Id


class NoteArgs(Args):
    id: Id
    note: OptionalText = ""


class TextArgs(Args):
    id: Id
    text: Text


class SettleArgs(Args):
    """Choose one candidate state (its name, or its id when two share a name)."""

    id: Id
    choice: Id


class Created(msgspec.Struct):
    id: str


def utc(moment: dt.datetime, field: str) -> dt.datetime:
    """``moment`` in UTC; a time whose UTC equivalent falls outside the calendar
    (year 1 east of Greenwich, year 9999 west of it) is refused by name."""
    try:
        return moment.astimezone(dt.timezone.utc)
    except OverflowError:
        raise InvalidInput(f"{field}: {moment.isoformat()} is out of range") from None


def caller(ctx: PodContext) -> str:
    """The member acting; refused unless they are an active member of the pod."""
    if not roster_mod.is_active_member(ctx.roster(), ctx.member_id):
        raise NotPermitted("this member has been removed from the pod; "
                           "their node can read what it holds but no longer act in the pod")
    return ctx.member_id


def active_members(ctx: PodContext, ids: list[str], field: str) -> list[str]:
    """``ids``, each an active member of the pod, or NotFound naming the field."""
    roster = ctx.roster()
    for member_id in ids:
        if not roster_mod.is_active_member(roster, member_id):
            raise NotFound(f"{field}: no active member {member_id!r} in this pod")
    return ids


def active_member(ctx: PodContext, member_id: str, field: str = "member") -> str:
    return active_members(ctx, [member_id], field)[0]


def known_member(ctx: PodContext, member_id: str, field: str = "member") -> str:
    """A member of the pod, active or removed (to undo what names them)."""
    if roster_mod.member(ctx.roster(), member_id) is None:
        raise NotFound(f"{field}: no member {member_id!r} in this pod")
    return member_id


def may_read(ctx: PodContext, doc_id: str) -> bool:
    """Whether this member reads ``doc_id`` (documents of other apps: the whole pod)."""
    who = readers(ctx.repo.kind_of(doc_id), ctx.doc(doc_id))
    return who is None or who == POD or ctx.member_id in who


def documents_of_kind(ctx: PodContext, kind: str) -> list[tuple[str, Any]]:
    """(id, document) of every document of ``kind`` this node holds and this member reads."""
    out = []
    for doc_id in sorted(ctx.repo.held_ids()):
        if ctx.repo.kind_of(doc_id) == kind and may_read(ctx, doc_id):
            out.append((doc_id, ctx.doc(doc_id)))
    return out


def private_document(ctx: PodContext, doc_id: str, kind: str, what: str) -> Any:
    """Document ``doc_id`` of ``kind`` that this member reads, or NotFound.

    A document this member may not read is answered exactly like a missing one:
    knowing an id grants nothing, not even the knowledge that it exists here.
    """
    try:
        doc = ctx.doc(doc_id)
    except NotFound:
        raise NotFound(f"no {what} {doc_id} on this node") from None
    if ctx.repo.kind_of(doc_id) != kind or not may_read(ctx, doc_id):
        raise NotFound(f"no {what} {doc_id} on this node")
    return doc


async def write_collection(ctx: PodContext, kind: str,
                           write: Callable[[Any, str, Any], object]) -> tuple[Any, Any, object]:
    """Run ``write(tx, me, now)`` on the pod's ``kind`` collection as the acting
    member; (the document afterwards, ``now``, what ``write`` returned)."""
    me, now, doc_id = caller(ctx), ctx.now(), ctx.collection(kind)
    written = await ctx.change(doc_id, lambda tx: write(tx, me, now))
    return ctx.doc(doc_id), now, written


def builtins(value: Any, **extra: Any) -> dict[str, Any]:
    """A domain Struct as a JSON-ready dict, with ``extra`` fields."""
    out = msgspec.to_builtins(value)
    out.update(extra)
    return out
