"""The engine's bookkeeping: one Link per connection, one DocSync per document.

Plain mutable records; all decisions live in the engine. A DocSync is the
equivalent of automerge-repo's DocSynchronizer: the live document plus, for every
link syncing it, a PeerDoc holding that link's automerge SyncState, the heads the
peer last told us (data, not state) and one PeerState, moved only by the named
transitions in TRANSITIONS (anything else raises IllegalTransition)::

    any --they_hold--> SYNCING        any --they_offer--> OFFERED --admitted--> SYNCING
    any --they_ask--> WANTED --we_have_none--> TOLD_UNAVAILABLE   (content still flows)
    SYNCING, UNAVAILABLE --we_ask--> REQUESTED --arrived--> SYNCING
    any but WANTED, TOLD_UNAVAILABLE --they_have_none--> UNAVAILABLE

A peer that asked us stays WANTED (or TOLD_UNAVAILABLE) when it also answers our
own request doc-unavailable: it is owed the document when it comes either way.
"""

from __future__ import annotations

import enum
from collections import deque
from collections.abc import Callable
from typing import Literal

import automerge.core as am
import msgspec

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


class Link(msgspec.Struct, eq=False):
    conn: ConnId
    role: Literal["dialer", "acceptor"]
    opened_at: float
    state: LinkState
    expected_peer_id: str | None = None  # the transport's authenticated identity, if any
    identity: str = UNAUTHENTICATED  # whose budgets this link spends
    reserved: Callable[[str], bool] | None = None  # ids this unauthenticated link may not claim
    peer_id: str = ""
    metadata: PeerMetadata = msgspec.field(default_factory=PeerMetadata)
    connected_at: float = 0.0
    summary: bool = False  # both sides speak the summary extension
    summary_deadline: float | None = None  # set while waiting for the peer's summary
    whole_doc: bool = False  # both sides speak the whole-document extension
    ranges: bool = False  # both sides speak range summaries
    lacking: set[str] = msgspec.field(default_factory=set)  # documents its summary did not list
    docs: set[str] = msgspec.field(default_factory=set)  # documents this link is registered in
    unknown_wants: set[str] = msgspec.field(default_factory=set)  # of those, held by nobody here: asked for
    unknown_claims: set[str] = msgspec.field(default_factory=set)  # ... and claimed (heads, no content yet)
    refused: set[str] = msgspec.field(default_factory=set)  # it answered our push doc-unavailable
    queue: deque[str] = msgspec.field(default_factory=deque)  # announcements waiting for a slot
    queued: set[str] = msgspec.field(default_factory=set)
    in_flight: dict[str, float] = msgspec.field(default_factory=dict)  # announced doc -> started at
    whole_sent: set[str] = msgspec.field(default_factory=set)  # of those, sent whole: free once written out
    drain_awaited: bool = False  # an AwaitDrain is out and send_backlog has not come since
    backlog: int = 0  # bytes the runtime reports as written but not drained

    @property
    def open(self) -> bool:
        return self.state is LinkState.OPEN


class PeerState(enum.Enum):
    """Where one link stands on one document: who asked whom, and what it said."""

    SYNCING = "syncing"  # nothing asked either way: changes flow as automerge's sync says
    OFFERED = "offered"  # it holds heads of a document we hold nothing of; kept once admitted
    WANTED = "wanted"  # it asked us while it holds nothing; we owe it the document or an answer
    TOLD_UNAVAILABLE = "told-unavailable"  # we answered doc-unavailable; content still flows to it
    REQUESTED = "requested"  # we asked it for a document we hold nothing of; no answer yet
    UNAVAILABLE = "unavailable"  # it answered doc-unavailable: not pushed to unless announced


class IllegalTransition(RuntimeError):
    """The engine moved a PeerDoc where TRANSITIONS does not allow: a bug here, not
    anything a peer did."""


_ANY = frozenset(PeerState)

#: Each named move of a PeerDoc: the states it may start from, and where it goes.
#: A peer's own frames may come at any time (it may hold, ask or decline whatever
#: it said before); this side is narrower: it asks only a peer that neither asked
#: it nor holds heads it told us of, answers a want once, and a peer that asked
#: stays owed the document whatever it says it holds.
TRANSITIONS: dict[str, tuple[frozenset[PeerState], PeerState]] = {
    "they_hold": (_ANY, PeerState.SYNCING),
    "they_offer": (_ANY, PeerState.OFFERED),
    "they_ask": (_ANY, PeerState.WANTED),
    "they_have_none": (_ANY - {PeerState.WANTED, PeerState.TOLD_UNAVAILABLE}, PeerState.UNAVAILABLE),
    "we_ask": (frozenset({PeerState.SYNCING, PeerState.UNAVAILABLE}), PeerState.REQUESTED),
    "we_have_none": (frozenset({PeerState.WANTED}), PeerState.TOLD_UNAVAILABLE),
    "admitted": (frozenset({PeerState.OFFERED}), PeerState.SYNCING),
    "arrived": (frozenset({PeerState.REQUESTED}), PeerState.SYNCING),
}


class PeerDoc(msgspec.Struct, eq=False):
    """One link's sync of one document."""

    sync_state: am.SyncState = msgspec.field(default_factory=am.SyncState)
    their_heads: list[bytes] | None = None  # sorted; None until they tell us
    state: PeerState = PeerState.SYNCING

    @property
    def wants(self) -> bool:
        """It asked us for the document (answered or not)."""
        return self.state in (PeerState.WANTED, PeerState.TOLD_UNAVAILABLE)

    def _move(self, name: str) -> None:
        sources, to = TRANSITIONS[name]
        if self.state not in sources:
            raise IllegalTransition(f"{name} from {self.state.value}: only from "
                                    f"{sorted(s.value for s in sources)}")
        self.state = to

    # Its frames.
    def they_hold(self) -> None:
        """It sent heads of a document we hold or may read."""
        self._move("they_hold")

    def they_offer(self) -> None:
        """It sent heads of a document we hold nothing of and whose readers we do
        not know yet: what it sends is kept once the policy admits it."""
        self._move("they_offer")

    def they_ask(self) -> None:
        """It asked for the document, holding nothing."""
        self._move("they_ask")

    def they_have_none(self) -> None:
        """It answered doc-unavailable."""
        self._move("they_have_none")

    # This side.
    def we_ask(self) -> None:
        self._move("we_ask")

    def we_have_none(self) -> None:
        """We answered its want with doc-unavailable."""
        self._move("we_have_none")

    def admitted(self) -> None:
        """The document it offered is kept here now."""
        self._move("admitted")

    def arrived(self) -> None:
        """The document we asked it for arrived (from it or from anyone)."""
        self._move("arrived")


class DocSync(msgspec.Struct, eq=False):
    doc_id: str
    doc: am.Document | None  # None: stored but not loaded yet
    heads: list[bytes]  # sorted; empty while we hold nothing of it
    peers: dict[ConnId, PeerDoc] = msgspec.field(default_factory=dict)
    wanted: bool = False  # a local find wants it: ask every new link until it arrives
    local_find: bool = False  # that find still waits for its answer
    request_deadline: float | None = None  # a request round is running until then
    size: Cost | None = None  # measured once it takes input, plus what it took since
    sent_hashes: set[bytes] = msgspec.field(default_factory=set)  # of change chunks received, not yet applied

    @property
    def has_content(self) -> bool:
        return bool(self.heads)
