"""Open documents, lazy loading from the store, change events, finding by id.

:class:`Repo` is the member-facing grip on the node's documents. It owns the sync
engine (which holds the live ``automerge.core.Document`` objects) and the store,
and does the engine's storage and document effects itself; transport effects
(send, close, peer up/down) go to the ``transport`` callback the runtime sets.
"""

from podsync.repo.repo import KIND_KEY, ChangeEvent, Repo

__all__ = ["KIND_KEY", "ChangeEvent", "Repo"]
