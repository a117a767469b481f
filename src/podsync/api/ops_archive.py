"""The pod's settings, and finding items wherever they are, the archive included.

Settings are signed records in the pod document (:mod:`podsync.pod.settings`);
any member may change one. Search reads the same cached views the listings do,
archived items too.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Annotated, Any

import msgspec

from podsync.api.context import PodContext
from podsync.api.ops import op
from podsync.api.ops_agreements import AGREEMENTS
from podsync.api.ops_decisions import DECISIONS
from podsync.api.ops_needs import NEEDS
from podsync.api.ops_teams import TEAM_ITEMS
from podsync.api.pod_common import Args, NoArgs, caller, write
from podsync.api.views import Kind
from podsync.pod import settings as domain

#: Matches one search returns: more is a sign the words were too common.
MAX_SEARCH_RESULTS = 200
#: Words of a search: a sentence at most.
MAX_SEARCH_CHARS = 200


@op("pod.settings")
async def list_settings(ctx: PodContext, args: NoArgs) -> list[domain.Setting]:
    """The pod's settings: each value, its default, and who set it when."""
    caller(ctx)
    return list(ctx.views.settings().values())


class SettingArgs(Args):
    name: Annotated[str, msgspec.Meta(min_length=1, max_length=64)]
    value: int


@op("pod.setting")
async def change_setting(ctx: PodContext, args: SettingArgs) -> list[domain.Setting]:
    """Change a setting for the whole pod (any member may); the settings afterwards."""
    caller(ctx)
    await write(ctx, ctx.pod_id, domain.change_setting(args.name, args.value), ctx.now())
    return list(ctx.views.settings().values())


class SearchArgs(Args):
    text: Annotated[str, msgspec.Meta(min_length=1, max_length=MAX_SEARCH_CHARS)]


class Found(msgspec.Struct):
    kind: str
    id: str
    title: str
    state: str
    created_at: str
    archived: bool


def _notes(view: Any) -> list[str]:
    return [n.text for n in view.notes]


#: What a search reads of each kind: its title, and the words written about it.
_SEARCHED: list[tuple[Kind, Callable[[Any], str], Callable[[Any], Iterable[str]]]] = [
    (NEEDS, lambda v: v.title, lambda v: [v.title, v.detail, v.reason, *_notes(v)]),
    (AGREEMENTS, lambda v: v.what, lambda v: [v.what, *(p.note for p in v.parties), *_notes(v)]),
    (DECISIONS, lambda v: v.title, lambda v: [v.title, v.proposal, v.decision or "",
                                              *(a.text for a in v.advice), *_notes(v)]),
    (TEAM_ITEMS, lambda v: v.title, lambda v: [v.title, v.detail, v.addressed_note or "",
                                               *_notes(v)]),
]


@op("pod.search")
async def search(ctx: PodContext, args: SearchArgs) -> list[Found]:
    """Needs, agreements, decisions and team items whose words contain every word
    of ``text`` (any case), archived ones too; newest first."""
    caller(ctx)
    words = args.text.casefold().split()
    now = ctx.now()
    after_days = ctx.views.archive_after_days()
    found: list[Found] = []
    for kind, title, texts in _SEARCHED:
        doc_id = ctx.ledger.collections().get(kind.collection)
        if doc_id is None or not ctx.repo.has(doc_id):
            continue
        decode = msgspec.json.Decoder(kind.view).decode
        for entry in ctx.views.entries(doc_id, kind, now):
            view = decode(entry.raw)
            haystack = "\n".join(texts(view)).casefold()
            if all(w in haystack for w in words):
                found.append(Found(kind.name, view.id, title(view), view.state, view.created_at,
                                   entry.archived(after_days, now)))
    found.sort(key=lambda f: (f.created_at, f.id), reverse=True)
    return found[:MAX_SEARCH_RESULTS]
