"""The engine's bookkeeping: one Link per connection, one DocSync per document.

Plain mutable records; all decisions live in the engine. A DocSync is the
equivalent of automerge-repo's DocSynchronizer: the live document plus, for every
link syncing it, a PeerDoc holding that link's automerge SyncState.
"""

from __future__ import annotations

import enum
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Literal

import automerge.core as am

from podsync.sync.cost import Cost
from podsync.sync.effects import ConnId
from podsync.sync.messages import PeerMetadata


#: The budget key shared by every link the transport did not authenticate (the
#: member's local apps): budgets are per proven peer, and such links prove none.
UNAUTHENTICATED = "(unauthenticated)"


class TokenBucket:
    """``capacity`` tokens, refilled at ``rate`` a second, on the caller's clock."""

    def __init__(self, capacity: float, rate: float, now: float) -> None:
        self.capacity = capacity
        self.rate = rate
        self.tokens = capacity
        self.at = now

    def take(self, amount: float, now: float) -> bool:
        self.tokens = min(self.capacity, self.tokens + (now - self.at) * self.rate)
        self.at = now
        if self.tokens < amount:
            return False
        self.tokens -= amount
        return True


class LinkState(enum.Enum):
    AWAIT_JOIN = "await-join"  # acceptor: nothing received yet
    AWAIT_PEER = "await-peer"  # dialer: join sent, waiting for peer
    OPEN = "open"


@dataclass(eq=False)
class Link:
    conn: ConnId
    role: Literal["dialer", "acceptor"]
    opened_at: float
    state: LinkState
    expected_peer_id: str | None = None  # the transport's authenticated identity, if any
    identity: str = UNAUTHENTICATED  # whose budgets this link spends
    reserved: Callable[[str], bool] | None = None  # ids this unauthenticated link may not claim
    peer_id: str = ""
    metadata: PeerMetadata = field(default_factory=PeerMetadata)
    connected_at: float = 0.0
    summary: bool = False  # both sides speak the summary extension
    summary_deadline: float | None = None  # set while waiting for the peer's summary
    whole_doc: bool = False  # both sides speak the whole-document extension
    ranges: bool = False  # both sides speak range summaries
    lacking: set[str] = field(default_factory=set)  # documents its summary did not list
    docs: set[str] = field(default_factory=set)  # documents this link is registered in
    unknown_wants: set[str] = field(default_factory=set)  # of those, held by nobody here: asked for
    unknown_claims: set[str] = field(default_factory=set)  # ... and claimed (heads, no content yet)
    refused: set[str] = field(default_factory=set)  # it answered our push doc-unavailable
    queue: deque[str] = field(default_factory=deque)  # announcements waiting for a slot
    queued: set[str] = field(default_factory=set)
    in_flight: dict[str, float] = field(default_factory=dict)  # announced doc -> started at
    whole_sent: set[str] = field(default_factory=set)  # of those, sent whole: free once written out
    drain_awaited: bool = False  # an AwaitDrain is out and send_backlog has not come since
    backlog: int = 0  # bytes the runtime reports as written but not drained

    @property
    def open(self) -> bool:
        return self.state is LinkState.OPEN


@dataclass(eq=False)
class PeerDoc:
    """One link's sync of one document."""

    sync_state: am.SyncState = field(default_factory=am.SyncState)
    their_heads: list[bytes] | None = None  # sorted; None until they tell us
    wants: bool = False  # they asked us for it while holding nothing
    told_unavailable: bool = False  # we answered that want with doc-unavailable
    awaiting: bool = False  # we asked them for it and they have not answered
    unavailable: bool = False  # they answered doc-unavailable
    offered: bool = False  # they offer a document whose readers we do not know yet


@dataclass(eq=False)
class DocSync:
    doc_id: str
    doc: am.Document | None  # None: stored but not loaded yet
    heads: list[bytes]  # sorted; empty while we hold nothing of it
    peers: dict[ConnId, PeerDoc] = field(default_factory=dict)
    wanted: bool = False  # a local find wants it: ask every new link until it arrives
    local_find: bool = False  # that find still waits for its answer
    request_deadline: float | None = None  # a request round is running until then
    size: Cost | None = None  # measured once it takes input, plus what it took since
    sent_hashes: set[bytes] = field(default_factory=set)  # of change chunks received, not yet applied

    @property
    def has_content(self) -> bool:
        return bool(self.heads)
