"""Tables for people: drawn by rich when short, as aligned plain lines when long
(rich would take seconds to lay out a board of a thousand needs)."""

from __future__ import annotations

import io
import random

import msgspec
import pytest
from rich.console import Console
from rich.markup import escape as rich_escape

from podsync.cli.context import (
    PLAIN_CELL_LINES, RICH_TABLE_CHARS, RICH_TABLE_ROWS, Lines, escape, make_table, out, plain,
    plain_table,
)


def printed(table, width: int = 80) -> str:
    buffer = io.StringIO()
    Console(file=buffer, width=width, highlight=False, soft_wrap=True).print(table)
    return buffer.getvalue()


def test_a_short_table_is_drawn_with_boxes() -> None:
    table = make_table("id", "need", title="Needs")
    table.add_row("abc", "[bold]Mend[/bold] the " + escape("[gate]"))
    text = printed(table)
    assert "┃" in text or "│" in text
    assert "Mend the [gate]" in text


def test_a_long_table_is_plain_aligned_lines_that_fit_and_keep_ids_whole() -> None:
    table = make_table("id", "need", "state", title="Needs")
    rows = RICH_TABLE_ROWS + 5
    for i in range(rows):
        table.add_row(f"{i:032x}", escape(f"need [{i}] ") + "x" * 200, "[bold]held[/bold]")
    lines = printed(table, width=90).splitlines()
    assert lines[0] == "Needs" and lines[1].split() == ["id", "need", "state"]
    assert len(lines) == rows + 3
    assert all(len(line) <= 90 for line in lines)
    assert lines[3].startswith(f"{0:032x}  need [0] x") and lines[3].endswith("held")
    assert "…" in lines[3] and "[bold]" not in "".join(lines) and "│" not in "".join(lines)


def test_markup_becomes_the_text_a_person_sees() -> None:
    assert plain("[bold yellow]needs reconciliation[/bold yellow]: x") == "needs reconciliation: x"
    assert plain(escape("a [b] and [bold]c")) == "a [b] and [bold]c"
    assert plain_table(("a", "b"), [("1", "two\nlines")], "T", 40)[-2:] == ["1  two", "   lines"]


def test_a_short_table_of_much_text_is_printed_plainly_too() -> None:
    table = make_table("member", "holds", title="Load")
    table.add_row("Ada", " · ".join(f"need {i}" for i in range(RICH_TABLE_CHARS // 8)))
    lines = printed(table, width=60).splitlines()
    assert lines[0] == "Load" and lines[1].split() == ["member", "holds"]
    assert lines[3].startswith("Ada") and lines[3].endswith("…") and len(lines) == 4


def test_escape_is_what_rich_escapes() -> None:
    """Our escape (no rich import) against rich's own, on text made of what markup
    is made of: brackets, backslashes, tag letters, at every position."""
    alphabet = ["[", "]", "\\", "/", "@", "#", "b", "bold", " ", "x", "é", "[/]", "\\["]
    rng = random.Random(7)
    samples = ["", "\\", "\\\\", "a\\", "[bold]", "\\[bold]", "\\\\[bold]x\\", "[[b]]", "[/]"]
    samples += ["".join(rng.choice(alphabet) for _ in range(rng.randint(1, 12))) for _ in range(5000)]
    for text in samples:
        assert escape(text) == rich_escape(text), text


@pytest.mark.parametrize("rows", [3, RICH_TABLE_ROWS + 5])
def test_out_prints_a_table_as_rich_would(rows: int, monkeypatch: pytest.MonkeyPatch,
                                          capsys: pytest.CaptureFixture[str]) -> None:
    """A long table is written without rich, line for line what rich's console
    printed; a short one is still drawn by rich."""
    monkeypatch.setenv("COLUMNS", "70")
    table = make_table("id", "need", "state", title="Needs")
    for i in range(rows):
        table.add_row(f"{i:032x}", escape(f"need [{i}] \\") + "y" * 80, "[bold]held[/bold]")
    out().print(table)
    ours = capsys.readouterr().out
    assert ours == printed(table, width=70)
    assert ("│" in ours or "┃" in ours) == (rows <= RICH_TABLE_ROWS)


@pytest.mark.parametrize("count", [3, RICH_TABLE_ROWS + 5])
def test_out_prints_lines_as_rich_would(count: int, monkeypatch: pytest.MonkeyPatch,
                                        capsys: pytest.CaptureFixture[str]) -> None:
    """Many lines (a member's threads after years) are written without rich, each
    what rich's console printed; a few are still printed by rich. A member's
    words are printed as written, emoji codes too."""
    monkeypatch.setenv("COLUMNS", "50")
    lines = Lines()
    for i in range(count):
        lines.add(f"[bold]Thread {i}[/bold]: " + escape(f"from [ada] :fire: \\ {'z' * 70}"))
    out().print(lines)
    ours = capsys.readouterr().out
    buffer = io.StringIO()
    console = Console(file=buffer, width=50, highlight=False, soft_wrap=True, emoji=False)
    for line in lines.lines:
        console.print(line)
    assert ours == buffer.getvalue()
    assert ours.splitlines()[0] == "Thread 0: from [ada] :fire: \\ " + "z" * 70
    assert lines.drawn_by_rich == (count <= RICH_TABLE_ROWS)


def test_a_long_table_narrows_its_columns_to_the_line() -> None:
    """A cell of thousands of characters (a member holding hundreds of needs)
    is cut to the line like any other."""
    lines = plain_table(("member", "holds", "strained"),
                        [("Ada", " / ".join(f"need {i}" for i in range(2000)), "x" * 5000)],
                        "Load", 60)
    assert all(len(line) <= 60 for line in lines)
    assert lines[3].startswith("Ada     need 0 / need 1") and lines[3].endswith("…")


def test_a_tall_table_is_plain_lines_each_cell_keeping_its_lines() -> None:
    """A capacity table whose members hold dozens of needs each is too tall for
    rich to draw quickly: plain lines, every cell's lines one under the other (up
    to a limit, then how many more), rows set apart by an empty line."""
    table = make_table("member", "needs held", title="Load")
    table.add_row("Ada", "\n".join(f"need {i}" for i in range(RICH_TABLE_ROWS)))
    table.add_row("Bo", "need [bold]x[/bold]\nneed y")
    assert not table.drawn_by_rich and len(table.rows) <= RICH_TABLE_ROWS
    lines = printed(table, width=40).splitlines()
    assert lines[3:4 + PLAIN_CELL_LINES] == (
        ["Ada     need 0"] + [f"        need {i}" for i in range(1, PLAIN_CELL_LINES - 1)]
        + [f"        … {RICH_TABLE_ROWS - PLAIN_CELL_LINES + 1} more", ""])
    assert lines[-2:] == ["Bo      need x", "        need y"]


def test_table_rows_read_fields_the_listings_have() -> None:
    """The needs, agreements and decisions tables read only the fields they print (the rest
    of each item is skipped unread): each is a field of the view the API lists
    (or ``archived``, which the listing adds), so a renamed field fails here
    rather than in a member's terminal."""
    from podsync.cli import decisions, practices  # noqa: PLC0415
    from podsync.pod.agreement_view import Agreement  # noqa: PLC0415
    from podsync.pod.decision_view import Decision  # noqa: PLC0415
    from podsync.pod.needs import Need  # noqa: PLC0415

    for row, view in ((practices._NeedRow, Need), (practices._AgreementRow, Agreement),
                      (decisions._DecisionRow, Decision)):
        listed = set(view.__struct_fields__) | {"archived"}
        assert set(row.__struct_fields__) <= listed, (row, set(row.__struct_fields__) - listed)
        decoded = msgspec.json.decode(msgspec.json.encode([{**msgspec.to_builtins(_sample(view)),
                                                            "archived": True}]), type=list[row])
        assert decoded[0].archived is True


def _sample(view: type) -> object:
    """A view with every field filled the simplest way its type allows."""
    import typing  # noqa: PLC0415

    values = {}
    for name, kind in typing.get_type_hints(view).items():
        origin = typing.get_origin(kind)
        if kind is str:
            values[name] = "x"
        elif kind is int:
            values[name] = 1
        elif kind is bool:
            values[name] = False
        elif origin is list:
            values[name] = []
        else:
            values[name] = None
    return msgspec.convert(values, view)
