"""The operations a member can ask of their node, in one registry.

Each operation is an async function ``fn(ctx, args)`` whose ``args`` is a
msgspec Struct: the Struct is the validation (types, required fields, limits) and
the API's schema. The same function serves the HTTP API (when the node runs) and
the CLI working directly on the store (when it does not), so a command behaves the
same either way.
"""

from __future__ import annotations

import datetime as dt
import importlib
import re
import typing
from collections.abc import Awaitable, Callable
from typing import Any

import msgspec

from podsync.errors import InvalidInput, NotFound, PodsyncError

OpFn = Callable[[Any, Any], Awaitable[Any]]


class Op(msgspec.Struct, frozen=True):
    name: str
    args: type[msgspec.Struct]
    fn: OpFn
    summary: str
    result: Any


REGISTRY: dict[str, Op] = {}

#: Where each family of operations (its name before the dot) is defined, so that a
#: command run on the store imports its own module and not every other (about
#: 11 ms of a 150 ms command). tests/api/test_ops_modules.py keeps it true.
OP_MODULES: dict[str, tuple[str, ...]] = {
    "agreement": ("podsync.api.ops_agreements",),
    "allies": ("podsync.api.ops_mobilizing",),
    "capacity": ("podsync.api.ops_capacity",),
    "decision": ("podsync.api.ops_decisions",),
    "doc": ("podsync.api.trust_ops",),
    "feedback": ("podsync.api.ops_feedback", "podsync.api.ops_stewards"),
    "inbox": ("podsync.api.ops_inbox",),
    "invite": ("podsync.api.trust_ops",),
    "item": ("podsync.api.ops_show",),
    "members": ("podsync.api.trust_ops",),
    "mobilizing": ("podsync.api.ops_mobilizing",),
    "need": ("podsync.api.ops_needs",),
    "peer": ("podsync.api.peer_ops",),
    "pod": ("podsync.api.ops_archive", "podsync.api.ops_export"),
    "quarantine": ("podsync.api.quarantine_ops",),
    "relay": ("podsync.api.relay_ops",),
    "steward": ("podsync.api.ops_stewards",),
    "team": ("podsync.api.ops_teams",),
}


def op(name: str) -> Callable[[OpFn], OpFn]:
    """Register ``fn`` as operation ``name``; its docstring's first line is the summary."""
    def register(fn: OpFn) -> OpFn:
        hints = typing.get_type_hints(fn)
        params = [p for p in fn.__code__.co_varnames[:fn.__code__.co_argcount]]
        args_type = hints[params[1]]
        REGISTRY[name] = Op(name, args_type, fn, (fn.__doc__ or name).strip().splitlines()[0],
                            hints.get("return", Any))
        return fn
    return register


def get(name: str) -> Op:
    found = REGISTRY.get(name)
    if found is None:
        for module in OP_MODULES.get(name.partition(".")[0], ()):
            importlib.import_module(module)
        found = REGISTRY.get(name)
    if found is None:
        _load_all()
        found = REGISTRY.get(name)
    if found is None:
        raise NotFound(f"no operation named {name!r}")
    return found


def decode_args(operation: Op, raw: bytes | dict[str, Any]) -> msgspec.Struct:
    """Validated arguments, or InvalidInput naming the field and the problem."""
    try:
        if isinstance(raw, (bytes, bytearray)):
            return msgspec.json.decode(raw or b"{}", type=operation.args)
        return msgspec.convert(raw, operation.args)
    except msgspec.ValidationError as exc:
        raise InvalidInput(_field_message(str(exc), operation.args)) from None
    except msgspec.DecodeError as exc:
        raise InvalidInput(f"the request body is not valid JSON: {exc}") from None


def _field_message(text: str, args_type: type[msgspec.Struct] | None = None) -> str:
    # msgspec says "Expected `str`, got `int` - at `$.title`"; lead with the field,
    # and say in plain words what it wants where the field's type tells.
    problem, sep, where = text.partition(" - at `")
    if not sep:
        return text
    field = where.rstrip("`").removeprefix("$.")
    wants = _wanted(args_type, field) if args_type is not None else ""
    if not wants:
        return f"{field}: {problem}"
    value = re.search(r"Invalid enum value (.+)$", problem)
    if value:
        return f"{field}: {value.group(1)} is not {wants}"
    return f"{field}: expected {wants}"


def _wanted(args_type: type[msgspec.Struct], field: str) -> str:
    """What ``field`` (a path like ``agreement.review_on``) takes, in plain words."""
    hint: Any = args_type
    for name in re.findall(r"[A-Za-z_]+", field):
        try:
            hints = typing.get_type_hints(_struct_of(hint), include_extras=True)
        except TypeError:
            return ""
        if name not in hints:
            return ""
        hint = hints[name]
    return _describe(hint)


def _struct_of(hint: Any) -> Any:
    """The Struct inside ``hint`` (``X | None``, ``list[X]``), or ``hint``."""
    for arg in typing.get_args(hint) or ():
        inner = _struct_of(arg)
        if isinstance(inner, type) and issubclass(inner, msgspec.Struct):
            return inner
    return hint


def _describe(hint: Any) -> str:
    origin, args = typing.get_origin(hint), typing.get_args(hint)
    if origin is typing.Annotated:
        return _describe(args[0])
    if origin is typing.Literal:
        return "one of " + ", ".join(str(a) for a in args)
    if args and origin is not list:  # X | None
        return next((d for d in map(_describe, args) if d), "")
    if hint is dt.datetime:
        return "a date and time like 2027-03-01T18:00:00+01:00"
    if hint is dt.date:
        return 'a date like "2027-03-01"'
    return ""


async def run(ctx: Any, name: str, raw: bytes | dict[str, Any]) -> Any:
    operation = get(name)
    args = decode_args(operation, raw)
    try:
        if name.partition(".")[0] in _TAKES_IDS:
            from podsync.api.find import resolve_args  # noqa: PLC0415 - it imports the practices

            args = resolve_args(ctx, name, args)
        return await operation.fn(ctx, args)
    except PodsyncError as err:
        named = with_names(ctx, str(err))
        if named != str(err):
            err.args = (named,)
        raise


#: Operation groups whose arguments name items, documents or members by id.
_TAKES_IDS = frozenset({"need", "agreement", "decision", "allies", "steward", "mobilizing",
                        "feedback", "team"})


def with_names(ctx: Any, message: str) -> str:
    """``message`` with every member id of the pod replaced by the member's name:
    the practices name members by id, people read names. The API is where errors
    leave for people (the CLI, the page), so it is translated here, once."""
    try:
        members = ctx.roster().members
    except Exception:  # noqa: BLE001 - no roster yet: the message as it is
        return message
    # Longest first, so an id that is a prefix of another is never half-replaced.
    for member in sorted(members, key=lambda m: -len(m.member_id)):
        if member.member_id in message:
            message = message.replace(member.member_id, member.name)
    return message


def to_json(result: Any) -> bytes:
    return msgspec.json.encode(result)


def all_ops() -> dict[str, Op]:
    _load_all()
    return dict(REGISTRY)


def _load_all() -> None:
    # Importing the modules registers their operations.
    from podsync.api import peer_ops, pod_ops, quarantine_ops, relay_ops, trust_ops  # noqa: F401, PLC0415
