"""Sans-IO automerge-repo protocol v1 engine (see protocol/README.md).

The runtime feeds :class:`SyncEngine` events and carries out the effects it
returns; nothing here touches a socket or a clock.
"""

from podsync.sync.effects import (
    AwaitDrain,
    Close,
    ConnId,
    DocumentChanged,
    DocumentUnavailable,
    Effect,
    EphemeralReceived,
    PeerConnected,
    PeerDisconnected,
    PeerInfo,
    Persist,
    Send,
)
from podsync.sync.engine import SyncEngine
from podsync.sync.messages import PeerMetadata
from podsync.sync.policy import AllowAll, DocumentSource, SharePolicy

__all__ = [
    "AllowAll", "AwaitDrain", "Close", "ConnId", "DocumentChanged", "DocumentSource", "DocumentUnavailable",
    "Effect", "EphemeralReceived", "PeerConnected", "PeerDisconnected", "PeerInfo",
    "PeerMetadata", "Persist", "Send", "SharePolicy", "SyncEngine",
]
