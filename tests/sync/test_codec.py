"""The message codec against protocol/vectors and the quirks of real peers."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import cbor2
import pytest

from podsync.errors import ProtocolError
from podsync.sync.heads import heads_digest, pack_summary, parse_sync_heads, summary_key, unpack_summary
from podsync.sync.messages import (
    DocUnavailable, Ephemeral, ErrorMessage, Join, Leave, Peer, PeerMetadata, RemoteHeadsChanged,
    RemoteSubscriptionChange, Request, Summary, Sync, Unknown, decode, encode,
)

VECTORS = Path(__file__).resolve().parents[2] / "protocol" / "vectors"
DOC = "2hdTpLRSTDm66LVBnsMCeyWrmzEU"


def load(name: str) -> dict[str, Any]:
    return json.loads((VECTORS / name).read_text())


def from_json(value: Any) -> Any:
    """The vectors' JSON form of a CBOR value back to what cbor2 decodes."""
    if isinstance(value, dict):
        if set(value) == {"$bytes"}:
            return bytes.fromhex(value["$bytes"])
        if set(value) == {"$undefined"}:
            return cbor2.undefined
        return {k: from_json(v) for k, v in value.items()}
    if isinstance(value, list):
        return [from_json(v) for v in value]
    return value


CBOR_X = load("cbor-x.json")["vectors"]
PODSYNC = load("podsync.json")["vectors"]


@pytest.mark.parametrize("vector", CBOR_X, ids=[v["name"] for v in CBOR_X])
def test_cbor_x_frames_decode_and_reencode(vector: dict[str, Any]) -> None:
    raw = bytes.fromhex(vector["hex"])
    assert cbor2.loads(raw) == from_json(vector["message"])
    msg = decode(raw)
    ours = encode(msg)
    assert ours.hex() == vector["podsync_hex"]
    assert decode(ours) == msg


@pytest.mark.parametrize("vector", PODSYNC, ids=[v["name"] for v in PODSYNC])
def test_podsync_frames_are_stable(vector: dict[str, Any]) -> None:
    raw = bytes.fromhex(vector["hex"])
    assert cbor2.loads(raw) == from_json(vector["message"])
    assert encode(decode(raw)) == raw


def test_cbor_x_style_is_what_we_claim() -> None:
    """The captured frames really show the quirks the decoder must tolerate."""
    by_name = {v["name"]: bytes.fromhex(v["hex"]) for v in CBOR_X}
    assert by_name["peer"].startswith(bytes.fromhex("b90005"))
    assert b"\xf7" in by_name["join-no-storage"]
    assert bytes.fromhex("fb427a20a0310c3000") in by_name["remote-heads-changed"]


def test_decoded_records_carry_the_meaning() -> None:
    by_name = {v["name"]: decode(bytes.fromhex(v["hex"])) for v in CBOR_X}
    join = by_name["join-storage"]
    assert join == Join("peer-5h2kq9x", ("1",),
                        PeerMetadata("10111213-1415-4617-9819-1a1b1c1d1e1f", False, None, ()))
    assert by_name["join-no-storage"].metadata == PeerMetadata(None, True, None, ())
    assert by_name["join-v2-only"].supported_versions == ("2",)
    peer = by_name["peer"]
    assert isinstance(peer, Peer) and peer.selected_version == "1" and peer.target_id == "peer-5h2kq9x"
    assert isinstance(by_name["error"], ErrorMessage)
    request = by_name["request"]
    assert isinstance(request, Request) and request.document_id == DOC and request.data[0] == 0x42
    assert isinstance(by_name["sync"], Sync)
    server = "storage-server-sync-automerge-org"
    assert by_name["doc-unavailable"] == DocUnavailable(server, "peer-5h2kq9x", DOC)
    eph = by_name["ephemeral"]
    assert isinstance(eph, Ephemeral) and eph.count == 1 and eph.session_id == "k3j9x0a7b2q"
    assert cbor2.loads(eph.data) == {"cursor": 3}
    sub = by_name["remote-subscription-change"]
    assert isinstance(sub, RemoteSubscriptionChange) and sub.remove is None and len(sub.add or ()) == 1
    heads = by_name["remote-heads-changed"]
    assert isinstance(heads, RemoteHeadsChanged)
    (entry,) = heads.new_heads.values()
    assert entry[1] == 1795464302787.0
    assert by_name["leave"] == Leave("peer-5h2kq9x")


def test_podsync_join_offers_the_extension() -> None:
    (join,) = [decode(bytes.fromhex(v["hex"])) for v in PODSYNC if v["name"] == "join"]
    assert isinstance(join, Join)
    assert join.metadata == PeerMetadata("10111213-1415-4617-9819-1a1b1c1d1e1f", False, 1, ("summary",))


@pytest.mark.parametrize("msg", [
    Join("a", ("1",), PeerMetadata("s", False, 1, ("summary",))),
    Join("a", None, None),
    Peer("b", "a", "1", PeerMetadata(None, True)),
    ErrorMessage("b", "a", "no"),
    Request("a", "b", DOC, b"\x42\x00"),
    Sync("a", "b", DOC, b"\x43\x00"),
    DocUnavailable("a", "b", DOC),
    Ephemeral("a", "b", DOC, 7, "sess", b"\x01"),
    Leave("a"),
    RemoteSubscriptionChange("a", "b", ("x",), None),
    RemoteHeadsChanged("a", "b", DOC, {"st": (("h",), 5.0)}),
    Summary("a", "b", b""),
])
def test_every_type_round_trips(msg: Any) -> None:
    assert decode(encode(msg)) == msg


def test_large_numbers_go_as_float64() -> None:
    raw = encode(Ephemeral("a", "b", DOC, 2**40, "s", b"\x01"))
    assert isinstance(cbor2.loads(raw)["count"], float)
    assert decode(raw).count == 2**40  # type: ignore[union-attr]
    assert isinstance(cbor2.loads(encode(Ephemeral("a", "b", DOC, 5, "s", b"\x01")))["count"], int)


def test_byte_strings_are_untagged() -> None:
    raw = encode(Sync("a", "b", DOC, b"\x42\x00"))
    assert b"\xd8\x40" not in raw  # tag 64
    assert cbor2.loads(raw)["data"] == b"\x42\x00"


def test_tolerates_what_other_implementations_send() -> None:
    frame = cbor2.dumps({
        "documentId": bytes(range(16)),  # raw id bytes instead of bs58check
        "data": cbor2.CBORTag(64, b"\x42\x00"),  # Uint8Array tag
        "targetId": cbor2.undefined,
        "somethingNew": [1, 2, 3],
        "senderId": "x",
        "type": "sync",
    })
    msg = decode(frame)
    assert isinstance(msg, Sync)
    assert msg.data == b"\x42\x00" and msg.target_id == ""
    assert msg.document_id == "1Bhh3pU9gLXZiNDL6PEa1Gs9fh"


def test_unknown_types_decode_to_unknown() -> None:
    assert decode(cbor2.dumps({"type": "shiny-new", "senderId": "x"})) == Unknown("shiny-new", "x")


def test_malformed_extension_block_means_not_offered() -> None:
    frame = cbor2.dumps({"type": "join", "senderId": "x",
                         "peerMetadata": {"podsync": {"v": "one", "ext": ["summary"]}}})
    msg = decode(frame)
    assert isinstance(msg, Join) and msg.metadata == PeerMetadata(None, None, None, ())


INVALID = [v for v in load("invalid.json")["vectors"] if v["layer"] == "codec"]


@pytest.mark.parametrize("vector", INVALID, ids=[v["name"] for v in INVALID])
def test_invalid_frames_raise_protocol_error(vector: dict[str, Any]) -> None:
    with pytest.raises(ProtocolError):
        decode(bytes.fromhex(vector["hex"]))


def test_heads_vectors() -> None:
    heads = load("heads.json")
    for case in heads["sync_heads"]:
        assert [h.hex() for h in parse_sync_heads(bytes.fromhex(case["data"]))] == case["heads"]
    for case in heads["summaries"]:
        entries = [(e["documentId"], bytes.fromhex(e["digest"])) for e in case["entries"]]
        for e in case["entries"]:
            assert heads_digest([bytes.fromhex(h) for h in e["heads"]]).hex() == e["digest"]
        assert pack_summary(entries).hex() == case["data"]
        assert unpack_summary(bytes.fromhex(case["data"])) == {
            summary_key(doc_id): {digest} for doc_id, digest in entries}


def test_digest_ignores_head_order() -> None:
    a, b = b"\x01" * 32, b"\x02" * 32
    assert heads_digest([a, b]) == heads_digest([b, a]) != heads_digest([a])


@pytest.mark.parametrize("data", [
    b"", b"\x41\x00", b"\x42", b"\x42\x01" + b"\x00" * 31, b"\x42\xff\xff\xff\xff\xff\x01",
])
def test_parse_sync_heads_rejects_malformed(data: bytes) -> None:
    with pytest.raises(ProtocolError):
        parse_sync_heads(data)
