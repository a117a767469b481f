"""The pod's settings: signed records in the pod document any member may write
(:mod:`podsync.pod.settings`)."""

from __future__ import annotations

from typing import Annotated

import msgspec

from podsync.api.context import PodContext
from podsync.api.ops import op
from podsync.api.pod_common import Args, NoArgs, caller, write
from podsync.pod import needs
from podsync.pod import settings as domain


def current(ctx: PodContext) -> dict[str, domain.Setting]:
    """The pod's settings as its counted records leave them."""
    return domain.settings(ctx.ledger.pod_records([domain.SETTING]))


def neglect(ctx: PodContext) -> needs.Neglect:
    """The needs board's neglect thresholds, as the pod set them."""
    return domain.neglect(current(ctx))


@op("pod.settings")
async def list_settings(ctx: PodContext, args: NoArgs) -> list[domain.Setting]:
    """The pod's settings: each value, its default, and who set it when."""
    caller(ctx)
    return list(current(ctx).values())


class SettingArgs(Args):
    name: Annotated[str, msgspec.Meta(min_length=1, max_length=64)]
    value: int


@op("pod.setting")
async def change_setting(ctx: PodContext, args: SettingArgs) -> list[domain.Setting]:
    """Change a setting for the whole pod (any member may); the settings afterwards."""
    caller(ctx)
    await write(ctx, ctx.pod_id, domain.change_setting(args.name, args.value), ctx.now())
    return list(current(ctx).values())
