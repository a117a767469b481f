"""Every view of the pod is total: whatever signed records a member's node writes.

A member's modified node can sign any record in its own name: any type, any
body, about any item, following any records. Seeded Hypothesis examples write
such records (types and keys drawn from the words podsync's practices use, and
arbitrary values, nested and oversized) into the pod document and every
collection of a real home, through the real ledger, then call every read-only
operation the API offers. None may fail: a view skips what it cannot read.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import re
import shutil
import tempfile
from pathlib import Path
from typing import Any

import msgspec
import pytest
from hypothesis import HealthCheck, given, seed, settings
from hypothesis import strategies as st

from podsync.api import ops
from podsync.api.context import offline_context
from podsync.cli.init import initialise
from podsync.errors import PodsyncError
from podsync.home import Home
from podsync.records.format import MAX_BODY_DEPTH, Draft

SOURCES = Path(__file__).resolve().parents[2] / "src" / "podsync" / "pod"
#: Every quoted word the practices use: record types, body keys, states, choices.
WORDS = sorted({w for f in SOURCES.glob("*.py")
                for w in re.findall(r'"([a-z_]+(?:\.[a-z_]+)?)"', f.read_text())})
#: Record types that create an item, per kind of document (what views start from).
CREATES = {"needs": ["add"], "agreements": ["propose"], "decisions": ["open"],
           "capacity": ["checkin", "ask", "allies"], "team-items": ["add"],
           "pod": ["team.create", "steward.propose", "pod.setting", "doc.share"]}
#: Body fields the practices read, drawn far more often than other words.
FIELDS = ["title", "detail", "sensing", "what", "parties", "anchors", "review_on", "proposal",
          "deadline", "level", "note", "text", "member", "need", "question", "leader", "readers",
          "team", "name", "value", "route", "statement", "stance", "reason", "outcome",
          "every_days", "with", "origin", "version", "parts", "public", "choice", "keep", "state",
          "advice", "integrated", "why", "ref", "invite", "target"]
#: Read-only operations: everything a member's page and commands list or show.
READ_SUFFIXES = ("list", "items", "threads", "received", "summary", "export", "awaiting",
                 "due", "settings", "stewards")


def scalars() -> st.SearchStrategy[Any]:
    return st.one_of(st.none(), st.booleans(), st.integers(-2**63, 2**64 - 1),
                     st.sampled_from(WORDS), st.text(max_size=40),
                     st.sampled_from(["x" * 25_000, "\u00e9\n" * 10_000, "\x00" * 500]),
                     st.binary(max_size=40),
                     st.datetimes(timezones=st.just(dt.timezone.utc)).map(lambda d: d.isoformat()))


def keys() -> st.SearchStrategy[str]:
    return st.one_of(st.sampled_from(FIELDS), st.sampled_from(FIELDS), st.sampled_from(WORDS))


def values() -> st.SearchStrategy[Any]:
    return st.recursive(scalars(), lambda inner: st.one_of(
        st.lists(inner, max_size=4),
        st.dictionaries(keys(), inner, max_size=5)), max_leaves=12)


def bodies() -> st.SearchStrategy[dict[str, Any]]:
    return st.dictionaries(keys(), values(), max_size=10)


def read_ops() -> list[str]:
    names = []
    for name, op in sorted(ops.all_ops().items()):
        required = [f for f in msgspec.structs.fields(op.args) if f.required]
        if not required and name.rsplit(".", 1)[-1].startswith(READ_SUFFIXES):
            names.append(name)
    return names


@pytest.fixture(scope="module")
def founded(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("views") / "ada"
    initialise(Home(root), "Ada", "Fuzzed pod")
    return root


def test_the_read_operations_are_found() -> None:
    found = read_ops()
    assert {"need.list", "agreement.list", "decision.list", "pod.export"} <= set(found)


@seed(20261129)
@settings(max_examples=80, deadline=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture,
                                 HealthCheck.data_too_large])
@given(data=st.data())
def test_every_view_takes_any_signed_record(founded: Path, tmp_path: Path,
                                            data: st.DataObject) -> None:
    home = Home(Path(tempfile.mkdtemp(dir=tmp_path)) / "home")
    shutil.copytree(founded, home.root)
    asyncio.run(_write_and_read(home, data))


async def _write_and_read(home: Home, data: st.DataObject) -> None:
    async with offline_context(home) as ctx:
        docs = {"pod": ctx.pod_id, **ctx.ledger.collections()}
        # One document per example: its items get created and acted on many times.
        kind_of_doc = data.draw(st.sampled_from(sorted(docs)), label="document")
        doc_id = docs[kind_of_doc]
        written: list[str] = []
        for _ in range(data.draw(st.integers(1, 15), label="records")):
            body = data.draw(bodies(), label="body")
            if not written or data.draw(st.booleans(), label="creates"):
                # Something that creates an item (or a record with no item at all).
                kind = data.draw(st.sampled_from(CREATES[kind_of_doc]), label="type")
                item = None
            else:  # about an item: one written before, or one that does not exist
                kind = data.draw(st.sampled_from(WORDS), label="type")
                item = data.draw(st.one_of(st.sampled_from(written), st.text(max_size=40)),
                                 label="item")
            draft = Draft(kind, body, item,
                          tuple(data.draw(st.lists(st.sampled_from(written or ["x"]),
                                                   max_size=3), label="after")))
            if _depth(body) > MAX_BODY_DEPTH:
                continue  # a body podsync itself refuses to read: not a view's concern
            at = ctx.now() + dt.timedelta(seconds=len(written))
            try:
                record = ctx.ledger.sign(doc_id, draft, at)
            except PodsyncError:
                continue  # over the record size podsync reads: it would only be counted

            await ctx.ledger.store_records(doc_id, [record])
            written.append(record.id)
        for name in read_ops():
            for args in ({}, {"format": "markdown"}) if name == "pod.export" else ({},):
                await ops.run(ctx, name, args)  # must not raise


def _depth(value: Any, level: int = 0) -> int:
    if isinstance(value, dict):
        return max((_depth(v, level + 1) for v in value.values()), default=level + 1)
    if isinstance(value, list):
        return max((_depth(v, level + 1) for v in value), default=level + 1)
    return level

