"""Are you mobilizing?" held together: views against the criteria, an outcome in
effect only once the member it concerns and another participant confirm it, what
a confirmed outcome asks of the needs board; signed records that break the rules,
hostile bodies, and outcomes confirmed differently on two nodes apart."""

from __future__ import annotations

import pytest

from podsync.errors import InvalidInput, NotFound, NotPermitted, TransitionRefused
from podsync.pod import discernment as m
from podsync.pod import needs as n
from podsync.records.format import Draft
from tests.pod.helpers import Pod, at, merged, refused


class Asks:
    """The capacity collection of a real pod, and its needs board with one need Dee holds."""

    def __init__(self, pod: Pod) -> None:
        self.pod = pod
        self.doc = pod.collections[m.KIND]
        self.needs = pod.collections[n.KIND]
        self.need = pod.do(self.needs, n.add_need("Cook every night"), "ana", at()).id
        pod.do(self.needs, n.hold_need(pod.item(self.needs, self.need, n.ADD), pod.id["dee"]),
               "dee", at())

    def ask_of(self, asker: str, member: str, about: str = "held", need: str | None = None,
               question: str = "") -> str:
        ids = self.pod.id
        need = need or (self.need if about != "pattern" else None)
        return self.pod.do(self.doc, m.ask_mobilizing(ids[asker], ids[member], about, need,
                                                      question), asker, at()).id

    def items(self) -> dict:
        return self.pod.items(self.doc, m.ASK)

    def item(self, ask_id: str):
        return self.items()[ask_id]

    def get(self, ask_id: str) -> m.Ask:
        return m.ask(self.items(), ask_id)

    def do(self, who: str, op, ask_id: str, *args, when=None, **kwargs):
        return self.pod.do(self.doc, op(self.item(ask_id), self.pod.id[who], *args, **kwargs),
                           who, when or at(1))

    def sign(self, who: str, ask_id: str, op: str, body: dict, seen: bool = True):
        """A record ``who``'s own (perhaps modified) node signs, whatever the rules say."""
        after = m.note_ask(self.item(ask_id), self.pod.id[who], "-").after if seen else ()
        return self.pod.do(self.doc, Draft(op, body, item=ask_id, after=after), who, at(1))

    def apart(self) -> Asks:
        other = Asks.__new__(Asks)
        other.__dict__.update(self.__dict__)
        other.pod = self.pod.fork()
        return other


@pytest.fixture
def asks() -> Asks:
    return Asks(Pod())


def test_an_ask_names_a_held_need_an_open_need_or_a_pattern(asks: Asks) -> None:
    ids = asks.pod.id
    held = asks.get(asks.ask_of("ana", "dee", question="five nights?"))
    assert (held.asker, held.member, held.about, held.need, held.question, held.state) == \
        (ids["ana"], ids["dee"], "held", asks.need, "five nights?", "open")
    assert held.participants == sorted([ids["ana"], ids["dee"]])
    unheld = asks.pod.do(asks.needs, n.add_need("Fix the bike shed"), "ana", at()).id
    assert asks.get(asks.ask_of("ana", "bo", "open", unheld)).about == "open"
    pattern = asks.get(asks.ask_of("bo", "cy", "pattern"))
    assert (pattern.about, pattern.need) == ("pattern", "")
    refused(NotPermitted, m.ask_mobilizing, ids["ana"], ids["ana"])
    refused(InvalidInput, m.ask_mobilizing, ids["ana"], ids["bo"], "pattern", asks.need)
    refused(InvalidInput, m.ask_mobilizing, ids["ana"], ids["bo"], "held", None)
    refused(InvalidInput, m.ask_mobilizing, ids["ana"], ids["bo"], "always")


def test_everyone_taking_part_adds_a_view_against_the_criteria(asks: Asks) -> None:
    ids = asks.pod.id
    ask = asks.ask_of("ana", "dee")
    asks.do("dee", m.add_view, ask, "the household eats well", "I am tired", "",
            "we would eat cereal", "I skip my evenings", when=at(1))
    asks.do("ana", m.add_view, ask, around="Bo and I can cook two nights", when=at(2))
    # Cy joins the conversation with her view, and takes part from then on.
    refused(NotPermitted, m.propose_outcome, asks.item(ask), ids["cy"], "continue")
    asks.do("cy", m.add_view, ask, over="Dee has not read a book in months", when=at(3))
    got = asks.get(ask)
    assert got.participants == sorted([ids["ana"], ids["cy"], ids["dee"]])
    assert [(v.by, v.purpose, v.within, v.around, v.void, v.over) for v in got.views] == [
        (ids["dee"], "the household eats well", "I am tired", "", "we would eat cereal",
         "I skip my evenings"),
        (ids["ana"], "", "", "Bo and I can cook two nights", "", ""),
        (ids["cy"], "", "", "", "", "Dee has not read a book in months")]
    refused(InvalidInput, m.add_view, asks.item(ask), ids["bo"])  # nothing said
    assert [(x.ask, x.reason) for x in m.awaiting([got], ids["dee"])] == []
    assert [(x.ask, x.reason) for x in m.awaiting([asks.get(asks.ask_of("bo", "ana"))],
                                                   ids["ana"])][0][1] == "view"


def test_an_outcome_takes_effect_only_with_the_member_and_another_participant(
        asks: Asks) -> None:
    ids = asks.pod.id
    ask = asks.ask_of("ana", "dee")
    asks.do("cy", m.add_view, ask, void="someone else can cook", when=at(1))
    # Ana proposes; Cy confirms: two participants, but not the member it concerns.
    proposal = asks.do("ana", m.propose_outcome, ask, "release", "two nights off",
                       when=at(2)).id
    asks.do("cy", m.confirm_outcome, ask, proposal, when=at(3))
    got = asks.get(ask)
    assert (got.state, got.outcome) == ("open", None)
    assert got.proposals[0].confirmed_by == [ids["ana"], ids["cy"]]
    assert [x.reason for x in m.awaiting([got], ids["dee"])] == ["view", "confirm"]
    asks.do("dee", m.confirm_outcome, ask, proposal, when=at(4))
    got = asks.get(ask)
    assert (got.state, got.outcome.outcome, got.outcome.id) == ("discerned", "release", proposal)
    refused(TransitionRefused, m.propose_outcome, asks.item(ask), ids["dee"], "continue")
    refused(TransitionRefused, m.confirm_outcome, asks.item(ask), ids["cy"], proposal)
    refused(NotPermitted, m.confirm_outcome, asks.item(ask), ids["bo"], proposal)


def test_the_member_proposing_needs_one_other_to_confirm(asks: Asks) -> None:
    ids = asks.pod.id
    ask = asks.ask_of("ana", "dee")
    proposal = asks.do("dee", m.propose_outcome, ask, "continue", "it feeds me too").id
    assert asks.get(ask).state == "open"  # her own word alone is not a "we"
    refused(TransitionRefused, m.confirm_outcome, asks.item(ask), ids["dee"], proposal)
    refused(NotFound, m.confirm_outcome, asks.item(ask), ids["ana"], "nope")
    refused(NotPermitted, m.confirm_outcome, asks.item(ask), ids["bo"], proposal)
    asks.do("ana", m.confirm_outcome, ask, proposal, when=at(2))
    assert (asks.get(ask).state, asks.get(ask).outcome.outcome) == ("discerned", "continue")


def test_what_a_confirmed_outcome_leaves_for_the_members_node_to_carry_out(asks: Asks) -> None:
    ids = asks.pod.id
    ask = asks.ask_of("ana", "dee")
    proposal = asks.do("ana", m.propose_outcome, ask, "release").id
    assert m.pending(asks.items(), ids["dee"]) == []  # not yet confirmed
    asks.do("dee", m.confirm_outcome, ask, proposal, when=at(2))
    (effect,) = m.pending(asks.items(), ids["dee"])
    assert (effect.ask, effect.proposal, effect.outcome, effect.need, effect.title) == \
        (ask, proposal, "release", asks.need, "")
    assert m.pending(asks.items(), ids["ana"]) == []  # only the member's node carries it out
    refused(NotPermitted, m.followed, asks.item(ask), ids["ana"], proposal, "released", None)
    refused(TransitionRefused, m.followed, asks.item(ask), ids["dee"], "nope", "released", None)
    asks.do("dee", m.followed, ask, proposal, "released", asks.need, when=at(3))
    assert m.pending(asks.items(), ids["dee"]) == []
    assert asks.get(ask).followed == m.Followed(proposal, at(3).isoformat(
        timespec="microseconds"), "released", asks.need)


def test_take_on_and_ask_for_support_name_the_need_to_open_or_link(asks: Asks) -> None:
    ids = asks.pod.id
    pattern = asks.ask_of("bo", "cy", "pattern", question="reading time?")
    item = asks.item(pattern)
    refused(InvalidInput, m.propose_outcome, item, ids["cy"], "take_on")  # take on what?
    refused(InvalidInput, m.propose_outcome, item, ids["cy"], "ask_for_support")
    refused(InvalidInput, m.propose_outcome, item, ids["cy"], "release", "", "A title")
    refused(InvalidInput, m.propose_outcome, item, ids["cy"], "take_on", "", "T", asks.need)
    p = asks.do("cy", m.propose_outcome, pattern, "take_on", "evenings", "Two reading evenings").id
    asks.do("bo", m.confirm_outcome, pattern, p, when=at(2))
    (effect,) = m.pending(asks.items(), ids["cy"])
    assert (effect.outcome, effect.title, effect.need, effect.note) == \
        ("take_on", "Two reading evenings", None, "evenings")
    held = asks.ask_of("ana", "dee")
    p = asks.do("dee", m.propose_outcome, held, "ask_for_support", "", "", asks.need).id
    asks.do("ana", m.confirm_outcome, held, p, when=at(2))
    assert [(e.outcome, e.need) for e in m.pending(asks.items(), ids["dee"])] == \
        [("ask_for_support", asks.need)]


def test_signed_records_that_break_the_rules_change_nothing(asks: Asks) -> None:
    """A member whose node skips the checks can sign anything in their own name;
    replay applies the same rules, so the discernment does not move."""
    ids = asks.pod.id
    ask = asks.ask_of("ana", "dee")
    # Bo never took part: his proposal and confirmation count for nothing.
    asks.sign("bo", ask, "propose", {"outcome": "release", "note": "", "title": "", "need": None})
    proposal = asks.do("ana", m.propose_outcome, ask, "release", when=at(2)).id
    asks.sign("bo", ask, "confirm", {"proposal": proposal})
    # Proposals no operation writes: no outcome, a title for a release, take on of nothing.
    asks.sign("ana", ask, "propose", {"outcome": "quit", "note": ""})
    asks.sign("ana", ask, "propose", {"outcome": "release", "title": "x", "need": None})
    asks.sign("cy", ask, "confirm", {"proposal": proposal})  # Cy has no view yet
    asks.sign("ana", ask, "confirm", {"proposal": proposal})  # her own, again
    asks.sign("ana", ask, "confirm", {"proposal": "f" * 32})
    # A view that says nothing joins nobody; a followed record by the asker counts for nothing.
    asks.sign("cy", ask, "view", {"purpose": "", "over": 7})
    asks.sign("ana", ask, "followed", {"proposal": proposal, "done": "released", "need": None})
    # Made apart, naming nothing: judged where it claims to be made, refused there.
    asks.sign("bo", ask, "confirm", {"proposal": proposal}, seen=False)
    got = asks.get(ask)
    assert (got.state, got.needs_reconciliation, got.participants) == \
        ("open", False, sorted([ids["ana"], ids["dee"]]))
    assert [(p.id, p.confirmed_by) for p in got.proposals] == [(proposal, [ids["ana"]])]
    assert got.followed is None
    # An ask of oneself is no ask: not listed, not found, not answerable.
    own = asks.pod.do(asks.doc, Draft(m.ASK, {"member": ids["bo"], "about": "pattern"}), "bo",
                      at(1)).id
    assert [a.id for a in m.asks(asks.items())] == [ask]
    with pytest.raises(NotFound):
        m.ask(asks.items(), own)
    refused(NotFound, m.add_view, asks.item(own), ids["bo"], "x")


def test_hostile_bodies_are_shown_totally(asks: Asks) -> None:
    pod = asks.pod
    odd = pod.do(asks.doc, Draft(m.ASK, {"member": ["x"], "need": 7, "question": {"a": 1},
                                         "about": "everything"}), "bo", at(1)).id
    got = asks.get(odd)
    assert (got.asker, got.member, got.need, got.question, got.state, got.about) == \
        (pod.id["bo"], "", "", "", "open", "pattern")
    ask = asks.ask_of("ana", "dee")
    pod.do(asks.doc, Draft("view", {"purpose": ["not", "text"], "within": "w" * 30_000},
                           item=ask), "dee", at(2))
    pod.do(asks.doc, Draft("propose", {"outcome": "continue", "note": {"x": 1}}, item=ask),
           "dee", at(2))
    got = asks.get(ask)
    assert got.views == [] and got.proposals == []


# -- two nodes apart -----------------------------------------------------------


def test_outcomes_confirmed_differently_apart_need_reconciliation(asks: Asks) -> None:
    ids = asks.pod.id
    ask = asks.ask_of("ana", "dee")
    asks.do("cy", m.add_view, ask, around="I can cook Mondays", when=at(1))
    keep = asks.do("dee", m.propose_outcome, ask, "continue", when=at(1, 1)).id
    other = asks.apart()
    # Apart: Ana and Dee discern a release; Cy confirms Dee's "continue".
    release = asks.do("ana", m.propose_outcome, ask, "release", when=at(2)).id
    asks.do("dee", m.confirm_outcome, ask, release, when=at(2, 1))
    other.do("cy", m.confirm_outcome, ask, keep, when=at(2))
    assert (asks.get(ask).outcome.outcome, other.get(ask).outcome.outcome) == \
        ("release", "continue")
    merged(asks.pod, other.pod)
    got = asks.get(ask)
    assert got.needs_reconciliation and other.get(ask) == got
    assert sorted(c.fields["outcome"] for c in got.candidates) == ["continue", "release"]
    assert m.pending(asks.items(), ids["dee"]) == []  # nothing is carried out meanwhile
    refused(TransitionRefused, m.confirm_outcome, asks.item(ask), ids["ana"], keep)
    refused(NotPermitted, m.settle_ask, asks.item(ask), ids["bo"], "discerned")
    pick = next(c.id for c in got.candidates if c.fields["outcome"] == "continue")
    asks.do("ana", m.settle_ask, ask, pick, when=at(3))
    got = asks.get(ask)
    assert (got.needs_reconciliation, got.outcome.outcome) == (False, "continue")
    assert [e.outcome for e in m.pending(asks.items(), ids["dee"])] == ["continue"]


def test_views_and_proposals_made_apart_all_survive(asks: Asks) -> None:
    ids = asks.pod.id
    ask = asks.ask_of("ana", "dee")
    other = asks.apart()
    asks.do("dee", m.add_view, ask, within="tired", when=at(1))
    asks.do("dee", m.propose_outcome, ask, "release", when=at(1, 1))
    other.do("ana", m.add_view, ask, around="Bo is spacious", when=at(1))
    other.do("bo", m.add_view, ask, void="I would miss the food", when=at(1))
    other.do("ana", m.propose_outcome, ask, "ask_for_support", "", "Cook with Dee", when=at(2))
    merged(asks.pod, other.pod)
    got = asks.get(ask)
    assert (got.state, got.needs_reconciliation, len(got.views), len(got.proposals)) == \
        ("open", False, 3, 2)
    assert ids["bo"] in got.participants
