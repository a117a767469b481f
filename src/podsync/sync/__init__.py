"""Sans-IO automerge-repo protocol v1 engine (see protocol/README.md).

The runtime feeds :class:`SyncEngine` events and carries out the effects it
returns; nothing here touches a socket or a clock.
"""

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

__all__ = [
    "AllowAll", "AwaitDrain", "Close", "ConnId", "Damaged", "DocumentChanged", "DocumentSource",
    "DocumentUnavailable", "Effect", "EphemeralReceived", "ListHeld", "LoadDocument", "PeerConnected",
    "PeerDisconnected", "PeerInfo", "PeerMetadata", "Persist", "Send", "SharePolicy", "SyncEngine",
    "answer", "is_storage_request",
]
