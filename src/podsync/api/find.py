"""Finding what an id names: any unique start of an id, for every kind, in one place.

Ids are long (a record's is 32 hex digits); people type the first few characters,
as they do with git. :func:`resolve_args` runs before every operation (from
:func:`podsync.api.ops.run`), so the command line, the page and the API all take
a prefix wherever an operation takes an id: the item, thread, statement,
nomination, ask, team or member it names if exactly one does; otherwise an error
listing what matches, with titles, or saying nothing does.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import msgspec

from podsync.api.context import PodContext
from podsync.api.pod_common import documents_of_kind, items
from podsync.errors import InvalidInput, NotFound
from podsync.ids import is_document_id
from podsync.pod import (
    agreements, allies, decisions, discernment, feedback, needs, stewards, teams,
)
from podsync.pod import common as v

#: Fewer characters than this name too much to be meant (git's own minimum).
MIN_PREFIX = 4
#: How many matches an ambiguous prefix lists (a pod has at most a few hundred items).
MAX_LISTED = 8
#: A title as a match list shows it.
TITLE_CHARS = 60

#: Every kind of thing an id names, in the order a match list gives them.
KINDS = ("need", "agreement", "decision", "ask", "allies", "team item", "thread", "statement",
         "nomination", "team", "member")
_PLURAL = {"ask": "asks", "allies": "allies check-ins", "thread": "feedback threads",
           "statement": "feedback statements", "nomination": "steward nominations",
           "team item": "team items"}


def _title(value: Any) -> str:
    text = v.shown(value, TITLE_CHARS * 2).strip().splitlines()
    line = text[0] if text else ""
    return line if len(line) <= TITLE_CHARS else line[:TITLE_CHARS - 1] + "…"


def _collection(ctx: PodContext, kind: str, create: str, field: str) -> dict[str, str]:
    try:
        doc_id = ctx.collection(kind)
    except NotFound:
        return {}
    return {i: _title(it.fields.get(field)) for i, it in items(ctx, doc_id, create).items()}


def _private(ctx: PodContext, kind: str, field: str) -> dict[str, str]:
    out = {}
    for doc_id in documents_of_kind(ctx, kind):
        found = feedback.document_item(ctx.ledger.counted(doc_id), doc_id, kind)
        out[doc_id] = _title(found.fields.get(field)) if found is not None else ""
    return out


def _names(ctx: PodContext) -> dict[str, str]:
    return {m.member_id: m.name for m in ctx.roster().members}


def _nominations(ctx: PodContext) -> dict[str, str]:
    names = _names(ctx)
    return {n.id: f"{names.get(n.steward, '?')} listening for {names.get(n.leader, '?')}"
            for n in stewards.nominations(ctx.ledger.pod_records(stewards.STEWARD_TYPES))}


_CANDIDATES: dict[str, Callable[[PodContext], dict[str, str]]] = {
    "need": lambda ctx: _collection(ctx, needs.KIND, needs.ADD, "title"),
    "agreement": lambda ctx: _collection(ctx, agreements.KIND, agreements.PROPOSE, "what"),
    "decision": lambda ctx: _collection(ctx, decisions.KIND, decisions.OPEN, "title"),
    "ask": lambda ctx: {i: t or "are you mobilizing?" for i, t in _collection(
        ctx, discernment.KIND, discernment.ASK, "question").items()},
    "allies": lambda ctx: _collection(ctx, allies.KIND, allies.ALLIES, "focus"),
    "team item": lambda ctx: _collection(ctx, teams.ITEMS_KIND, teams.ITEM_ADD, "title"),
    "thread": lambda ctx: _private(ctx, feedback.THREAD_KIND, "text"),
    "statement": lambda ctx: _private(ctx, feedback.STATEMENT_KIND, "statement"),
    "nomination": _nominations,
    "team": lambda ctx: {t.id: t.name for t in teams.teams(
        ctx.ledger.pod_records(teams.TEAM_TYPES))},
    "member": _names,
}


class Match(msgspec.Struct, frozen=True):
    kind: str
    id: str
    title: str


def candidates(ctx: PodContext, kind: str) -> dict[str, str]:
    """Every id of ``kind`` this member's node holds and reads -> its title."""
    return _CANDIDATES[kind](ctx)


def matches(ctx: PodContext, text: str, kinds: tuple[str, ...] = KINDS) -> list[Match]:
    """What ``text`` names among ``kinds``: the exact id if one is, else every id it starts."""
    text = text.strip()
    found: list[Match] = []
    for kind in kinds:
        for i, title in candidates(ctx, kind).items():
            if i == text:
                return [Match(kind, i, title)]
            if len(text) >= MIN_PREFIX and i.startswith(text):
                found.append(Match(kind, i, title))
    return found


def one(ctx: PodContext, text: str, kinds: tuple[str, ...] = KINDS, field: str = "") -> Match:
    """The one thing ``text`` names, or an error saying what matches (or that nothing does)."""
    found = matches(ctx, text, kinds)
    what = kinds[0] if len(kinds) == 1 else "item"
    where = f"{field}: " if field else ""
    if not found:
        short = " (give at least 4 characters of an id)" if len(text.strip()) < MIN_PREFIX else ""
        raise NotFound(f"{where}no {what} {text}{short}")
    if len(found) > 1:
        listed = "; ".join(f"{m.kind} {m.id[:max(len(text) + 4, 8)]} {m.title!r}"
                           for m in found[:MAX_LISTED])
        more = f" and {len(found) - MAX_LISTED} more" if len(found) > MAX_LISTED else ""
        plural = _PLURAL.get(what, what + "s")
        raise InvalidInput(f"{where}{text!r} is the start of several {plural}: {listed}{more}; "
                           "give more of the id")
    return found[0]


# -- arguments ----------------------------------------------------------------------

#: Operation group -> its id fields and the kind each names.
_ID_FIELDS: dict[str, dict[str, str]] = {
    "need": {"id": "need"},
    "agreement": {"id": "agreement"},
    "decision": {"id": "decision"},
    "allies": {"id": "allies"},
    "steward": {"id": "nomination"},
    "mobilizing": {"ask_id": "ask", "need_id": "need"},
    "feedback": {"thread_id": "thread", "statement_id": "statement", "team_id": "team"},
    "team": {"team_id": "team", "id": "team item"},
}
_MEMBER_FIELDS = ("member", "leader", "steward", "other")
#: Event ids inside the item another field names: (that field, the event's type).
_EVENT_FIELDS = {("decision", "advice_id"): ("id", "advise"),
                 ("mobilizing", "proposal_id"): ("ask_id", "propose"),
                 ("feedback", "proposal_id"): ("thread_id", "propose")}
_LINK_KINDS = {"need": "need", "agreement": "agreement"}


def _exact_record_id(text: str) -> bool:
    return len(text) == 32 and all(c in "0123456789abcdef" for c in text)


def _resolved(ctx: PodContext, kind: str, text: str, field: str) -> str:
    if kind not in ("thread", "statement", "nomination", "team", "member") \
            and _exact_record_id(text):
        return text  # a whole record id: the operation itself says if it is unknown
    if kind in ("thread", "statement") and is_document_id(text):
        # A whole document id: the operation itself says if it is unknown, or
        # not one this member reads (as if absent), without every thread in the
        # pod being read to list them.
        return text
    try:
        return one(ctx, text, (kind,), field).id
    except NotFound:
        # Nothing starts so: the operation says so in its own words (or refuses what
        # cannot be an id at all).
        return text


def _event(ctx: PodContext, group: str, owner: str, op: str, text: str, field: str) -> str:
    """The event of type ``op`` in item ``owner`` whose id starts with ``text``."""
    if _exact_record_id(text):
        return text
    doc_id = owner if group == "feedback" else ctx.collection(
        {"decision": decisions.KIND, "mobilizing": discernment.KIND}[group])
    subject = owner
    if group == "feedback":
        found = feedback.document_item(ctx.ledger.counted(doc_id), doc_id,
                                       feedback.THREAD_KIND)
        subject = found.id if found is not None else owner
    ids = [c.record.id for c in ctx.ledger.counted(doc_id, subject)
           if c.record.type == op and len(text) >= MIN_PREFIX and c.record.id.startswith(text)]
    if len(ids) > 1:
        raise InvalidInput(f"{field}: {text!r} is the start of several: "
                           + ", ".join(i[:len(text) + 4] for i in ids[:MAX_LISTED]))
    return ids[0] if ids else text


def resolve_args(ctx: PodContext, op_name: str, args: msgspec.Struct) -> msgspec.Struct:
    """``args`` with every id prefix replaced by the whole id it names."""
    group = op_name.partition(".")[0]
    fields = set(args.__struct_fields__)
    changes: dict[str, Any] = {}
    for field, kind in _ID_FIELDS.get(group, {}).items():
        value = getattr(args, field, None) if field in fields else None
        if isinstance(value, str):
            changes[field] = _resolved(ctx, kind, value, field)
    for field in _MEMBER_FIELDS:
        value = getattr(args, field, None) if field in fields else None
        if isinstance(value, str):
            changes[field] = _resolved(ctx, "member", value, field)
    if "parties" in fields and isinstance(getattr(args, "parties"), list):
        changes["parties"] = [_resolved(ctx, "member", p, "parties") for p in args.parties]  # type: ignore[attr-defined]
    if op_name == "decision.link" and getattr(args, "kind", None) in _LINK_KINDS:
        changes["ref"] = _resolved(ctx, _LINK_KINDS[args.kind], args.ref, "ref")  # type: ignore[attr-defined]
    for (g, field), (owner_field, op) in _EVENT_FIELDS.items():
        value = getattr(args, field, None) if g == group and field in fields else None
        owner = changes.get(owner_field, getattr(args, owner_field, None))
        if isinstance(value, str) and isinstance(owner, str):
            changes[field] = _event(ctx, group, owner, op, value, field)
    changes = {k: val for k, val in changes.items() if getattr(args, k) != val}
    return msgspec.structs.replace(args, **changes) if changes else args

