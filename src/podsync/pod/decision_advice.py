"""What a decision's events that change no state say: who the decider asked, the
advice given and how it was integrated, where the deadline was moved, and what the
decision is linked to. Only records the rules allow are read.
"""

from __future__ import annotations

import datetime as _dt
from typing import Any, Literal

import msgspec

from podsync.pod import common as v
from podsync.pod.decision_bodies import (
    advice_body, ask_body, checked_body, deadline_body, integration_body, link_body, moment_of,
    unask_body,
)
from podsync.pod.events import Event, Item, chronological


class Asked(msgspec.Struct, frozen=True):
    member: str
    reason: str
    note: str
    at: str
    answered: bool
    #: The member declined to advise (with their note): nobody waits for them.
    declined: bool = False
    decline_note: str = ""
    #: The decider withdrew the ask (with a note).
    withdrawn: bool = False
    withdrawn_note: str = ""


class Integration(msgspec.Struct, frozen=True):
    integrated: bool
    why: str
    at: str


class Advice(msgspec.Struct, frozen=True):
    id: str
    by: str
    at: str
    stance: str
    text: str
    asked: bool
    integration: Integration | None


class Link(msgspec.Struct, frozen=True):
    kind: Literal["need", "agreement"]
    ref: str


class DeadlineMove(msgspec.Struct, frozen=True):
    at: str
    deadline: str
    note: str


def asked_and_advice(item: Item) -> tuple[list[Asked], list[Advice]]:
    """Who was asked and the advice given, counting only records the rules allow."""
    decider = item.created_by
    ordered = chronological(item.events)
    advised: list[tuple[Event, dict[str, Any]]] = []
    for e in ordered:
        if e.op == "advise" and e.by != decider:
            body = checked_body(advice_body, e.args.get("stance"), e.args.get("text"))
            if body is not None:
                advised.append((e, body))
    advisors = {e.by for e, _ in advised}
    asked: dict[str, Asked] = {}
    integrations: dict[str, Integration] = {}
    for e in ordered:
        a = e.args
        if e.op == "decline" and e.by in asked and not asked[e.by].withdrawn:
            asked[e.by] = msgspec.structs.replace(asked[e.by], declined=True,
                                                  decline_note=v.shown(a.get("note")))
        if e.by != decider:
            continue
        if e.op == "ask":
            body = checked_body(ask_body, a.get("member"), a.get("reason"), a.get("note"))
            if body is not None and body["member"] != decider and (
                    body["member"] not in asked or asked[body["member"]].withdrawn):
                asked[body["member"]] = Asked(body["member"], body["reason"], body["note"], e.at,
                                              body["member"] in advisors)
        elif e.op == "unask":
            body = checked_body(unask_body, a.get("member"), a.get("note"))
            if body is not None and body["member"] in asked:
                asked[body["member"]] = msgspec.structs.replace(
                    asked[body["member"]], withdrawn=True, withdrawn_note=body["note"])
        elif e.op == "integrate":
            body = checked_body(integration_body, a.get("advice"), a.get("integrated"),
                            a.get("why"))
            if body is not None:
                integrations[body["advice"]] = Integration(body["integrated"], body["why"], e.at)
    advice = [Advice(e.id, e.by, e.at, body["stance"], body["text"], e.by in asked,
                     integrations.get(e.id))
              for e, body in advised]
    return list(asked.values()), advice


def deadline_moves(item: Item) -> list[DeadlineMove]:
    out = []
    for e in chronological(item.events):
        if e.op == "deadline" and e.by == item.created_by:
            body = checked_body(deadline_body, e.args.get("deadline"), e.args.get("note"))
            if body is not None:
                out.append(DeadlineMove(e.at, body["deadline"], body["note"]))
    return out


def deadline_text(item: Item) -> str:
    """The deadline in force, as recorded: the decider's latest move, or the one it
    opened with ("" when neither is a time)."""
    moves = deadline_moves(item)
    if moves:
        return moves[-1].deadline
    opened = item.fields.get("deadline")
    return opened if moment_of(opened) is not None else ""


def deadline_at(item: Item) -> _dt.datetime | None:
    return moment_of(deadline_text(item))


def links_of(item: Item) -> list[Link]:
    found: list[Link] = []
    listed = item.fields.get("links")
    raw = [x for x in listed if isinstance(x, dict)] if isinstance(listed, list) else []
    raw += [e.args for e in chronological(item.events)
            if e.op == "link" and e.by == item.created_by]
    for x in raw[:v.MAX_LIST_ITEMS]:
        body = checked_body(link_body, x.get("kind"), x.get("ref"))
        if body is not None and Link(**body) not in found:  # type: ignore[arg-type]
            found.append(Link(**body))  # type: ignore[arg-type]
    return found
