"""What every command shares: the selected home and the two output streams.

stdout carries only a command's result (one JSON document under ``--json``);
messages for the person go to stderr, so ``podsync status --json | jq`` works.

rich is imported only when something is printed for a person: a ``--json``
command never pays for it.
"""

from __future__ import annotations

import re
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import msgspec
import typer

from podsync.home import Home

if TYPE_CHECKING:
    from rich.console import Console


@dataclass
class CliState:
    """Filled in by the global options before any command runs."""

    home: Home | None = None


def home_of(ctx: typer.Context) -> Home:
    """The home selected by ``--home`` / ``PODSYNC_HOME`` / the platform default."""
    state = ctx.find_object(CliState)
    if state is None or state.home is None:
        raise RuntimeError("the podsync app was run without its global options")
    return state.home


def out() -> Console:
    """A console on stdout for human-readable results; markup in data stays literal."""
    from rich.console import Console  # noqa: PLC0415 - see the module docstring

    return Console(highlight=False, soft_wrap=True)


#: Up to this many rows, and this much text, a table is drawn by rich (boxes,
#: wrapped cells). Past either, as aligned plain lines: rich lays out about 3,000
#: cells (or some hundreds of kilobytes of text) a second, so a board of a
#: thousand needs, or a member holding hundreds, would take a second to print.
RICH_TABLE_ROWS = 100
RICH_TABLE_CHARS = 20_000
#: Narrowest a column gets when a long table is fitted to the terminal.
MIN_COLUMN_CHARS = 8
# Rich markup tags (as rich.markup reads them), with the backslashes before them.
_TAG = re.compile(r"(\\*)\[([a-z#/@][^[]*?)]")


class Table:
    """A table for :func:`out`: cells are rich markup (data passed through
    :func:`escape`). Drawn by rich when short, as plain aligned lines when long."""

    def __init__(self, headers: tuple[str, ...], title: str) -> None:
        self.headers = headers
        self.title = title
        self.rows: list[tuple[str, ...]] = []

    def add_row(self, *cells: str) -> None:
        self.rows.append(cells)

    def __rich_console__(self, console: Console, options: Any) -> Iterator[Any]:
        if len(self.rows) <= RICH_TABLE_ROWS and \
                sum(len(c) for row in self.rows for c in row) <= RICH_TABLE_CHARS:
            from rich.table import Table as RichTable  # noqa: PLC0415 - see the module docstring

            table = RichTable(*self.headers, title=self.title)
            for row in self.rows:
                table.add_row(*row)
            yield table
            return
        from rich.segment import Segment  # noqa: PLC0415 - see the module docstring

        for line in plain_table(self.headers, self.rows, self.title, options.max_width):
            yield Segment(line + "\n")


def plain(markup: str) -> str:
    """The text a person sees of ``markup``: tags dropped, escaped brackets kept."""
    def tag(match: re.Match[str]) -> str:
        backslashes = len(match.group(1))
        kept = "\\" * (backslashes // 2)
        return kept + f"[{match.group(2)}]" if backslashes % 2 else kept
    return _TAG.sub(tag, markup)


def plain_table(headers: tuple[str, ...], rows: list[tuple[str, ...]], title: str,
                width: int) -> list[str]:
    """``rows`` as aligned lines at most ``width`` wide (longer cells cut with …)."""
    cells = [[plain(c).replace("\n", " / ") for c in row] for row in rows]
    widths = [max([len(h), *(len(r[i]) for r in cells)]) for i, h in enumerate(headers)]
    # The first column (an id a person copies into the next command) stays whole.
    while sum(widths) + 2 * (len(widths) - 1) > width and max(widths[1:]) > MIN_COLUMN_CHARS:
        widest = max(range(1, len(widths)), key=lambda i: widths[i])
        widths[widest] -= 1

    def line(values: list[str] | tuple[str, ...]) -> str:
        return "  ".join((v if len(v) <= w else v[:w - 1] + "…").ljust(w)
                         for v, w in zip(values, widths)).rstrip()

    return [title, line(headers), "  ".join("-" * w for w in widths),
            *(line(r) for r in cells)]


def make_table(*headers: str, title: str) -> Table:
    """A table for :func:`out` with these column headers."""
    return Table(headers, title)


def escape(text: str) -> str:
    """``text`` with rich markup escaped, so data prints as written."""
    from rich.markup import escape as escape_markup  # noqa: PLC0415 - see the module docstring

    return escape_markup(text)


def print_json(value: Any) -> None:
    """Write ``value`` (msgspec Structs, dicts, lists) as the one JSON document on stdout."""
    sys.stdout.write(msgspec.json.encode(value).decode("utf-8") + "\n")
    sys.stdout.flush()
