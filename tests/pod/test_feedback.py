"""Feedback pathways: private threads whose readers only their creation record
says, clarified together, routed by a steward with the giver's consent (their name
travelling only if they choose), one outcome; signed records that break the rules
change nothing."""

from __future__ import annotations

import datetime as dt

import automerge.core as am
import msgspec
import pytest

import podsync.pod.access  # noqa: F401 - registers the thread reader rule
from podsync.errors import InvalidInput, NotFound, NotPermitted, TransitionRefused
from podsync.ids import new_document_id
from podsync.pod import feedback as f
from podsync.pod import needs as n
from podsync.pod import statements as st
from podsync.pod import stewards
from podsync.pod.events import already_written
from podsync.records.format import Draft, Record, build_payload, derived_id
from podsync.trust.ledger import CREATE, NOBODY, POD, READERS_CHANGE, new_document, parse_own
from tests.pod.helpers import Pod, at, merged, refused

RAW = "Lee keeps cutting people off in meetings and it is infuriating"
CLEAR = "In meetings, people are often interrupted before finishing"
NAMES = ("ana", "gil", "lee", "sam", "tia", "zed")


def sign_creation(pod: Pod, draft: Draft, who: str, when: dt.datetime) -> Record:
    """``draft`` signed by ``who`` as a creation record: scope "", so its hash is
    the new document's id (``Pod.sign`` signs for an existing document)."""
    payload = build_payload(draft, pod=pod.pod_id, scope="", by=pod.signers[who].device_id,
                            at=when, prev=None)
    return parse_own(payload, pod.signers[who].sign(payload))


def create(pod: Pod, opening: f.Opening, who: str, when: dt.datetime) -> str:
    """Create the private document ``opening`` describes, as ``who``; its id."""
    record = sign_creation(pod, opening.draft(), who, when)
    doc_id = derived_id("doc", record.payload)
    pod.store(doc_id, record)
    return doc_id


def document(pod: Pod, doc_id: str, kind: str = f.THREAD_KIND):
    pod.ledger.document_changed(doc_id)
    return f.document_item(pod.ledger.counted(doc_id), doc_id, kind)


class Pathway:
    """A real pod where Gil gives Lee feedback, heard by Lee's stewards Sam and Tia."""

    def __init__(self, pod: Pod) -> None:
        self.pod, ids = pod, pod.id
        self.tid = create(pod, f.give_feedback(ids["gil"], ids["lee"], [ids["sam"], ids["tia"]],
                                               RAW), "gil", at(1))

    def item(self):
        return document(self.pod, self.tid)

    def thread(self) -> f.Thread:
        return f.thread(self.item())

    def do(self, who: str, op, *args, when=None, **kwargs) -> Record:
        return self.pod.do(self.tid, op(self.item(), self.pod.id[who], *args, **kwargs), who,
                           when or at(2))

    def sign(self, who: str, op: str, body: dict, when=None) -> Record:
        """A record ``who``'s own (perhaps modified) node signs, whatever the rules say."""
        item = self.item()
        after = tuple(e.id for e in item.events if e.op in ("answer", "route", "settle"))
        return self.pod.do(self.tid, Draft(op, body, item=item.id, after=after), who,
                           when or at(2))

    def consented(self, route: str = "void", when=None, **kw) -> str:
        kw.setdefault("statement", CLEAR)
        if route in ("team", "void"):
            kw.setdefault("title", "Interruptions in meetings")
        pid = self.do("sam", f.propose_route, route, when=when, **kw).id
        self.do("gil", f.answer_route, pid, True, "yes, that is it", when=when)
        return pid

    def fork(self) -> Pathway:
        other = Pathway.__new__(Pathway)
        other.__dict__.update(self.__dict__)
        other.pod = self.pod.fork()
        return other


@pytest.fixture
def way() -> Pathway:
    return Pathway(Pod(NAMES))


def test_thread_readers_are_giver_and_stewards_never_the_leader(way: Pathway) -> None:
    ids = way.pod.id
    assert way.pod.ledger.kind(way.tid) == f.THREAD_KIND
    assert way.pod.ledger.readers(way.tid) == {ids["gil"], ids["sam"], ids["tia"]}
    assert not way.pod.ledger.may_read(ids["lee"], way.tid)
    got = way.thread()
    assert (got.giver, got.leader, got.stewards, got.state) == \
        (ids["gil"], ids["lee"], [ids["sam"], ids["tia"]], "open")
    assert [(m.by, m.text) for m in got.messages] == [(ids["gil"], RAW)]


def test_opening_a_thread_checks_the_pathway(way: Pathway) -> None:
    ids = way.pod.id
    refused(InvalidInput, f.give_feedback, ids["lee"], ids["lee"], [ids["sam"]], "me")
    refused(InvalidInput, f.give_feedback, ids["gil"], ids["lee"], [ids["sam"], ids["lee"]], "x")
    refused(TransitionRefused, f.give_feedback, ids["gil"], ids["lee"], [], "x")
    refused(TransitionRefused, f.give_feedback, ids["sam"], ids["lee"], [ids["sam"]], "x")
    refused(InvalidInput, f.give_feedback, ids["gil"], ids["lee"], [ids["sam"]], "  ")
    empty = new_document_id()  # a document without a creation record: read by nobody
    way.pod.docs[empty] = new_document([])
    assert way.pod.ledger.readers(empty) == NOBODY and way.pod.ledger.kind(empty) is None
    assert document(way.pod, empty) is None


def test_a_giver_who_is_also_a_steward_is_heard_by_the_others(way: Pathway) -> None:
    ids = way.pod.id
    way.tid = create(way.pod, f.give_feedback(ids["sam"], ids["lee"], [ids["sam"], ids["tia"]],
                                              RAW), "sam", at(1))
    assert way.thread().stewards == [ids["tia"]]
    pid = way.do("tia", f.propose_route, "dissolved").id
    way.do("sam", f.answer_route, pid, True)
    assert way.thread().proposals[0].consent is True
    refused(NotPermitted, f.plan_route, way.item(), ids["sam"], pid)  # a giver, here
    assert f.plan_route(way.item(), ids["tia"], pid).route == "dissolved"


def test_only_giver_and_stewards_talk_and_propose(way: Pathway) -> None:
    ids = way.pod.id
    way.do("sam", f.reply, "What happened, concretely?", when=at(2))
    way.do("gil", f.reply, "In Tuesday's meeting, twice", when=at(3))
    item = way.item()
    refused(NotPermitted, f.reply, item, ids["lee"], "let me see")
    refused(NotPermitted, f.reply, item, ids["zed"], "hi")
    refused(NotPermitted, f.propose_route, item, ids["lee"], "dissolved")
    refused(NotPermitted, f.propose_route, item, ids["zed"], "dissolved")
    refused(InvalidInput, f.propose_route, item, ids["sam"], "leader", "s", named=True)
    refused(InvalidInput, f.propose_route, item, ids["sam"], "void", "s")  # no title
    refused(InvalidInput, f.propose_route, item, ids["sam"], "team", "s", "t")  # no team
    refused(InvalidInput, f.propose_route, item, ids["sam"], "leader", "")
    refused(InvalidInput, f.propose_route, item, ids["sam"], "void", "s", "t", public=True)
    refused(InvalidInput, f.propose_route, item, ids["sam"], "gossip", "s")
    assert [m.text for m in way.thread().messages] == \
        [RAW, "What happened, concretely?", "In Tuesday's meeting, twice"]


def test_nothing_is_routed_without_the_givers_consent(way: Pathway) -> None:
    ids = way.pod.id
    pid = way.do("sam", f.propose_route, "void", "People are interrupted", "Interruptions").id
    refused(TransitionRefused, f.plan_route, way.item(), ids["sam"], pid)
    refused(TransitionRefused, f.record_route, way.item(), ids["sam"], pid,
            way.pod.collections[n.KIND], "f" * 32)
    refused(NotPermitted, f.answer_route, way.item(), ids["sam"], pid, True)  # not the giver
    refused(NotPermitted, f.answer_route, way.item(), ids["tia"], pid, True)
    refused(InvalidInput, f.answer_route, way.item(), ids["gil"], pid, True, "", "yes")
    refused(NotFound, f.answer_route, way.item(), ids["gil"], "nope", True)
    way.do("gil", f.answer_route, pid, True, when=at(3))
    way.do("gil", f.answer_route, pid, False, "on second thought, no", when=at(4))
    refused(TransitionRefused, f.plan_route, way.item(), ids["sam"], pid)
    proposal = way.thread().proposals[0]
    assert (proposal.consent, proposal.consent_note) == (False, "on second thought, no")
    refused(NotPermitted, f.plan_route, way.item(), ids["lee"], pid)


def test_void_route_puts_only_the_statement_on_the_needs_board_once(way: Pathway) -> None:
    ids, board = way.pod.id, way.pod.collections[n.KIND]
    pid = way.consented("void")
    plan = f.plan_route(way.item(), ids["sam"], pid)
    draft = f.void_need(plan)
    assert already_written(way.pod.ledger.counted(board), draft) is None
    need_id = way.pod.do(board, draft, "sam", at(4)).id
    # A retry (the route was not recorded yet) finds the need it wrote.
    again = f.void_need(f.plan_route(way.item(), ids["sam"], pid))
    assert already_written(way.pod.ledger.counted(board), again) == need_id
    way.do("sam", f.record_route, pid, board, need_id, when=at(4))
    (need,) = n.needs(way.pod.items(board, n.ADD), at(5))
    assert (need.id, need.sensing, need.title, need.detail) == \
        (need_id, "void", "Interruptions in meetings", CLEAR)
    for record in way.pod.ledger.book.known(board).records.values():
        assert RAW.encode() not in record.sealed and ids["gil"].encode() not in record.sealed
    got = way.thread()
    assert got.state == "routed" and (got.routed.target_doc, got.routed.target_item) == \
        (board, need_id)
    refused(TransitionRefused, f.record_route, way.item(), ids["sam"], pid, board, need_id)
    refused(TransitionRefused, f.propose_route, way.item(), ids["tia"], "dissolved")
    way.do("gil", f.reply, "thank you", when=at(6))  # talking goes on, privately
    assert way.thread().messages[-1].text == "thank you"


def test_team_route_records_the_team_item_it_wrote(way: Pathway) -> None:
    """The team item itself is written by podsync.pod.teams; here, the thread's side."""
    ids, items_doc = way.pod.id, way.pod.collections["team-items"]
    pid = way.consented("team", team_id="team1")
    refused(NotPermitted, f.plan_route, way.item(), ids["gil"], pid)  # a steward routes
    plan = f.plan_route(way.item(), ids["tia"], pid)
    assert (plan.team, plan.title, plan.statement) == ("team1", "Interruptions in meetings", CLEAR)
    refused(InvalidInput, f.void_need, plan)
    refused(InvalidInput, st.statement_opening, plan)
    refused(InvalidInput, f.record_route, way.item(), ids["tia"], pid, items_doc)  # no item
    way.do("tia", f.record_route, pid, items_doc, "e" * 32, when=at(4))
    assert way.thread().routed == f.Routed(pid, "team", ids["tia"], at(4).isoformat(
        timespec="microseconds"), items_doc, "e" * 32)


def test_leader_route_delivers_a_statement_the_leader_answers(way: Pathway) -> None:
    ids = way.pod.id
    pid = way.consented("leader")
    plan = f.plan_route(way.item(), ids["tia"], pid)
    refused(InvalidInput, f.void_need, plan)
    sid = create(way.pod, st.statement_opening(plan), "tia", at(4))
    way.do("tia", f.record_route, pid, sid, when=at(4))
    assert way.pod.ledger.kind(sid) == f.STATEMENT_KIND
    # The giver did not choose that their name travels: nothing about it names them.
    assert way.pod.ledger.readers(sid) == {ids["lee"], ids["sam"], ids["tia"]}
    item = document(way.pod, sid, f.STATEMENT_KIND)
    refused(NotPermitted, st.respond_to_statement, item, ids["sam"], "I'll answer for him")
    way.pod.do(sid, st.respond_to_statement(item, ids["lee"], "Thank you; I will wait my turn."),
               "lee", at(5))
    got = st.statement(document(way.pod, sid, f.STATEMENT_KIND))
    assert (got.statement, got.public, got.leader, got.giver, got.created_by) == \
        (CLEAR, False, ids["lee"], None, ids["tia"])
    assert got.stewards == [ids["sam"], ids["tia"]]
    assert [(r.text, r.agreement) for r in got.responses] == \
        [("Thank you; I will wait my turn.", None)]
    for record in way.pod.ledger.book.known(sid).records.values():
        assert RAW.encode() not in record.sealed
        assert ids["gil"].encode() not in record.sealed
    assert way.thread().routed.target_doc == sid


def test_a_public_statement_is_read_by_the_whole_pod(way: Pathway) -> None:
    pid = way.consented("leader", public=True)
    plan = f.plan_route(way.item(), way.pod.id["sam"], pid)
    sid = create(way.pod, st.statement_opening(plan), "sam", at(4))
    assert way.pod.ledger.readers(sid) == POD
    assert st.statement(document(way.pod, sid, f.STATEMENT_KIND)).public is True


def test_dissolved_forwards_nothing(way: Pathway) -> None:
    ids = way.pod.id
    pid = way.consented("dissolved", statement="")
    refused(InvalidInput, f.record_route, way.item(), ids["sam"], pid, new_document_id())
    way.do("sam", f.record_route, pid, when=at(4))
    got = way.thread()
    assert (got.state, got.routed.route, got.routed.target_doc) == ("routed", "dissolved", None)


def test_two_routings_made_apart_show_as_needing_reconciliation(way: Pathway) -> None:
    ids = way.pod.id
    first = way.consented("dissolved", statement="", when=at(2))
    second = way.consented("leader", when=at(3))
    other = way.fork()
    way.do("sam", f.record_route, first, when=at(4))
    other.do("tia", f.record_route, second, new_document_id(), when=at(4))
    merged(way.pod, other.pod)
    got = way.thread()
    assert got.needs_reconciliation and got.routed is None and other.thread() == got
    refused(NotPermitted, f.settle_thread, way.item(), ids["lee"], first)
    refused(TransitionRefused, f.propose_route, way.item(), ids["sam"], "dissolved")
    way.do("gil", f.settle_thread, got.candidates[0].id, when=at(5))
    settled = way.thread()
    assert not settled.needs_reconciliation
    assert settled.routed.proposal == got.candidates[0].fields["proposal"]


def test_one_proposal_routed_into_two_documents_apart_is_two_outcomes(way: Pathway) -> None:
    pid = way.consented("leader")
    other = way.fork()
    way.do("sam", f.record_route, pid, new_document_id(), when=at(4))
    other.do("tia", f.record_route, pid, new_document_id(), when=at(4))
    merged(way.pod, other.pod)
    got = way.thread()
    assert got.needs_reconciliation and len(got.candidates) == 2


def test_a_void_routed_twice_apart_is_two_needs_to_settle(way: Pathway) -> None:
    """Record ids are hashes of who signed what when, so two stewards routing the
    same proposal while apart write two needs. Both carry the proposal as their
    origin and the thread shows two outcomes until someone settles it."""
    ids, board = way.pod.id, way.pod.collections[n.KIND]
    pid = way.consented("void")
    other = way.fork()
    for side, who in ((way, "sam"), (other, "tia")):
        need = side.pod.do(board, f.void_need(f.plan_route(side.item(), ids[who], pid)), who,
                           at(4))
        side.do(who, f.record_route, pid, board, need.id, when=at(4))
    merged(way.pod, other.pod)
    needs = n.needs(way.pod.items(board, n.ADD), at(5))
    assert len(needs) == 2 and all(x.sensing == "void" for x in needs)
    got = way.thread()
    assert got.needs_reconciliation
    assert sorted(c.id for c in got.candidates) == sorted(e.id for e in got.history
                                                          if e.op == "route")
    way.do("gil", f.settle_thread, got.candidates[0].id, when=at(5))
    assert way.thread().routed.target_item in {x.id for x in needs}


# -- readers come from the creation record alone ----------------------------------


def test_other_content_in_the_thread_document_changes_no_reader(way: Pathway) -> None:
    ids, ledger = way.pod.id, way.pod.ledger
    before = way.thread()
    doc = way.pod.docs[way.tid]
    with doc.transaction() as tx:  # what the old format read: a kind and a thread map
        tx.put(am.ROOT, "@kind", am.ScalarType.Str, "needs")
        thread = tx.put_object(am.ROOT, "thread", am.ObjType.Map)
        stewards = tx.put_object(thread, "stewards", am.ObjType.List)
        tx.insert(stewards, 0, am.ScalarType.Str, ids["lee"])
    # Signed records naming other readers: a reader change by a steward, and a
    # record typed as a creation written into the thread.
    way.pod.do(way.tid, Draft(READERS_CHANGE, {"readers": [ids["lee"], ids["zed"]]}), "sam")
    way.pod.do(way.tid, Draft(CREATE, {"kind": f.THREAD_KIND, "leader": ids["zed"],
                                       "readers": [ids["sam"], ids["lee"]], "text": "x"}), "sam")
    ledger.document_changed(way.tid)
    assert ledger.kind(way.tid) == f.THREAD_KIND
    assert ledger.readers(way.tid) == {ids["gil"], ids["sam"], ids["tia"]}
    assert way.thread() == before


def test_a_creation_record_hashing_to_another_id_is_not_taken(way: Pathway) -> None:
    ids, ledger = way.pod.id, way.pod.ledger
    forged = sign_creation(way.pod, f.Opening(f.THREAD_KIND, [ids["lee"], ids["sam"]], {
        "leader": ids["zed"], "text": "planted"}).draft(), "lee", at(1))
    assert derived_id("doc", forged.payload) != way.tid
    way.pod.store(way.tid, forged)
    assert ledger.why_not(way.tid, forged) == "belongs to another document"
    assert ledger.readers(way.tid) == {ids["gil"], ids["sam"], ids["tia"]}
    assert way.thread().messages[0].text == RAW
    # Planted under the id of a thread that has not arrived yet: read by nobody,
    # and no peer offering it is believed; the real creation record then counts.
    real = sign_creation(way.pod, f.give_feedback(ids["gil"], ids["lee"], [ids["tia"]],
                                                  "second").draft(), "gil", at(2))
    later = derived_id("doc", real.payload)
    way.pod.store(later, forged)
    way.pod.do(later, Draft(CREATE, {"kind": f.THREAD_KIND, "leader": ids["zed"],
                                     "readers": [ids["lee"]], "text": "planted"}), "lee")
    assert ledger.readers(later) == NOBODY and ledger.kind(later) is None
    assert ledger.candidate(later, way.pod.docs[later]) == NOBODY
    assert document(way.pod, later) is None
    way.pod.store(later, real)
    assert ledger.readers(later) == {ids["gil"], ids["tia"]}
    assert document(way.pod, later).fields["text"] == "second"


def test_a_thread_its_leader_or_the_pod_may_read_has_no_stewards(way: Pathway) -> None:
    """A giver's modified node can name anyone as a reader. The leader still never
    reads (the reader rule drops them; a thread "for the whole pod" is read by
    nobody), and stewards never write into such a thread, so nothing of theirs
    could reach the leader."""
    ids, ledger = way.pod.id, way.pod.ledger
    for readers in ([ids["gil"], ids["sam"], ids["lee"]], POD):
        way.tid = create(way.pod, f.Opening(f.THREAD_KIND, readers, {
            "leader": ids["lee"], "text": RAW}), "gil", at(1))
        expected = frozenset() if readers == POD else {ids["gil"], ids["sam"]}
        assert ledger.readers(way.tid) == expected
        assert way.thread().stewards == []
        refused(NotPermitted, f.reply, way.item(), ids["sam"], "hello")
        way.sign("sam", "message", {"text": "said anyway"})
        assert [m.text for m in way.thread().messages] == [RAW]


def test_signed_records_that_break_the_rules_change_nothing(way: Pathway) -> None:
    """A member whose node skips the checks can sign anything in their own name;
    replay applies the same rules, so the thread does not move."""
    ids = way.pod.id
    pid = way.do("sam", f.propose_route, "void", CLEAR, "Interruptions").id
    way.sign("sam", "answer", {"proposal": pid, "consent": True, "note": ""})  # not the giver
    way.sign("lee", "answer", {"proposal": pid, "consent": True, "note": ""})
    assert way.thread().proposals[0].consent is None
    for who in ("lee", "zed"):  # neither giver nor steward
        way.sign(who, "propose", {"route": "dissolved", "statement": "", "title": "",
                                  "team": None, "public": False})
    # A steward's proposal naming the giver: only the giver chooses that.
    way.sign("sam", "propose", {"route": "leader", "statement": "s", "title": "", "team": None,
                                "public": False, "named": True})
    assert [p.id for p in way.thread().proposals] == [pid]
    way.sign("sam", "withdraw", {"note": "not mine to withdraw"})
    way.sign("tia", "answer", {"proposal": pid, "consent": True, "note": "", "named": True})
    board = way.pod.collections[n.KIND]
    way.sign("sam", "route", {"proposal": pid, "route": "void", "target_doc": board,
                              "target_item": "f" * 32})  # no consent yet
    way.sign("lee", "message", {"text": "I can see this"})
    assert way.thread().state == "open"
    way.do("gil", f.answer_route, pid, True, when=at(3))
    for who in ("lee", "zed", "gil"):  # neither a steward: only a steward routes
        way.sign(who, "route", {"proposal": pid, "route": "void", "target_doc": board,
                                "target_item": "f" * 32}, when=at(4))
    way.sign("sam", "route", {"proposal": pid, "target_doc": "not an id",
                              "target_item": "f" * 32}, when=at(4))
    way.sign("sam", "route", {"proposal": "f" * 32, "target_doc": None}, when=at(4))
    way.pod.do(way.tid, Draft("message", {"text": "elsewhere"}, item="f" * 32), "sam")
    got = way.thread()
    assert (got.state, got.routed, got.needs_reconciliation) == ("open", None, False)
    assert [m.text for m in got.messages] == [RAW]
    assert all(e.by not in (ids["lee"], ids["zed"]) for e in got.history)
    assert f.plan_route(way.item(), ids["sam"], pid).proposal == pid  # still routable
    # Once routed, a thread stays where it went: a later answer or route is nothing.
    need = way.pod.do(board, f.void_need(f.plan_route(way.item(), ids["sam"], pid)), "sam", at(5))
    way.do("sam", f.record_route, pid, board, need.id, when=at(5))
    way.sign("gil", "answer", {"proposal": pid, "consent": False, "note": ""}, when=at(6))
    way.sign("tia", "route", {"proposal": pid, "target_doc": board, "target_item": "e" * 32},
             when=at(6))
    got = way.thread()
    assert (got.routed.target_item, got.proposals[0].consent) == (need.id, True)
    assert not got.needs_reconciliation


def test_hostile_bodies_are_shown_totally(way: Pathway) -> None:
    ids = way.pod.id
    way.tid = create(way.pod, f.Opening(f.THREAD_KIND, [ids["gil"], ids["sam"], 7, [ids["lee"]]],
                                        {"leader": ["x"], "text": {"a": 1}}), "gil", at(1))
    got = way.thread()
    assert (got.giver, got.leader, got.stewards, got.messages[0].text) == \
        (ids["gil"], "", [ids["sam"]], "")
    way.sign("sam", "message", {"text": ["not", "text"]})
    way.sign("sam", "propose", {"route": ["void"], "title": 7})
    way.sign("sam", "propose", {"route": "void", "title": "x" * 500, "statement": "s"})
    way.sign("sam", "propose", {"route": "leader", "statement": "s", "public": "yes"})
    way.sign("gil", "answer", {"proposal": ["x"], "consent": "yes"})
    got = way.thread()
    assert [m.text for m in got.messages] == ["", ""] and got.proposals == []
    sid = create(way.pod, f.Opening(f.STATEMENT_KIND, [ids["lee"]], {
        "leader": 5, "giver": None, "stewards": "sam", "statement": b"bytes"}), "sam", at(2))
    item = document(way.pod, sid, f.STATEMENT_KIND)
    way.pod.do(sid, Draft("respond", {"text": "from whom?"}, item=item.id), "lee", at(3))
    shown = st.statement(document(way.pod, sid, f.STATEMENT_KIND))
    assert (shown.leader, shown.giver, shown.stewards, shown.statement, shown.public,
            shown.responses, shown.parts) == ("", None, [], "", False, [], None)
    way.sign("sam", "clarify", {"happened": 5, "feeling": ["x"]})
    way.sign("gil", "withdraw", {"note": {"why": 1}})
    got = way.thread()
    assert got.clarifications == [] and (got.state, got.withdrawn.note) == ("withdrawn", "")


# -- clarifying together, the giver's choices, where feedback ended up ----------------


def test_giver_and_stewards_draft_the_statement_in_four_parts(way: Pathway) -> None:
    ids = way.pod.id
    way.do("sam", f.clarify, "In Tuesday's meeting you spoke over Ana twice", when=at(2))
    way.do("gil", f.clarify, "In Tuesday's meeting you spoke over Ana twice",
           "frustrated", "to hear everyone", "Could you wait until each has finished?",
           when=at(3))
    refused(NotPermitted, f.clarify, way.item(), ids["lee"], "I see it")
    refused(InvalidInput, f.clarify, way.item(), ids["sam"])  # nothing said
    got = way.thread()
    assert [(c.by, c.parts.feeling) for c in got.clarifications] == \
        [(ids["sam"], ""), (ids["gil"], "frustrated")]
    parts = {"happened": "spoke over Ana twice", "feeling": "frustrated",
             "need": "to hear everyone", "request": "wait until each has finished"}
    pid = way.do("sam", f.propose_route, "leader", CLEAR, parts=parts, when=at(4)).id
    way.do("gil", f.answer_route, pid, True, when=at(5))
    plan = f.plan_route(way.item(), ids["sam"], pid)
    assert plan.parts == f.Parts(**parts)
    body = st.statement_opening(plan).fields
    assert body["parts"] == parts and "giver" not in body


def test_the_givers_name_travels_only_if_they_choose(way: Pathway) -> None:
    ids = way.pod.id
    pid = way.do("sam", f.propose_route, "leader", CLEAR, public=True).id
    way.do("gil", f.answer_route, pid, True, "yes, with my name", True, when=at(3))
    got = way.thread().proposals[0]
    assert (got.consent, got.named) == (True, True)
    plan = f.plan_route(way.item(), ids["tia"], pid)
    sid = create(way.pod, st.statement_opening(plan), "tia", at(4))
    shown = st.statement(document(way.pod, sid, f.STATEMENT_KIND))
    assert (shown.giver, shown.public) == (ids["gil"], True)
    # A private statement the giver chose to sign: they read it too.
    private = st.statement_opening(msgspec.structs.replace(plan, public=False))
    assert private.readers == sorted([ids["gil"], ids["lee"], ids["sam"], ids["tia"]])


def test_the_giver_proposes_any_route_and_a_steward_agrees(way: Pathway) -> None:
    ids = way.pod.id
    pid = way.do("gil", f.propose_route, "dissolved", when=at(2)).id
    got = way.thread().proposals[0]
    assert (got.by, got.consent, got.agreed, got.named) == (ids["gil"], True, None, False)
    refused(TransitionRefused, f.plan_route, way.item(), ids["sam"], pid)  # no steward yet
    refused(NotPermitted, f.answer_route, way.item(), ids["gil"], pid, True)  # her own
    refused(InvalidInput, f.answer_route, way.item(), ids["tia"], pid, True, "", True)
    way.do("tia", f.answer_route, pid, True, "heard; it can rest", when=at(3))
    got = way.thread().proposals[0]
    assert (got.agreed, got.agreed_by) == (True, ids["tia"])
    way.do("sam", f.record_route, pid, when=at(4))
    assert way.thread().routed.route == "dissolved"
    named = way.fork()
    named.tid = create(named.pod, f.give_feedback(ids["gil"], ids["lee"], [ids["sam"]], RAW),
                       "gil", at(5))
    npid = named.do("gil", f.propose_route, "leader", CLEAR, named=True, when=at(5)).id
    named.do("sam", f.answer_route, npid, True, when=at(6))
    assert f.plan_route(named.item(), ids["sam"], npid).named is True


def test_the_giver_withdraws_a_thread(way: Pathway) -> None:
    ids = way.pod.id
    pid = way.consented("void")
    refused(NotPermitted, f.withdraw_thread, way.item(), ids["sam"], "not mine")
    way.do("gil", f.withdraw_thread, "I spoke with Lee myself", when=at(3))
    got = way.thread()
    assert (got.state, got.withdrawn.note) == ("withdrawn", "I spoke with Lee myself")
    for op, args in [(f.plan_route, (pid,)), (f.propose_route, ("dissolved",)),
                     (f.clarify, ("x",))]:
        refused(TransitionRefused, op, way.item(), ids["sam"], *args)
    refused(TransitionRefused, f.withdraw_thread, way.item(), ids["gil"])
    way.do("sam", f.reply, "Glad it went well", when=at(4))  # talking goes on


def test_a_withdrawal_and_a_routing_made_apart_need_reconciliation(way: Pathway) -> None:
    pid = way.consented("dissolved", statement="")
    other = way.fork()
    way.do("gil", f.withdraw_thread, when=at(3))
    other.do("sam", f.record_route, pid, when=at(3))
    merged(way.pod, other.pod)
    got = way.thread()
    assert got.needs_reconciliation
    assert sorted(c.state for c in got.candidates) == ["routed", "withdrawn"]


def test_the_summary_counts_routes_and_days_without_content_or_names(way: Pathway) -> None:
    pod, ids = way.pod, way.pod.id
    # Sam and Tia steward Lee now (in effect: proposed, affirmed, consented).
    for steward in ("sam", "tia"):
        rec = pod.ledger.pod_records(stewards.STEWARD_TYPES)
        nid = pod.do(pod.pod_id, stewards.propose_steward(rec, ids["ana"], ids["lee"],
                                                          ids[steward]), "ana", at()).id
        pod.do(pod.pod_id, stewards.affirm_role(
            pod.ledger.pod_records(stewards.STEWARD_TYPES), nid, ids[steward]), steward, at())
        pod.do(pod.pod_id, stewards.consent_to_steward(
            pod.ledger.pod_records(stewards.STEWARD_TYPES), nid, ids["lee"]), "lee", at())
    pid = way.consented("dissolved", statement="")
    way.do("sam", f.record_route, pid, when=at(4))
    routed = way.thread().routed
    outcome = st.outcome_draft(way.tid, way.thread().created_at, routed)
    assert outcome.body == {"ref": st.outcome_ref(way.tid), "route": "dissolved", "days": 3}
    for record_by in ("sam", "tia"):  # the same thread recorded twice counts once
        pod.do(pod.pod_id, outcome, record_by, at(4))
    assert st.recorded(pod.ledger.pod_records(), way.tid)
    # Records from members who steward nobody, and bodies no routing writes, count nothing.
    pod.do(pod.pod_id, st.outcome_draft("another", at().isoformat(), routed), "zed", at(4))
    for body in ({"ref": "r1", "route": "gossip", "days": 1}, {"ref": "r2", "route": "team",
                                                                "days": -4},
                 {"ref": "r3", "route": "team", "days": True}, {"route": "team", "days": 1}):
        pod.do(pod.pod_id, Draft(st.OUTCOME, body), "sam", at(4))
    pod.do(pod.pod_id, Draft(st.OUTCOME, {"ref": "r4", "route": "team", "days": 10}), "tia",
           at(5))
    got = st.summary(pod.ledger.pod_records())
    assert got.total == 2
    by_route = {r.route: (r.count, r.median_days, r.longest_days) for r in got.routes}
    assert by_route == {"team": (1, 10, 10), "void": (0, None, None),
                        "leader": (0, None, None), "dissolved": (1, 3, 3)}
    text = msgspec.json.encode(got)
    assert ids["gil"].encode() not in text and RAW.encode() not in text
