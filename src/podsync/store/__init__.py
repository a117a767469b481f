"""podsync.store: the node's crash-safe store of automerge documents.

One SQLite file in WAL mode. Each document is a snapshot plus incremental change
chunks (one row per append, never one growing blob), each chunk with its SHA-256.
Incrementals are folded into a new snapshot, in one transaction, once they
outgrow the snapshot; a damaged document is never rewritten and its bytes are
never deleted.

Durability point: when ``DocumentStore.append_changes`` returns, or the awaitable
of ``append_changes_async`` resolves, the transaction holding the chunk has
committed with ``synchronous=FULL`` in WAL mode, i.e. fsync'd. Concurrent callers
share one transaction and one fsync (group commit).
"""

from podsync.store.compaction import COMPACT_MIN_INCREMENTAL_BYTES
from podsync.store.document_store import (
    UNKNOWN_KIND,
    DocumentInfo,
    DocumentStore,
    LoadedDocuments,
    Salvaged,
)
from podsync.store.schema import SCHEMA_VERSION

__all__ = [
    "COMPACT_MIN_INCREMENTAL_BYTES",
    "SCHEMA_VERSION",
    "UNKNOWN_KIND",
    "DocumentInfo",
    "DocumentStore",
    "LoadedDocuments",
    "Salvaged",
]
