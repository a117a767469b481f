"""Bad requests to the local API: each gets a 4xx JSON answer naming the problem, never a 500.

Three tables: generic malformations applied to every operation (unknown field,
wrong types, 1 MB strings), requests that are well-formed but ask for the
impossible (unknown ids, refused transitions, practice rules), and broken HTTP
(malformed JSON, unknown operation, missing or wrong token, wrong method).
"""

from __future__ import annotations

from typing import Any

import msgspec.inspect as mi
import pytest

from podsync.api import ops
from tests.api.conftest import Pod

pytestmark = pytest.mark.asyncio(loop_scope="module")

ONE_MB = "x" * (1024 * 1024)
OPS = sorted(ops.all_ops())


def _fields(name: str) -> tuple[mi.Field, ...]:
    return mi.type_info(ops.get(name).args).fields  # type: ignore[union-attr]


def _takes_text(t: mi.Type) -> bool:
    if isinstance(t, mi.UnionType):
        return any(_takes_text(x) for x in t.types)
    return isinstance(t, mi.StrType) or (isinstance(t, mi.ListType) and _takes_text(t.item_type))


def _bounded(t: mi.Type) -> bool:
    if isinstance(t, mi.UnionType):
        return any(_bounded(x) for x in t.types)
    if isinstance(t, mi.ListType):
        return _bounded(t.item_type)
    return isinstance(t, mi.StrType) and t.max_length is not None


def _big(t: mi.Type) -> Any:
    if isinstance(t, mi.UnionType):
        t = next(x for x in t.types if _takes_text(x))
    return [ONE_MB] if isinstance(t, mi.ListType) else ONE_MB


def assert_refused(status: int, body: Any, *needles: str, expect: int | None = None) -> None:
    assert status != 500, body
    assert 400 <= status < 500, (status, body)
    if expect is not None:
        assert status == expect, (status, body)
    error = body["error"]
    assert error["type"] and error["exit_code"] in (1, 2, 3)
    for needle in needles:
        assert needle.lower() in error["message"].lower(), (needle, error["message"])


# -- every operation, generic malformations -----------------------------------


@pytest.mark.parametrize("name", OPS)
async def test_an_unknown_field_is_refused_by_name(pod: Pod, name: str) -> None:
    assert_refused(*await pod.post(name, {"colour_of_the_sky": "blue"}), "colour_of_the_sky",
                   expect=400)


@pytest.mark.parametrize("name", OPS)
@pytest.mark.parametrize("body", [b"[]", b"null", b'"text"', b"42"])
async def test_a_body_that_is_not_an_object_is_refused(pod: Pod, name: str, body: bytes) -> None:
    assert_refused(*await pod.post(name, body), "object", expect=400)


WRONG_TYPES = [(n, f.name) for n in OPS for f in _fields(n)]


@pytest.mark.parametrize(("name", "field"), WRONG_TYPES, ids=[f"{n}.{f}" for n, f in WRONG_TYPES])
async def test_a_field_of_the_wrong_type_is_refused_by_name(pod: Pod, name: str, field: str) -> None:
    assert_refused(*await pod.post(name, {field: {"nested": [1]}}), field, expect=400)


REQUIRED = [(n, [f.name for f in _fields(n) if f.required]) for n in OPS]


@pytest.mark.parametrize(("name", "required"), [r for r in REQUIRED if r[1]],
                         ids=[n for n, r in REQUIRED if r])
async def test_a_missing_required_field_is_named(pod: Pod, name: str, required: list[str]) -> None:
    assert_refused(*await pod.post(name, {}), required[0], expect=400)


BIG_TEXT = [(n, f.name, _bounded(f.type)) for n in OPS for f in _fields(n) if _takes_text(f.type)]


@pytest.mark.parametrize(("name", "field", "bounded"), BIG_TEXT,
                         ids=[f"{n}.{f}" for n, f, _ in BIG_TEXT])
async def test_a_one_megabyte_string_is_refused(pod: Pod, name: str, field: str,
                                                bounded: bool) -> None:
    field_type = next(f.type for f in _fields(name) if f.name == field)
    status, body = await pod.post(name, {field: _big(field_type)})
    assert_refused(status, body, *([field, "length"] if bounded else []))


# -- well-formed requests for the impossible -----------------------------------

CASES: list[tuple[str, dict[str, Any], int, str]] = [
    ("need.add", {"title": "   "}, 400, "title"),
    ("need.add", {"title": "two\nlines"}, 400, "one line"),
    ("need.add", {"title": "x", "sensing": "loud"}, 400, "sensing"),
    ("need.add", {"title": None}, 400, "title"),
    ("need.get", {"id": "nope"}, 404, "nope"),
    ("need.take", {"id": "nope"}, 404, "nope"),
    ("need.take", {"id": "$need_held"}, 409, "already hold"),
    ("need.take", {"id": "$need_open", "point_of_contact": "yes"}, 400, "point_of_contact"),
    ("need.done", {"id": "$need_open"}, 409, "open"),
    ("need.let_be", {"id": "$need_open"}, 400, "reason"),
    ("need.let_be", {"id": "$need_held", "reason": "r"}, 409, "held"),
    ("need.release", {"id": "$need_open"}, 409, "do not hold"),
    ("need.reopen", {"id": "$need_open"}, 409, "open"),
    ("need.note", {"id": "$need_open", "text": ""}, 400, "text"),
    ("need.settle", {"id": "$need_open", "choice": "open"}, 409, "no disagreement"),
    ("need.contact", {"id": "$need_held", "member": "$bo"}, 409, "does not hold"),
    ("need.contact", {"id": "$need_held", "member": "ghost"}, 404, "ghost"),
    ("agreement.propose", {"what": "x", "parties": ["ghost"]}, 404, "parties"),
    ("agreement.propose", {"what": "x", "parties": "$ada"}, 400, "parties"),
    ("agreement.propose", {"what": "x", "parties": []}, 400, "parties"),
    ("agreement.propose", {"what": "x", "parties": ["$ada"] * 101}, 400, "parties"),
    ("agreement.propose", {"what": "x", "parties": ["$ada"], "review_on": "soon"}, 400, "review_on"),
    ("agreement.propose", {"what": "x", "parties": ["$ada"], "review_on": "2000-01-01"}, 400,
     "review_on"),
    ("agreement.propose", {"what": "x", "parties": ["$ada"],
                           "anchors": [{"kind": "value", "ref": "y"}]}, 400, "anchors"),
    ("agreement.propose", {"what": "x", "parties": ["$ada"], "anchors": [{"kind": "need"}]}, 400,
     "ref"),
    ("agreement.get", {"id": "nope"}, 404, "nope"),
    ("agreement.affirm", {"id": "nope"}, 404, "nope"),
    ("agreement.affirm", {"id": "$agreement_retired"}, 409, "retired"),
    ("agreement.affirm", {"id": "$agreement_active"}, 409, "active"),
    ("agreement.affirm", {"id": "$agreement_bo"}, 403, "party"),
    ("agreement.strain", {"id": "$agreement_active"}, 400, "note"),
    ("agreement.review", {"id": "$agreement_active", "review_on": "2000-01-01"}, 400, "review_on"),
    ("agreement.revise", {"id": "$agreement_retired", "what": "w", "parties": ["$ada"]}, 409,
     "retired"),
    ("agreement.revise", {"id": "$agreement_active"}, 409, "changes nothing"),
    ("agreement.revise", {"id": "$agreement_active", "parties": ["ghost"]}, 404, "parties"),
    ("agreement.revise", {"id": "$agreement_active", "review_on": "soon"}, 400, "review_on"),
    ("agreement.affirm", {"id": "$agreement_active", "version": 0}, 400, "version"),
    ("agreement.affirm", {"id": "$agreement_active", "version": 9}, 409, "version 9"),
    ("agreement.decline", {"id": "$agreement_active"}, 409, "active"),
    ("agreement.decline", {"id": "$agreement_bo"}, 403, "party"),
    ("agreement.withdraw", {"id": "$agreement_bo"}, 403, "party"),
    ("agreement.withdraw", {"id": "$agreement_retired"}, 409, "retired"),
    ("agreement.resume", {"id": "$agreement_active"}, 409, "active"),
    ("agreement.unremind", {"id": "$agreement_active"}, 409, "not a reminder"),
    ("agreement.settle", {"id": "$agreement_active", "choice": "active"}, 409, "no disagreement"),
    ("decision.start", {"title": "t", "proposal": "p", "deadline": "2099-01-01T00:00:00"}, 400,
     "deadline"),
    ("decision.start", {"title": "t", "proposal": "p", "deadline": "2000-01-01T00:00:00Z"}, 400,
     "deadline"),
    ("decision.start", {"title": "t", "proposal": "p", "deadline": "tomorrow"}, 400, "deadline"),
    ("decision.start", {"title": "t", "proposal": "p", "deadline": "0001-01-01T00:00:00+01:00"},
     400, "deadline"),
    ("decision.start", {"title": "t", "proposal": "p", "deadline": "9999-12-31T23:59:59-01:00"},
     400, "deadline"),
    ("decision.ask", {"id": "$decision", "member": "ghost", "reason": "affected"}, 404, "ghost"),
    ("decision.ask", {"id": "$decision", "member": "$bo", "reason": "curious"}, 400, "reason"),
    ("decision.ask", {"id": "$decision", "member": "$ada", "reason": "affected"}, 400, "decider"),
    ("decision.advise", {"id": "$decision", "stance": "support", "text": "x"}, 403, "decider"),
    ("decision.advise", {"id": "$decision", "stance": "veto"}, 400, "stance"),
    ("decision.integrate", {"id": "$decision", "advice_id": "nope", "integrated": True,
                            "why": "w"}, 404, "nope"),
    ("decision.integrate", {"id": "$decision", "advice_id": "nope", "integrated": "yes",
                            "why": "w"}, 400, "integrated"),
    ("decision.decide", {"id": "nope", "text": "t"}, 404, "nope"),
    ("decision.decide", {"id": "$decision", "text": "t", "review_on": "2000-01-01",
                         "no_one_affected": "only me"}, 400, "review_on"),
    ("decision.decide", {"id": "$decision", "text": "t"}, 409, "no_one_affected"),
    ("decision.start", {"title": "t", "proposal": "p", "deadline": "2099-01-01T00:00:00Z",
                        "links": [{"kind": "need", "ref": "nope"}]}, 404, "links"),
    ("decision.start", {"title": "t", "proposal": "p", "deadline": "2099-01-01T00:00:00Z",
                        "links": [{"kind": "team", "ref": "x"}]}, 400, "links"),
    ("decision.unask", {"id": "$decision", "member": "$bo"}, 409, "not been asked"),
    ("decision.decline", {"id": "$decision"}, 403, "asked"),
    ("decision.deadline", {"id": "$decision", "deadline": "2000-01-01T00:00:00Z"}, 400,
     "deadline"),
    ("decision.deadline", {"id": "$decision", "deadline": "next week"}, 400, "deadline"),
    ("decision.link", {"id": "$decision", "kind": "agreement", "ref": "nope"}, 404, "ref"),
    ("decision.link", {"id": "$decision", "kind": "principle", "ref": "care"}, 400, "kind"),
    ("decision.withdraw", {"id": "$decision", "note": ""}, 400, "note"),
    ("decision.settle", {"id": "$decision", "choice": "x"}, 409, "no disagreement"),
    ("capacity.set", {"level": "tired"}, 400, "level"),
    ("mobilizing.ask", {"member": "$bo", "need_id": "nope"}, 404, "need_id"),
    ("mobilizing.ask", {"member": "$ada", "need_id": "$need_open"}, 403, "someone else"),
    ("mobilizing.ask", {"member": "ghost", "need_id": "$need_open"}, 404, "ghost"),
    ("mobilizing.ask", {"member": "$bo", "need_id": "$need_held", "about": "held"}, 409,
     "need_id"),
    ("mobilizing.ask", {"member": "$bo", "need_id": "$need_held", "about": "open"}, 409,
     "need_id"),
    ("mobilizing.ask", {"member": "$bo", "about": "sideways"}, 400, "about"),
    ("mobilizing.view", {"ask_id": "$ask"}, 400, "view"),
    ("mobilizing.view", {"ask_id": "nope", "purpose": "p"}, 404, "nope"),
    ("mobilizing.propose", {"ask_id": "$ask", "outcome": "maybe"}, 400, "outcome"),
    ("mobilizing.propose", {"ask_id": "$ask", "outcome": "take_on", "need_id": "nope"}, 404,
     "need_id"),
    ("mobilizing.propose", {"ask_id": "$ask", "outcome": "release", "title": "A need"}, 400,
     "title"),
    ("mobilizing.confirm", {"ask_id": "$ask", "proposal_id": "nope"}, 404, "nope"),
    ("mobilizing.settle", {"ask_id": "$ask", "choice": "x"}, 409, "no disagreement"),
    ("allies.propose", {"member": "$bo", "every_days": 0, "focus": "f"}, 400, "every_days"),
    ("allies.propose", {"member": "$ada", "every_days": 7, "focus": "f"}, 400, "with"),
    ("allies.propose", {"member": "ghost", "every_days": 7, "focus": "f"}, 404, "ghost"),
    ("allies.accept", {"id": "$allies"}, 403, "ally asked"),
    ("allies.met", {"id": "$allies"}, 409, "proposed"),
    ("allies.stop", {"id": "nope"}, 404, "nope"),
    ("team.add", {"name": "kitchen"}, 409, "already"),
    ("team.add", {"name": "x", "members": ["ghost"]}, 404, "ghost"),
    ("team.join", {"team_id": "nope", "member": "$bo"}, 404, "nope"),
    ("team.join", {"team_id": "$team", "member": "ghost"}, 404, "ghost"),
    ("team.leave", {"team_id": "$team", "member": "$bo"}, 409, "not in the team"),
    ("team.accept", {"team_id": "$team"}, 409, "not been invited"),
    ("team.decline", {"team_id": "nope"}, 404, "nope"),
    ("team.items", {"team_id": "nope"}, 404, "nope"),
    ("team.item_add", {"team_id": "nope", "title": "t"}, 404, "nope"),
    ("team.item_address", {"id": "nope", "note": "n"}, 404, "nope"),
    ("feedback.stewards", {"leader": "ghost"}, 404, "ghost"),
    ("feedback.stewards_set", {"leader": "$bo", "add": ["$bo"]}, 400, "own steward"),
    ("feedback.stewards_set", {"leader": "$bo", "add": ["$cy"]}, 409, "already"),
    ("feedback.stewards_set", {"leader": "$bo", "remove": ["$ada"]}, 409, "not a steward"),
    ("feedback.stewards_set", {"leader": "$bo", "remove": ["$cy"]}, 403, "leader"),
    ("steward.propose", {"leader": "$bo", "steward": "$bo"}, 400, "own steward"),
    ("steward.propose", {"leader": "ghost", "steward": "$bo"}, 404, "leader"),
    ("steward.propose", {"leader": "$bo", "steward": "$cy"}, 409, "already"),
    ("steward.affirm", {"id": "nope"}, 404, "nope"),
    ("steward.consent", {"id": "$nomination"}, 403, "leader"),
    ("steward.step_down", {"id": "$nomination"}, 403, "steward"),
    ("steward.remove", {"id": "$nomination"}, 403, "leader"),
    ("feedback.give", {"leader": "$cy", "text": "t"}, 409, "steward"),
    ("feedback.give", {"leader": "$ada", "text": "t"}, 400, "yourself"),
    ("feedback.give", {"leader": "ghost", "text": "t"}, 404, "ghost"),
    ("feedback.thread", {"thread_id": "not an id!"}, 400, "not an id!"),
    ("feedback.thread", {"thread_id": "$unknown_doc"}, 404, "$unknown_doc"),
    ("feedback.reply", {"thread_id": "$needs_doc", "text": "t"}, 404, "$needs_doc"),
    ("feedback.propose_route", {"thread_id": "$thread", "route": "void", "statement": "s"},
     400, "title"),
    ("feedback.propose_route", {"thread_id": "$thread", "route": "sideways"}, 400, "route"),
    ("feedback.propose_route", {"thread_id": "$thread", "route": "leader", "statement": "s",
                                "parts": {"happened": "", "feeling": ""}}, 400, "parts"),
    ("feedback.clarify", {"thread_id": "$thread"}, 400, "parts"),
    ("feedback.withdraw", {"thread_id": "$unknown_doc"}, 404, "$unknown_doc"),
    ("feedback.consent", {"thread_id": "$thread", "proposal_id": "nope", "consent": True}, 404,
     "nope"),
    ("feedback.route", {"thread_id": "$thread", "proposal_id": "nope"}, 403, "steward"),
    ("feedback.settle", {"thread_id": "$thread", "choice": "x"}, 409, "no disagreement"),
    ("feedback.statement", {"statement_id": "$thread"}, 404, "$thread"),
    ("feedback.respond", {"statement_id": "$unknown_doc", "text": "t"}, 404, "$unknown_doc"),
    ("feedback.respond", {"statement_id": "$unknown_doc", "text": "t",
                          "agreement": {"review_on": "soon"}}, 400, "review_on"),
    ("pod.export", {"format": "pdf"}, 400, "format"),
    ("members.remove", {"target": "ghost"}, 404, "ghost"),
    ("invite.create", {"expires": "forever"}, 400, "expires"),
]


def _fill(value: Any, ids: dict[str, str]) -> Any:
    if isinstance(value, str) and value.startswith("$") and value[1:] in ids:
        return ids[value[1:]]
    if isinstance(value, list):
        return [_fill(v, ids) for v in value]
    if isinstance(value, dict):
        return {k: _fill(v, ids) for k, v in value.items()}
    return value


@pytest.mark.parametrize(("name", "args", "status", "needle"), CASES,
                         ids=[f"{c[0]}-{i}" for i, c in enumerate(CASES)])
async def test_an_impossible_request_is_refused_with_its_reason(
        pod: Pod, name: str, args: dict[str, Any], status: int, needle: str) -> None:
    before = await pod.post("pod.export", {"format": "json"})
    assert_refused(*await pod.post(name, _fill(args, pod.ids)), _fill(needle, pod.ids),
                   expect=status)
    after = await pod.post("pod.export", {"format": "json"})
    # A refused operation writes nothing (only the export's own timestamp differs).
    assert {**before[1]["content"], "exported_at": ""} == {**after[1]["content"], "exported_at": ""}


# -- broken HTTP ---------------------------------------------------------------


@pytest.mark.parametrize("body", [b"{", b'{"title": "x"', b"\xff\xfe\x00", b"{'title': 'x'}",
                                  b'{"title": "x"} trailing'])
async def test_malformed_json_is_refused(pod: Pod, body: bytes) -> None:
    assert_refused(*await pod.post("need.add", body), "json", expect=400)


async def test_an_unknown_operation_is_named(pod: Pod) -> None:
    assert_refused(*await pod.post("need.destroy", {}), "need.destroy", expect=404)


@pytest.mark.parametrize("token", ["", "wrong-token"])
async def test_a_missing_or_wrong_token_is_refused(pod: Pod, token: str) -> None:
    assert_refused(*await pod.post("need.list", {}, token=token), "token", expect=401)
    status, body = await pod.post("need.list", {})
    assert status == 200 and isinstance(body, list)


async def test_a_token_in_the_query_works_and_a_wrong_method_is_refused(pod: Pod) -> None:
    base = f"http://{pod.ada.api_address}/api/ops/need.list"
    async with pod.session.post(f"{base}?token={pod.ada.token}", json={}) as resp:
        assert resp.status == 200
    async with pod.session.get(f"{base}?token={pod.ada.token}") as resp:
        body = await resp.json(content_type=None)
        assert_refused(resp.status, body, expect=405)
