"""What every command shares: the selected home and the two output streams.

stdout carries only a command's result (one JSON document under ``--json``);
messages for the person go to stderr, so ``podsync status --json | jq`` works.

rich is imported only when rich draws something for a person: a ``--json``
command never pays for it, nor does a long table or a long run of lines (printed
as plain text), which is what a listing of a pod's years prints (importing rich's
console alone costs about 45 ms of a command's 150).
"""

from __future__ import annotations

import os
import re
import sys
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

import msgspec
import typer

from podsync import startup
from podsync.home import Home

if TYPE_CHECKING:
    from rich.console import Console


class CliState(msgspec.Struct):
    """Filled in by the global options before any command runs."""

    home: Home | None = None


def home_of(ctx: typer.Context) -> Home:
    """The home selected by ``--home`` / ``PODSYNC_HOME`` / the platform default."""
    state = ctx.find_object(CliState)
    if state is None or state.home is None:
        raise RuntimeError("the podsync app was run without its global options")
    return state.home


class Out:
    """stdout for a person's results: a long :class:`Table` is written as plain
    lines here; anything else is printed by a rich console, made at first use
    (markup in data stays literal)."""

    def __init__(self) -> None:
        self._console: Console | None = None

    def print(self, *objects: Any, **options: Any) -> None:
        if len(objects) == 1 and not options and isinstance(objects[0], (Table, Lines)) \
                and not objects[0].drawn_by_rich:
            shown = objects[0]
            lines = (plain_table(shown.headers, shown.rows, shown.title, terminal_width())
                     if isinstance(shown, Table) else [plain(line) for line in shown.lines])
            sys.stdout.write("".join(line + "\n" for line in lines))
            sys.stdout.flush()
            return
        if self._console is None:
            with startup.long_lived():
                from rich.console import Console  # noqa: PLC0415 - see the module docstring

                # No emoji codes: ":fire:" in a member's words is printed as written,
                # as plain lines print it (escape() leaves it alone).
                self._console = Console(highlight=False, soft_wrap=True, emoji=False)
        if len(objects) == 1 and not options and isinstance(objects[0], Lines):
            for line in objects[0].lines:
                self._console.print(line)
            return
        self._console.print(*objects, **options)


def out() -> Out:
    """Where a command prints its result for a person (see :class:`Out`)."""
    return Out()


def terminal_width() -> int:
    """The width rich's console would take: ``COLUMNS``, else the terminal's on
    stdin, stdout or stderr, else 80."""
    columns = os.environ.get("COLUMNS", "")
    if columns.isdigit():
        return int(columns)
    if os.environ.get("TERM", "").lower() not in ("dumb", "unknown"):
        for descriptor in (0, 1, 2):
            try:
                width = os.get_terminal_size(descriptor).columns
            except (AttributeError, ValueError, OSError):
                continue
            return width or 80
    return 80


#: Up to this many lines (a row takes as many as its tallest cell), and this
#: much text, a table is drawn by rich (boxes, wrapped cells). Past either, as
#: aligned plain lines: rich lays out about 3,000 cells (or some hundreds of
#: kilobytes of text) a second, so a board of a thousand needs, or a member
#: holding hundreds, would take a second to print, and the capacity table of a
#: pod whose members hold a few dozen needs each, 40 ms.
RICH_TABLE_ROWS = 100
RICH_TABLE_CHARS = 20_000
#: Narrowest a column gets when a long table is fitted to the terminal.
MIN_COLUMN_CHARS = 8
#: Most lines of one cell a long table shows (a member holding hundreds of needs:
#: the first of them, and how many more; ``--json`` lists them all).
PLAIN_CELL_LINES = 10
# Rich markup tags (as rich.markup reads them), with the backslashes before them.
_TAG = re.compile(r"(\\*)\[([a-z#/@][^[]*?)]")
# The same, whole tag in the second group: what escape() guards.
_ESCAPED_TAG = re.compile(r"(\\*)(\[[a-z#/@][^[]*?])")


class Table:
    """A table for :func:`out`: cells are rich markup (data passed through
    :func:`escape`). Drawn by rich when short, as plain aligned lines when long."""

    def __init__(self, headers: tuple[str, ...], title: str) -> None:
        self.headers = headers
        self.title = title
        self.rows: list[tuple[str, ...]] = []

    def add_row(self, *cells: str) -> None:
        self.rows.append(cells)

    @property
    def drawn_by_rich(self) -> bool:
        """Short enough for rich to draw with boxes and wrapped cells (a row takes
        as many lines as its tallest cell)."""
        return _for_rich(sum(max((c.count("\n") + 1 for c in row), default=1)
                             for row in self.rows),
                         sum(len(c) for row in self.rows for c in row))

    def __rich_console__(self, console: Console, options: Any) -> Iterator[Any]:
        if self.drawn_by_rich:
            with startup.long_lived():
                from rich.table import Table as RichTable  # noqa: PLC0415 - see the module docstring

            table = RichTable(*self.headers, title=self.title)
            for row in self.rows:
                table.add_row(*row)
            yield table
            return
        from rich.segment import Segment  # noqa: PLC0415 - see the module docstring

        for line in plain_table(self.headers, self.rows, self.title, options.max_width):
            yield Segment(line + "\n")


class Lines:
    """Lines of rich markup for :func:`out` (data passed through :func:`escape`):
    printed by rich when few, as the plain text a person sees when many (rich
    takes about 0.1 ms a line, and a member's threads after years run to
    hundreds)."""

    def __init__(self) -> None:
        self.lines: list[str] = []

    def add(self, markup: str) -> None:
        self.lines.append(markup)

    @property
    def drawn_by_rich(self) -> bool:
        return _for_rich(len(self.lines), sum(len(line) for line in self.lines))


def _for_rich(lines: int, chars: int) -> bool:
    """Whether rich draws this many lines of this much text quickly enough."""
    return lines <= RICH_TABLE_ROWS and chars <= RICH_TABLE_CHARS


def plain(markup: str) -> str:
    """The text a person sees of ``markup``: tags dropped, escaped brackets kept."""
    def tag(match: re.Match[str]) -> str:
        backslashes = len(match.group(1))
        kept = "\\" * (backslashes // 2)
        return kept + f"[{match.group(2)}]" if backslashes % 2 else kept
    return _TAG.sub(tag, markup)


def plain_table(headers: tuple[str, ...], rows: list[tuple[str, ...]], title: str,
                width: int) -> list[str]:
    """``rows`` as aligned lines at most ``width`` wide (longer cells cut with …).
    A cell of several lines keeps them, one under the other, up to
    :data:`PLAIN_CELL_LINES` (then says how many more); rows of several lines
    are set apart by an empty one."""
    cells = [[_cell_lines(c) for c in row] for row in rows]
    widths = [max([len(h), *(len(text) for r in cells for text in r[i])])
              for i, h in enumerate(headers)]
    # The first column (an id a person copies into the next command) stays whole;
    # no other is wider than the line (the columns below are narrowed a
    # character at a time).
    widths[1:] = [min(w, width) for w in widths[1:]]
    while sum(widths) + 2 * (len(widths) - 1) > width and max(widths[1:]) > MIN_COLUMN_CHARS:
        widest = max(range(1, len(widths)), key=lambda i: widths[i])
        widths[widest] -= 1

    def line(values: list[str] | tuple[str, ...]) -> str:
        return "  ".join((v if len(v) <= w else v[:w - 1] + "…").ljust(w)
                         for v, w in zip(values, widths)).rstrip()

    out = [title, line(headers), "  ".join("-" * w for w in widths)]
    tall = any(len(c) > 1 for r in cells for c in r)
    for i, row in enumerate(cells):
        if tall and i:
            out.append("")
        out += [line([c[n] if n < len(c) else "" for c in row])
                for n in range(max((len(c) for c in row), default=1))]
    return out


def _cell_lines(markup: str) -> list[str]:
    lines = plain(markup).split("\n")
    if len(lines) <= PLAIN_CELL_LINES:
        return lines
    return [*lines[:PLAIN_CELL_LINES - 1], f"… {len(lines) - PLAIN_CELL_LINES + 1} more"]


def make_table(*headers: str, title: str) -> Table:
    """A table for :func:`out` with these column headers."""
    return Table(headers, title)


def escape(text: str) -> str:
    """``text`` with rich markup escaped, so data prints as written: what
    ``rich.markup.escape`` returns (tests/cli/test_table.py compares them), without
    importing rich for it (about 18 ms)."""
    escaped = _ESCAPED_TAG.sub(lambda m: f"{m.group(1)}{m.group(1)}\\{m.group(2)}", text)
    if escaped.endswith("\\") and not escaped.endswith("\\\\"):
        return escaped + "\\"
    return escaped


def print_json(value: Any) -> None:
    """Write ``value`` (msgspec Structs, dicts, lists, or JSON already written, as
    ``msgspec.Raw``) as the one JSON document on stdout."""
    data = bytes(value) if isinstance(value, msgspec.Raw) else msgspec.json.encode(value)
    sys.stdout.write(data.decode("utf-8") + "\n")
    sys.stdout.flush()


def raw_if(json: bool) -> Any:
    """What to read an answer as: left as the JSON it is when it is printed as JSON
    (reading a listing of thousands of items into objects only to write it again
    cost more than the rest of the command), else as objects."""
    return msgspec.Raw if json else Any
