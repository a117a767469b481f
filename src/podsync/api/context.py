"""What an operation runs against: this member, their documents, the clock.

A :class:`PodContext` is made by the running node for API calls, or by
:func:`offline_context` for a CLI command when no node runs for the home. In the
offline case the repo works straight on the store; what it writes syncs the next
time the node runs.

The API owns the interface it needs from a running node (:class:`RunningNode`);
the node provides it. So the API never imports the node, and the node imports
the API to serve it.
"""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any, Protocol, TypeVar

import automerge.core as am

from podsync.api.views import Views
from podsync.config import Config, load_config
from podsync.errors import NotFound, PodsyncError
from podsync.home import Home
from podsync.records.book import RecordBook
from podsync.records.verify import Signer, Verifier
from podsync.repo import Repo
from podsync.store import DocumentStore
from podsync.trust import roster as roster_mod
from podsync.trust.identity import DeviceIdentity, load_identity, load_signing_key
from podsync.trust.ledger import LEGACY_MESSAGE, LegacyPod, Ledger

T = TypeVar("T")


class ManualPeers(Protocol):
    """The running node's manual peers: kept in its address book, dialed while it runs."""

    def add_manual(self, address: str, *, persist: bool) -> str:
        """Dial ``address`` now; ``persist`` keeps it across restarts."""

    def remove_manual(self, address: str) -> bool:
        """Stop dialing ``address``; False if it was not a manual peer."""

    def manual_status(self) -> list[dict[str, Any]]:
        """Each manual peer: address, saved, device_id, member_id, connected, last_error."""


class RelayStatus(Protocol):
    """The running node's relay links (:class:`podsync.relay.service.RelayService`)."""

    def status(self) -> tuple[list[dict[str, Any]], dict[str, Any]]:
        """Each relay (url, reachable, last_exchange, behind...), and the relay side's state."""


class RunningNode(Protocol):
    """What operations ask of the node they run in (:class:`podsync.node.Node`)."""

    peering: ManualPeers
    relays: RelayStatus

    def reachable_addresses(self) -> list[str]:
        """Addresses other devices can dial this node at."""


class PodContext:
    def __init__(self, home: Home, repo: Repo, config: Config, identity: DeviceIdentity,
                 ledger: Ledger, node: RunningNode | None = None,
                 clock: Callable[[], dt.datetime] | None = None) -> None:
        self.home = home
        self.repo = repo
        self.config = config
        self.identity = identity
        self.ledger = ledger
        self.node = node
        #: What "now" is for every operation (reminders, deadlines, neglect are read
        #: against it); tests move it rather than wait.
        self.clock: Callable[[], dt.datetime] = clock or (
            lambda: dt.datetime.now(dt.timezone.utc))
        #: Derived views kept between operations (a running node's context lives
        #: as long as the node).
        self.views = Views(ledger, repo.store)
        #: Carrying out confirmed outcomes (podsync.api.ops_mobilizing) one run at a
        #: time: the node and this member's own operations both start runs.
        self.follow_lock = asyncio.Lock()

    @property
    def member_id(self) -> str:
        return self.config.member_id

    @property
    def pod_id(self) -> str:
        return self.config.pod_id

    def now(self) -> dt.datetime:
        return self.clock()

    def pod_doc(self) -> am.Document:
        return self.repo.get(self.config.pod_id)

    def roster(self) -> roster_mod.Roster:
        view = self.ledger.roster
        if view is None and self.ledger.is_legacy():
            raise LegacyPod(LEGACY_MESSAGE)
        if view is None:
            raise NotFound("this node does not hold its pod's roster yet; "
                           "start it with `podsync up` so it can sync")
        return view

    def collection(self, kind: str) -> str:
        """The id of the pod's ``kind`` collection document."""
        doc_id = self.ledger.collections().get(kind)
        if doc_id is None or not self.repo.has(doc_id):
            raise NotFound(f"this node does not hold the pod's {kind} yet; "
                           "start it with `podsync up` so it can sync")
        return doc_id

    def doc(self, doc_id: str) -> am.Document:
        return self.repo.get(doc_id)

    async def change(self, doc_id: str, fn: Callable[[Any], T]) -> T:
        return await self.repo.change(doc_id, fn)


def open_ledger(config: Config, repo: Repo, signer: Signer | None) -> Ledger:
    """The ledger of ``config``'s pod over ``repo``'s documents (and its store)."""

    def load(doc_id: str) -> am.Document | None:
        try:
            return repo.get(doc_id) if repo.has(doc_id) else None
        except PodsyncError:
            return None

    import podsync.pod.access  # noqa: F401, PLC0415 - registers the private kinds' reader rules

    ledger = Ledger(pod_id=config.pod_id, member_id=config.member_id,
                    book=RecordBook(repo.store, Verifier()), signer=signer, load=load,
                    holds=repo.has, write=repo.change, heads=repo.heads_now)
    repo.kind_resolver = ledger.kind
    return ledger


@asynccontextmanager
async def offline_context(home: Home) -> AsyncIterator[PodContext]:
    """A context working directly on the home's store (no node runs for it)."""
    identity = load_identity(home)
    config = load_config(home)
    # The key is read (and checked against the certificate again) only when the
    # command signs something: a listing never needs it.
    signer = Signer.loading(lambda: load_signing_key(home), identity.device_id)
    store = DocumentStore(home.db_path)
    try:
        repo = Repo(store, identity.device_id)
        ledger = open_ledger(config, repo, signer)
        ctx = PodContext(home, repo, config, identity, ledger)
        yield ctx
        # Views this command had to derive are kept for the next (podsync.api.views).
        ctx.views.save(ctx.now())
        await repo.flush()
    finally:
        store.close()
