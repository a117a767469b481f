"""The engine's loads are answered one per turn of the event loop, smallest first,
so that what one sent leaves before the next is loaded: a new member of a pod of
some years gets its small documents at once and each large one as it is ready.
A real Repo over a real store; the transport records what it was given."""

from __future__ import annotations

import asyncio
import os
from pathlib import Path

import automerge.core as am

from podsync.repo import Repo
from podsync.repo.values import put_value
from podsync.store import DocumentStore
from podsync.sync import Effect, Send
from podsync.sync.messages import Summary, WholeDoc, decode, encode
from tests.sync.helpers import open_acceptor


async def stored(path: Path, sizes: dict[str, int]) -> dict[str, str]:
    """A store holding a document of each size (bytes that do not compress)."""
    store = DocumentStore(path)
    repo = Repo(store, "me")
    ids = {name: await repo.create("test", lambda tx, n=n: put_value(tx, am.ROOT, "blob", os.urandom(n)))
           for name, n in sizes.items()}
    await repo.flush()
    store.close()
    return ids


async def test_a_lacking_peer_gets_each_document_as_it_is_loaded_smallest_first(tmp_path: Path) -> None:
    ids = await stored(tmp_path / "store.db", {"large": 900_000, "small": 1_000, "medium": 200_000})
    names = {doc_id: name for name, doc_id in ids.items()}
    store = DocumentStore(tmp_path / "store.db")
    try:
        repo = Repo(store, "me")
        happened: list[tuple[str, str]] = []
        real_load = store.load

        def load(doc_id: str) -> am.Document:
            happened.append(("load", names[doc_id]))
            return real_load(doc_id)

        def transport(effect: Effect) -> None:
            if isinstance(effect, Send):
                message = decode(effect.data)
                if isinstance(message, WholeDoc):
                    happened.append(("sent", names[message.document_id]))

        store.load = load  # type: ignore[method-assign]
        repo.transport = transport
        assert repo.held_ids() == set(ids.values())  # listed, none loaded
        repo.dispatch(open_acceptor(repo.engine, 1, "cli", extension=True))
        repo.dispatch(repo.engine.receive(1, encode(Summary("cli", "me", b"")), 0.0))
        assert happened == []  # nothing loaded inside the call that asked
        for _ in range(10):
            await asyncio.sleep(0)
        assert happened == [("load", "small"), ("sent", "small"), ("load", "medium"),
                            ("sent", "medium"), ("load", "large"), ("sent", "large")]
    finally:
        store.close()


async def test_a_load_a_member_needs_now_is_answered_at_once(tmp_path: Path) -> None:
    """A member's read does not wait its turn behind the peer's loads."""
    ids = await stored(tmp_path / "store.db", {"a": 1_000, "b": 1_000})
    store = DocumentStore(tmp_path / "store.db")
    try:
        repo = Repo(store, "me")
        assert repo.held_ids() == set(ids.values())  # listed, none loaded
        repo.dispatch(open_acceptor(repo.engine, 1, "cli", extension=True))
        repo.dispatch(repo.engine.receive(1, encode(Summary("cli", "me", b"")), 0.0))
        assert repo.get(ids["b"]).get(am.ROOT, "blob") is not None  # loaded now, for the read
        for _ in range(10):
            await asyncio.sleep(0)
        assert repo.engine.open(ids["a"]) is not None and repo.engine.open(ids["b"]) is not None
    finally:
        store.close()
