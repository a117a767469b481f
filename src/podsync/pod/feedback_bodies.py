"""What each feedback thread record's body must be, checked the same way when an
operation writes it and when replay reads it: the four parts of a statement, a
proposal's fields and where a route says it went.
"""

from __future__ import annotations

from typing import Any

import msgspec

from podsync.errors import InvalidId, InvalidInput
from podsync.ids import parse_document_id
from podsync.pod import common as v

ROUTES = ("team", "void", "leader", "dissolved")
#: The four parts of a clarified statement, in the order they are said.
PARTS = ("happened", "feeling", "need", "request")


class Parts(msgspec.Struct, frozen=True):
    """A statement in four parts: what happened, the feeling, the need, the request."""

    happened: str
    feeling: str
    need: str
    request: str


def parts_body(value: Any, field: str = "parts") -> dict[str, str]:
    """The four parts of a statement; at least one is said."""
    if not isinstance(value, dict):
        raise InvalidInput(f"{field}: give what happened, the feeling, the need and the request")
    out = {p: v.text(value.get(p), f"{field}.{p}", required=False) for p in PARTS}
    if not any(out.values()):
        raise InvalidInput(f"{field}: say at least one of what happened, the feeling, "
                           "the need, the request")
    return out


def proposal_args(route: Any, statement: Any, title: Any, team: Any, public: Any,
                   parts: Any = None, named: Any = False) -> dict[str, Any]:
    """A proposal's fields, checked the same way when writing and when replaying."""
    route = v.choice(route, "route", ROUTES)
    out: dict[str, Any] = {"route": route, "title": "", "team": None,
                           "statement": v.text(statement, "statement",
                                               required=route != "dissolved")}
    if route in ("team", "void"):
        out["title"] = v.title(title)
    if route == "team":
        out["team"] = v.item_id(team, "team")
    if not isinstance(public, bool):
        raise InvalidInput("public: yes or no")
    if public and route != "leader":
        raise InvalidInput("public: only a statement to the leader can be made public")
    if not isinstance(named, bool):
        raise InvalidInput("named: yes or no")
    out["public"] = public
    out["parts"] = None if parts is None else parts_body(parts)
    out["named"] = named
    return out


def targets(route: str, target_doc: Any, target_item: Any) -> tuple[str | None, str | None]:
    """Where a route says it went, checked the same way when writing and replaying."""
    if route == "dissolved":
        if target_doc is not None or target_item is not None:
            raise InvalidInput("target_doc: dissolved feedback goes nowhere")
        return None, None
    if not isinstance(target_doc, str):
        raise InvalidInput("target_doc: say which document the feedback was routed to")
    try:
        parse_document_id(target_doc)
    except InvalidId as exc:
        raise InvalidInput(f"target_doc: {exc}") from None
    if route == "leader":
        if target_item is not None:
            raise InvalidInput("target_item: a statement is a document of its own")
        return target_doc, None
    return target_doc, v.item_id(target_item, "target_item")


def shown_parts(value: Any) -> Parts | None:
    try:
        return Parts(**parts_body(value))
    except InvalidInput:
        return None
