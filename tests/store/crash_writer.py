"""Child process for the SIGKILL test: commits changes until it is killed.

Usage: crash_writer.py DB RUN DOC_ID[,DOC_ID...] THREADS

Several threads share each document (as a node's sync and local edits do).
Each thread makes a change under its document's lock, submits it there (so
changes reach the store in causal order) and waits for durability outside the
lock; only then does it print ``doc_id key value change_hash_hex`` and flush.
Every printed line is therefore a promise the store must keep after a crash.
Now and then a thread pauses, so the writer also goes idle and compacts.
"""

from __future__ import annotations

import random
import sys
import threading

import automerge.core as am

from podsync.store import DocumentStore

# Every so many changes a thread pauses for PAUSE_S, long enough for the
# writer to count as idle and run deferred compactions.
PAUSE_EVERY = 300
PAUSE_S = 0.08


def main() -> None:
    path, run, doc_ids, threads = (
        sys.argv[1],
        int(sys.argv[2]),
        sys.argv[3].split(","),
        int(sys.argv[4]),
    )
    store = DocumentStore(path)
    docs: dict[str, tuple[am.Document, threading.Lock]] = {}
    for doc_id in doc_ids:
        if store.has(doc_id):
            doc = store.load(doc_id)
        else:
            doc = am.Document()
            with doc.transaction() as tx:
                tx.put(am.ROOT, "created_by_run", am.ScalarType.Int, run)
            store.create_document(doc_id, "crash-test", doc)
        docs[doc_id] = (doc, threading.Lock())
    out = threading.Lock()

    def write(t: int) -> None:
        doc_id = doc_ids[t % len(doc_ids)]
        doc, lock = docs[doc_id]
        key = f"r{run}t{t}"
        rng = random.Random(t)
        for n in range(1, 1_000_000_000):
            with lock:
                with doc.transaction() as tx:
                    tx.put(am.ROOT, key, am.ScalarType.Int, n)
                    if rng.random() < 0.05:  # now and then a bigger change
                        tx.put(am.ROOT, f"{key}-blob", am.ScalarType.Str, "x" * rng.randrange(2000))
                change = doc.get_last_local_change()
                assert change is not None
                durable = store.submit_changes(doc_id, [change.bytes], doc.get_heads())
            durable.result()
            with out:
                sys.stdout.write(f"{doc_id} {key} {n} {change.hash.hex()}\n")
                sys.stdout.flush()
            if n % PAUSE_EVERY == 0:
                threading.Event().wait(PAUSE_S)

    workers = [threading.Thread(target=write, args=(t,), daemon=True) for t in range(threads)]
    for w in workers:
        w.start()
    sys.stdout.write("ready\n")
    sys.stdout.flush()
    for w in workers:
        w.join()


if __name__ == "__main__":
    main()
