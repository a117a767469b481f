"""Feedback pathways end to end across three real nodes: giver, steward, leader.

The raw thread lives only on the giver's and the steward's nodes; the leader's node
never stores it, never receives it, and cannot fetch it by id. Only what the giver
consented to travels: a clarified statement to the leader, or a need on the board.
"""

from __future__ import annotations

import asyncio
import sqlite3
from pathlib import Path

import pytest
import automerge.core as am
from automerge.core import ROOT

from podsync.errors import NotFound, NotPermitted, TransitionRefused, UnreachableError
from podsync.records.format import Record, parse
from podsync.repo.values import to_python
from tests.node.conftest import NodeFactory
from tests.practices.helpers import by_id, call, holds_collections, steward_by_consent, until

RAW = "You steamrolled the garden meeting and I felt small"
CLARIFIED = "In the garden meeting, proposals were closed before everyone had spoken."
RAW_VOID = "Nobody ever restocks the first-aid kit and it makes me furious"


async def test_a_thread_never_reaches_the_leader_and_only_consented_words_travel(
        nodes: NodeFactory) -> None:
    steward = await nodes.start("sam")
    leader = await nodes.start("lee", peers=[steward.listen_addresses[0]])
    # The giver links to the leader directly too: if the engine ever sent the
    # thread to a non-reader, this link is where it would go.
    giver = await nodes.start("gil", peers=[steward.listen_addresses[0],
                                            leader.listen_addresses[0]])
    for node in (steward, leader, giver):
        await holds_collections(node)
    await until(giver, "members.list", lambda ms: len(ms) == 3)
    lee = leader.config.member_id
    seen_by_leader: set[str] = set()
    leader.repo.listeners.append(lambda event: seen_by_leader.add(event.doc_id))

    await steward_by_consent(giver, leader, steward)
    thread_id = (await call(giver, "feedback.give", leader=lee, text=RAW))["thread_id"]

    thread = await until(steward, "feedback.threads", lambda ts: by_id(ts, thread_id, "thread_id"))
    assert by_id(thread, thread_id, "thread_id")["messages"][0]["text"] == RAW
    await call(steward, "feedback.reply", thread_id=thread_id, text="Which meeting, and what happened?")
    await until(giver, "feedback.thread", lambda t: len(t["messages"]) == 2, thread_id=thread_id)
    with pytest.raises(NotFound):  # the leader's node does not even know the thread
        await call(leader, "feedback.propose_route", thread_id=thread_id, route="leader",
                   statement=CLARIFIED)
    proposal = (await call(steward, "feedback.propose_route", thread_id=thread_id, route="leader",
                           statement=CLARIFIED))["proposal_id"]
    await until(giver, "feedback.thread", lambda t: t["proposals"], thread_id=thread_id)
    with pytest.raises(TransitionRefused):
        await call(steward, "feedback.route", thread_id=thread_id, proposal_id=proposal)
    await call(giver, "feedback.consent", thread_id=thread_id, proposal_id=proposal, consent=True)
    await until(steward, "feedback.thread", lambda t: t["proposals"][0]["consent"] is True,
                thread_id=thread_id)
    routed = await call(steward, "feedback.route", thread_id=thread_id, proposal_id=proposal)
    statement_id = routed["target_doc"]
    assert routed["route"] == "leader" and statement_id

    received = await until(leader, "feedback.received",
                           lambda ss: by_id(ss, statement_id, "statement_id"))
    delivered = by_id(received, statement_id, "statement_id")
    assert delivered["statement"] == CLARIFIED and delivered["leader"] == lee
    assert RAW not in repr(to_python(leader.repo.get(statement_id), ROOT))
    assert delivered["giver"] is None  # the giver did not choose that their name travels
    await call(leader, "feedback.respond", statement_id=statement_id, text="Thank you; I will pause.")
    await until(steward, "feedback.statement", lambda s: [r["text"] for r in s["responses"]]
                == ["Thank you; I will pause."], statement_id=statement_id)
    # Unnamed, the giver is no reader of the statement: the stewards pass the answer on.
    with pytest.raises(NotFound):
        await call(giver, "feedback.statement", statement_id=statement_id)

    # The leader's node never held, received or could fetch the thread.
    assert not leader.store.has(thread_id)
    assert thread_id not in seen_by_leader
    with pytest.raises(NotFound):
        await call(leader, "feedback.thread", thread_id=thread_id)
    with pytest.raises((NotFound, UnreachableError)) as asked:
        await leader.repo.find(thread_id, timeout=5)
    assert isinstance(asked.value, NotFound), "every peer must answer doc-unavailable"
    assert not leader.store.has(thread_id)
    assert await call(leader, "feedback.threads") == []
    assert all(RAW not in repr(to_python(leader.repo.get(d), ROOT))
               for d in leader.repo.document_ids())


async def test_feedback_routed_to_a_void_becomes_a_need_on_every_board(nodes: NodeFactory) -> None:
    steward = await nodes.start("sam")
    leader = await nodes.start("lee", peers=[steward.listen_addresses[0]])
    giver = await nodes.start("gil", peers=[steward.listen_addresses[0],
                                            leader.listen_addresses[0]])
    for node in (steward, leader, giver):
        await holds_collections(node)
    await until(giver, "members.list", lambda ms: len(ms) == 3)
    lee = leader.config.member_id
    await steward_by_consent(leader, leader, steward, giver)
    thread_id = (await call(giver, "feedback.give", leader=lee, text=RAW_VOID))["thread_id"]
    await until(steward, "feedback.threads", lambda ts: by_id(ts, thread_id, "thread_id"))
    proposal = (await call(steward, "feedback.propose_route", thread_id=thread_id, route="void",
                           title="Restock the first-aid kit",
                           statement="No one holds restocking the first-aid kit."))["proposal_id"]
    await until(giver, "feedback.thread", lambda t: t["proposals"], thread_id=thread_id)
    await call(giver, "feedback.consent", thread_id=thread_id, proposal_id=proposal, consent=True)
    with pytest.raises(NotPermitted):  # a steward carries it out
        await call(giver, "feedback.route", thread_id=thread_id, proposal_id=proposal)
    await until(steward, "feedback.thread", lambda t: t["proposals"][0]["consent"] is True,
                thread_id=thread_id)
    routed = await call(steward, "feedback.route", thread_id=thread_id, proposal_id=proposal)
    need_id = routed["target_item"]
    assert routed["route"] == "void" and need_id

    for node in (giver, steward, leader):
        board = await until(node, "need.list", lambda ns: by_id(ns, need_id))
        need = by_id(board, need_id)
        assert need["title"] == "Restock the first-aid kit" and need["sensing"] == "void"
        assert need["detail"] == "No one holds restocking the first-aid kit."
        assert RAW_VOID not in repr(need)
    await until(steward, "feedback.thread", lambda t: t["state"] == "routed", thread_id=thread_id)
    with pytest.raises(TransitionRefused):
        await call(steward, "feedback.route", thread_id=thread_id, proposal_id=proposal)
    await asyncio.sleep(0.5)  # give a leak every chance to arrive before looking
    assert not leader.store.has(thread_id)


GIVER = "gwendolyn_quill"  # a name no random bytes will spell by chance


def _bytes_about(store_path: Path, doc_ids: list[str], pod_id: str) -> list[bytes]:
    """Every byte the store at ``store_path`` holds of ``doc_ids`` (stored chunks, each
    change uncompressed, each record), and of the pod document's feedback records."""
    out: list[bytes] = []
    with sqlite3.connect(f"file:{store_path}?mode=ro", uri=True) as conn:
        for doc_id in doc_ids:
            chunks = [row[0] for row in conn.execute(
                "SELECT bytes FROM chunks WHERE doc_id = ? ORDER BY id", (doc_id,))]
            out += chunks
            doc = am.Document.load(b"".join(chunks))
            out += [c.raw_bytes + c.actor_id for c in doc.get_changes([])]
            out += [row[0] for row in conn.execute(
                "SELECT sealed FROM records WHERE doc_id = ?", (doc_id,))]
        for rid, sealed in conn.execute("SELECT record_id, sealed FROM records WHERE doc_id = ?",
                                        (pod_id,)):
            record = parse(rid, sealed)
            if isinstance(record, Record) and record.type.startswith("feedback."):
                out.append(sealed)
    return out


async def test_the_givers_name_reaches_the_leaders_node_only_if_they_choose(
        nodes: NodeFactory) -> None:
    steward = await nodes.start("sam")
    leader = await nodes.start("lee", peers=[steward.listen_addresses[0]])
    giver = await nodes.start(GIVER, peers=[steward.listen_addresses[0],
                                            leader.listen_addresses[0]])
    for node in (steward, leader, giver):
        await holds_collections(node)
    await until(giver, "members.list", lambda ms: len(ms) == 3)
    lee, gil = leader.config.member_id, giver.config.member_id
    await steward_by_consent(steward, leader, steward, giver)
    secrets = [gil.encode(), GIVER.capitalize().encode(), giver.identity.device_id.encode()]

    async def routed(named: bool, words: str) -> str:
        thread = (await call(giver, "feedback.give", leader=lee, text=RAW))["thread_id"]
        await until(steward, "feedback.thread", lambda t: t, thread_id=thread)
        proposal = (await call(steward, "feedback.propose_route", thread_id=thread,
                               route="leader", statement=words))["proposal_id"]
        await until(giver, "feedback.thread", lambda t: t["proposals"], thread_id=thread)
        await call(giver, "feedback.consent", thread_id=thread, proposal_id=proposal,
                   consent=True, named=named)
        await until(steward, "feedback.thread", lambda t: t["proposals"][0]["consent"],
                    thread_id=thread)
        statement = (await call(steward, "feedback.route", thread_id=thread,
                                proposal_id=proposal))["target_doc"]
        await until(leader, "feedback.received", lambda ss: by_id(ss, statement, "statement_id"))
        await until(leader, "feedback.summary", lambda s: s["total"] == (2 if named else 1))
        return statement

    unnamed = await routed(False, CLARIFIED)
    assert (await call(leader, "feedback.statement", statement_id=unnamed))["giver"] is None
    await asyncio.sleep(0.5)  # give a leak every chance to arrive before looking
    others = [d for d in leader.repo.document_ids() if d != leader.config.pod_id]
    assert unnamed in others
    held = _bytes_about(leader.home.db_path, others, leader.config.pod_id)
    assert held and not [s for s in secrets for b in held if s in b]

    # The same look finds the giver when they chose that their name travels.
    named = await routed(True, "In the garden meeting, please let everyone speak first.")
    assert (await call(leader, "feedback.statement", statement_id=named))["giver"] == gil
    assert any(gil.encode() in b for b in _bytes_about(leader.home.db_path, [named],
                                                        leader.config.pod_id))
    assert not [s for s in secrets for b in _bytes_about(
        leader.home.db_path, [unnamed], leader.config.pod_id) if s in b and b]
