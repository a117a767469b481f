"""automerge-repo protocol v1 messages as typed records, and their CBOR codec.

Each binary WebSocket frame carries exactly one CBOR map (protocol/README.md).
Decoding is tolerant where real peers differ — unknown keys, any key order, CBOR
``undefined`` (what cbor-x writes for a JS ``undefined``) for absent optional
fields, float64 for large numbers, 16-bit map headers — and strict about the rest:
a frame that is not exactly one map, or a field of the wrong type, raises
:class:`~podsync.errors.ProtocolError`. Encoding follows cbor-x as automerge-repo
configures it: plain maps, untagged byte strings, integers of 2**32 and more as
float64 (cbor-x decodes CBOR uint64 to BigInt, which automerge-repo does not expect).
"""

from __future__ import annotations

import io
from typing import Any, Union

import cbor2
import msgspec

from podsync.errors import InvalidId, ProtocolError
from podsync.ids import document_id_from_bytes
from podsync.sync.cbor_bounds import check as check_cbor
from podsync.sync.limits import MAX_FRAME_BYTES

PROTOCOL_VERSION = "1"
# The podsync extension: its version and the features this build speaks.
EXTENSION_KEY = "podsync"
EXTENSION_VERSION = 1
EXT_SUMMARY = "summary"
SUMMARY_TYPE = "podsync-summary"
EXT_WHOLE_DOC = "doc"
WHOLE_DOC_TYPE = "podsync-doc"
EXT_RANGES = "ranges"
RANGES_TYPE = "podsync-ranges"

# cbor-x turns CBOR integers above this into BigInt; JS sends such numbers as float64.
_FLOAT_FROM = 2**32


class PeerMetadata(msgspec.Struct, frozen=True):
    """``peerMetadata`` of join/peer. ``extensions`` is empty for a plain JS peer."""

    storage_id: str | None = None
    is_ephemeral: bool | None = None
    extension_version: int | None = None
    extensions: tuple[str, ...] = ()


class Join(msgspec.Struct, frozen=True):
    sender_id: str
    supported_versions: tuple[str, ...] | None  # None: absent, which means v1
    metadata: PeerMetadata | None = None


class Peer(msgspec.Struct, frozen=True):
    sender_id: str
    target_id: str
    selected_version: str
    metadata: PeerMetadata | None = None


class ErrorMessage(msgspec.Struct, frozen=True):
    sender_id: str
    target_id: str
    message: str


class Request(msgspec.Struct, frozen=True):
    sender_id: str
    target_id: str
    document_id: str
    data: bytes


class Sync(msgspec.Struct, frozen=True):
    sender_id: str
    target_id: str
    document_id: str
    data: bytes


class DocUnavailable(msgspec.Struct, frozen=True):
    sender_id: str
    target_id: str
    document_id: str


class Ephemeral(msgspec.Struct, frozen=True):
    sender_id: str
    target_id: str
    document_id: str
    count: int
    session_id: str
    data: bytes


class Leave(msgspec.Struct, frozen=True):
    sender_id: str


class RemoteSubscriptionChange(msgspec.Struct, frozen=True):
    sender_id: str
    target_id: str
    add: tuple[str, ...] | None = None
    remove: tuple[str, ...] | None = None


class RemoteHeadsChanged(msgspec.Struct, frozen=True):
    sender_id: str
    target_id: str
    document_id: str
    # storageId -> (bs58check heads, timestamp in ms since the epoch)
    new_heads: dict[str, tuple[tuple[str, ...], float]]


class Summary(msgspec.Struct, frozen=True):
    """podsync extension: the sender's documents and head digests (see summary.py)."""

    sender_id: str
    target_id: str
    data: bytes


class WholeDoc(msgspec.Struct, frozen=True):
    """podsync extension: a whole saved document, for a peer whose summary lacks it."""

    sender_id: str
    target_id: str
    document_id: str
    data: bytes


class Ranges(msgspec.Struct, frozen=True):
    """podsync extension: one round of a range summary (see ranges.py)."""

    sender_id: str
    target_id: str
    round: int
    data: bytes


class Unknown(msgspec.Struct, frozen=True):
    """A message type this build does not know; received and ignored."""

    type: str
    sender_id: str | None


Message = Union[
    Join, Peer, ErrorMessage, Request, Sync, DocUnavailable, Ephemeral, Leave,
    RemoteSubscriptionChange, RemoteHeadsChanged, Summary, WholeDoc, Ranges, Unknown,
]

# ---------------------------------------------------------------- decoding


class _Fields:
    """Typed access to one decoded map; every failure is a ProtocolError."""

    def __init__(self, kind: str, raw: dict[Any, Any]) -> None:
        self.kind = kind
        self.raw = raw

    def _get(self, key: str) -> Any:
        value = self.raw.get(key)
        return None if value is cbor2.undefined else value

    def _bad(self, key: str, want: str, value: Any) -> ProtocolError:
        return ProtocolError(f"{self.kind}: field {key!r} must be {want}, not {type(value).__name__}")

    def text(self, key: str) -> str:
        value = self._get(key)
        if not isinstance(value, str):
            raise self._bad(key, "a string", value)
        return value

    def opt_text(self, key: str) -> str | None:
        value = self._get(key)
        if value is not None and not isinstance(value, str):
            raise self._bad(key, "a string", value)
        return value

    def data(self, key: str = "data") -> bytes:
        value = self._get(key)
        # Tag 64 (Uint8Array) is what cbor-x writes unless told not to; accept it.
        if isinstance(value, cbor2.CBORTag) and value.tag == 64:
            value = value.value
        if not isinstance(value, bytes):
            raise self._bad(key, "a byte string", value)
        return value

    def document_id(self) -> str:
        value = self._get("documentId")
        if isinstance(value, bytes):  # some implementations send the raw 16 bytes
            try:
                return document_id_from_bytes(value)
            except InvalidId as err:
                raise ProtocolError(f"{self.kind}: {err}") from None
        if not isinstance(value, str):
            raise self._bad("documentId", "a string", value)
        return value

    def number(self, key: str) -> float:
        value = self._get(key)
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise self._bad(key, "a number", value)
        return value

    def count(self, key: str) -> int:
        value = self.number(key)
        if value != value or value < 0 or int(value) != value:
            raise ProtocolError(f"{self.kind}: field {key!r} must be a whole number ≥ 0, not {value}")
        return int(value)

    def text_list(self, key: str) -> tuple[str, ...] | None:
        value = self._get(key)
        if value is None:
            return None
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise self._bad(key, "a list of strings", value)
        return tuple(value)

    def metadata(self) -> PeerMetadata | None:
        value = self._get("peerMetadata")
        if value is None:
            return None
        if not isinstance(value, dict):
            raise self._bad("peerMetadata", "a map", value)
        sub = _Fields(f"{self.kind}.peerMetadata", value)
        is_ephemeral = sub._get("isEphemeral")
        if is_ephemeral is not None and not isinstance(is_ephemeral, bool):
            raise sub._bad("isEphemeral", "a boolean", is_ephemeral)
        version, features = _extension(sub._get(EXTENSION_KEY))
        return PeerMetadata(sub.opt_text("storageId"), is_ephemeral, version, features)


def _extension(value: Any) -> tuple[int | None, tuple[str, ...]]:
    """The podsync extension block; anything malformed counts as "not offered"
    rather than an error, so a future or foreign shape never breaks the link."""
    if not isinstance(value, dict):
        return None, ()
    version = value.get("v")
    features = value.get("ext")
    if isinstance(version, bool) or not isinstance(version, int) or version < 1:
        return None, ()
    if not isinstance(features, list):
        return version, ()
    return version, tuple(f for f in features if isinstance(f, str))


def _load_map(frame: bytes) -> dict[Any, Any]:
    if len(frame) > MAX_FRAME_BYTES:
        raise ProtocolError(f"frame of {len(frame)} bytes exceeds the {MAX_FRAME_BYTES}-byte limit")
    check_cbor(frame)
    stream = io.BytesIO(frame)
    try:
        value = cbor2.CBORDecoder(stream).decode()
    except Exception as err:  # cbor2 raises several types for bad input; all mean the same
        raise ProtocolError(f"frame is not valid CBOR: {err}") from None
    if stream.tell() != len(frame):
        raise ProtocolError(f"frame holds {len(frame) - stream.tell()} bytes after its CBOR map")
    if not isinstance(value, dict):
        raise ProtocolError(f"frame holds a CBOR {type(value).__name__}, not a map")
    return value


def decode(frame: bytes) -> Message:
    """One frame to one message record; raises ProtocolError for anything malformed."""
    raw = _load_map(frame)
    kind = raw.get("type")
    if not isinstance(kind, str):
        raise ProtocolError("message has no string 'type'")
    f = _Fields(kind, raw)
    if kind == "join":
        return Join(f.text("senderId"), f.text_list("supportedProtocolVersions"), f.metadata())
    if kind == "peer":
        return Peer(f.text("senderId"), f.opt_text("targetId") or "",
                    f.text("selectedProtocolVersion"), f.metadata())
    if kind == "error":
        return ErrorMessage(f.opt_text("senderId") or "", f.opt_text("targetId") or "",
                            f.opt_text("message") or "")
    if kind in ("request", "sync"):
        cls = Request if kind == "request" else Sync
        return cls(f.text("senderId"), f.opt_text("targetId") or "", f.document_id(), f.data())
    if kind == "doc-unavailable":
        return DocUnavailable(f.text("senderId"), f.opt_text("targetId") or "", f.document_id())
    if kind == "ephemeral":
        return Ephemeral(f.text("senderId"), f.opt_text("targetId") or "", f.document_id(),
                         f.count("count"), f.text("sessionId"), f.data())
    if kind == "leave":
        return Leave(f.text("senderId"))
    if kind == "remote-subscription-change":
        return RemoteSubscriptionChange(f.text("senderId"), f.opt_text("targetId") or "",
                                        f.text_list("add"), f.text_list("remove"))
    if kind == "remote-heads-changed":
        return RemoteHeadsChanged(f.text("senderId"), f.opt_text("targetId") or "",
                                  f.document_id(), _new_heads(f))
    if kind == SUMMARY_TYPE:
        return Summary(f.text("senderId"), f.opt_text("targetId") or "", f.data())
    if kind == WHOLE_DOC_TYPE:
        return WholeDoc(f.text("senderId"), f.opt_text("targetId") or "", f.document_id(), f.data())
    if kind == RANGES_TYPE:
        return Ranges(f.text("senderId"), f.opt_text("targetId") or "", f.count("round"), f.data())
    sender = raw.get("senderId")
    return Unknown(kind, sender if isinstance(sender, str) else None)


def _new_heads(f: _Fields) -> dict[str, tuple[tuple[str, ...], float]]:
    value = f._get("newHeads")
    if not isinstance(value, dict):
        raise f._bad("newHeads", "a map", value)
    out: dict[str, tuple[tuple[str, ...], float]] = {}
    for storage_id, entry in value.items():
        if not isinstance(storage_id, str) or not isinstance(entry, dict):
            raise ProtocolError("remote-heads-changed: newHeads must map storage ids to maps")
        sub = _Fields("remote-heads-changed.newHeads", entry)
        out[storage_id] = (sub.text_list("heads") or (), float(sub.number("timestamp")))
    return out


# ---------------------------------------------------------------- encoding


def _metadata_map(meta: PeerMetadata) -> dict[str, Any]:
    out: dict[str, Any] = {}
    if meta.storage_id is not None:
        out["storageId"] = meta.storage_id
    if meta.is_ephemeral is not None:
        out["isEphemeral"] = meta.is_ephemeral
    if meta.extension_version is not None:
        out[EXTENSION_KEY] = {"v": meta.extension_version, "ext": list(meta.extensions)}
    return out


def _number(value: float) -> float:
    return float(value) if value >= _FLOAT_FROM else value


def to_map(msg: Message) -> dict[str, Any]:
    """The CBOR map of ``msg``, with automerge-repo's camelCase keys."""
    if isinstance(msg, Join):
        out: dict[str, Any] = {"type": "join", "senderId": msg.sender_id}
        if msg.supported_versions is not None:
            out["supportedProtocolVersions"] = list(msg.supported_versions)
        if msg.metadata is not None:
            out["peerMetadata"] = _metadata_map(msg.metadata)
        return out
    if isinstance(msg, Peer):
        return {"type": "peer", "senderId": msg.sender_id, "targetId": msg.target_id,
                "selectedProtocolVersion": msg.selected_version,
                "peerMetadata": _metadata_map(msg.metadata or PeerMetadata())}
    if isinstance(msg, ErrorMessage):
        return {"type": "error", "senderId": msg.sender_id, "targetId": msg.target_id,
                "message": msg.message}
    if isinstance(msg, (Request, Sync)):
        return {"type": "request" if isinstance(msg, Request) else "sync",
                "senderId": msg.sender_id, "targetId": msg.target_id,
                "documentId": msg.document_id, "data": msg.data}
    if isinstance(msg, DocUnavailable):
        return {"type": "doc-unavailable", "senderId": msg.sender_id,
                "targetId": msg.target_id, "documentId": msg.document_id}
    if isinstance(msg, Ephemeral):
        return {"type": "ephemeral", "senderId": msg.sender_id, "targetId": msg.target_id,
                "documentId": msg.document_id, "count": _number(msg.count),
                "sessionId": msg.session_id, "data": msg.data}
    if isinstance(msg, Leave):
        return {"type": "leave", "senderId": msg.sender_id}
    if isinstance(msg, RemoteSubscriptionChange):
        out = {"type": "remote-subscription-change", "senderId": msg.sender_id,
               "targetId": msg.target_id}
        if msg.add is not None:
            out["add"] = list(msg.add)
        if msg.remove is not None:
            out["remove"] = list(msg.remove)
        return out
    if isinstance(msg, RemoteHeadsChanged):
        heads = {sid: {"heads": list(h), "timestamp": _number(ts)}
                 for sid, (h, ts) in msg.new_heads.items()}
        return {"type": "remote-heads-changed", "senderId": msg.sender_id,
                "targetId": msg.target_id, "documentId": msg.document_id, "newHeads": heads}
    if isinstance(msg, Summary):
        return {"type": SUMMARY_TYPE, "senderId": msg.sender_id, "targetId": msg.target_id,
                "data": msg.data}
    if isinstance(msg, WholeDoc):
        return {"type": WHOLE_DOC_TYPE, "senderId": msg.sender_id, "targetId": msg.target_id,
                "documentId": msg.document_id, "data": msg.data}
    if isinstance(msg, Ranges):
        return {"type": RANGES_TYPE, "senderId": msg.sender_id, "targetId": msg.target_id,
                "round": msg.round, "data": msg.data}
    raise TypeError(f"cannot encode {type(msg).__name__}")


def encode(msg: Message) -> bytes:
    """One frame for ``msg``."""
    return cbor2.dumps(to_map(msg))
