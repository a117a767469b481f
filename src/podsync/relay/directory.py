"""What the pod's signed records say about relays, read from the pod document.

Record types (all in the pod document, counted by the membership graph like any
other: signed by a device active at that point of the graph):

| type | body | meaning |
|---|---|---|
| ``relay.add`` | ``url`` | the pod syncs through this relay too |
| ``relay.remove`` | ``url`` | ... no longer |
| ``device.key`` | ``key`` | the signing device's X25519 public key (32 bytes); its latest counts |
| ``relay.epoch`` | ``key``, ``eph``, ``wraps``, ``to``, ``hn``, ``history`` | a new epoch key, wrapped to the devices ``to`` lists; ``history`` holds the earlier keys its author held, sealed under the new one |

The current epoch is the last ``relay.epoch`` record in the graph's replay order,
which every node computes alike.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import msgspec

from podsync.records.format import Draft
from podsync.relay import keys
from podsync.relay.urls import MAX_RELAYS, RelayUrlError, check_relay_url
from podsync.trust import roster as roster_mod
from podsync.trust.ledger import Ledger

RELAY_ADD = "relay.add"
RELAY_REMOVE = "relay.remove"
DEVICE_KEY = "device.key"
EPOCH = "relay.epoch"
TYPES = (RELAY_ADD, RELAY_REMOVE, DEVICE_KEY, EPOCH)


@dataclass(frozen=True)
class RelayEntry:
    url: str
    added_by: str  # member id
    added_at: str


@dataclass(frozen=True)
class EpochRecord:
    record_id: str
    key_id: str
    eph: bytes
    wraps: list[bytes]
    to: frozenset[str]  # device ids it is wrapped to
    history_nonce: bytes
    history: bytes
    by: str  # device id


@dataclass
class PodRelays:
    relays: list[RelayEntry] = field(default_factory=list)
    #: Relay URLs in the records that podsync refuses to dial, and why.
    refused: dict[str, str] = field(default_factory=dict)
    device_keys: dict[str, bytes] = field(default_factory=dict)  # active device -> X25519 key
    epochs: list[EpochRecord] = field(default_factory=list)  # replay order

    @property
    def current_epoch(self) -> EpochRecord | None:
        return self.epochs[-1] if self.epochs else None


def read(ledger: Ledger) -> PodRelays:
    """The relay view of the pod's counted records (total: odd records are skipped)."""
    out = PodRelays()
    roster = ledger.roster
    active = {d.device_id for d in roster.devices if d.status == "active"} if roster else set()
    urls: dict[str, RelayEntry] = {}
    for counted in ledger.pod_records(TYPES):
        record, body = counted.record, counted.record.body
        if record.type in (RELAY_ADD, RELAY_REMOVE):
            raw = body.get("url")
            try:
                url = check_relay_url(raw) if isinstance(raw, str) else None
            except RelayUrlError as err:
                if record.type == RELAY_ADD:
                    out.refused[str(raw)[:200]] = str(err)
                continue
            if url is None:
                continue
            if record.type == RELAY_ADD:
                urls[url] = RelayEntry(url, counted.member, record.at)
                out.refused.pop(url, None)
            else:
                urls.pop(url, None)
        elif record.type == DEVICE_KEY:
            key = body.get("key")
            if isinstance(key, bytes) and len(key) == keys.KEY_BYTES and record.by in active:
                out.device_keys[record.by] = key
        elif record.type == EPOCH:
            epoch = parse_epoch(record.id, record.by, body)
            if epoch is not None:
                out.epochs.append(epoch)
    out.relays = list(urls.values())[:MAX_RELAYS]
    return out


def parse_epoch(record_id: str, by: str, body: dict[str, Any]) -> EpochRecord | None:
    """The epoch a `relay.epoch` record's body describes; None when it is not one."""
    kid, eph, wraps, to = body.get("key"), body.get("eph"), body.get("wraps"), body.get("to")
    hn, history = body.get("hn"), body.get("history")
    if not (isinstance(kid, str) and isinstance(eph, bytes) and isinstance(wraps, list)
            and isinstance(to, list) and isinstance(hn, bytes) and isinstance(history, bytes)):
        return None
    if len(wraps) > keys.MAX_WRAPS or not all(isinstance(w, bytes) for w in wraps):
        return None
    return EpochRecord(record_id, kid, eph, list(wraps), frozenset(t for t in to if isinstance(t, str)),
                       hn, history, by)


def epoch_draft(key: bytes, recipients: dict[str, bytes], held: dict[str, bytes]) -> Draft:
    """A ``relay.epoch`` record for a fresh ``key``, wrapped to ``recipients``
    (device id -> X25519 key), carrying ``held`` (every earlier key this device
    holds) sealed under it, so a device admitted later reads what came before."""
    kid = keys.key_id(key)
    eph, wraps = keys.wrap(key, list(recipients.values()), epoch_ad(kid))
    history = msgspec.msgpack.encode(sorted(held.items()))
    nonce, sealed = keys.seal(key, history, epoch_ad(kid))
    return Draft(EPOCH, {"key": kid, "eph": eph, "wraps": wraps, "to": sorted(recipients),
                         "hn": nonce, "history": sealed})


def epoch_ad(kid: str) -> bytes:
    return b"podsync-relay-epoch\x00" + kid.encode()


def open_epoch(epoch: EpochRecord, device_key: keys.X25519PrivateKey) -> dict[str, bytes]:
    """The keys this device learns from ``epoch``: its own, and the history it
    carries; empty when it was not wrapped to this device."""
    key = keys.unwrap(device_key, epoch.eph, epoch.wraps, epoch_ad(epoch.key_id))
    if key is None or keys.key_id(key) != epoch.key_id:
        return {}
    found = {epoch.key_id: key}
    plain = keys.open_sealed(key, epoch.history_nonce, epoch.history, epoch_ad(epoch.key_id))
    if plain is not None:
        try:
            for kid, old in msgspec.msgpack.decode(plain, type=list[tuple[str, bytes]]):
                if len(old) == keys.KEY_BYTES and keys.key_id(old) == kid:
                    found.setdefault(kid, old)
        except (msgspec.DecodeError, msgspec.ValidationError):
            pass
    return found


def needs_new_epoch(view: PodRelays, roster: roster_mod.Roster | None) -> str:
    """Why the pod needs a new epoch key now ("" when it does not): there is none
    yet, a device it was wrapped to is no longer active, or an active device with
    an encryption key is not among its recipients."""
    if not view.relays or roster is None:
        return ""
    current = view.current_epoch
    if current is None:
        return "no epoch key yet"
    active = {d.device_id for d in roster.devices if d.status == "active"}
    gone = current.to - active
    if gone:
        return f"{len(gone)} device(s) it was wrapped to were removed"
    missing = set(view.device_keys) - current.to
    if missing:
        return f"{len(missing)} device(s) joined since"
    return ""


def removed_since(old: EpochRecord | None, new: EpochRecord | None) -> bool:
    """Whether moving from ``old`` to ``new`` left a device out (a removal):
    everything written before must then be sealed again under the new key."""
    return old is not None and new is not None and bool(old.to - new.to)


def relay_draft(url: str, *, add: bool) -> Draft:
    return Draft(RELAY_ADD if add else RELAY_REMOVE, {"url": url})


def device_key_draft(public: bytes) -> Draft:
    return Draft(DEVICE_KEY, {"key": public})


class _Gift(msgspec.Struct, array_like=True, frozen=True):
    key: str
    eph: bytes
    wraps: list[bytes]
    hn: bytes
    history: bytes


def seal_gift(epoch: EpochRecord, bootstrap: bytes, where: str) -> bytes:
    """An epoch's wrapped keys for a device's index document (see :mod:`.keys`):
    a member who has not yet seen the epoch record learns its key there."""
    plain = msgspec.msgpack.encode(_Gift(epoch.key_id, epoch.eph, epoch.wraps,
                                         epoch.history_nonce, epoch.history))
    nonce, sealed = keys.seal(bootstrap, plain, _gift_ad(where))
    return msgspec.msgpack.encode((nonce, sealed))


def open_gift(raw: object, bootstrap: bytes, where: str, by: str) -> EpochRecord | None:
    if not isinstance(raw, bytes) or len(raw) > _MAX_GIFT_BYTES:
        return None
    try:
        nonce, sealed = msgspec.msgpack.decode(raw, type=tuple[bytes, bytes])
    except (msgspec.DecodeError, msgspec.ValidationError):
        return None
    plain = keys.open_sealed(bootstrap, nonce, sealed, _gift_ad(where))
    if plain is None:
        return None
    try:
        gift = msgspec.msgpack.decode(plain, type=_Gift)
    except (msgspec.DecodeError, msgspec.ValidationError):
        return None
    if len(gift.wraps) > keys.MAX_WRAPS:
        return None
    return EpochRecord("", gift.key, gift.eph, list(gift.wraps), frozenset(), gift.hn,
                       gift.history, by)


#: An epoch wrapped to MAX_WRAPS devices with a long history is some 30 KB.
_MAX_GIFT_BYTES = 256 * 1024


def _gift_ad(where: str) -> bytes:
    return b"podsync-relay-gift\x00" + where.encode()
