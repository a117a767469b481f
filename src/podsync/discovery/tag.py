"""The pod tag: how members recognise each other's mDNS advertisements.

Every node advertises ``tag = HMAC-SHA256(pod_secret, label | epoch | device_id)``
truncated to 8 bytes, where ``epoch`` is the current UTC day number. A member,
holding the same pod secret, recomputes the tag for the device id in the
advertisement and compares.

What a stranger on the same network can learn from an advertisement:

- that a podsync node runs at these addresses and port, and its protocol version;
- its device id. The device id is the fingerprint of the node's TLS certificate,
  which any client that connects to the node sees anyway, so it is published
  as is; a stranger can therefore recognise the same device on another network.

What a stranger cannot learn:

- which pod a device belongs to, or whether two devices belong to the same pod:
  the tag is bound to each device id, so two members of one pod carry unrelated
  tags, and a tag says nothing about the pod without the secret;
- how many pods or members there are.

A stranger cannot forge a tag for a device id of their choosing. They can replay
a member's advertisement (tag and device id together) for as long as the tag is
accepted (the day it was made and the days either side of it, see
``TAG_EPOCH_SKEW``); that only makes a member dial an address where the TLS
handshake, pinned to the pod's roster, then fails. Anyone who holds the pod
secret, including a former member if the secret was not changed after their
removal, recognises the pod's advertisements.
"""

from __future__ import annotations

import hashlib
import hmac
import time

_TAG_LABEL = b"podsync/mdns-pod-tag/v1"
# 8 bytes (64 bits): forging a tag without the secret means guessing it, and
# one chance in 2**64 per advertisement is out of reach; TXT records stay short.
TAG_BYTES = 8
# Tags change once a day: a replayed advertisement goes stale within days.
# Shorter epochs buy little more (the device id is public anyway) and make
# members with a badly set clock miss each other.
TAG_EPOCH_SECONDS = 86_400
# Accept the neighbouring epochs too, so two members whose clocks disagree by
# up to a day (or who straddle midnight UTC) still recognise each other.
TAG_EPOCH_SKEW = 1


def tag_epoch(now: float | None = None) -> int:
    """The epoch number (UTC day) that ``now`` (default: the wall clock) falls in."""
    return int((time.time() if now is None else now) // TAG_EPOCH_SECONDS)


def pod_tag(pod_secret: bytes, device_id: str, epoch: int | None = None) -> str:
    """The tag ``device_id`` advertises in ``epoch`` (default: today), as hex."""
    if not pod_secret:
        raise ValueError("pod secret is empty")
    if epoch is None:
        epoch = tag_epoch()
    message = b"\0".join([_TAG_LABEL, str(epoch).encode(), device_id.encode()])
    return hmac.new(pod_secret, message, hashlib.sha256).digest()[:TAG_BYTES].hex()


def tag_matches(pod_secret: bytes, device_id: str, tag: str, now: float | None = None) -> bool:
    """True if ``tag`` was made with ``pod_secret`` for ``device_id`` in an
    epoch within ``TAG_EPOCH_SKEW`` of now."""
    current = tag_epoch(now)
    return any(
        hmac.compare_digest(pod_tag(pod_secret, device_id, epoch).encode(), tag.encode())
        for epoch in range(current - TAG_EPOCH_SKEW, current + TAG_EPOCH_SKEW + 1)
    )
