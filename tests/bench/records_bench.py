"""Verifying a pod's signed records: cold, and one more record after that.

A pod with 10,000 signed records (ten members' devices, each writing a chain of
records into the needs board) is read from cold by a fresh node: every record
parsed, every signature established (chains vouch for their earlier records,
the rest checked on a small thread pool), and the roster replayed. Then one new
record arrives. Prints a table; asserts nothing about time.

    python tests/bench/records_bench.py [--records 10000]
"""

from __future__ import annotations

import argparse
import datetime as dt
import platform
import statistics
import time

import automerge.core as am

from podsync.records.book import RecordBook, records_object
from podsync.records.format import Draft, build_payload, parse, record_id, seal
from podsync.records.verify import Signer, Verifier
from podsync.trust.identity import device_id_from_cert_der, new_device_key
from podsync.trust.ledger import new_document

T0 = dt.datetime(2026, 3, 1, 9, 0, tzinfo=dt.timezone.utc)


def build(n: int, devices: int = 10):
    signers = []
    for _ in range(devices):
        key, cert = new_device_key()
        signers.append((Signer(key, device_id_from_cert_der(cert)), cert))
    prev: dict[str, str | None] = {s.device_id: None for s, _ in signers}
    records = []
    for i in range(n):
        signer, _ = signers[i % devices]
        payload = build_payload(Draft("note", {"text": f"record {i}"}, item="a" * 32),
                                pod="P", scope="D", by=signer.device_id,
                                at=T0 + dt.timedelta(seconds=i), prev=prev[signer.device_id])
        rid = record_id(payload)
        records.append(parse(rid, seal(payload, signer.sign(payload))))
        prev[signer.device_id] = rid
    return signers, records


def cold(records, certs) -> float:
    doc = new_document(records)
    start = time.perf_counter()
    verifier = Verifier()
    for cert in certs:
        verifier.learn(cert)
    book = RecordBook(None, verifier)
    got = book.ingest("D", doc)
    elapsed = time.perf_counter() - start
    assert len(got.added) == len(records)
    assert all(book.known("D").signed[r.id] for r in records)
    return elapsed


def one_more(records, signers, certs) -> float:
    doc = new_document(records)
    verifier = Verifier()
    for cert in certs:
        verifier.learn(cert)
    book = RecordBook(None, verifier)
    book.ingest("D", doc)
    signer = signers[0][0]
    payload = build_payload(Draft("note", {"text": "one more"}, item="a" * 32), pod="P",
                            scope="D", by=signer.device_id, at=T0, prev=None)
    record = parse(record_id(payload), seal(payload, signer.sign(payload)))
    with doc.transaction() as tx:
        tx.put(records_object(tx), record.id, am.ScalarType.Bytes, record.sealed)
    start = time.perf_counter()
    got = book.ingest("D", doc)
    elapsed = time.perf_counter() - start
    assert [r.id for r in got.added] == [record.id]
    return elapsed


def each_alone(records, certs) -> float:
    verifier = Verifier()
    for cert in certs:
        verifier.learn(cert)
    start = time.perf_counter()
    for r in records:
        verifier._one(r)
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--records", type=int, default=10_000)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    signers, records = build(args.records)
    certs = [c for _, c in signers]
    cold_s = statistics.median(cold(records, certs) for _ in range(args.runs))
    more_s = statistics.median(one_more(records, signers, certs) for _ in range(args.runs))
    alone_s = each_alone(records, certs)
    print(f"podsync records bench, {dt.date.today()}, {platform.machine()}, "
          f"Python {platform.python_version()}")
    print(f"| measure | result | target |")
    print(f"|---|---:|---|")
    print(f"| cold: read and verify {args.records:,} signed records | {cold_s:.3f} s | <= 0.5 s |")
    print(f"| one more record after that | {more_s * 1000:.2f} ms | O(1) |")
    print(f"| (for comparison) every signature checked alone, one thread | {alone_s:.3f} s | |")


if __name__ == "__main__":
    main()
