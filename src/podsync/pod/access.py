"""Who may read a document of each kind the pod layer defines.

The trust layer asks :func:`readers` for every document before its content
leaves the node. Collections the whole pod works from are read by the whole
pod; a feedback thread by its giver and the stewards captured when it opened
(never the leader, even if later named a steward — a leader never is); a
statement delivered to a leader by the giver, the stewards and the leader, or
by the whole pod when the giver consented to making it public.
"""

from __future__ import annotations

from typing import Any, Literal

from podsync.pod import agreements, capacity, decisions, feedback, needs, teams
from podsync.repo.values import get_path

POD = "pod"
#: Kinds whose documents every member of the pod reads.
POD_WIDE_KINDS = frozenset({
    teams.POD_KIND, needs.KIND, agreements.KIND, decisions.KIND, capacity.KIND,
    teams.ITEMS_KIND,
})
#: Kinds whose documents only the members they name read.
PRIVATE_KINDS = frozenset({feedback.THREAD_KIND, feedback.STATEMENT_KIND})


def readers(kind: str, doc: Any) -> Literal["pod"] | frozenset[str] | None:
    """``"pod"``, the member ids that may read ``doc``, or None for kinds not defined here.

    A private document that is empty or malformed (not synced yet, or written by
    something else) has no readers: the answer fails closed.
    """
    if kind in POD_WIDE_KINDS:
        return POD
    if kind == feedback.THREAD_KIND:
        return _members(doc, feedback.THREAD_KEY, leader_reads=False)
    if kind == feedback.STATEMENT_KIND:
        if get_path(doc, feedback.STATEMENT_KEY, "public") is True:
            return POD
        return _members(doc, feedback.STATEMENT_KEY, leader_reads=True)
    return None


def _members(doc: Any, key: str, *, leader_reads: bool) -> frozenset[str]:
    raw = get_path(doc, key)
    if not isinstance(raw, dict):
        return frozenset()
    giver, leader, stewards = raw.get("giver"), raw.get("leader"), raw.get("stewards")
    if not isinstance(giver, str) or not isinstance(leader, str) or not isinstance(stewards, list):
        return frozenset()
    out = {giver, *(s for s in stewards if isinstance(s, str))}
    if leader_reads:
        out.add(leader)
    else:
        out.discard(leader)
    return frozenset(out)
