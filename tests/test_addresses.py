"""How addresses are spelled: one spelling per address, a clear error for anything else.

The address book itself (what it remembers, for how long, a corrupt file) is
exercised with real nodes in tests/lan/test_lan_pod.py.
"""

from __future__ import annotations

import pytest

from podsync.addresses import format_address, normalize_address, parse_address
from podsync.errors import UsageError


@pytest.mark.parametrize(("text", "parts"), [
    ("192.168.1.20:7850", ("192.168.1.20", 7850)),
    (" nas.local:0 ", ("nas.local", 0)),
    ("[fe80::1%eth0]:7850", ("fe80::1%eth0", 7850)),
    ("[::1]:65535", ("::1", 65535)),
])
def test_parse_splits_host_and_port(text: str, parts: tuple[str, int]) -> None:
    assert parse_address(text) == parts


@pytest.mark.parametrize("text", ["", "7850", "host", "host:", ":7850", "host:port", "host:65536",
                                  "host:-1", "[::1]"])
def test_anything_but_host_and_port_is_a_usage_error_naming_the_field(text: str) -> None:
    with pytest.raises(UsageError, match="--peer must look like HOST:PORT") as caught:
        parse_address(text, what="--peer")
    assert caught.value.exit_code == 2


def test_ipv6_is_bracketed_so_each_address_has_one_spelling() -> None:
    assert format_address("fe80::1", 7850) == "[fe80::1]:7850"
    assert format_address("10.0.0.2", 7850) == "10.0.0.2:7850"
    assert normalize_address(" [fe80::1]:7850") == "[fe80::1]:7850"
    assert normalize_address("10.0.0.2:7850 ") == "10.0.0.2:7850"
