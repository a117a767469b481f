"""Everything the pod keeps, as JSON and Markdown readable without podsync.

The export holds the derived current state of every item *and* its full event
history, so nothing depends on podsync to be understood or audited later. It
contains exactly the documents it is given: pass only those the exporting
member may read (feedback threads are private to their giver and stewards).
"""

from __future__ import annotations

import datetime as _dt
from collections.abc import Mapping
from typing import Any

import msgspec

from podsync.pod import agreements, capacity, decisions, feedback, needs, teams
from podsync.pod.common import iso_at, kind_of
from podsync.repo.values import get_path, to_python

EXPORT_FORMAT = "podsync-export"
EXPORT_VERSION = 1


def export_json(docs: Mapping[str, Any], now: _dt.datetime) -> dict[str, Any]:
    """A JSON-ready dict of every document in ``docs`` (doc id → am.Document)."""
    out: dict[str, Any] = {
        "format": EXPORT_FORMAT, "version": EXPORT_VERSION, "exported_at": iso_at(now, "now"),
        "documents": [], "roster": None, "teams": [], "stewards": {}, "needs": [],
        "agreements": [], "decisions": [], "checkins": [], "mobilizing_asks": [], "loads": [],
        "team_items": [], "feedback_statements": [], "feedback_threads": [], "other": [],
    }
    all_needs: list[needs.Need] = []
    all_agreements: list[agreements.Agreement] = []
    all_checkins: list[capacity.CheckIn] = []
    for doc_id, doc in sorted(docs.items()):
        kind = kind_of(doc) or "automerge"
        out["documents"].append({"id": doc_id, "kind": kind})

        def add(section: str, records: list[Any], doc_id: str = doc_id) -> None:
            out[section] += [{"document": doc_id, **msgspec.to_builtins(r)} for r in records]

        if kind == teams.POD_KIND:
            out["roster"] = get_path(doc, "roster")
            add("teams", teams.teams(doc))
            out["stewards"].update(teams.stewardships(doc))
        elif kind == needs.KIND:
            all_needs += needs.needs(doc, now)
            add("needs", needs.needs(doc, now))
        elif kind == agreements.KIND:
            all_agreements += agreements.agreements(doc, now)
            add("agreements", agreements.agreements(doc, now))
        elif kind == decisions.KIND:
            add("decisions", decisions.decisions(doc, now))
        elif kind == capacity.KIND:
            all_checkins += capacity.checkins(doc)
            add("checkins", capacity.checkins(doc))
            add("mobilizing_asks", capacity.asks(doc))
        elif kind == teams.ITEMS_KIND:
            add("team_items", teams.team_items(doc))
        elif kind == feedback.STATEMENT_KIND and get_path(doc, feedback.STATEMENT_KEY):
            add("feedback_statements", [feedback.statement(doc)])
        elif kind == feedback.THREAD_KIND and get_path(doc, feedback.THREAD_KEY):
            add("feedback_threads", [feedback.thread(doc)])
        else:
            out["other"].append({"document": doc_id, "kind": kind, "content": to_python(doc)})
    out["loads"] = msgspec.to_builtins(capacity.loads(all_needs, all_agreements, all_checkins))
    return out


def export_markdown(docs: Mapping[str, Any], now: _dt.datetime) -> str:
    """The same content as :func:`export_json`, as one Markdown document."""
    data = export_json(docs, now)
    md = _Markdown()
    md.line(f"# Pod export ({data['exported_at']})")
    md.section("Teams")
    for t in data["teams"]:
        md.line(f"- **{t['name']}** ({t['id']}): {', '.join(t['members']) or 'no members'}")
    md.section("Stewards")
    for leader, stewards in data["stewards"].items():
        md.line(f"- for {leader}: {', '.join(stewards)}")
    md.section("Needs")
    for n in data["needs"]:
        md.item(n, n["title"], [
            ("sensing", n["sensing"]), ("holders", ", ".join(
                h["member"] + (" (point of contact)" if h["point_of_contact"] else "")
                for h in n["holders"])),
            ("reason", n["reason"]), ("detail", n["detail"]),
            ("neglect", "; ".join(f"{s['signal']} {s['member'] or ''} {s['days']} days".strip()
                                  for s in n["neglect"]))])
    md.section("Agreements")
    for a in data["agreements"]:
        md.item(a, a["what"], [
            ("version", str(a["version"])), ("review on", a["review_on"]),
            ("parties", "; ".join(
                f"{p['member']}: " + ("within my capacity" if p["affirmed"] else
                                     "no longer within my capacity" if p["no_longer"] is not None
                                     else "not yet affirmed") + (f" — {p['note']}" if p["note"]
                                                                 else "")
                for p in a["parties"])),
            ("anchors", "; ".join(f"{x['kind']}: {x['ref']}" for x in a["anchors"])),
            ("reminders", ", ".join(a["reminders"])),
            ("earlier versions", "; ".join(f"v{x['version']}: {x['what']}"
                                           for x in a["versions"][:-1]))])
    md.section("Decisions")
    for d in data["decisions"]:
        md.item(d, d["title"], [
            ("decider", d["decider"]), ("proposal", d["proposal"]), ("deadline", d["deadline"]),
            ("asked", "; ".join(f"{x['member']} ({x['reason']})" for x in d["asked"])),
            ("advice", "; ".join(
                f"{x['by']} {x['stance']}: {x['text']}" + (
                    f" [{'integrated' if x['integration']['integrated'] else 'not integrated'}: "
                    f"{x['integration']['why']}]" if x["integration"] else "")
                for x in d["advice"])),
            ("decision", d["decision"]), ("review on", d["review_on"])])
    md.section("Capacity")
    for c in data["checkins"]:
        note = f" — {c['note']}" if c["note"] else ""
        md.line(f"- {c['at']} {c['member']}: {c['level']}{note}")
    for load in data["loads"]:
        md.line(f"- load of {load['member']}: {len(load['needs'])} needs held, "
                f"{len(load['agreements'])} agreements")
    md.section("Are you mobilizing?")
    for x in data["mobilizing_asks"]:
        md.item(x, f"{x['asker']} asked {x['member']} about need {x['need']}", [
            ("question", x["question"]), ("answer", x["answer"]),
            ("discernment", x["discernment"]), ("discernment note", x["discernment_note"])])
    md.section("Team items")
    for x in data["team_items"]:
        md.item(x, x["title"], [("team", x["team"]), ("detail", x["detail"]),
                                ("origin", x["origin"]), ("addressed", x["addressed_note"])])
    md.section("Feedback statements")
    for x in data["feedback_statements"]:
        md.line(f"### For {x['leader']} ({'public' if x['public'] else 'private'})")
        md.line(x["statement"])
        for r in x["responses"]:
            md.line(f"- response ({r['at']}): {r['text']}")
    md.section("Feedback threads (private)")
    for x in data["feedback_threads"]:
        md.item(x, f"Feedback from {x['giver']} for {x['leader']}", [
            ("stewards", ", ".join(x["stewards"])),
            ("routed", x["routed"]["route"] if x["routed"] else None)])
        for m in x["messages"]:
            md.line(f"  - {m['at']} {m['by']}: {m['text']}")
    if data["other"]:
        md.section("Other documents")
        for x in data["other"]:
            md.line(f"- {x['document']} ({x['kind']})")
    return md.text()


class _Markdown:
    def __init__(self) -> None:
        self.lines: list[str] = []

    def line(self, text: str) -> None:
        self.lines.append(text)

    def section(self, title: str) -> None:
        self.lines += ["", f"## {title}", ""]

    def item(self, record: dict[str, Any], title: str, fields: list[tuple[str, Any]]) -> None:
        state = record.get("state")
        head = f"### {title.splitlines()[0] if title else record.get('id')}"
        self.lines += ["", head + (f" — {state}" if state else ""), f"- id: {record.get('id')}"]
        if record.get("created_at"):
            by = record.get("created_by") or record.get("decider") or record.get("asker") \
                or record.get("giver")
            self.lines.append(f"- created: {record['created_at']} by {by}")
        for label, value in fields:
            if value not in (None, ""):
                self.lines.append(f"- {label}: {value}")
        if record.get("needs_reconciliation"):
            options = "; ".join(f"{c['state']} by {', '.join(c['by'])}"
                                for c in record["candidates"])
            self.lines.append(f"- **needs reconciliation**: {options}")
        for note in record.get("notes", []):
            self.lines.append(f"- note ({note['at']}, {note['by']}): {note['text']}")
        history = record.get("history", [])
        if history:
            self.lines.append("- history:")
            for e in history:
                args = ", ".join(f"{k}={v}" for k, v in e["args"].items() if v not in (None, ""))
                detail = f" ({args})" if args else ""
                self.lines.append(f"  - {e['at']} {e['by']} {e['op']}{detail}")

    def text(self) -> str:
        return "\n".join(self.lines).strip() + "\n"
