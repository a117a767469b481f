"""The node's local config (``HOME/config.json``): who this member is, which pod.

The file is read strictly: a config that does not parse or does not match
:class:`Config` is a :class:`~podsync.errors.HomeError` naming the file, never
quietly replaced by defaults (a guessed config could widen what is shared).
Unknown fields are ignored, so a config written by a newer podsync still loads.
"""

from __future__ import annotations

import datetime
import unicodedata

import msgspec

from podsync import ids
from podsync.errors import HomeError, InvalidId, NotInitialised, UsageError
from podsync.home import Home, atomic_write_json, read_json

# Names appear in member lists, invites and on small screens; 80 characters is
# room for any real name while keeping one from flooding a terminal line.
MAX_NAME_CHARS = 80


class Config(msgspec.Struct, frozen=True, kw_only=True):
    member_name: str
    member_id: str
    pod_id: str
    pod_name: str
    created_at: str  # ISO 8601, UTC


def check_name(what: str, value: str) -> str:
    """``value`` stripped, if it is a usable member or pod name; else :class:`UsageError`."""
    name = value.strip()
    if not name:
        raise UsageError(f"{what} must not be empty")
    if len(name) > MAX_NAME_CHARS:
        raise UsageError(f"{what} is {len(name)} characters long; at most {MAX_NAME_CHARS} fit")
    if any(unicodedata.category(ch).startswith("C") for ch in name):
        raise UsageError(f"{what} must not contain control characters: {value!r}")
    return name


def new_config(member_name: str, pod_name: str) -> Config:
    """The config of a member founding a new pod: fresh member and pod ids."""
    return Config(
        member_name=check_name("member name", member_name),
        member_id=ids.new_document_id(),
        pod_id=ids.new_document_id(),
        pod_name=check_name("pod name", pod_name),
        created_at=datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
    )


def load_config(home: Home) -> Config:
    path = home.config_path
    if not path.exists():
        raise NotInitialised(f"{home.root} holds no podsync config; run "
                             "`podsync init --name NAME` first")
    try:
        raw = read_json(path)
    except OSError as exc:
        raise HomeError(f"cannot read {path}: {exc.strerror or exc}") from None
    try:
        config = msgspec.convert(raw, Config)
        ids.parse_document_id(config.member_id)
        ids.parse_document_id(config.pod_id)
        datetime.datetime.fromisoformat(config.created_at)
    except (msgspec.ValidationError, InvalidId, ValueError) as exc:
        raise HomeError(f"{path} is corrupt ({exc}); restore it from a backup "
                        "or move it away") from None
    return config


def save_config(home: Home, config: Config) -> None:
    try:
        atomic_write_json(home.config_path, msgspec.to_builtins(config))
    except OSError as exc:
        raise HomeError(f"cannot write {home.config_path}: {exc.strerror or exc}") from None
