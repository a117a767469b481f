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
from podsync.api.views import Kind
# One schema for "no arguments", shared with the membership operations.
from podsync.api.trust_ops import NoArgs  # noqa: F401 - re-exported
from podsync.errors import InvalidInput, NotFound, NotPermitted
from podsync.ids import parse_document_id
from podsync.pod import common as limits
from podsync.pod.events import Item, already_written, items_from
from podsync.records.format import Draft, Record
from podsync.trust import roster as roster_mod
from podsync.trust import saved

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


class ListArgs(Args):
    #: Archived items too (closed and quiet for longer than the pod's setting).
    all: bool = False


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
    ctx.roster()  # the pod's roster is held (or say why not)
    if not ctx.ledger.is_active_member(ctx.member_id):
        raise NotPermitted("this member has been removed from the pod; "
                           "their node can read what it holds but no longer act in the pod")
    return ctx.member_id


def active_members(ctx: PodContext, ids: list[str], field: str) -> list[str]:
    """``ids``, each an active member of the pod, or NotFound naming the field."""
    ctx.roster()
    for member_id in ids:
        if not ctx.ledger.is_active_member(member_id):
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
    """Whether this member reads ``doc_id``, as signed records establish it."""
    return ctx.ledger.may_read(ctx.member_id, doc_id)


def documents_of_kind(ctx: PodContext, kind: str) -> list[str]:
    """Every document of ``kind`` this node holds and this member reads."""
    held = sorted(ctx.repo.held_ids())
    # Their readers as saved where nothing they were worked out from has changed,
    # the others' records in a few queries, not one each.
    saved.establish(ctx.ledger, held)
    return [doc_id for doc_id in held if ctx.ledger.kind(doc_id) == kind and may_read(ctx, doc_id)]


def private_document(ctx: PodContext, doc_id: str, kind: str, what: str) -> str:
    """``doc_id`` if it is a document of ``kind`` this member reads, or NotFound.

    A document this member may not read is answered exactly like a missing one:
    knowing an id grants nothing, not even the knowledge that it exists here.
    """
    parse_document_id(doc_id)
    if not ctx.repo.has(doc_id) or ctx.ledger.kind(doc_id) != kind or not may_read(ctx, doc_id):
        raise NotFound(f"no {what} {doc_id} on this node")
    return doc_id


def items(ctx: PodContext, doc_id: str, create: str) -> dict[str, Item]:
    """Every item of ``doc_id`` (created by ``create`` records), from counted records."""
    return items_from(ctx.ledger.counted(doc_id), create)


def listing(ctx: PodContext, kind: Kind, everything: bool) -> msgspec.Raw:
    """The items of ``kind`` in the pod's collection as the API lists them (a JSON
    array): the live ones, or ``everything`` (the archive too); each says whether
    it is ``archived``."""
    return ctx.views.listing(ctx.collection(kind.collection), kind, ctx.now(),
                             everything=everything)


def shown(ctx: PodContext, kind: Kind, item: Item, now: dt.datetime) -> dict[str, Any]:
    """One item of ``kind`` as the API shows it (saying whether it is archived)."""
    view = kind.derive(item, now, ctx.views.settings())
    if view is None:
        raise NotFound(f"no {kind.name} {item.id}")
    return {**kind.show(view), "archived": ctx.views.is_archived(view, now)}


def item(ctx: PodContext, doc_id: str, item_id: str, create: str, what: str) -> Item:
    """One item of ``doc_id``, reading only its own records; NotFound names ``what``."""
    found = items_from(ctx.ledger.counted(doc_id, item_id), create).get(item_id)
    if found is None:
        raise NotFound(f"no {what} {item_id}")
    return found


async def write(ctx: PodContext, doc_id: str, draft: Draft, now: dt.datetime) -> Record:
    """Sign ``draft`` as this device and store it in ``doc_id``; durable on return."""
    return await ctx.ledger.append(doc_id, draft, now)


async def write_item(ctx: PodContext, kind: str, create: str, item_id: str, what: str,
                     decide: Callable[[Item, str, dt.datetime], Draft]) -> tuple[str, Item, dt.datetime]:
    """Read item ``item_id`` of the pod's ``kind`` collection, let ``decide(item, me,
    now)`` say what to record, record it; (document id, the item afterwards, now)."""
    me, now, doc_id = caller(ctx), ctx.now(), ctx.collection(kind)
    draft = decide(item(ctx, doc_id, item_id, create, what), me, now)
    await write(ctx, doc_id, draft, now)
    return doc_id, item(ctx, doc_id, item_id, create, what), now


async def write_once(ctx: PodContext, doc_id: str, draft: Draft, now: dt.datetime) -> str:
    """The item ``draft`` creates in ``doc_id``: the one an earlier try wrote (created
    by the same type with the same body, e.g. the same ``origin``), or a new one."""
    done = already_written(ctx.ledger.counted(doc_id), draft)
    if done is not None:
        return done
    return (await write(ctx, doc_id, draft, now)).id


def builtins(value: Any, **extra: Any) -> dict[str, Any]:
    """A domain Struct as a JSON-ready dict, with ``extra`` fields."""
    out = msgspec.to_builtins(value)
    out.update(extra)
    return out
