"""Sealed entries, wrapped keys and epoch records, byte for byte: what opens, for
whom, and everything a relay could do to the bytes (fast, no network)."""

from __future__ import annotations

import datetime as dt

import msgspec
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey

from podsync.errors import HomeError
from podsync.home import Home
from podsync.relay import directory, keys
from podsync.trust import roster as roster_mod
from podsync.relay.seal import (
    MAX_CHANGES_PER_BUNDLE, Bundle, Entry, Opened, Pointer, Seal, now_iso, open_entry,
    place, seal_entry, signature_ok,
)

DOC = "4YFtZpM6iA3xyQi8aHeuXzfrsqSp"
OUTBOX = "2K5wh5sJvBEcYJbZbtX4Rx9c3xcP"


def bundle(where: str, data: list[bytes] | None = None) -> Bundle:
    return Bundle(by="DEV-A", place=where, doc=DOC, snapshot=False, tips=[b"\x01" * 32],
                  data=data or [b"change"], at=now_iso(), seal="pod")


@pytest.fixture
def epoch() -> tuple[str, bytes]:
    key = keys.new_key()
    return keys.key_id(key), key


def test_an_epoch_sealed_entry_opens_with_the_key_and_its_signature_is_the_authors(epoch) -> None:
    author, stranger = Ed25519PrivateKey.generate(), Ed25519PrivateKey.generate()
    where = place(OUTBOX, "00000000")
    raw = seal_entry(bundle(where), author, Seal(epoch=epoch))
    opened = open_entry(raw, where, dict([epoch]), X25519PrivateKey.generate())
    assert isinstance(opened, Opened) and isinstance(opened.payload, Bundle)
    assert opened.payload.doc == DOC and opened.payload.data == [b"change"]
    assert signature_ok(opened, author.public_key())
    assert not signature_ok(opened, stranger.public_key())
    # Nothing of what is inside shows in the bytes.
    assert DOC.encode() not in raw and b"DEV-A" not in raw and b"change" not in raw


def test_what_a_relay_can_do_to_an_entry_is_refused(epoch) -> None:
    author = Ed25519PrivateKey.generate()
    where = place(OUTBOX, "00000000")
    raw = seal_entry(bundle(where), author, Seal(epoch=epoch))
    ring, me = dict([epoch]), X25519PrivateKey.generate()
    middle = len(raw) // 2
    cases = {
        "flipped": raw[:middle] + bytes([raw[middle] ^ 1]) + raw[middle + 1:],
        "moved": raw,  # opened at another key
        "truncated": raw[:middle],
        "junk": b"\x93\x01\x02",
        "not bytes": "a string",
    }
    assert open_entry(cases["flipped"], where, ring, me).reason in ("tampered", "malformed")
    assert open_entry(cases["moved"], place(OUTBOX, "00000001"), ring, me).reason == "tampered"
    assert open_entry(cases["moved"], place("otherdoc", "00000000"), ring, me).reason == "tampered"
    assert open_entry(cases["truncated"], where, ring, me).reason == "malformed"
    assert open_entry(cases["junk"], where, ring, me).reason == "malformed"
    assert open_entry(cases["not bytes"], where, ring, me).reason == "malformed"
    assert open_entry(raw, where, {}, me).reason == "unknown-key"


def test_a_member_cannot_reseal_a_payload_for_another_place(epoch) -> None:
    """The signed payload names its place: sealed again elsewhere, it is refused."""
    author = Ed25519PrivateKey.generate()
    written_for = place(OUTBOX, "00000000")
    elsewhere = place(OUTBOX, "00000007")
    raw = seal_entry(bundle(written_for), author, Seal(epoch=epoch))
    opened = open_entry(raw, written_for, dict([epoch]), X25519PrivateKey.generate())
    assert isinstance(opened, Opened)
    # Re-encrypt the same signed inside with the right AD for the new place.
    inside = keys.open_sealed(epoch[1], *_nonce_ct(raw), b"podsync-relay\x00" + written_for.encode())
    assert inside is not None
    nonce, ct = keys.seal(epoch[1], inside, b"podsync-relay\x00" + elsewhere.encode())
    moved = msgspec.msgpack.encode(Entry(1, 0, epoch[0], nonce, ct, b"", []))
    assert open_entry(moved, elsewhere, dict([epoch]), X25519PrivateKey.generate()).reason == "misplaced"


def _nonce_ct(raw: bytes) -> tuple[bytes, bytes]:
    entry = msgspec.msgpack.decode(raw, type=Entry)
    return entry.nonce, entry.ct


def test_an_entry_for_readers_opens_for_each_reader_and_no_one_else() -> None:
    author = Ed25519PrivateKey.generate()
    readers = [X25519PrivateKey.generate() for _ in range(3)]
    outsider = X25519PrivateKey.generate()
    where = place(OUTBOX, "00000002")
    raw = seal_entry(bundle(where), author,
                     Seal(readers=tuple(keys.public_bytes(k) for k in readers)))
    for reader in readers:
        assert isinstance(open_entry(raw, where, {}, reader), Opened)
    assert open_entry(raw, where, {}, outsider).reason == "not-for-us"
    entry = msgspec.msgpack.decode(raw, type=Entry)
    assert len(entry.wraps) % keys.WRAP_PAD == 0 and len(entry.wraps) >= 3
    assert open_entry(raw, place(OUTBOX, "00000003"), {}, readers[0]).reason == "not-for-us"


def test_wrapping_pads_shuffles_and_survives_hostile_keys() -> None:
    me = X25519PrivateKey.generate()
    key = keys.new_key()
    eph, wraps = keys.wrap(key, [keys.public_bytes(me)], b"ad")
    assert len(wraps) == keys.WRAP_PAD
    assert keys.unwrap(me, eph, wraps, b"ad") == key
    assert keys.unwrap(me, eph, wraps, b"other ad") is None
    assert keys.unwrap(me, bytes(32), wraps, b"ad") is None  # a low-order point
    assert keys.unwrap(me, eph, [b"short", 5], b"ad") is None  # type: ignore[list-item]
    assert keys.unwrap(me, eph, [wraps[0]] * (keys.MAX_WRAPS + 1), b"ad") is None


def test_bundles_of_the_wrong_shape_are_refused(epoch) -> None:
    author = Ed25519PrivateKey.generate()
    where = place(OUTBOX, "00000004")
    ring, me = dict([epoch]), X25519PrivateKey.generate()
    too_many = bundle(where, [b"x"] * (MAX_CHANGES_PER_BUNDLE + 1))
    assert open_entry(seal_entry(too_many, author, Seal(epoch=epoch)), where, ring, me).reason == "malformed"
    two_snapshots = Bundle(by="D", place=where, doc=DOC, snapshot=True, tips=[], data=[b"a", b"b"],
                           at=now_iso(), seal="pod")
    assert open_entry(seal_entry(two_snapshots, author, Seal(epoch=epoch)), where, ring,
                      me).reason == "malformed"
    pointer = Pointer(by="D", place=where, gen=1, outbox=OUTBOX, at=now_iso())
    assert isinstance(open_entry(seal_entry(pointer, author, Seal(epoch=epoch)), where, ring, me).payload,
                      Pointer)


def test_an_epoch_record_opens_for_its_recipients_with_the_keys_before_it() -> None:
    devices = {name: X25519PrivateKey.generate() for name in ("a", "b", "removed")}
    old = keys.new_key()
    draft = directory.epoch_draft(keys.new_key(), {d: keys.public_bytes(k) for d, k in devices.items()
                                                   if d != "removed"}, {keys.key_id(old): old})
    record = directory.parse_epoch("rid", "a", draft.body)
    assert record is not None and record.to == frozenset({"a", "b"})
    for name in ("a", "b"):
        found = directory.open_epoch(record, devices[name])
        assert set(found) == {record.key_id, keys.key_id(old)} and found[keys.key_id(old)] == old
    assert directory.open_epoch(record, devices["removed"]) == {}
    # The same keys handed on in an index document, sealed under the pod secret's key.
    bootstrap = keys.bootstrap_key(b"s" * 32, "pod")
    gift = directory.seal_gift(record, bootstrap, "index/kid")
    opened = directory.open_gift(gift, bootstrap, "index/kid", "a")
    assert opened is not None and directory.open_epoch(opened, devices["b"]) == directory.open_epoch(
        record, devices["b"])
    assert directory.open_gift(gift, bootstrap, "index/other", "a") is None
    assert directory.open_gift(gift, keys.bootstrap_key(b"t" * 32, "pod"), "index/kid", "a") is None
    assert directory.open_gift(b"junk", bootstrap, "index/kid", "a") is None


def test_index_ids_hide_the_device_and_differ_per_pod_secret() -> None:
    a = keys.index_doc_id(b"s" * 32, "pod", "DEVICE-1")
    assert a == keys.index_doc_id(b"s" * 32, "pod", "DEVICE-1")
    assert a != keys.index_doc_id(b"s" * 32, "pod", "DEVICE-2")
    assert a != keys.index_doc_id(b"t" * 32, "pod", "DEVICE-1")
    assert "DEVICE" not in a


def test_the_device_key_is_kept_owner_only_and_a_corrupt_one_is_a_clear_error(tmp_path) -> None:
    home = Home(tmp_path)
    home.ensure_dirs()
    assert keys.load_device_key(home) is None
    made = X25519PrivateKey.generate()
    keys.save_device_key(home, made)
    path = home.identity_dir / "relay.key"
    assert path.stat().st_mode & 0o777 == 0o600
    loaded = keys.load_device_key(home)
    assert loaded is not None and keys.public_bytes(loaded) == keys.public_bytes(made)
    path.write_text("not hex")
    with pytest.raises(HomeError, match="corrupt"):
        keys.load_device_key(home)


def _roster(active: list[str], removed: list[str]) -> roster_mod.Roster:
    at = dt.datetime(2026, 1, 1, tzinfo=dt.timezone.utc)
    devices = [roster_mod.Device(device_id=d, member_id="m-" + d, cert=b"", added_by="x", added_at=at,
                                 invite_id=None, status="active" if d in active else "removed")
               for d in active + removed]
    return roster_mod.Roster(pod_id="p", pod_name="P", members=[], devices=devices, invites=[],
                             removals=[])


def test_a_new_epoch_is_due_when_there_is_none_a_recipient_left_or_a_device_joined() -> None:
    relay = [directory.RelayEntry("wss://r.example.org", "m", "t")]
    epoch = directory.EpochRecord("r", "k", b"", [], frozenset({"a", "b"}), b"", b"", "a")
    keyed = {"a": b"k" * 32, "b": b"k" * 32}
    view = directory.PodRelays(relays=relay, device_keys=keyed, epochs=[epoch])
    assert directory.needs_new_epoch(view, _roster(["a", "b"], [])) == ""
    assert "removed" in directory.needs_new_epoch(view, _roster(["a"], ["b"]))
    joined = directory.PodRelays(relays=relay, device_keys={**keyed, "c": b"k" * 32}, epochs=[epoch])
    assert "joined" in directory.needs_new_epoch(joined, _roster(["a", "b", "c"], []))
    assert "no epoch" in directory.needs_new_epoch(
        directory.PodRelays(relays=relay, device_keys=keyed), _roster(["a", "b"], []))
    # No relay, no keys needed.
    assert directory.needs_new_epoch(directory.PodRelays(device_keys=keyed), _roster(["a"], [])) == ""
    later = directory.EpochRecord("r2", "k2", b"", [], frozenset({"a"}), b"", b"", "a")
    assert directory.removed_since(epoch, later) and not directory.removed_since(later, epoch)
