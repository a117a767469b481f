"""The API and the node do not import each other: the node imports the API to
serve it, and the API owns the interface it needs from a running node
(``podsync.api.context.RunningNode``), which the node provides.

Checked two ways: on the source (every import statement, including those made
only for type checkers or inside functions, since both make a cycle for a reader
and a type checker) and at run time (what importing the API really loads).
"""

from __future__ import annotations

import ast
import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import podsync

SRC = Path(podsync.__file__).resolve().parent
#: The API modules the node imports to serve the API and run operations.
SERVED = ("podsync.api.server", "podsync.api.context", "podsync.api.ops", "podsync.api.pod_ops",
          "podsync.api.peer_ops", "podsync.api.trust_ops")


def module_name(path: Path) -> str:
    parts = path.relative_to(SRC.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imported(tree: ast.Module, modules: set[str]) -> Iterator[str]:
    """Every podsync module an import statement anywhere in ``tree`` names."""
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            yield from (a.name for a in node.names if a.name in modules)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            if node.module in modules:
                yield node.module
            yield from (f"{node.module}.{a.name}" for a in node.names
                        if f"{node.module}.{a.name}" in modules)


def import_graph() -> dict[str, set[str]]:
    """Module -> the podsync modules importing it runs (its imports, and its parent
    packages, which Python imports first)."""
    paths = {module_name(p): p for p in SRC.rglob("*.py")}
    names = set(paths)
    graph: dict[str, set[str]] = {}
    for name, path in paths.items():
        edges = set(imported(ast.parse(path.read_text(), str(path)), names))
        parent = name.rpartition(".")[0]
        if parent in names:
            edges.add(parent)
        graph[name] = edges - {name}
    return graph


def reachable(graph: dict[str, set[str]], start: str) -> set[str]:
    seen, todo = set(), [start]
    while todo:
        for nxt in graph.get(todo.pop(), ()):
            if nxt not in seen:
                seen.add(nxt)
                todo.append(nxt)
    return seen


def test_no_import_cycle_joins_an_api_module_and_a_node_module() -> None:
    graph = import_graph()
    assert "podsync.node.node" in graph and "podsync.api.context" in graph  # the layout it checks
    assert "podsync.api.server" in reachable(graph, "podsync.node.node")  # the node serves the API
    cycles = [(api, node) for api in graph if api.startswith("podsync.api.")
              for node in reachable(graph, api)
              if node.startswith("podsync.node") and api in reachable(graph, node)]
    assert cycles == []


def test_the_api_the_node_serves_imports_nothing_of_the_node() -> None:
    graph = import_graph()
    for api in SERVED:
        assert [m for m in reachable(graph, api) if m.startswith("podsync.node")] == [], api


def test_importing_the_api_and_every_operation_loads_no_node_module() -> None:
    code = ("import json, sys\n"
            + "".join(f"import {m}\n" for m in SERVED)
            + "podsync.api.ops.all_ops()\n"
            + "print(json.dumps(sorted(sys.modules)))\n")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    modules = json.loads(result.stdout)
    assert "podsync.api.peer_ops" in modules and "podsync.api.context" in modules
    assert [m for m in modules if m == "podsync.node" or m.startswith("podsync.node.")] == []
