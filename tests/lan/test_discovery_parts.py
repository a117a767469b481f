"""The pure parts of discovery: pod tags and the ordering of a peer's addresses."""

from __future__ import annotations

import ipaddress

import pytest

from podsync.discovery import Discovery, pod_tag, tag_matches
from podsync.discovery.netview import rank_addresses, scan
from podsync.discovery.tag import TAG_BYTES, TAG_EPOCH_SECONDS, tag_epoch

SECRET = b"s" * 32
NOW = 1_800_000_000.0


def test_tag_is_short_hex_and_depends_on_secret_device_and_day() -> None:
    day = tag_epoch(NOW)
    tag = pod_tag(SECRET, "dev-a", day)
    assert len(tag) == 2 * TAG_BYTES and int(tag, 16) >= 0
    assert pod_tag(SECRET, "dev-a", day) == tag
    # Two members of one pod carry unrelated tags: a stranger cannot pair them.
    assert pod_tag(SECRET, "dev-b", day) != tag
    assert pod_tag(b"t" * 32, "dev-a", day) != tag
    assert pod_tag(SECRET, "dev-a", day + 1) != tag


def test_tag_matches_within_a_day_of_skew_only() -> None:
    tag = pod_tag(SECRET, "dev-a", tag_epoch(NOW))
    assert tag_matches(SECRET, "dev-a", tag, now=NOW)
    assert tag_matches(SECRET, "dev-a", tag, now=NOW + TAG_EPOCH_SECONDS)
    assert tag_matches(SECRET, "dev-a", tag, now=NOW - TAG_EPOCH_SECONDS)
    assert not tag_matches(SECRET, "dev-a", tag, now=NOW + 2 * TAG_EPOCH_SECONDS)
    assert not tag_matches(SECRET, "dev-b", tag, now=NOW)
    assert not tag_matches(b"t" * 32, "dev-a", tag, now=NOW)


@pytest.mark.parametrize("garbage", ["", "zz", "é" * 16, "0" * 1000])
def test_garbage_tag_from_the_network_is_refused_not_raised(garbage: str) -> None:
    assert not tag_matches(SECRET, "dev-a", garbage, now=NOW)


def test_empty_pod_secret_is_refused() -> None:
    with pytest.raises(ValueError):
        pod_tag(b"", "dev-a")
    with pytest.raises(ValueError):
        Discovery("dev-a", b"", 7000, lambda peer: None)


def test_peer_addresses_on_our_links_come_first() -> None:
    ours = (ipaddress.ip_network("192.168.1.0/24"), ipaddress.ip_network("fd00:1::/64"))
    advertised = ["172.17.0.1", "fd00:9::5", "fe80::1%3", "192.168.1.20", "fd00:1::20", "127.0.0.1"]
    assert rank_addresses(advertised, 7000, ours) == [
        "192.168.1.20:7000",
        "[fe80::1%3]:7000",
        "[fd00:1::20]:7000",
        "172.17.0.1:7000",
        "[fd00:9::5]:7000",
    ]


def test_unscoped_link_local_and_junk_are_dropped() -> None:
    assert rank_addresses(["fe80::1", "not-an-ip", "::", "224.0.0.251", "10.0.0.1", "10.0.0.1"], 1, ()) == [
        "10.0.0.1:1"
    ]


def test_scan_leaves_out_loopback_and_unknown_interfaces() -> None:
    view = scan()
    assert not any(ipaddress.ip_address(a).is_loopback for a in view.advertised)
    assert set(view.bind) <= set(view.advertised)
    assert scan(["no-such-interface0"]).bind == frozenset()
