"""Operations on the needs board: name a need, take it on, attend to it, let it be."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Literal

import msgspec

from podsync.api.context import PodContext
from podsync.api.ops import op
from podsync.api.pod_common import (
    Args, Created, Id, ItemArgs, ListArgs, MemberId, NoteArgs, OptionalText, SettleArgs, Text,
    TextArgs, Title, active_member, builtins, caller, item, listing, shown, write, write_item,
)
from podsync.api.views import Kind, register
from podsync.pod import needs as domain
from podsync.pod import settings
from podsync.pod.events import Item
from podsync.records.format import Draft


def need_view(need: domain.Need) -> dict[str, Any]:
    """A need as the API shows it: the domain's view plus two conveniences."""
    contact = next((h.member for h in need.holders if h.point_of_contact), None)
    return builtins(need, point_of_contact=contact, neglected=bool(need.neglect))


NEEDS = register(Kind("need", domain.KIND, domain.ADD,
                      lambda item, now, tuned: domain.derive(item, now, settings.neglect(tuned)),
                      need_view, domain.Need))


async def _change(ctx: PodContext, need_id: str,
                  decide: Callable[[Item, str], Draft]) -> dict[str, Any]:
    """Record what ``decide(need, me)`` says about need ``need_id``; the need afterwards."""
    _, after, now = await write_item(ctx, domain.KIND, domain.ADD, need_id, "need",
                                     lambda it, me, now: decide(it, me))
    return need_view(domain.derive(after, now, ctx.views.neglect()))


class NeedAddArgs(Args):
    title: Title
    detail: OptionalText = ""
    sensing: Literal["emergent", "neglected", "void"] = "emergent"


@op("need.add")
async def add(ctx: PodContext, args: NeedAddArgs) -> Created:
    """Name a need on the board (anyone may; anyone may take it on)."""
    caller(ctx)
    record = await write(ctx, ctx.collection(domain.KIND),
                         domain.add_need(args.title, args.detail, args.sensing), ctx.now())
    return Created(id=record.id)


@op("need.list")
async def list_needs(ctx: PodContext, args: ListArgs) -> msgspec.Raw:
    """Every need on the board (``all``: archived ones too), oldest first, with
    holders, neglect and history."""
    caller(ctx)
    return listing(ctx, NEEDS, args.all)


@op("need.get")
async def get(ctx: PodContext, args: ItemArgs) -> dict[str, Any]:
    """One need (archived or not)."""
    caller(ctx)
    found = item(ctx, ctx.collection(domain.KIND), args.id, domain.ADD, "need")
    return shown(ctx, NEEDS, found, ctx.now())


class TakeArgs(Args):
    id: Id
    point_of_contact: bool = False


@op("need.take")
async def take(ctx: PodContext, args: TakeArgs) -> dict[str, Any]:
    """Take the need on, without asking anyone (co-holding if others hold it)."""
    return await _change(ctx, args.id, lambda it, me: domain.hold_need(
        it, me, args.point_of_contact))


class ContactArgs(Args):
    id: Id
    member: MemberId


@op("need.contact")
async def contact(ctx: PodContext, args: ContactArgs) -> dict[str, Any]:
    """A holder names one of the holders as the need's point of contact."""
    active_member(ctx, args.member)
    return await _change(ctx, args.id, lambda it, me: domain.set_point_of_contact(
        it, me, args.member))


@op("need.release")
async def release(ctx: PodContext, args: NoteArgs) -> dict[str, Any]:
    """Let go of a need you hold; with no holder left it is open again."""
    return await _change(ctx, args.id, lambda it, me: domain.release_need(it, me, args.note))


@op("need.done")
async def done(ctx: PodContext, args: NoteArgs) -> dict[str, Any]:
    """A holder records that the need has been attended."""
    return await _change(ctx, args.id, lambda it, me: domain.attend_need(it, me, args.note))


class LetBeArgs(Args):
    id: Id
    reason: Text


@op("need.let_be")
async def let_be(ctx: PodContext, args: LetBeArgs) -> dict[str, Any]:
    """Leave an open need as a void on purpose, saying why."""
    return await _change(ctx, args.id, lambda it, me: domain.let_need_be(it, me, args.reason))


@op("need.reopen")
async def reopen(ctx: PodContext, args: NoteArgs) -> dict[str, Any]:
    """Open an attended or let-be need again."""
    return await _change(ctx, args.id, lambda it, me: domain.reopen_need(it, me, args.note))


@op("need.note")
async def note(ctx: PodContext, args: TextArgs) -> dict[str, Any]:
    """Leave a note on a need (it changes nothing else)."""
    return await _change(ctx, args.id, lambda it, me: domain.note_need(it, me, args.text))


@op("need.settle")
async def settle(ctx: PodContext, args: SettleArgs) -> dict[str, Any]:
    """Resolve concurrent, different changes by choosing one candidate."""
    return await _change(ctx, args.id, lambda it, me: domain.settle_need(it, me, args.choice))
