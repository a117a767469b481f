"""Link lifecycle: join/peer, version refusal, replacement, timeouts, introspection."""

from __future__ import annotations

import cbor2

from podsync.sync import PeerConnected, PeerDisconnected, PeerMetadata, SyncEngine
from podsync.sync.limits import HANDSHAKE_TIMEOUT
from podsync.sync.messages import ErrorMessage, Join, Peer, Summary, encode
from tests.sync.helpers import closes, frame, make_engine, of_type, open_acceptor, sent
from tests.sync.simnet import MemorySource, SourcedEngine


def test_dialer_sends_join_with_metadata() -> None:
    engine = SourcedEngine("me", MemorySource(), storage_id="st-1")
    (join,) = sent(engine.connect(1, "dialer", 0.0))
    assert join == Join("me", ("1",), PeerMetadata("st-1", False, 1, ("summary", "doc", "ranges")))


def test_dialer_without_storage_or_extension_looks_like_a_plain_js_repo() -> None:
    engine = SourcedEngine("me", MemorySource(), extension=False)
    (join,) = sent(engine.connect(1, "dialer", 0.0))
    assert join == Join("me", ("1",), PeerMetadata(None, True, None, ()))
    assert "podsync" not in cbor2.loads(encode(join))["peerMetadata"]


def test_acceptor_answers_peer_and_reports_the_peer() -> None:
    engine, _ = make_engine("srv", storage_id="st-2")
    effects = open_acceptor(engine, 5, "cli", now=3.0)
    (peer,) = sent(effects, 5)
    assert peer == Peer("srv", "cli", "1", PeerMetadata("st-2", False, 1, ("summary", "doc", "ranges")))
    (connected,) = of_type(effects, PeerConnected)
    assert connected.peer_id == "cli" and connected.conn == 5
    (info,) = engine.peers()
    assert (info.peer_id, info.role, info.connected_at, info.summary) == ("cli", "acceptor", 3.0, False)


def test_join_without_versions_means_v1() -> None:
    engine, _ = make_engine("srv")
    engine.connect(1, "acceptor", 0.0)
    effects = engine.receive(1, encode(Join("cli", None, None)), 0.0)
    assert [type(m) for m in sent(effects)] == [Peer]
    assert not closes(effects)


def test_join_without_v1_gets_error_then_close() -> None:
    engine, _ = make_engine("srv")
    engine.connect(1, "acceptor", 0.0)
    effects = engine.receive(1, encode(Join("cli", ("2",), None)), 0.0)
    (error,) = sent(effects)
    assert isinstance(error, ErrorMessage) and error.target_id == "cli"
    assert [c.conn for c in closes(effects)] == [1]
    assert engine.peers() == []
    assert not of_type(effects, PeerConnected)


def test_message_before_handshake_closes() -> None:
    engine, _ = make_engine("srv")
    engine.connect(1, "acceptor", 0.0)
    effects = engine.receive(1, frame(type="sync", senderId="x", targetId="srv",
                                      documentId="2hdTpLRSTDm66LVBnsMCeyWrmzEU", data=b"\x42\x00"), 0.0)
    assert [c.conn for c in closes(effects)] == [1]
    assert not sent(effects)


def test_dialer_closes_on_error_answer() -> None:
    engine, _ = make_engine("cli")
    engine.connect(1, "dialer", 0.0)
    effects = engine.receive(1, encode(ErrorMessage("srv", "cli", "unsupported protocol version")), 0.0)
    (close,) = closes(effects)
    assert "unsupported protocol version" in close.reason


def test_dialer_refuses_other_versions() -> None:
    engine, _ = make_engine("cli")
    engine.connect(1, "dialer", 0.0)
    effects = engine.receive(1, encode(Peer("srv", "cli", "2", None)), 0.0)
    assert closes(effects) and engine.peers() == []


def test_repeated_join_replaces_the_old_link() -> None:
    engine, _ = make_engine("srv")
    open_acceptor(engine, 1, "cli")
    effects = open_acceptor(engine, 2, "cli", now=1.0)
    assert [c.conn for c in closes(effects)] == [1]
    assert of_type(effects, PeerDisconnected) == [PeerDisconnected(1, "cli")]
    assert [p.conn for p in engine.peers()] == [2]
    # the old link is forgotten: late frames and its disconnect are no-ops
    assert engine.receive(1, encode(Join("cli", ("1",), None)), 1.0) == []
    assert engine.disconnect(1, 1.0) == []


def test_cross_dial_keeps_the_link_dialed_by_the_smaller_id() -> None:
    a, _ = make_engine("a")
    b, _ = make_engine("b")
    # a dials b (link 1) while b dials a (link 2)
    join_a = sent(a.connect(1, "dialer", 0.0))[0]
    join_b = sent(b.connect(2, "dialer", 0.0))[0]
    b.connect(1, "acceptor", 0.0)
    a.connect(2, "acceptor", 0.0)
    b_out = b.receive(1, encode(join_a), 0.0)
    a_out = a.receive(2, encode(join_b), 0.0)
    a_out += a.receive(1, encode(sent(b_out, 1)[0]), 0.0)  # b's peer answer on link 1
    b_out += b.receive(2, encode(sent(a_out, 2)[0]), 0.0)  # a's peer answer on link 2
    # both keep link 1 (dialed by "a"), both drop link 2
    assert {c.conn for c in closes(a_out)} == {2}
    assert {c.conn for c in closes(b_out)} == {2}
    assert [p.conn for p in a.peers()] == [1] and [p.conn for p in b.peers()] == [1]


def test_connecting_to_itself_closes() -> None:
    engine, _ = make_engine("me")
    engine.connect(1, "acceptor", 0.0)
    assert closes(engine.receive(1, encode(Join("me", ("1",), None)), 0.0))


def test_handshake_times_out() -> None:
    engine, _ = make_engine("srv")
    engine.connect(1, "acceptor", 0.0)
    assert engine.tick(HANDSHAKE_TIMEOUT - 1) == []
    (close,) = closes(engine.tick(HANDSHAKE_TIMEOUT))
    assert close.conn == 1 and "handshake" in close.reason


def test_ignored_message_types_keep_the_link() -> None:
    engine, _ = make_engine("srv")
    open_acceptor(engine, 1, "cli")
    for f in (frame(type="leave", senderId="cli"),
              frame(type="remote-subscription-change", senderId="cli", targetId="srv",
                    add=cbor2.undefined, remove=cbor2.undefined),
              frame(type="remote-heads-changed", senderId="cli", targetId="srv",
                    documentId="2hdTpLRSTDm66LVBnsMCeyWrmzEU",
                    newHeads={"st": {"heads": [], "timestamp": 1795464302787.0}}),
              frame(type="brand-new", senderId="cli"),
              encode(Join("cli", ("1",), None))):
        assert engine.receive(1, f, 0.0) == []
    assert [p.peer_id for p in engine.peers()] == ["cli"]


def test_summary_to_a_plain_peer_is_ignored() -> None:
    engine, _ = make_engine("srv", extension=False)
    open_acceptor(engine, 1, "cli", extension=True)
    assert engine.peers()[0].summary is False
    assert engine.receive(1, encode(Summary("cli", "srv", b"\x00" * 25)), 0.0) == []


def test_disconnect_reports_peer_once() -> None:
    engine, _ = make_engine("srv")
    open_acceptor(engine, 1, "cli")
    assert engine.disconnect(1, 1.0) == [PeerDisconnected(1, "cli")]
    assert engine.disconnect(1, 1.0) == []
    assert engine.peers() == []


def test_authenticated_identity_must_match_the_join() -> None:
    engine, _ = make_engine("srv")
    engine.connect(1, "acceptor", 0.0, expected_peer_id="device-a")
    effects = engine.receive(1, encode(Join("device-b", ("1",), None)), 0.0)
    assert closes(effects) and not sent(effects) and engine.peers() == []
    engine.connect(2, "acceptor", 0.0, expected_peer_id="device-a")
    assert [type(m) for m in sent(engine.receive(2, encode(Join("device-a", ("1",), None)), 0.0))] == [Peer]
