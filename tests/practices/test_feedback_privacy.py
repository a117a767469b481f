"""Feedback pathways end to end across three real nodes: giver, steward, leader.

The raw thread lives only on the giver's and the steward's nodes; the leader's node
never stores it, never receives it, and cannot fetch it by id. Only what the giver
consented to travels: a clarified statement to the leader, or a need on the board.
"""

from __future__ import annotations

import asyncio

import pytest
from automerge.core import ROOT

from podsync.errors import NotFound, NotPermitted, TransitionRefused, UnreachableError
from podsync.repo.values import to_python
from tests.node.conftest import NodeFactory
from tests.practices.helpers import by_id, call, holds_collections, until

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
    lee, sam = leader.config.member_id, steward.config.member_id
    seen_by_leader: set[str] = set()
    leader.repo.listeners.append(lambda event: seen_by_leader.add(event.doc_id))

    assert await call(steward, "feedback.stewards_set", leader=lee, add=[sam]) == [sam]
    await until(giver, "feedback.stewards", lambda s: s == [sam], leader=lee)
    thread_id = (await call(giver, "feedback.give", leader=lee, text=RAW))["thread_id"]

    thread = await until(steward, "feedback.threads", lambda ts: by_id(ts, thread_id, "thread_id"))
    assert by_id(thread, thread_id, "thread_id")["messages"][0]["text"] == RAW
    await call(steward, "feedback.reply", thread_id=thread_id, text="Which meeting, and what happened?")
    await until(giver, "feedback.thread", lambda t: len(t["messages"]) == 2, thread_id=thread_id)
    with pytest.raises(NotPermitted):
        await call(giver, "feedback.propose_route", thread_id=thread_id, route="leader",
                   statement=CLARIFIED)
    proposal = (await call(steward, "feedback.propose_route", thread_id=thread_id, route="leader",
                           statement=CLARIFIED))["proposal_id"]
    await until(giver, "feedback.thread", lambda t: t["proposals"], thread_id=thread_id)
    with pytest.raises(TransitionRefused):
        await call(giver, "feedback.route", thread_id=thread_id, proposal_id=proposal)
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
    await call(leader, "feedback.respond", statement_id=statement_id, text="Thank you; I will pause.")
    await until(giver, "feedback.statement", lambda s: [r["text"] for r in s["responses"]]
                == ["Thank you; I will pause."], statement_id=statement_id)

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
    lee, sam = leader.config.member_id, steward.config.member_id
    await call(leader, "feedback.stewards_set", leader=lee, add=[sam])
    await until(giver, "feedback.stewards", lambda s: s == [sam], leader=lee)
    thread_id = (await call(giver, "feedback.give", leader=lee, text=RAW_VOID))["thread_id"]
    await until(steward, "feedback.threads", lambda ts: by_id(ts, thread_id, "thread_id"))
    proposal = (await call(steward, "feedback.propose_route", thread_id=thread_id, route="void",
                           title="Restock the first-aid kit",
                           statement="No one holds restocking the first-aid kit."))["proposal_id"]
    await until(giver, "feedback.thread", lambda t: t["proposals"], thread_id=thread_id)
    await call(giver, "feedback.consent", thread_id=thread_id, proposal_id=proposal, consent=True)
    routed = await call(giver, "feedback.route", thread_id=thread_id, proposal_id=proposal)
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
