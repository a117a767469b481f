"""Where a node that runs without a terminal writes what it has to say."""

from __future__ import annotations

import logging
from pathlib import Path

from podsync.home import DIR_MODE, Home

LOG_DIR_NAME = "logs"
LOG_FILE_NAME = "node.log"
#: The restart supervisor's own lines (Windows), apart from the node's: two
#: processes must not rotate one file.
SUPERVISOR_LOG_NAME = "service.log"
#: The log is for finding out why a node misbehaved lately: a few megabytes
#: hold weeks of a healthy node's lines and cannot fill a small disk.
LOG_MAX_BYTES = 1024 * 1024
LOG_BACKUPS = 3


def log_file(home: Home, name: str = LOG_FILE_NAME) -> Path:
    return home.root / LOG_DIR_NAME / name


def log_to_file(home: Home, name: str = LOG_FILE_NAME) -> Path:
    """Send podsync's log (INFO and up) to the home's rotated log file ``name``
    instead of stderr. No line ever carries the API token: it appears only in
    node.json."""
    import logging.handlers  # noqa: PLC0415 - only a node writes its log

    path = log_file(home, name)
    path.parent.mkdir(mode=DIR_MODE, parents=True, exist_ok=True)
    handler = logging.handlers.RotatingFileHandler(path, maxBytes=LOG_MAX_BYTES,
                                                   backupCount=LOG_BACKUPS, encoding="utf-8")
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
    root.addHandler(handler)
    logging.getLogger("podsync").setLevel(logging.INFO)
    return path
