"""Each effect and each listener runs on its own; the timers survive anything.

A listener or transport that raises stands for a bug in one of them; the
failure is injected into a real Repo over a real store (nothing else is faked).
"""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path

import automerge.core as am
import pytest

from podsync.repo import ChangeEvent, Repo
from podsync.repo.repo import TICK_SECONDS
from podsync.repo.values import put_value
from podsync.store import DocumentStore
from podsync.sync import Effect, Send
from podsync.sync.messages import Request, encode
from tests.sync.helpers import open_acceptor

EMPTY = am.Document().generate_sync_message(am.SyncState()).encode()


@pytest.fixture
async def repo(tmp_path: Path):  # type: ignore[no-untyped-def]
    store = DocumentStore(tmp_path / "store.db")
    yield Repo(store, "me")
    store.close()


async def test_a_failing_listener_does_not_silence_the_others(repo: Repo, caplog: pytest.LogCaptureFixture) -> None:
    heard: list[ChangeEvent] = []

    def broken(event: ChangeEvent) -> None:
        raise TypeError("a bug in one listener")

    repo.listeners[:] = [broken, heard.append]
    queue = repo.subscribe()
    doc_id = await repo.create("test", lambda tx: put_value(tx, am.ROOT, "n", 1))
    assert [e.doc_id for e in heard] == [doc_id]
    assert (await asyncio.wait_for(queue.get(), 1)).doc_id == doc_id
    [record] = [r for r in caplog.records if r.levelno == logging.ERROR]
    assert doc_id in record.getMessage() and "listener" in record.getMessage()


async def test_a_failing_effect_does_not_stop_the_rest(repo: Repo, caplog: pytest.LogCaptureFixture) -> None:
    doc_id = await repo.create("test", lambda tx: put_value(tx, am.ROOT, "n", 1))
    carried: list[Effect] = []

    def transport(effect: Effect) -> None:
        if isinstance(effect, Send) and not carried:
            carried.append(effect)
            raise RuntimeError("a bug in the transport")
        carried.append(effect)

    repo.transport = transport
    open_acceptor(repo.engine, 1, "a")
    open_acceptor(repo.engine, 2, "b")
    heard = repo.subscribe()
    for conn, peer in ((1, "a"), (2, "b")):
        repo.dispatch(repo.engine.receive(conn, encode(Request(peer, "me", doc_id, EMPTY)), 0.0))
    await repo.change(doc_id, lambda tx: put_value(tx, am.ROOT, "n", 2))
    await repo.flush()
    # The first Send failed; the replies and pushes after it were still carried out.
    sends = [e for e in carried if isinstance(e, Send)]
    assert len(sends) >= 3 and {e.conn for e in sends[1:]} == {1, 2}
    assert (await asyncio.wait_for(heard.get(), 1)).doc_id == doc_id
    failed = [r.getMessage() for r in caplog.records if r.levelno == logging.ERROR]
    assert failed == [f"carrying out Send failed (document -, link {sends[0].conn})"]


async def test_the_timers_survive_a_failing_tick(repo: Repo, caplog: pytest.LogCaptureFixture) -> None:
    ticks: list[float] = []
    real_tick = repo.engine.tick

    def tick(now: float) -> list[Effect]:
        ticks.append(now)
        if len(ticks) == 1:
            raise RuntimeError("a bug in one tick")
        return real_tick(now)

    repo.engine.tick = tick  # type: ignore[method-assign]
    timers = asyncio.ensure_future(repo.run_timers())
    try:
        await asyncio.sleep(TICK_SECONDS * 4)
        assert not timers.done()  # still running after the failure
    finally:
        timers.cancel()
    assert len(ticks) >= 3
    assert any("timers failed" in r.getMessage() for r in caplog.records)
