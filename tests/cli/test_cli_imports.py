"""A command imports what it uses, and no more.

Importing every module a command might need costs more than the command itself
(the node's network stack alone takes a third of a second to import). These
tests run the real entry point in a fresh interpreter and look at ``sys.modules``
when it exits: a listing on the store must not load the node or the network; a
listing through a running node must not load automerge, the store or the pod's
practices either. The timings themselves are in tests/bench/cli_bench.py.
"""

from __future__ import annotations

import asyncio
import json
import signal
import subprocess
import sys
from pathlib import Path

import pytest
from cli_helpers import COMMAND_TIMEOUT_S, Podsync, podsync_env

from podsync.api import ops
from podsync.api.context import offline_context
from podsync.cli.context import RICH_TABLE_ROWS
from podsync.cli.main import COMMANDS, CommandTable
from podsync.home import Home
from tests.node.test_up_cli import start_up

#: Runs the entry point with the given arguments; prints the loaded modules to
#: stderr as the interpreter exits (after the command's own output).
PROBE = """
import atexit, json, sys
atexit.register(lambda: sys.stderr.write("\\nMODULES " + json.dumps(sorted(sys.modules)) + "\\n"))
from podsync.cli.main import run
run(sys.argv[1:])
"""

#: What runs a node or reaches the network; no command but `up`, `join` and `demo` needs it.
NODE_STACK = ("aiohttp", "zeroconf", "podsync.node.node", "podsync.node.peering",
              "podsync.discovery", "podsync.net")
#: What works on the store; a command that asks a running node needs none of it.
OFFLINE_STACK = ("automerge", "cryptography", "podsync.store", "podsync.repo", "podsync.pod",
                 "podsync.api.context", "podsync.trust", "asyncio")


def loaded(*args: str) -> tuple[subprocess.CompletedProcess[str], set[str]]:
    result = subprocess.run([sys.executable, "-c", PROBE, *args], capture_output=True, text=True,
                            env=podsync_env(), timeout=COMMAND_TIMEOUT_S)
    marker = result.stderr.rfind("\nMODULES ")
    assert marker >= 0, result.stderr
    modules = set(json.loads(result.stderr[marker + len("\nMODULES "):]))
    result.stderr = result.stderr[:marker]
    return result, modules


def present(modules: set[str], prefixes: tuple[str, ...]) -> list[str]:
    return sorted(m for m in modules if any(m == p or m.startswith(p + ".") for p in prefixes))


def test_importing_the_entry_point_loads_no_command() -> None:
    result = subprocess.run(
        [sys.executable, "-c", "import sys, json, podsync.cli.main; print(json.dumps(sorted(sys.modules)))"],
        capture_output=True, text=True, env=podsync_env(), timeout=COMMAND_TIMEOUT_S)
    assert result.returncode == 0, result.stderr
    modules = set(json.loads(result.stdout))
    assert present(modules, NODE_STACK + OFFLINE_STACK + ("rich", "http.client")) == []
    assert present(modules, tuple(set(COMMANDS.values()))) == []


def test_a_listing_on_the_store_loads_neither_the_node_nor_rich_for_json(
        podsync: Podsync, home_dir: Path) -> None:
    assert podsync("init", "--name", "Ada").returncode == 0
    assert podsync("need", "add", "Fix the gate").returncode == 0
    result, modules = loaded("--home", str(home_dir), "need", "list", "--json")
    assert result.returncode == 0, result.stderr
    assert [n["title"] for n in json.loads(result.stdout)] == ["Fix the gate"]
    assert present(modules, NODE_STACK + ("rich", "http.client")) == []
    assert "podsync.store" in modules  # it did read the store: the probe sees real imports
    # Every signature's answer is in the store and the key pair was checked when it
    # was made: no certificate is parsed and no key loaded (podsync.records.verify,
    # podsync.trust.identity).
    assert present(modules, ("cryptography",)) == []


def test_status_on_the_store_loads_no_service_file_writers(podsync: Podsync, home_dir: Path) -> None:
    """`status` reads whether a service is installed; writing a launchd plist, a
    Windows task (xml.sax.saxutils brings urllib.request) or a rotating log is
    for `service install` and `up`."""
    assert podsync("init", "--name", "Ada").returncode == 0
    result, modules = loaded("--home", str(home_dir), "status", "--json")
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["pod_name"] is not None
    assert "podsync.service.definitions" in modules  # it did look at the service
    assert present(modules, ("plistlib", "xml.sax", "urllib.request", "logging.handlers")) == []


def test_a_long_table_on_the_store_is_printed_without_rich(podsync: Podsync, home_dir: Path) -> None:
    """A board past the rows rich draws is printed as plain lines: rich's console
    alone costs a third of a listing's time to import."""
    assert podsync("init", "--name", "Ada").returncode == 0
    add_needs(home_dir, RICH_TABLE_ROWS + 1)
    result, modules = loaded("--home", str(home_dir), "need", "list")
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0] == "Needs" and len(lines) == RICH_TABLE_ROWS + 1 + 3
    assert sorted(line.split("  ")[1].strip() for line in lines[3:])[0] == "Need [number] 0"
    assert present(modules, NODE_STACK + ("rich",)) == []


def add_needs(home_dir: Path, count: int) -> None:
    """``count`` needs written through the offline API (a process per need would take seconds)."""
    async def add() -> None:
        async with offline_context(Home(home_dir)) as ctx:
            for i in range(count):
                await ops.run(ctx, "need.add", json.dumps({"title": f"Need [number] {i}"}).encode())
    asyncio.run(add())


@pytest.mark.slow
def test_commands_through_a_running_node_load_nothing_of_the_offline_stack(
        podsync: Podsync, home_dir: Path) -> None:
    assert podsync("init", "--name", "Ada").returncode == 0
    assert podsync("need", "add", "Fix the gate").returncode == 0
    proc, _ = start_up(home_dir)
    try:
        for args in (["need", "list", "--json"], ["status", "--json"], ["members", "--json"],
                     ["need", "list"]):
            result, modules = loaded("--home", str(home_dir), *args)
            assert result.returncode == 0, (args, result.stderr)
            assert present(modules, NODE_STACK + OFFLINE_STACK) == [], args
            assert "http.client" in modules, args  # it asked the node
        status, _ = loaded("--home", str(home_dir), "status", "--json")
        assert json.loads(status.stdout)["running"] is True
    finally:
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=COMMAND_TIMEOUT_S) == 0


@pytest.mark.parametrize("module", sorted(set(COMMANDS.values())))
def test_each_command_module_registers_the_commands_the_table_names(module: str) -> None:
    table = CommandTable(name="podsync")
    table.load(module)
    assert sorted(table.commands) == sorted(n for n, m in COMMANDS.items() if m == module)


def test_a_mistyped_command_is_answered_with_every_command_to_choose_from(podsync: Podsync) -> None:
    result = podsync("nedd", "list")
    assert result.returncode == 2
    assert "No such command 'nedd'" in result.stderr and "Did you mean 'need'?" in result.stderr
    listed = podsync("--help")
    assert listed.returncode == 0
    for name in COMMANDS:
        assert f" {name} " in listed.stdout, name
