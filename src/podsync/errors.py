"""One error hierarchy for podsync.

Every error a member can meet derives from :class:`PodsyncError`. Its message is
written for the member (what went wrong, what to do) and its ``exit_code`` is the
CLI's exit status from CONTRACT.md: 1 the request cannot be done, 2 bad usage,
3 the node or the network needed for it is unreachable. The CLI prints the message
and exits with the code; the API turns it into a 4xx JSON answer.
"""

from __future__ import annotations


class PodsyncError(Exception):
    """Base of every podsync error; ``str(err)`` is the member-facing message."""

    exit_code: int = 1
    http_status: int = 400


class UsageError(PodsyncError):
    """The command or request was malformed (bad option, bad id, bad field)."""

    exit_code = 2
    http_status = 400


class UnreachableError(PodsyncError):
    """The running node, or the peer the request needs, could not be reached."""

    exit_code = 3
    http_status = 503


class NotFound(PodsyncError):
    """The thing asked for does not exist (or is not visible to the asker)."""

    http_status = 404


class InvalidId(UsageError, ValueError):
    """A document id, URL or other identifier failed strict parsing."""


class HomeError(PodsyncError):
    """The node's home directory is missing, already initialised or unusable."""


class NotInitialised(HomeError):
    """The home holds no identity yet; ``podsync init`` creates one."""


class AlreadyInitialised(HomeError):
    """``podsync init`` was asked to run on a home that already has an identity."""


class StoreError(PodsyncError):
    """The document store cannot do what was asked."""


class SchemaTooNew(StoreError):
    """The database was written by a newer podsync; it is left untouched."""


class DamagedDocument(StoreError):
    """A document's stored bytes do not load; the bytes are kept, never deleted."""

    def __init__(self, doc_id: str, reason: str) -> None:
        super().__init__(f"document {doc_id} is damaged in the store: {reason}")
        self.doc_id = doc_id
        self.reason = reason


class ProtocolError(PodsyncError):
    """A peer sent something the automerge-repo protocol does not allow.

    Raised by the sync engine for one link; the link is closed with this message
    as the logged reason and every other link carries on.
    """


class UnreadableValue(PodsyncError):
    """A value in a document is beyond what the node reads (too deep, too many
    items); the record holding it is skipped, never half read."""


class InvalidInput(UsageError):
    """A field of a pod operation is missing, malformed or out of bounds."""


class TransitionRefused(PodsyncError):
    """The operation does not apply to the item in its current state.

    Raised before anything is written: the document is left exactly as it was.
    """

    http_status = 409


class NotPermitted(PodsyncError):
    """The practice does not let this member do this (e.g. only the decider decides)."""

    http_status = 403
