"""``podsync relay add|list|remove`` on the store (no node running): the list is a
signed record in the pod, status shows it, and addresses podsync will not use are
refused in one clear line."""

from __future__ import annotations

import json

from cli_helpers import Podsync, assert_clean_failure

from podsync.relay.urls import MAX_RELAYS


def _init(podsync: Podsync) -> None:
    assert podsync("init", "--name", "Ada", "--pod-name", "Garden").returncode == 0


def test_relays_are_added_listed_shown_in_status_and_removed(podsync: Podsync) -> None:
    _init(podsync)
    assert json.loads(podsync("relay", "list", "--json").stdout) == []
    added = podsync("relay", "add", "WSS://Relay.Example.org/sync", "--json")
    assert added.returncode == 0, added.stderr
    entry = json.loads(added.stdout)
    assert entry["url"] == "wss://relay.example.org/sync" and entry["reachable"] is False
    assert podsync("relay", "add", "ws://127.0.0.1:3030").returncode == 0
    again = podsync("relay", "add", "wss://relay.example.org/sync")  # already listed: nothing new
    assert again.returncode == 0
    listed = json.loads(podsync("relay", "list", "--json").stdout)
    assert [r["url"] for r in listed] == ["wss://relay.example.org/sync", "ws://127.0.0.1:3030"]
    status = json.loads(podsync("status", "--json").stdout)
    assert [r["url"] for r in status["relays"]] == [r["url"] for r in listed]
    assert all(r["reachable"] is False for r in status["relays"])
    human = podsync("relay", "list")
    assert "wss://relay.example.org/sync" in human.stdout

    assert podsync("relay", "remove", "wss://relay.example.org/sync").returncode == 0
    assert [r["url"] for r in json.loads(podsync("relay", "list", "--json").stdout)] == [
        "ws://127.0.0.1:3030"]
    assert_clean_failure(podsync("relay", "remove", "wss://relay.example.org/sync"), 1,
                         "is not one of the pod's relays")


def test_addresses_podsync_will_not_use_are_refused_plainly(podsync: Podsync) -> None:
    _init(podsync)
    assert_clean_failure(podsync("relay", "add", "ws://relay.example.org"), 2,
                         "plain ws://", "use wss://")
    assert_clean_failure(podsync("relay", "add", "ws://192.168.1.20:3030"), 2, "plain ws://")
    assert_clean_failure(podsync("relay", "add", "https://relay.example.org"), 2, "wss://")
    assert_clean_failure(podsync("relay", "add", "wss://user:secret@relay.example.org"), 2,
                         "no user name or password")
    assert_clean_failure(podsync("relay", "add", "wss://"), 2, "names no host")
    assert json.loads(podsync("relay", "list", "--json").stdout) == []


def test_a_pod_lists_at_most_max_relays(podsync: Podsync) -> None:
    _init(podsync)
    for i in range(MAX_RELAYS):
        assert podsync("relay", "add", f"wss://relay{i}.example.org").returncode == 0
    assert_clean_failure(podsync("relay", "add", "wss://one-more.example.org"), 2,
                         f"already lists {MAX_RELAYS} relays")
