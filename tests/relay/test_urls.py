"""Relay addresses: wss:// anywhere, plain ws:// only where nobody can listen in."""

from __future__ import annotations

import pytest

from podsync.relay.urls import MAX_URL_CHARS, RelayUrlError, check_relay_url, plain_allowed


@pytest.mark.parametrize(("given", "kept"), [
    ("wss://relay.example.org", "wss://relay.example.org"),
    ("  WSS://Relay.Example.ORG:8443/sync?pod=x  ", "wss://relay.example.org:8443/sync?pod=x"),
    ("ws://127.0.0.1:3030", "ws://127.0.0.1:3030"),
    ("ws://localhost:3030/", "ws://localhost:3030/"),
    ("ws://[::1]:3030", "ws://[::1]:3030"),
    ("ws://198.18.0.1:3030", "ws://198.18.0.1:3030"),
    ("ws://203.0.113.9", "ws://203.0.113.9"),
    ("wss://[2001:db8::5]:443", "wss://[2001:db8::5]:443"),
])
def test_good_addresses_are_kept_in_one_form(given: str, kept: str) -> None:
    assert check_relay_url(given) == kept


@pytest.mark.parametrize(("given", "says"), [
    ("ws://relay.example.org", "plain ws://"),
    ("ws://10.0.0.5:3030", "plain ws://"),
    ("ws://192.168.1.20", "plain ws://"),
    ("ws://[fe80::1]:3030", "plain ws://"),
    ("http://relay.example.org", "wss://"),
    ("relay.example.org", "wss://"),
    ("wss://", "names no host"),
    ("wss://a:b@relay.example.org", "no user name or password"),
    ("wss://relay.example.org/#x", "no #fragment"),
    ("wss://relay.example.org:99999", "not a valid address"),
    ("wss://relay example.org", "no spaces"),
    ("wss://relay.example.org/\x00", "control characters"),
    ("", "a relay is"),
    ("wss://" + "a" * MAX_URL_CHARS, "at most"),
])
def test_bad_addresses_are_refused_saying_why(given: str, says: str) -> None:
    with pytest.raises(RelayUrlError, match=None) as caught:
        check_relay_url(given)
    assert says in str(caught.value)
    assert caught.value.exit_code == 2


def test_plain_is_allowed_only_on_loopback_and_test_networks() -> None:
    assert plain_allowed("127.0.0.53") and plain_allowed("::1") and plain_allowed("198.19.255.1")
    assert not plain_allowed("198.20.0.1") and not plain_allowed("8.8.8.8")
    assert not plain_allowed("relay.localhost.example.org")
