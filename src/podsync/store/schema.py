"""The store's SQLite file: schema, version check, connections.

The schema version lives in ``PRAGMA user_version`` and the file is marked as
podsync's with ``PRAGMA application_id``. A file written by a newer schema is
refused before anything opens it for writing: the version is read from the
file header (or through a read-only connection when a write-ahead log holds
newer pages), so a refused file keeps its bytes, its mtime and its directory.
"""

from __future__ import annotations

import logging
import os
import sqlite3
import uuid
from pathlib import Path

from podsync.errors import SchemaTooNew, StoreError

log = logging.getLogger(__name__)

SCHEMA_VERSION = 6
# "PDSY": lets `file(1)` and podsync tell a store from any other SQLite file.
APPLICATION_ID = 0x50445359
# A committer waits this long for a lock held by another connection (a reader
# checkpointing, a second process) before the write fails with an error.
BUSY_TIMEOUT_S = 10.0

_SQLITE_MAGIC = b"SQLite format 3\x00"
_HEADER_BYTES = 100
_USER_VERSION_OFFSET = 60  # sqlite.org/fileformat2.html, "The Database Header"

_SCHEMA_V1 = (
    """CREATE TABLE meta(
        key TEXT PRIMARY KEY,
        value TEXT NOT NULL
    ) WITHOUT ROWID""",
    """CREATE TABLE documents(
        doc_id TEXT PRIMARY KEY,
        kind TEXT NOT NULL,
        heads BLOB NOT NULL,        -- sorted 32-byte change hashes, concatenated
        damaged TEXT,               -- why the stored bytes do not load, NULL if sound
        created REAL NOT NULL,      -- unix seconds
        updated REAL NOT NULL
    ) WITHOUT ROWID""",
    """CREATE TABLE chunks(
        id INTEGER PRIMARY KEY,     -- insertion order, which is causal order per document
        doc_id TEXT NOT NULL,
        kind TEXT NOT NULL CHECK (kind IN ('snapshot', 'incremental')),
        sha256 BLOB NOT NULL,
        bytes BLOB NOT NULL
    )""",
    "CREATE INDEX chunks_by_doc ON chunks(doc_id)",
    """CREATE TABLE sync_state(
        doc_id TEXT NOT NULL,
        storage_id TEXT NOT NULL,
        bytes BLOB NOT NULL,
        PRIMARY KEY (doc_id, storage_id)
    ) WITHOUT ROWID""",
)

# Version 2: the signed records read from each document, kept apart from the
# document itself so that a record a member later deletes or overwrites in the
# document still counts (podsync.records), with the answer of its signature check.
_SCHEMA_V2 = (
    """CREATE TABLE records(
        doc_id TEXT NOT NULL,
        record_id TEXT NOT NULL,
        sealed BLOB NOT NULL,       -- the record's bytes, as stored in the document
        checked INTEGER,            -- signature: 1 valid, 0 invalid, NULL not checked yet
        PRIMARY KEY (doc_id, record_id)
    ) WITHOUT ROWID""",
    """CREATE TABLE record_scans(
        doc_id TEXT PRIMARY KEY,
        heads BLOB NOT NULL         -- the document's heads when its records were last read
    ) WITHOUT ROWID""",
)

# Version 3: what could not be read as a record at the last reading of a document
# (key -> reason and detail, as JSON), so that it is still counted after a restart
# although the document is not read again until it changes.
_SCHEMA_V3 = (
    "ALTER TABLE record_scans ADD COLUMN unreadable BLOB",
)

# Version 4: the heads at which the whole stored document was last measured within
# MAX_STORED_* (NULL: never), and what it cost then. A node start measures only
# documents whose heads differ from it, so a document is weighed once per change
# of its stored bytes rather than at every start; a write that measures what it
# adds keeps the total current, any other write clears it.
_SCHEMA_V4 = (
    "ALTER TABLE documents ADD COLUMN measured BLOB",
    "ALTER TABLE documents ADD COLUMN measured_bytes INTEGER",
    "ALTER TABLE documents ADD COLUMN measured_entries INTEGER",
)

# Version 5: a count of the writes of each document's records (every write of
# records or of their answers adds one), and the derived views of the pod's items
# (podsync.api.views) with the counts they were derived at, so that a command run
# without a node lists a pod's years without deriving them again while nothing
# they were made from has changed. An item's view is a row of its own: one that
# changes is written alone, and a listing of live items reads only theirs (by
# when the item went quiet, NULL for one still open). And, with such counts, how
# many of each document's records do not count and why.
_SCHEMA_V5 = (
    """CREATE TABLE record_writes(
        doc_id TEXT PRIMARY KEY,
        count INTEGER NOT NULL
    ) WITHOUT ROWID""",
    """CREATE TABLE view_sets(
        doc_id TEXT NOT NULL,
        kind TEXT NOT NULL,
        basis BLOB NOT NULL,        -- what the views were derived from (podsync.api.views)
        PRIMARY KEY (doc_id, kind)
    ) WITHOUT ROWID""",
    """CREATE TABLE views(
        doc_id TEXT NOT NULL,
        kind TEXT NOT NULL,
        item_id TEXT NOT NULL,
        quiet REAL,                 -- unix seconds the item went quiet; NULL while open
        entry BLOB NOT NULL,
        UNIQUE (doc_id, kind, item_id)
    )""",
    "CREATE INDEX views_by_quiet ON views(doc_id, kind, quiet)",
    # How many of each document's records do not count, and why, with the counts of
    # writes they were counted at (what `podsync status` shows without a node).
    """CREATE TABLE record_reasons(
        doc_id TEXT PRIMARY KEY,
        basis BLOB NOT NULL,
        reasons BLOB NOT NULL
    ) WITHOUT ROWID""",
)

# Version 6: what a document's records establish, kept with the counts of writes of
# its records and of the pod document's it was worked out from (as saved views
# are): its kind and who reads it (podsync.trust.ledger), and views of a whole
# private document such as a feedback thread (podsync.api.views). A command run
# without a node lists a member's threads without reading every thread's records.
_SCHEMA_V6 = (
    # How many changes without parents a document's history had at the heads
    # given (a private document whose history does not start at its creation
    # alone is served to nobody: podsync.trust.ledger). The heads name the whole
    # history, so the count holds while they are the document's heads. Some
    # stores of version 5 have this table and some do not (it came within that
    # version), so it is made here where it is missing.
    """CREATE TABLE IF NOT EXISTS document_roots(
        doc_id TEXT PRIMARY KEY,
        heads BLOB NOT NULL,
        roots INTEGER NOT NULL
    ) WITHOUT ROWID""",
    """CREATE TABLE document_readers(
        doc_id TEXT PRIMARY KEY,
        basis BLOB NOT NULL,
        kind TEXT NOT NULL,
        readers BLOB NOT NULL       -- as its creation record makes them (JSON)
    ) WITHOUT ROWID""",
    """CREATE TABLE document_views(
        doc_id TEXT NOT NULL,
        what TEXT NOT NULL,
        basis BLOB NOT NULL,
        view BLOB NOT NULL,
        PRIMARY KEY (doc_id, what)
    ) WITHOUT ROWID""",
)

# MIGRATIONS[v] holds the statements that take a database from version v to v + 1.
MIGRATIONS: tuple[tuple[str, ...], ...] = (_SCHEMA_V1, _SCHEMA_V2, _SCHEMA_V3, _SCHEMA_V4,
                                           _SCHEMA_V5, _SCHEMA_V6)
assert len(MIGRATIONS) == SCHEMA_VERSION


def stored_version(path: Path) -> int:
    """The schema version of the file at ``path`` (0 if absent or empty), read-only."""
    try:
        with open(path, "rb") as f:
            header = f.read(_HEADER_BYTES)
    except FileNotFoundError:
        return 0
    except OSError as e:
        raise StoreError(f"cannot read the store {path}: {e.strerror}") from None
    if not header:
        return 0
    if len(header) < _HEADER_BYTES or not header.startswith(_SQLITE_MAGIC):
        raise StoreError(f"{path} is not a podsync store (not an SQLite database)")
    wal = Path(f"{path}-wal")
    if not (wal.exists() and wal.stat().st_size > 0):
        return int.from_bytes(header[_USER_VERSION_OFFSET : _USER_VERSION_OFFSET + 4], "big")
    # Committed pages may still sit in the log; only SQLite can read through it.
    try:
        conn = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True)
        try:
            return int(conn.execute("PRAGMA user_version").fetchone()[0])
        finally:
            conn.close()
    except sqlite3.DatabaseError as e:
        raise StoreError(f"cannot read the store {path}: {e}") from None


def refuse_newer(path: Path) -> None:
    version = stored_version(path)
    if version > SCHEMA_VERSION:
        raise SchemaTooNew(
            f"the store {path} was written by a newer podsync (schema {version}, "
            f"this one knows up to {SCHEMA_VERSION}); upgrade podsync to open it. "
            "The file was not changed."
        )


def open_writer(path: Path) -> tuple[sqlite3.Connection, str]:
    """Open (creating or migrating) the store for writing; return it and its storage id.

    The connection is in autocommit mode (transactions are explicit) and may be
    handed to another thread.
    """
    refuse_newer(path)
    is_new = not path.exists()
    conn = _connect(path)
    try:
        mode = conn.execute("PRAGMA journal_mode=WAL").fetchone()[0]
        if mode.lower() != "wal":
            raise StoreError(f"the store {path} cannot use write-ahead logging (got {mode})")
        conn.execute("PRAGMA synchronous=FULL")
        conn.execute("BEGIN IMMEDIATE")
        try:
            storage_id = _migrate(conn, path)
            conn.execute("COMMIT")
        except BaseException:
            conn.execute("ROLLBACK")
            raise
    except sqlite3.DatabaseError as e:
        conn.close()
        raise StoreError(f"cannot open the store {path}: {e}") from None
    except BaseException:
        conn.close()
        raise
    if is_new:
        _fsync_dir(path.parent)
    return conn, storage_id


def open_reader(path: Path) -> sqlite3.Connection:
    conn = _connect(path)
    conn.execute("PRAGMA query_only=1")
    return conn


def _connect(path: Path) -> sqlite3.Connection:
    try:
        return sqlite3.connect(
            path, timeout=BUSY_TIMEOUT_S, isolation_level=None, check_same_thread=False
        )
    except sqlite3.Error as e:
        raise StoreError(f"cannot open the store {path}: {e}") from None


def _migrate(conn: sqlite3.Connection, path: Path) -> str:
    version = int(conn.execute("PRAGMA user_version").fetchone()[0])
    if version > SCHEMA_VERSION:  # a newer podsync got in between the check and the lock
        raise SchemaTooNew(f"the store {path} was written by a newer podsync (schema {version})")
    app_id = int(conn.execute("PRAGMA application_id").fetchone()[0])
    has_tables = conn.execute("SELECT count(*) FROM sqlite_master").fetchone()[0] > 0
    if (app_id not in (0, APPLICATION_ID)) or (version == 0 and has_tables):
        raise StoreError(f"{path} is an SQLite database but not a podsync store")
    for v in range(version, SCHEMA_VERSION):
        log.info("store %s: migrating schema %d -> %d", path, v, v + 1)
        for statement in MIGRATIONS[v]:
            conn.execute(statement)
    if version < SCHEMA_VERSION:
        conn.execute(f"PRAGMA user_version={SCHEMA_VERSION}")
        conn.execute(f"PRAGMA application_id={APPLICATION_ID}")
    row = conn.execute("SELECT value FROM meta WHERE key='storage_id'").fetchone()
    if row is not None:
        return str(row[0])
    storage_id = str(uuid.uuid4())
    conn.execute("INSERT INTO meta(key, value) VALUES ('storage_id', ?)", (storage_id,))
    return storage_id


def _fsync_dir(directory: Path) -> None:
    # A new file's directory entry is durable only once the directory is synced.
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
