"""What the relay's reading and writing sides share: keys, the pod's records, repos."""

from __future__ import annotations

import collections
import logging
from dataclasses import dataclass, field

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey

from podsync.records.verify import public_key_of
from podsync.relay import keys
from podsync.relay.directory import PodRelays
from podsync.repo import Repo
from podsync.trust import roster as roster_mod
from podsync.trust.ledger import Ledger

log = logging.getLogger(__name__)

#: Refusals kept for status, newest last: enough to see what a bad relay does.
RECENT_REFUSALS = 20


@dataclass
class RelayContext:
    pod_id: str
    member_id: str
    device_id: str
    pod_secret: bytes
    ledger: Ledger
    repo: Repo  # the pod's documents
    relay_repo: Repo  # sealed relay documents
    signing_key: Ed25519PrivateKey
    device_key: X25519PrivateKey
    view: PodRelays = field(default_factory=PodRelays)
    #: Epoch key id -> key, every epoch this device could open.
    ring: dict[str, bytes] = field(default_factory=dict)
    refused: collections.Counter[str] = field(default_factory=collections.Counter)
    recent: collections.deque[dict[str, str]] = field(
        default_factory=lambda: collections.deque(maxlen=RECENT_REFUSALS))
    _public_keys: dict[str, Ed25519PublicKey | None] = field(default_factory=dict)

    @property
    def bootstrap_key(self) -> bytes:
        return keys.bootstrap_key(self.pod_secret, self.pod_id)

    def index_id(self, device_id: str) -> str:
        return keys.index_doc_id(self.pod_secret, self.pod_id, device_id)

    def active_devices(self) -> list[str]:
        roster = self.ledger.roster
        return sorted(d.device_id for d in roster.devices if d.status == "active") if roster else []

    def member_of(self, device_id: str) -> str | None:
        """The member of an *active* device, else None."""
        roster = self.ledger.roster
        if roster is None or not roster_mod.is_active_device(roster, device_id):
            return None
        return roster_mod.member_of_device(roster, device_id)

    def signing_public_key(self, device_id: str) -> Ed25519PublicKey | None:
        if device_id not in self._public_keys:
            roster = self.ledger.roster
            device = roster_mod.device(roster, device_id) if roster is not None else None
            if device is None:
                return None  # not known yet: asked again once the roster has it
            self._public_keys[device_id] = public_key_of(device.cert)
        return self._public_keys[device_id]

    def refuse(self, device_id: str, where: str, reason: str, detail: str) -> None:
        """Count an entry that will never be used, and say so in the log."""
        self.refused[reason] += 1
        self.recent.append({"device_id": device_id, "entry": where, "reason": reason,
                            "detail": detail[:200]})
        log.warning("relay entry %s of device %s refused (%s): %s", where, device_id, reason, detail)
