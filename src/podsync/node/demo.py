"""A self-contained demonstration: a pod of three nodes syncing on loopback.

Ada, Bo and Cy each run a node in this process (Bo dials Ada, Cy dials Bo, so
Ada's edits reach Cy through Bo). They share a needs board, edit it at the same
moment, and one of them works offline for a while and merges on return.
"""

from __future__ import annotations

import asyncio
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from rich.console import Console
from rich.table import Table

from podsync.api import ops
from podsync.cli.init import initialise
from podsync.home import Home
from podsync.ids import document_url
from podsync.node.node import Node, NodeOptions
from podsync.pod import needs
from podsync.pod.events import items_from
from podsync.trust.join import join_pod

CONVERGE_TIMEOUT_SECONDS = 10.0
NAMES = ("Ada", "Bo", "Cy")


async def until(predicate: Callable[[], bool], timeout: float = CONVERGE_TIMEOUT_SECONDS) -> float:
    """Seconds until ``predicate()`` held; TimeoutError if it did not."""
    start = time.perf_counter()
    while not predicate():
        if time.perf_counter() - start > timeout:
            raise TimeoutError
        await asyncio.sleep(0.002)
    return time.perf_counter() - start


def _items(node: Node, doc_id: str) -> list[str]:
    """The titles of the needs on ``node``'s board, as its signed records make them."""
    if not node.repo.has(doc_id):
        return []
    board = items_from(node.ledger.counted(doc_id), needs.ADD)
    return sorted(n.title for n in needs.needs(board, node.context.now()))


def _heads(node: Node, doc_id: str) -> list[bytes]:
    return sorted(node.repo.get(doc_id).get_heads()) if node.repo.has(doc_id) else []


async def _add_item(node: Node, doc_id: str, key: str, text: str) -> None:
    await ops.run(node.context, "need.add", {"title": text})


async def _report_arrival(console: Console, name: str, node: Node, doc_id: str,
                          texts: dict[str, str], start: float) -> None:
    """Print, as it happens, when ``node`` holds every text in ``texts``."""
    await until(lambda: _items(node, doc_id) == sorted(texts.values()))
    console.print(f"   {name}'s node holds all {len(texts)} needs "
                  f"{(time.perf_counter() - start) * 1000:.0f} ms after the edits began.")


async def run_demo(console: Console | None = None) -> bool:
    """Run the demonstration; True when every node ended with the same board."""
    console = console or Console(highlight=False)
    with tempfile.TemporaryDirectory(prefix="podsync-demo-") as tmp:
        homes = [Home(Path(tmp) / name.lower()) for name in NAMES]
        initialise(homes[0], NAMES[0], "Demo pod")

        def options(peers: list[str]) -> NodeOptions:
            return NodeOptions(listen="127.0.0.1:0", api="127.0.0.1:0", peers=peers, discovery=False)

        ada = Node(homes[0], options([]))
        await ada.start()
        for home, name in zip(homes[1:], NAMES[1:]):
            invite = await ops.run(ada.context, "invite.create", {})
            await join_pod(home, invite.code, name)
        bo = Node(homes[1], options([ada.listen_addresses[0]]))
        await bo.start()
        cy = Node(homes[2], options([bo.listen_addresses[0]]))
        await cy.start()
        nodes = [ada, bo, cy]
        try:
            console.print("[bold]podsync demo[/bold]: three members' nodes on this computer "
                          "(Bo dials Ada, Cy dials Bo).")
            console.print("Ada founded the pod and invited Bo and Cy; they joined with the codes.")
            board = ada.ledger.collections()[needs.KIND]
            took = await until(lambda: all(n.repo.has(board) for n in nodes))
            console.print(f"1. Ada's pod has a needs board {document_url(board)}; "
                          f"Bo and Cy held it {took * 1000:.0f} ms after their nodes started.")

            texts = {"ada": "Water the garden", "bo": "Fix the bike shed", "cy": "Plan Sunday's meal"}
            console.print("2. All three add a need at the same moment:")
            start = time.perf_counter()
            watchers = [asyncio.create_task(_report_arrival(console, name, n, board, texts, start))
                        for name, n in zip(NAMES, nodes)]
            await asyncio.gather(*(_add_item(n, board, key, text)
                                   for n, (key, text) in zip(nodes, texts.items())))
            await asyncio.gather(*watchers)

            await cy.stop()
            await _add_item(ada, board, "ada2", "Call the plumber")
            cy = Node(homes[2], options([]))
            await cy.start()
            await _add_item(cy, board, "cy2", "Buy seeds")
            await cy.stop()
            console.print("3. Cy went offline; meanwhile Ada added a need, and Cy added one offline.")
            cy = Node(homes[2], options([bo.listen_addresses[0]]))
            await cy.start()
            nodes[2] = cy
            texts.update(ada2="Call the plumber", cy2="Buy seeds")
            took = await until(lambda: all(_items(n, board) == sorted(texts.values()) for n in nodes))
            console.print(f"4. Cy came back and merged: both offline edits are everywhere "
                          f"after {took * 1000:.0f} ms.")
        except TimeoutError:
            console.print("[red]The nodes did not converge in time.[/red]")
        finally:
            ok = _summary(console, nodes, board if "board" in locals() else None)
            for node in nodes:
                await node.stop()
    return ok


def _summary(console: Console, nodes: list[Node], board: str | None) -> bool:
    table = Table(title="The board on each node")
    table.add_column("member")
    table.add_column("needs on the board")
    table.add_column("heads")
    for name, node in zip(NAMES, nodes):
        items = _items(node, board) if board and node.repo is not None else []
        heads = _heads(node, board) if board else []
        table.add_row(name, "\n".join(items) or "-", " ".join(h.hex()[:8] for h in heads) or "-")
    console.print(table)
    same = board is not None and len({tuple(_heads(n, board)) for n in nodes}) == 1 \
        and len(_items(nodes[0], board)) == 5
    console.print("[green]All three nodes hold the same board.[/green]" if same
                  else "[red]The nodes differ.[/red]")
    return same
