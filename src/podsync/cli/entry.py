"""The ``podsync`` script and ``python -m podsync``: :func:`podsync.cli.main.run`,
with what the process imports kept out of the collector's way (podsync.startup)."""

from __future__ import annotations

from typing import NoReturn

from podsync import startup


def main() -> NoReturn:
    startup.started_by_entry_point()
    with startup.long_lived():
        from podsync.cli.main import run  # noqa: PLC0415 - imported as long-lived (above)
    run()
