"""podsync: local-first sync for pods, on the automerge-repo protocol."""

__version__ = "0.1.0"
