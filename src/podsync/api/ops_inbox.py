"""What needs me: the inbox (:mod:`podsync.pod.inbox`) from every practice this
member's node holds.

A collection the node does not hold yet (a new member still syncing) or a
private document not read yet adds nothing; the inbox never fails for it.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterator

from podsync.api.context import PodContext
from podsync.api.ops import op
from podsync.api.ops_agreements import AGREEMENTS
from podsync.api.ops_decisions import DECISIONS
from podsync.api.ops_mobilizing import ASKS
from podsync.api.ops_needs import NEEDS
from podsync.api.pod_common import NoArgs, caller, documents_of_kind, items
from podsync.api.views import Kind
from podsync.errors import NotFound
from podsync.pod import (
    agreements, allies, decisions, discernment, feedback, inbox, needs, statements, stewards,
    teams,
)
from podsync.pod.common import Waiting
from podsync.pod.events import Item


def _board(ctx: PodContext, kind: str, create: str) -> dict[str, Item]:
    try:
        return items(ctx, ctx.collection(kind), create)
    except NotFound:
        return {}


def _live(ctx: PodContext, kind: Kind, now: dt.datetime) -> list:
    """The live items of ``kind`` from the cached views (an archived item is
    closed: it waits on nobody)."""
    try:
        doc_id = ctx.collection(kind.collection)
    except NotFound:
        return []
    if not ctx.repo.has(doc_id):
        return []  # not synced yet
    return ctx.views.views(doc_id, kind, now, everything=False)


def _private(ctx: PodContext, kind: str) -> Iterator[tuple[str, Item]]:
    for doc_id in documents_of_kind(ctx, kind):
        found = feedback.document_item(ctx.ledger.counted(doc_id), doc_id, kind)
        if found is not None:
            yield doc_id, found


def waiting(ctx: PodContext, me: str, now: dt.datetime) -> list[Waiting]:
    """Everything the practices wait on ``me`` for, as of ``now``."""
    limits = ctx.views.neglect()
    sources: list[Callable[[], list[Waiting]]] = [
        lambda: needs.waiting_on(_live(ctx, NEEDS, now), me, limits),
        lambda: agreements.waiting_on(_live(ctx, AGREEMENTS, now), me),
        lambda: decisions.waiting_on(_live(ctx, DECISIONS, now), me, now),
        lambda: discernment.waiting_on(_live(ctx, ASKS, now), me),
        lambda: allies.waiting_on(_board(ctx, discernment.KIND, allies.ALLIES), me, now),
        lambda: stewards.waiting_on(stewards.nominations(
            ctx.ledger.pod_records(stewards.STEWARD_TYPES)), me),
        lambda: teams.waiting_on(teams.teams(ctx.ledger.pod_records(teams.TEAM_TYPES)), me),
        lambda: [w for doc_id, it in _private(ctx, feedback.THREAD_KIND)
                 for w in feedback.waiting_on(doc_id, feedback.thread(it), me)],
        lambda: [w for doc_id, it in _private(ctx, feedback.STATEMENT_KIND)
                 for w in statements.waiting_on(doc_id, statements.statement(it), me)],
    ]
    return [w for source in sources for w in source()]


@op("inbox.list")
async def list_inbox(ctx: PodContext, args: NoArgs) -> list[inbox.Entry]:
    """What needs you now, most pressing first: what to do, and how."""
    me, now = caller(ctx), ctx.now()
    return inbox.inbox(waiting(ctx, me, now), now)
