"""Sans-IO automerge-repo protocol v1 engine (see protocol/README.md).

The runtime feeds :class:`SyncEngine` events and carries out the effects it
returns; nothing here touches a socket or a clock.

The names below are imported when first used: the store and the document layer
use this package's cost model (``podsync.sync.cost``) without the engine, and a
command that reads the store should not pay for importing it.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from podsync.sync.effects import (
        AwaitDrain,
        Close,
        ConnId,
        Damaged,
        DocumentChanged,
        DocumentUnavailable,
        Effect,
        EphemeralReceived,
        ListHeld,
        LoadDocument,
        PeerConnected,
        PeerDisconnected,
        PeerInfo,
        Persist,
        Send,
    )
    from podsync.sync.engine import SyncEngine
    from podsync.sync.messages import PeerMetadata
    from podsync.sync.policy import AllowAll, SharePolicy
    from podsync.sync.storage import DocumentSource, answer, is_storage_request

_WHERE = {
    **dict.fromkeys(
        ("AwaitDrain", "Close", "ConnId", "Damaged", "DocumentChanged", "DocumentUnavailable",
         "Effect", "EphemeralReceived", "ListHeld", "LoadDocument", "PeerConnected",
         "PeerDisconnected", "PeerInfo", "Persist", "Send"), "podsync.sync.effects"),
    "SyncEngine": "podsync.sync.engine",
    "PeerMetadata": "podsync.sync.messages",
    "AllowAll": "podsync.sync.policy",
    "SharePolicy": "podsync.sync.policy",
    "DocumentSource": "podsync.sync.storage",
    "answer": "podsync.sync.storage",
    "is_storage_request": "podsync.sync.storage",
}

__all__ = sorted(_WHERE)


def __getattr__(name: str) -> Any:
    module = _WHERE.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_WHERE))
