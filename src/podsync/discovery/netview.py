"""The machine's network as mDNS sees it: which addresses to listen on and to
advertise, and how to order the addresses a peer advertises."""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import ifaddr

Network = ipaddress.IPv4Network | ipaddress.IPv6Network


@dataclass(frozen=True)
class NetworkView:
    """A snapshot of the usable local addresses.

    ``bind`` is what zeroconf listens and sends on: every IPv4 address, and one
    IPv6 address per interface (its link-local one when it has one, since that
    survives prefix changes). ``advertised`` is every address published in our
    A/AAAA records. ``networks`` are the on-link networks, used to try a peer's
    addresses on our own links first. Loopback is left out: a peer that dialled
    a loopback address would reach its own machine.
    """

    bind: frozenset[str]
    advertised: tuple[str, ...]
    networks: tuple[Network, ...]


def _bindable_v6(address: str, scope_id: int) -> bool:
    """False while the kernel still runs duplicate address detection on a
    fresh address (tentative addresses refuse to bind): zeroconf would skip the
    interface and, as the address set no longer changes, never come back to it.
    Any other failure (IPv6 switched off, say) also means "do not use it"."""
    try:
        with socket.socket(socket.AF_INET6, socket.SOCK_DGRAM) as sock:
            sock.bind((address, 0, 0, scope_id))
    except OSError:
        return False
    return True


def scan(interface_names: Sequence[str] | None = None) -> NetworkView:
    """Read the interfaces (all of them, or only those named) with ``ifaddr``."""
    bind: set[str] = set()
    advertised: set[str] = set()
    networks: set[Network] = set()
    for adapter in ifaddr.get_adapters():
        if interface_names is not None and not {adapter.name, adapter.nice_name} & set(interface_names):
            continue
        v6_choices: list[ipaddress.IPv6Address] = []
        for ip in adapter.ips:
            if isinstance(ip.ip, tuple):
                addr6 = ipaddress.IPv6Address(ip.ip[0])
                if addr6.is_loopback or not _bindable_v6(ip.ip[0], ip.ip[2]):
                    continue
                v6_choices.append(addr6)
                advertised.add(str(addr6))
                networks.add(ipaddress.ip_network(f"{addr6}/{ip.network_prefix}", strict=False))
            else:
                addr4 = ipaddress.IPv4Address(ip.ip)
                if addr4.is_loopback:
                    continue
                bind.add(str(addr4))
                advertised.add(str(addr4))
                networks.add(ipaddress.ip_network(f"{addr4}/{ip.network_prefix}", strict=False))
        if v6_choices:
            # The link-local address sorts first: False < True.
            bind.add(str(min(v6_choices, key=lambda a: (not a.is_link_local, int(a)))))
    ordered = sorted(advertised, key=lambda a: (":" in a, a))
    return NetworkView(frozenset(bind), tuple(ordered), tuple(networks))


def rank_addresses(scoped_addresses: Iterable[str], port: int, networks: Sequence[Network]) -> list[str]:
    """Turn a peer's advertised addresses into ``host:port`` strings, most
    promising first: addresses on one of our own networks (and scoped IPv6
    link-local ones), then the rest; IPv4 before IPv6 within each group.

    A link-local IPv6 address without a scope (it arrived on an IPv4 socket)
    cannot be dialled and is dropped; IPv6 hosts are bracketed
    (``[fe80::1%2]:7000``, the scope being our interface index).
    """
    ranked: list[tuple[int, int, str]] = []
    for text in scoped_addresses:
        bare, _, scope = text.partition("%")
        try:
            addr = ipaddress.ip_address(bare)
        except ValueError:
            continue
        if addr.is_loopback or addr.is_unspecified or addr.is_multicast:
            continue
        if addr.version == 6 and addr.is_link_local:
            if not scope:
                continue
            on_link = True
        else:
            on_link = any(addr in net for net in networks)
        host = f"[{text}]" if addr.version == 6 else text
        ranked.append((0 if on_link else 1, addr.version, f"{host}:{port}"))
    ranked.sort(key=lambda item: item[:2])
    seen: dict[str, None] = {}
    for _, _, hostport in ranked:
        seen.setdefault(hostport)
    return list(seen)
