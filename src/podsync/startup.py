"""Starting fast: what a ``podsync`` process does with Python's cyclic collector.

A command imports a few hundred modules. What they make (modules, classes,
functions, compiled patterns) lives as long as the process, so the collector
finds no garbage among it; yet it runs again and again while the imports
allocate, every later full collection walks all of it, and the interpreter
collects once more over all of it as it exits. On a read command of 120–170 ms
that was 25–35 ms.

So the entry point makes those objects inside :func:`long_lived`: the collector
waits while they are made, and then they are moved where it never looks again
(``gc.freeze``, as Python's documentation describes for objects made at
start-up). Whatever a command makes afterwards is collected as always. Only a
process started by the entry point (:func:`started_by_entry_point`) does this;
code that imports podsync as a library, the tests for one, is left alone.
"""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager

_entry_point = False


def started_by_entry_point() -> None:
    """This process is a ``podsync`` command: :func:`long_lived` takes effect."""
    global _entry_point
    _entry_point = True


@contextmanager
def long_lived() -> Iterator[None]:
    """Imports (or anything made once per process) run with the collector paused,
    and what they made is then frozen out of its sight. Nothing, unless
    :func:`started_by_entry_point` was called."""
    if not _entry_point:
        yield
        return
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        gc.freeze()
        if enabled:
            gc.enable()
