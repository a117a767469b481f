"""Relays: members in different places sync through any unmodified automerge-repo
sync server, which holds only sealed, signed bundles (``protocol/relay.md``)."""
