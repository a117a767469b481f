"""Group commit: one thread owns the write connection and batches callers.

Callers submit a job (a function of the connection) and get a
``concurrent.futures.Future``. The writer thread takes every job queued so far,
runs them in ONE transaction (each inside its own savepoint, so a failing job
fails alone), commits, and only then resolves the futures. With
``synchronous=FULL`` in WAL mode the commit is one fsync of the log, so N
concurrent callers pay for one fsync instead of N.

Maintenance work (compaction) runs on the same thread, one job at a time and
only after a batch's futures are resolved, so it never delays a durability
signal already due. The owner decides what may run right after a batch (work
that is overdue) and what waits until the queue has been idle for
``IDLE_MAINTENANCE_DELAY_S``.
"""

from __future__ import annotations

import logging
import queue
import sqlite3
import threading
from collections.abc import Callable
from concurrent.futures import Future
from typing import Any, Generic, Protocol, TypeVar

import msgspec

from podsync.errors import StoreError

log = logging.getLogger(__name__)

T = TypeVar("T")
Job = Callable[[sqlite3.Connection], T]

# Bounds one transaction so a flood of callers still sees commits (and their
# futures resolved) every few milliseconds rather than after one huge batch.
MAX_BATCH_JOBS = 512
# Idle this long before deferrable maintenance runs: a burst of edits (typing,
# a sync session) finishes first, so its document is rewritten once, not per change.
IDLE_MAINTENANCE_DELAY_S = 0.05


class Maintenance(Protocol):
    """The owner's maintenance work; called on the writer thread only."""

    def pending(self) -> bool: ...

    def next_job(self, idle: bool) -> Job[Any] | None:
        """The next job to run now: any pending one if ``idle``, else only overdue ones."""
        ...

    def after_batch(self, committed: bool) -> None: ...


class _Pending(msgspec.Struct, Generic[T], frozen=True):
    job: Job[T]
    future: Future[T]


_STOP = object()


class GroupCommitWriter:
    """Runs write jobs on one connection, many jobs per committed transaction."""

    def __init__(
        self,
        conn: sqlite3.Connection,
        maintenance: Maintenance,
        name: str = "podsync-store-writer",
    ) -> None:
        self._conn = conn
        self._maintenance = maintenance
        self._queue: queue.SimpleQueue[Any] = queue.SimpleQueue()
        self._lock = threading.Lock()
        self._closed = False
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)
        self._thread.start()

    def submit(self, job: Job[T]) -> Future[T]:
        future: Future[T] = Future()
        with self._lock:
            if self._closed:
                raise StoreError("the document store is closed")
            self._queue.put(_Pending(job, future))
        return future

    def on_writer_thread(self) -> bool:
        return threading.current_thread() is self._thread

    def close(self) -> None:
        """Commit everything already submitted, stop the thread, close the connection."""
        with self._lock:
            if self._closed:
                return
            self._closed = True
            self._queue.put(_STOP)
        self._thread.join()

    def _run(self) -> None:
        try:
            self._loop()
        except BaseException:
            log.exception("the store's writer stopped")
            self._fail_queued()
        finally:
            self._conn.close()

    def _fail_queued(self) -> None:
        # No caller may wait forever on a writer that is gone.
        with self._lock:
            self._closed = True
        while True:
            try:
                item = self._queue.get_nowait()
            except queue.Empty:
                return
            if item is not _STOP and item.future.set_running_or_notify_cancel():
                item.future.set_exception(StoreError("the store's writer stopped; see the log"))

    def _loop(self) -> None:
        while True:
            timeout = IDLE_MAINTENANCE_DELAY_S if self._maintenance.pending() else None
            try:
                first = self._queue.get(timeout=timeout)
            except queue.Empty:
                self._maintain(idle=True)
                continue
            batch: list[_Pending[Any]] = []
            stop = False
            item = first
            while True:
                if item is _STOP:
                    stop = True
                    break
                batch.append(item)
                if len(batch) >= MAX_BATCH_JOBS:
                    break
                try:
                    item = self._queue.get_nowait()
                except queue.Empty:
                    break
            if batch:
                self._commit_batch(batch)
                # At most one job per batch: overdue work moves under steady load
                # without starving the callers.
                self._maintain(idle=False)
            if stop:
                return

    def _maintain(self, idle: bool) -> None:
        job = self._maintenance.next_job(idle)
        if job is None:
            return
        try:
            [(ok, value)] = self._transaction([job])
        except Exception:
            log.exception("store maintenance could not commit")
            return
        if not ok:
            log.error("store maintenance failed: %s", value, exc_info=value)

    def _commit_batch(self, batch: list[_Pending[Any]]) -> None:
        live = [p for p in batch if p.future.set_running_or_notify_cancel()]
        committed = False
        try:
            outcomes = self._transaction([p.job for p in live])
            committed = True
        except Exception as e:
            error = (
                e if isinstance(e, StoreError) else StoreError(f"the store could not commit: {e}")
            )
            for p in live:
                p.future.set_exception(error)
        else:
            for p, (ok, value) in zip(live, outcomes, strict=True):
                if ok:
                    p.future.set_result(value)
                else:
                    p.future.set_exception(value)
        self._maintenance.after_batch(committed)

    def _transaction(self, jobs: list[Job[Any]]) -> list[tuple[bool, Any]]:
        """Run ``jobs`` in one transaction; return (ok, result-or-exception) per job."""
        conn = self._conn
        outcomes: list[tuple[bool, Any]] = []
        conn.execute("BEGIN IMMEDIATE")
        try:
            for job in jobs:
                conn.execute("SAVEPOINT job")
                try:
                    outcomes.append((True, job(conn)))
                except Exception as e:
                    conn.execute("ROLLBACK TO job")
                    outcomes.append((False, e))
                finally:
                    conn.execute("RELEASE job")
            conn.execute("COMMIT")
        except BaseException:
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            raise
        return outcomes
