"""Operations on the needs board: name a need, take it on, attend to it, let it be."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Literal

from podsync.api.context import PodContext
from podsync.api.ops import op
from podsync.api.pod_common import (
    Args, Created, Id, ItemArgs, MemberId, NoArgs, NoteArgs, OptionalText, SettleArgs, Text,
    TextArgs, Title, active_member, builtins, caller,
    write_collection,
)
from podsync.pod import needs as domain


def need_view(need: domain.Need) -> dict[str, Any]:
    """A need as the API shows it: the domain's view plus two conveniences."""
    contact = next((h.member for h in need.holders if h.point_of_contact), None)
    return builtins(need, point_of_contact=contact, neglected=bool(need.neglect))


async def _change(ctx: PodContext, need_id: str,
                  write: Callable[[Any, str, Any], object]) -> dict[str, Any]:
    """Run ``write(tx, me, now)`` on the board; the need as it is afterwards."""
    board, now, _ = await write_collection(ctx, domain.KIND, write)
    return need_view(domain.need(board, need_id, now))


class NeedAddArgs(Args):
    title: Title
    detail: OptionalText = ""
    sensing: Literal["emergent", "neglected", "void"] = "emergent"


@op("need.add")
async def add(ctx: PodContext, args: NeedAddArgs) -> Created:
    """Name a need on the board (anyone may; anyone may take it on)."""
    me, now = caller(ctx), ctx.now()
    new = await ctx.change(ctx.collection(domain.KIND),
                           lambda tx: domain.add_need(tx, me, now, args.title, args.detail,
                                                      args.sensing))
    return Created(id=new)


@op("need.list")
async def list_needs(ctx: PodContext, args: NoArgs) -> list[dict[str, Any]]:
    """Every need on the board, oldest first, with holders, neglect and history."""
    caller(ctx)
    return [need_view(n) for n in domain.needs(ctx.doc(ctx.collection(domain.KIND)), ctx.now())]


@op("need.get")
async def get(ctx: PodContext, args: ItemArgs) -> dict[str, Any]:
    """One need."""
    caller(ctx)
    return need_view(domain.need(ctx.doc(ctx.collection(domain.KIND)), args.id, ctx.now()))


class TakeArgs(Args):
    id: Id
    point_of_contact: bool = False


@op("need.take")
async def take(ctx: PodContext, args: TakeArgs) -> dict[str, Any]:
    """Take the need on, without asking anyone (co-holding if others hold it)."""
    return await _change(ctx, args.id, lambda tx, me, now: domain.hold_need(
        tx, args.id, me, now, args.point_of_contact))


class ContactArgs(Args):
    id: Id
    member: MemberId


@op("need.contact")
async def contact(ctx: PodContext, args: ContactArgs) -> dict[str, Any]:
    """A holder names one of the holders as the need's point of contact."""
    active_member(ctx, args.member)
    return await _change(ctx, args.id, lambda tx, me, now: domain.set_point_of_contact(
        tx, args.id, me, now, args.member))


@op("need.release")
async def release(ctx: PodContext, args: NoteArgs) -> dict[str, Any]:
    """Let go of a need you hold; with no holder left it is open again."""
    return await _change(ctx, args.id, lambda tx, me, now: domain.release_need(
        tx, args.id, me, now, args.note))


@op("need.done")
async def done(ctx: PodContext, args: NoteArgs) -> dict[str, Any]:
    """A holder records that the need has been attended."""
    return await _change(ctx, args.id, lambda tx, me, now: domain.attend_need(
        tx, args.id, me, now, args.note))


class LetBeArgs(Args):
    id: Id
    reason: Text


@op("need.let_be")
async def let_be(ctx: PodContext, args: LetBeArgs) -> dict[str, Any]:
    """Leave an open need as a void on purpose, saying why."""
    return await _change(ctx, args.id, lambda tx, me, now: domain.let_need_be(
        tx, args.id, me, now, args.reason))


@op("need.reopen")
async def reopen(ctx: PodContext, args: NoteArgs) -> dict[str, Any]:
    """Open an attended or let-be need again."""
    return await _change(ctx, args.id, lambda tx, me, now: domain.reopen_need(
        tx, args.id, me, now, args.note))


@op("need.note")
async def note(ctx: PodContext, args: TextArgs) -> dict[str, Any]:
    """Leave a note on a need (it changes nothing else)."""
    return await _change(ctx, args.id, lambda tx, me, now: domain.note_need(
        tx, args.id, me, now, args.text))


@op("need.settle")
async def settle(ctx: PodContext, args: SettleArgs) -> dict[str, Any]:
    """Resolve concurrent, different changes by choosing one candidate."""
    return await _change(ctx, args.id, lambda tx, me, now: domain.settle_need(
        tx, args.id, me, now, args.choice))
