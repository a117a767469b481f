"""Everything a member may read in the pod, as JSON and Markdown readable without podsync.

Members are named by their names in the Markdown (never by id), and the JSON keeps
their ids and adds ``names`` (member id -> name) beside them.

The export holds the derived current state of every item *and* its full event
history, so nothing depends on podsync to be understood or audited later. It is
made from counted records only (what signed records establish), never from the
rest of a document: the caller derives each document's items with the same
reading functions the operations use, and adds them to a :class:`Contents`. It
contains exactly what it is given: add only documents the exporting member may
read (feedback threads are private to their giver and stewards).
"""

from __future__ import annotations

import datetime as _dt
from collections.abc import Iterable
from typing import Any

import msgspec

from podsync.pod.common import iso_at

EXPORT_FORMAT = "podsync-export"
EXPORT_VERSION = 1
#: The export's lists of items, each entry a view plus the ``document`` it came from.
SECTIONS = ("teams", "steward_nominations", "needs", "agreements", "decisions", "checkins",
            "mobilizing_asks", "allies", "team_items", "feedback_statements", "feedback_threads")


class Contents:
    """What one export holds: every document it covers, and the views derived from
    their counted records."""

    def __init__(self) -> None:
        self.documents: dict[str, str] = {}  # document id -> kind
        self.roster: Any = None
        self.stewards: dict[str, list[str]] = {}
        self.loads: list[Any] = []
        self.feedback_summary: Any = None
        #: Each entry a dict, or (:meth:`add_json`) the same as JSON.
        self.sections: dict[str, list[dict[str, Any] | msgspec.Raw]] = {s: [] for s in SECTIONS}
        self.other: list[dict[str, Any]] = []

    def document(self, doc_id: str, kind: str) -> None:
        self.documents[doc_id] = kind

    def add(self, section: str, doc_id: str, views: Iterable[Any]) -> None:
        """Add ``views`` (Structs or plain dicts) of document ``doc_id`` to ``section``."""
        if section not in self.sections:
            raise ValueError(f"no export section {section!r}")
        self.sections[section] += [{"document": doc_id, **msgspec.to_builtins(x)} for x in views]

    def add_json(self, section: str, doc_id: str, views: Iterable[bytes]) -> None:
        """Add views of document ``doc_id`` already encoded (JSON objects) to ``section``."""
        if section not in self.sections:
            raise ValueError(f"no export section {section!r}")
        head = b'{"document":' + msgspec.json.encode(doc_id)
        self.sections[section] += [
            msgspec.Raw(head + (b"}" if view.strip() == b"{}" else b"," + view.lstrip()[1:]))
            for view in views]

    def add_other(self, doc_id: str, kind: str, content: Any = None) -> None:
        """A document the export has no section for (another app's, with its content)."""
        self.other.append({"document": doc_id, "kind": kind,
                           "content": msgspec.to_builtins(content)})


def export_json(contents: Contents, now: _dt.datetime) -> dict[str, Any]:
    """The export as a JSON-ready dict."""
    sections = contents.sections
    return {
        "format": EXPORT_FORMAT, "version": EXPORT_VERSION, "exported_at": iso_at(now, "now"),
        "documents": [{"id": doc_id, "kind": kind}
                      for doc_id, kind in sorted(contents.documents.items())],
        "roster": msgspec.to_builtins(contents.roster), "names": _names(contents),
        "teams": sections["teams"],
        "stewards": dict(sorted(contents.stewards.items())),
        "steward_nominations": sections["steward_nominations"], "needs": sections["needs"],
        "agreements": sections["agreements"], "decisions": sections["decisions"],
        "checkins": sections["checkins"], "mobilizing_asks": sections["mobilizing_asks"],
        "allies": sections["allies"],
        "loads": msgspec.to_builtins(contents.loads), "team_items": sections["team_items"],
        "feedback_statements": sections["feedback_statements"],
        "feedback_threads": sections["feedback_threads"],
        "feedback_summary": msgspec.to_builtins(contents.feedback_summary),
        "other": contents.other,
    }


def _names(contents: Contents) -> dict[str, str]:
    members = getattr(contents.roster, "members", None) or []
    return {m.member_id: m.name for m in members}


def export_markdown(contents: Contents, now: _dt.datetime) -> str:
    """The same content as :func:`export_json`, as one Markdown document."""
    # Read back as plain values (sections may hold views as JSON).
    data = msgspec.json.decode(msgspec.json.encode(export_json(contents, now)))
    md = _Markdown()
    md.line(f"# Pod export ({data['exported_at']})")
    md.section("Teams")
    for t in data["teams"]:
        md.line(f"- **{t['name']}** ({t['id']}): {', '.join(t['members']) or 'no members'}")
    md.section("Stewards")
    for leader, stewards in data["stewards"].items():
        md.line(f"- for {leader}: {', '.join(stewards)}")
    for x in data["steward_nominations"]:
        ended = f", {x['ending']} by {x['ended_by']} {x['ended_at']}" if x["ending"] else ""
        md.line(f"- nomination {x['id']}: {x['steward']} for {x['leader']}, proposed by "
                f"{x['proposed_by']} {x['proposed_at']} — {x['state']}"
                f"{', affirmed ' + x['affirmed_at'] if x['affirmed_at'] else ''}"
                f"{', consented ' + x['consented_at'] if x['consented_at'] else ''}{ended}")
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
            ("proposed revision", f"v{a['revision']['version']}: {a['revision']['what']} "
             f"(parties {', '.join(p['member'] for p in a['revision']['parties'])})"
             if a["revision"] else None),
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
            ("decision", d["decision"]), ("review on", d["review_on"]),
            ("basis", (f"advice {', '.join(d['basis']['advice'])}" if d["basis"]["kind"] == "advice"
                       else f"nobody else is affected: {d['basis']['reason']}")
             if d["basis"] else None),
            ("withdrawn", d["withdrawn_note"]),
            ("links", "; ".join(f"{x['kind']} {x['ref']}" for x in d["links"]))])
    md.section("Capacity")
    for c in data["checkins"]:
        note = f" — {c['note']}" if c["note"] else ""
        md.line(f"- {c['at']} {c['member']}: {c['level']}{note}")
    for load in data["loads"]:
        md.line(f"- load of {load['member']}: {len(load['needs'])} needs held, "
                f"{len(load['agreements'])} agreements")
    md.section("Are you mobilizing?")
    for x in data["mobilizing_asks"]:
        about = f"need {x['need']}" if x["need"] else "a pattern"
        md.item(x, f"{x['asker']} asked {x['member']} about {about}", [
            ("question", x["question"]),
            ("views", "; ".join(f"{w['by']}: " + ", ".join(
                f"{k} {w[k]}" for k in ("purpose", "within", "around", "void", "over") if w[k])
                for w in x["views"])),
            ("proposed", "; ".join(f"{p['outcome']} by {p['by']} (confirmed by "
                                   f"{', '.join(p['confirmed_by'])})" for p in x["proposals"])),
            ("outcome", x["outcome"]["outcome"] if x["outcome"] else None)])
    for x in data["allies"]:
        md.line(f"- allies {' and '.join(x['allies'])} every {x['every_days']} days: "
                f"{x['focus']} — {x['state']}" + (f", next due {x['due_at']}" if x["due_at"] else ""))
    md.section("Team items")
    for x in data["team_items"]:
        md.item(x, x["title"], [("team", x["team"]), ("detail", x["detail"]),
                                ("origin", x["origin"]), ("addressed", x["addressed_note"])])
    summary = data["feedback_summary"]
    if summary:
        md.section("Where feedback ended up")
        for r in summary["routes"]:
            md.line(f"- {r['route']}: {r['count']}" + (
                f" (median {r['median_days']} days, longest {r['longest_days']})"
                if r["count"] else ""))
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
            ("routed", x["routed"]["route"] if x["routed"] else None),
            ("withdrawn by the giver", x["withdrawn"]["at"] if x["withdrawn"] else None)])
        for m in x["messages"]:
            md.line(f"  - {m['at']} {m['by']}: {m['text']}")
    if data["other"]:
        md.section("Other documents")
        for x in data["other"]:
            md.line(f"- {x['document']} ({x['kind']})")
    text = md.text()
    # People read names: every member id, wherever a view or a history put it.
    for member_id, name in sorted(data["names"].items(), key=lambda kv: -len(kv[0])):
        text = text.replace(member_id, name)
    return text


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
        # A thread is known by its document's id; every other item by its own.
        ident = record.get("id") or record.get("document")
        self.lines += ["", head + (f" — {state}" if state else ""), f"- id: {ident}"]
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
