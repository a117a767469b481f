"""A deterministic simulated network that drives several SyncEngines.

Model (and why): a real automerge-repo link is a WebSocket over TCP, so inside one
link frames are never lost, duplicated or reordered. What does happen is that a
link breaks, a partition stops links from forming, and frames on *different*
links race each other. So:

* each link delivers its frames in order, each after a random delay, never
  overtaking an earlier frame of the same direction;
* "drop" kills the link instead: both ends are told it closed (the far end a
  moment later), and unless the two nodes are partitioned a redial follows after
  a random pause, with fresh sync states on both sides;
* reordering happens across links, whose delays are independent;
* a partition kills every link between its sides and blocks redials until healed;
* ``dup_rate`` optionally re-delivers a sync/request frame right after itself —
  impossible on a WebSocket, but it shows the engine survives it (automerge sync
  tolerates duplicates).

Time is simulated; every node ticks once a second. Everything random comes from
one seeded ``random.Random``.
"""

from __future__ import annotations

import heapq
import itertools
import random
from collections import deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

import automerge.core as am

from podsync.ids import new_document_id
from podsync.sync import (
    AllowAll, AwaitDrain, Close, Effect, ListHeld, LoadDocument, Persist, Send, SharePolicy, SyncEngine,
    answer, is_storage_request,
)
from podsync.sync.cost import Cost
from podsync.sync.messages import Message, Request, Sync, decode

TICK = 1.0


class MemorySource:
    """DocumentSource over lists of chunks, as a store would keep them.

    ``busy`` (set by SourcedEngine) says an engine call is running: reading the
    source then fails, since the engine asks for storage and never reads it.
    ``written`` is told of every write, as a runtime reports its durable writes."""

    def __init__(self) -> None:
        self.chunks: dict[str, list[bytes]] = {}
        self.stored_heads: dict[str, list[bytes]] = {}
        self.loads = 0
        self.sizes: dict[str, Cost] = {}  # what a test says the store measured
        self.busy: Callable[[], bool] = lambda: False
        self.written: Callable[[str, list[bytes]], None] = lambda doc_id, heads: None

    def _read(self) -> None:
        if self.busy():
            raise AssertionError("storage read inside an engine call")

    def load(self, doc_id: str) -> am.Document | None:
        self._read()
        if doc_id not in self.chunks:
            return None
        self.loads += 1
        return am.Document.load(b"".join(self.chunks[doc_id]))

    def all_heads(self) -> dict[str, list[bytes]]:
        self._read()
        return {doc_id: list(heads) for doc_id, heads in self.stored_heads.items()}

    def measured(self, doc_id: str) -> Cost | None:
        """Set in ``sizes`` by a test; a store that has not measured says None."""
        self._read()
        return self.sizes.get(doc_id)

    def heads(self, doc_id: str) -> list[bytes] | None:
        return self.stored_heads.get(doc_id)

    def document_ids(self) -> Iterable[str]:
        return list(self.chunks)

    def persist(self, doc_id: str, changes: list[bytes], heads: list[bytes]) -> None:
        self.chunks.setdefault(doc_id, []).extend(changes)
        self.stored_heads[doc_id] = list(heads)
        self.written(doc_id, list(heads))

    def save(self, doc_id: str, doc: am.Document) -> None:
        self.chunks[doc_id] = [doc.save()]
        self.stored_heads[doc_id] = doc.get_heads()
        self.written(doc_id, doc.get_heads())


class SourcedEngine(SyncEngine):
    """A SyncEngine whose storage requests are answered from a MemorySource as
    soon as a call returns them (the answers' effects follow the call's), as the
    repo answers them from its store. The returned effects leave the requests
    out. The source cannot be read while an engine call runs."""

    def __init__(self, peer_id: str, source: MemorySource, policy: SharePolicy | None = None,
                 **kwargs: Any) -> None:
        super().__init__(peer_id, policy, **kwargs)
        self.source = source
        self.now_seen = 0.0
        self._busy = 0
        source.busy = lambda: self._busy > 0
        source.written = self.stored

    def _serve(self, effects: list[Effect], now: float) -> list[Effect]:
        out: list[Effect] = []
        queue = deque(effects)
        while queue:
            effect = queue.popleft()
            if is_storage_request(effect):
                queue.extend(answer(self, self.source, effect, now))  # type: ignore[arg-type]
            else:
                out.append(effect)
        return out

    def open(self, doc_id: str) -> am.Document | None:
        if not self.listed:
            self._serve([ListHeld()], self.now_seen)
        if self.needs_load(doc_id):
            self._serve([LoadDocument(doc_id)], self.now_seen)
        return super().open(doc_id)

    def held_ids(self) -> set[str]:
        if not self.listed:
            self._serve([ListHeld()], self.now_seen)
        return super().held_ids()


def _answering(name: str) -> Callable[..., list[Effect]]:
    method = getattr(SyncEngine, name)

    def call(self: SourcedEngine, *args: Any, **kwargs: Any) -> list[Effect]:
        if self._busy:
            return method(self, *args, **kwargs)  # called by the engine itself: the outer call answers
        now = kwargs.get("now", args[-1] if args else self.now_seen)  # always the last positional
        self.now_seen = max(self.now_seen, now)
        self._busy += 1
        try:
            effects = method(self, *args, **kwargs)
        finally:
            self._busy -= 1
        return self._serve(effects, now)

    call.__name__ = name
    return call


for _name in ("connect", "receive", "receive_measured", "disconnect", "send_backlog", "broadcast",
              "local_change", "create", "find", "tick", "policy_changed", "held_listed",
              "document_loaded"):
    setattr(SourcedEngine, _name, _answering(_name))


@dataclass(eq=False)
class SimLink:
    id: int
    dialer: SimNode
    acceptor: SimNode
    alive: bool = True
    # per direction: the time the last frame is due, so frames never overtake
    due: dict[str, float] = field(default_factory=lambda: {"d": 0.0, "a": 0.0})

    def end(self, node: SimNode) -> tuple[SimNode, int]:
        """(far node, far conn id) as seen from ``node``."""
        return (self.acceptor, -self.id) if node is self.dialer else (self.dialer, self.id)

    def conn_of(self, node: SimNode) -> int:
        return self.id if node is self.dialer else -self.id


@dataclass(eq=False)
class SimNode:
    net: SimNet
    name: str
    engine: SourcedEngine
    source: MemorySource
    links: dict[int, SimLink] = field(default_factory=dict)  # our conn -> link
    events: list[Effect] = field(default_factory=list)
    batches: list[list[Effect]] = field(default_factory=list)  # one per engine call
    sent: list[tuple[int, Message]] = field(default_factory=list)  # (conn, message)

    def apply(self, effects: list[Effect]) -> None:
        self.batches.append(effects)
        self.net.apply(self, effects)

    # the repo's side: local documents
    def create(self, fill: Callable[[am.Transaction], Any] | None = None) -> str:
        doc_id = new_document_id()
        doc = am.Document()
        with doc.transaction() as tx:
            if fill is not None:
                fill(tx)
            else:
                tx.put(am.ROOT, "created_by", am.ScalarType.Str, self.name)
        self.source.save(doc_id, doc)
        self.apply(self.engine.create(doc_id, doc, self.net.now))
        return doc_id

    def edit(self, doc_id: str, key: str, value: str) -> bool:
        doc = self.engine.open(doc_id)
        if doc is None:
            return False
        before = doc.get_heads()
        with doc.transaction() as tx:
            tx.put(am.ROOT, key, am.ScalarType.Str, value)
        self.source.persist(doc_id, [c.bytes for c in doc.get_changes(before)], doc.get_heads())
        self.apply(self.engine.local_change(doc_id, self.net.now))
        return True

    def content(self, doc_id: str) -> dict[str, Any] | None:
        doc = self.engine.open(doc_id)
        if doc is None:
            return None
        return {k: doc.get(am.ROOT, k)[0] for k in doc.keys(am.ROOT)}  # type: ignore[index]

    def heads(self, doc_id: str) -> list[bytes]:
        doc = self.engine.open(doc_id)
        return sorted(doc.get_heads()) if doc is not None else []

    def of_type(self, kind: type) -> list[Any]:
        return [e for e in self.events if isinstance(e, kind)]


class SimNet:
    def __init__(self, seed: int = 0, *, latency: tuple[float, float] = (0.001, 0.05),
                 kill_rate: float = 0.0, dup_rate: float = 0.0,
                 redial: tuple[float, float] | None = (0.5, 3.0)) -> None:
        self.rng = random.Random(seed)
        self.now = 0.0
        self.latency = latency
        self.kill_rate = kill_rate
        self.dup_rate = dup_rate
        self.redial = redial  # None: broken links stay down
        self.nodes: dict[str, SimNode] = {}
        self.links: list[SimLink] = []
        self.pairs: set[tuple[str, str]] = set()  # (dialer, acceptor) that should be linked
        self.cut: set[frozenset[str]] = set()  # node pairs a partition separates
        self._queue: list[tuple[float, int, str, tuple[Any, ...]]] = []
        self._seq = itertools.count()
        self._ids = itertools.count(1)
        self.frames = 0

    # ------------------------------------------------------------ topology

    def add(self, name: str, policy: SharePolicy | None = None, *, extension: bool = True,
            storage: bool = True) -> SimNode:
        source = MemorySource()
        engine = SourcedEngine(name, source, policy or AllowAll(),
                            storage_id=f"storage-{name}" if storage else None, extension=extension)
        node = self.nodes[name] = SimNode(self, name, engine, source)
        self._schedule(self.rng.uniform(0, TICK), "tick", (node,))
        return node

    def connect(self, dialer: str, acceptor: str) -> SimLink:
        self.pairs.add((dialer, acceptor))
        return self._dial(self.nodes[dialer], self.nodes[acceptor])

    def _dial(self, a: SimNode, b: SimNode) -> SimLink:
        link = SimLink(next(self._ids), a, b)
        self.links.append(link)
        a.links[link.id] = link
        b.links[-link.id] = link
        b.apply(b.engine.connect(-link.id, "acceptor", self.now))
        a.apply(a.engine.connect(link.id, "dialer", self.now))
        return link

    def live_links(self) -> list[SimLink]:
        return [link for link in self.links if link.alive]

    def kill(self, link: SimLink) -> None:
        """The connection breaks: each end learns it (the far one after a delay)."""
        if not link.alive:
            return
        link.alive = False
        for node in (link.dialer, link.acceptor):
            self._schedule(self._delay(), "down", (node, link))
        if self.redial is not None:
            self._schedule(self.rng.uniform(*self.redial), "redial", (link.dialer, link.acceptor))

    def partition(self, side: Iterable[str]) -> None:
        side = set(side)
        other = set(self.nodes) - side
        self.cut = {frozenset((a, b)) for a in side for b in other}
        for link in self.live_links():
            if frozenset((link.dialer.name, link.acceptor.name)) in self.cut:
                self.kill(link)

    def heal(self) -> None:
        """End partitions and make sure every wanted pair has a live link."""
        self.cut = set()
        live = {(link.dialer.name, link.acceptor.name) for link in self.live_links()}
        for pair in sorted(self.pairs - live):
            self._schedule(self.rng.uniform(0, 0.5), "redial", (self.nodes[pair[0]], self.nodes[pair[1]]))

    # ------------------------------------------------------------ effects

    def apply(self, node: SimNode, effects: list[Effect]) -> None:
        for effect in effects:
            node.events.append(effect)
            if isinstance(effect, Send):
                self._send(node, effect)
            elif isinstance(effect, Close):
                link = node.links.get(effect.conn)
                if link is not None and link.alive:
                    link.alive = False
                    # this end already forgot the link; the far end sees it close
                    far, far_conn = link.end(node)
                    self._schedule(self._delay(), "down", (far, link))
                    if self.redial is not None:
                        self._schedule(self.rng.uniform(*self.redial), "redial",
                                       (link.dialer, link.acceptor))
            elif isinstance(effect, Persist):
                node.source.persist(effect.doc_id, effect.changes, effect.heads)
            elif isinstance(effect, AwaitDrain):
                # Written out once the last frame queued that way is delivered.
                link = node.links.get(effect.conn)
                if link is not None and link.alive:
                    direction = "d" if node is link.dialer else "a"
                    self._schedule_at(max(self.now, link.due[direction]), "drained", (node, link))

    def _send(self, node: SimNode, effect: Send) -> None:
        msg = decode(effect.data)
        node.sent.append((effect.conn, msg))
        link = node.links[effect.conn]
        if not link.alive:
            return
        self.frames += 1
        if self.kill_rate and self.rng.random() < self.kill_rate:
            self.kill(link)
            return
        direction = "d" if node is link.dialer else "a"
        due = max(self.now + self._delay(), link.due[direction])
        link.due[direction] = due
        self._schedule_at(due, "frame", (link, node, effect.data))
        if self.dup_rate and isinstance(msg, (Sync, Request)) and self.rng.random() < self.dup_rate:
            self._schedule_at(due, "frame", (link, node, effect.data))

    def _delay(self) -> float:
        return self.rng.uniform(*self.latency)

    def _schedule(self, delay: float, kind: str, args: tuple[Any, ...]) -> None:
        self._schedule_at(self.now + delay, kind, args)

    def _schedule_at(self, when: float, kind: str, args: tuple[Any, ...]) -> None:
        heapq.heappush(self._queue, (when, next(self._seq), kind, args))

    # ------------------------------------------------------------ running

    def step(self) -> str:
        """Handle the next scheduled event."""
        when, _, kind, args = heapq.heappop(self._queue)
        self.now = max(self.now, when)
        if kind == "tick":
            (node,) = args
            node.apply(node.engine.tick(self.now))
            self._schedule(TICK, "tick", (node,))
        elif kind == "frame":
            link, sender, data = args
            if link.alive:
                far, far_conn = link.end(sender)
                far.apply(far.engine.receive(far_conn, data, self.now))
        elif kind == "drained":
            node, link = args
            if link.alive:
                node.apply(node.engine.send_backlog(link.conn_of(node), 0, self.now))
        elif kind == "down":
            node, link = args
            node.apply(node.engine.disconnect(link.conn_of(node), self.now))
        elif kind == "redial":
            a, b = args
            blocked = frozenset((a.name, b.name)) in self.cut
            already = any(link.alive and link.dialer is a and link.acceptor is b for link in self.links)
            if not blocked and not already and (a.name, b.name) in self.pairs:
                self._dial(a, b)
        return kind

    def busy(self) -> bool:
        return any(kind != "tick" for _, _, kind, _ in self._queue)

    def run(self, seconds: float) -> None:
        """Advance simulated time by ``seconds``, handling everything due."""
        end = self.now + seconds
        while self._queue and self._queue[0][0] <= end:
            self.step()
        self.now = end

    def settle(self, *, max_frames: int = 100_000, quiet: float = 3 * TICK) -> None:
        """Run until no frame or redial is pending and ``quiet`` seconds of ticks pass
        without any. Fails if more than ``max_frames`` frames are sent (a sync loop)."""
        start = self.frames
        while True:
            while self.busy():
                self.step()
                if self.frames - start > max_frames:
                    raise AssertionError(f"no quiescence after {max_frames} frames: a sync loop?")
            before = self.frames
            self.run(quiet)
            if self.frames == before and not self.busy():
                return

    # ------------------------------------------------------------ inspection

    def all_doc_ids(self) -> set[str]:
        return {d for node in self.nodes.values() for d in node.source.document_ids()}

    def frames_since(self, marks: dict[str, int]) -> list[tuple[str, int, Message]]:
        return [(name, conn, msg) for name, node in self.nodes.items()
                for conn, msg in node.sent[marks.get(name, 0):]]

    def mark(self) -> dict[str, int]:
        return {name: len(node.sent) for name, node in self.nodes.items()}

