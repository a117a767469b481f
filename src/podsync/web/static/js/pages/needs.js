// The needs board: name a need, take it on without asking, see what is
// neglected, hold load and capacity side by side, ask "are you mobilizing?".

import { call } from "../api.js";
import { h, morph } from "../dom.js";
import { renderAsk } from "../asks.js";
import {
  app, badge, disclose, history, memberOptions, notes, opButton, opForm, reconcile, section, toast, when,
  who, words,
} from "../ui.js";

export const title = "Needs";

const SENSING = {
  emergent: "Something new is emerging",
  neglected: "Something is being neglected",
  void: "A void in how we work",
};
const STATE_KIND = { open: "", held: "ok", attended: "quiet", let_be: "quiet" };

const el = {};
let data = { needs: [], capacity: [], asks: [] };

function neglectText(signal) {
  if (signal.signal === "unheld") return `Open with no holder for ${signal.days} days`;
  return `${who(signal.member)} has said nothing for ${signal.days} days`;
}

function describeEvent(e) {
  const a = e.args || {};
  const said = a.note || a.reason || a.text;
  const text = {
    hold: "took it on", release: "let go of it", contact: `named ${who(a.member)} point of contact`,
    attend: "marked it attended", let_be: "let it be", reopen: "reopened it", note: "left a note",
    settle: `settled it as ${words(a.state)}`,
  }[e.op] || words(e.op);
  return said ? `${text}: “${said}”` : text;
}

function renderNeed(n) {
  const holders = n.holders.map((x) => x.member);
  const mine = holders.includes(app.me);
  const asks = n.asks;
  const classes = ["item", `state-${n.state}`];
  if (n.neglect.length) classes.push("neglected");
  if (n.needs_reconciliation) classes.push("conflict");
  if (mine) classes.push("mine");
  const buttons = [];
  const active = n.state === "open" || n.state === "held";
  if (active && !mine && !n.needs_reconciliation) {
    buttons.push(opButton({ op: "need.take", args: { id: n.id }, text: n.state === "open" ? "Take it on" : "Co-hold it",
                            buttonClass: n.state === "open" ? "" : "secondary",
                            done: () => toast("You hold this need") }));
  }
  if (!active && !n.needs_reconciliation) {
    buttons.push(opButton({ op: "need.reopen", args: { id: n.id, note: "" }, text: "Reopen",
                            done: () => toast("Reopened") }));
  }
  const others = holders.filter((m) => m !== app.me);
  return h("li", { class: classes.join(" "), tabindex: -1, id: `need-${n.id}`, "aria-label": n.title },
    h("div", { class: "head", "data-part": "head" },
      h("h3", {}, n.title),
      badge(n.state, STATE_KIND[n.state]),
      n.sensing === "void" ? badge("void", "quiet") : null,
      n.neglect.length ? badge("neglected", "warn") : null,
      n.needs_reconciliation ? badge("needs reconciliation", "conflict") : null),
    n.neglect.length ? h("p", { class: "notice warn", "data-part": "neglect" },
      n.neglect.map(neglectText).join(". "), ".") : null,
    n.detail ? h("p", { class: "detail", "data-part": "detail" }, n.detail) : null,
    h("p", { class: "meta", "data-part": "meta" },
      `${SENSING[n.sensing] || words(n.sensing)} · named by ${who(n.created_by)}, `, when(n.created_at)),
    holders.length ? h("p", { "data-part": "holders" }, h("strong", {}, "Held by "),
      n.holders.map((x) => who(x.member) + (x.point_of_contact ? " (point of contact)" : "")).join(", ")) : null,
    n.reason ? h("p", { "data-part": "reason" }, h("strong", {}, n.state === "let_be" ? "Let be because: " : "Note: "), n.reason) : null,
    reconcile(n, "need.settle", { id: n.id }, (c) => {
      const who_ = (c.fields.holders || []).map(who).join(", ");
      return who_ ? `${words(c.state)} by ${who_}` : words(c.state);
    }),
    notes(n.notes),
    asks.length ? h("ul", { class: "list", "data-part": "asks", "aria-label": "Are you mobilizing?" },
      asks.map((a) => renderAsk(a, n.title))) : null,
    buttons.length ? h("div", { class: "actions", "data-part": "buttons" }, buttons) : null,
    mine && n.state === "held" && !n.needs_reconciliation ? disclose("Mark attended…", opForm({
      op: "need.done", submit: "Mark attended",
      fields: [{ name: "note", label: "How it was attended (optional)", kind: "textarea", rows: 2 }],
      args: (v) => ({ id: n.id, note: v.note }), done: () => toast("Marked attended"),
    }), "done") : null,
    mine && !n.needs_reconciliation ? disclose("Let go of it…", opForm({
      op: "need.release", submit: "Let go",
      fields: [{ name: "note", label: "A word for whoever picks it up (optional)", kind: "textarea", rows: 2 }],
      args: (v) => ({ id: n.id, note: v.note }), done: () => toast("Released"),
    }), "release") : null,
    n.state === "open" && !n.needs_reconciliation ? disclose("Let it be…", opForm({
      op: "need.let_be", submit: "Let it be",
      fields: [{ name: "reason", label: "Why leave this void on purpose", kind: "textarea", rows: 2, required: true }],
      args: (v) => ({ id: n.id, reason: v.reason }), done: () => toast("Left as a void, on purpose"),
    }), "let-be") : null,
    others.length && !n.needs_reconciliation ? disclose("Ask: are you mobilizing?…", opForm({
      op: "mobilizing.ask", submit: "Ask",
      fields: [{ name: "member", label: "Ask", kind: "select", options: others.map((m) => [m, who(m)]) },
               { name: "question", label: "Your question", kind: "textarea", rows: 2,
                 value: "Are you mobilizing on this? Shall we discern it together?" }],
      args: (v) => ({ member: v.member, need_id: n.id, about: "held", question: v.question }),
      done: () => toast("Asked: each of you adds a view"),
    }), "ask") : null,
    n.state === "open" && !n.needs_reconciliation ? disclose("Ask someone: could you take this on?…", opForm({
      op: "mobilizing.ask", submit: "Ask",
      fields: [{ name: "member", label: "Ask", kind: "select", options: memberOptions({ exclude: [app.me] }) },
               { name: "question", label: "Your question", kind: "textarea", rows: 2,
                 value: "Nobody holds this yet. Could it be yours? Shall we discern it together?" }],
      args: (v) => ({ member: v.member, need_id: n.id, about: "open", question: v.question }),
      done: () => toast("Asked: each of you adds a view"),
    }), "ask-open") : null,
    disclose("Add a note…", opForm({
      op: "need.note", submit: "Add note",
      fields: [{ name: "text", label: "Note", kind: "textarea", rows: 2, required: true }],
      args: (v) => ({ id: n.id, text: v.text }), done: () => toast("Note added"),
    }), "note"),
    history(n.history, describeEvent));
}

function renderLoad(row) {
  const level = row.current ? row.current.level : null;
  const needs = row.load.needs;
  const agreements = row.load.agreements;
  return h("li", { tabindex: -1 },
    h("p", { class: "load" }, h("strong", {}, who(row.member)),
      level ? h("span", { class: `badge cap-${level}` }, level) : h("span", { class: "badge quiet" }, "no check-in")),
    h("p", { class: "meta" },
      `Holds ${needs.length} need${needs.length === 1 ? "" : "s"} · party to ${agreements.length} agreement${agreements.length === 1 ? "" : "s"}`),
    row.current && row.current.note ? h("p", { class: "meta" }, `“${row.current.note}”`) : null,
    needs.length ? h("p", { class: "meta" }, needs.map((x) => x.title).join(" · ")) : null,
    row.strained.length ? h("p", { class: "meta" }, "No longer within capacity: ",
      row.strained.map((x) => x.title).join(" · ")) : null);
}

function renderWaiting(ask) {
  const need = data.needs.find((n) => n.id === ask.need);
  const target = need ? h("a", { href: `#need-${ask.need}` }, need.title)
    : h("a", { href: "/capacity" }, "a pattern");
  return h("li", {}, target,
    h("p", { class: "meta" }, `${who(ask.asker)} asks ${who(ask.member)}: ${ask.question || "Are you mobilizing?"}`,
      ask.waiting === "confirm" ? " — an outcome waits for your word" : " — your view is asked"));
}

export function mount() {
  el.active = h("ul", { class: "list", "aria-label": "Open and held needs" });
  el.closed = h("ul", { class: "list", "aria-label": "Attended and let-be needs" });
  el.closedCount = h("span", {});
  el.loads = h("ul", { class: "rows", "aria-label": "Load and capacity per member" });
  el.waiting = h("ul", { class: "rows" });
  el.waitingBox = section("Asked of you", el.waiting);
  el.waitingBox.hidden = true;
  return [
    h("h1", {}, "Needs board"),
    h("p", { class: "page-intro" },
      "Anyone may name a need they sense, and anyone may take one on without asking permission. "
      + "Needs nobody has held for a while, or whose holder has gone quiet, are marked."),
    h("div", { class: "grid two" },
      h("div", {},
        section("Open and held", el.active),
        h("details", { class: "card", "data-key": "closed" },
          h("summary", {}, "Attended and let be ", el.closedCount), el.closed)),
      h("div", {},
        section("Name a need", opForm({
          op: "need.add", submit: "Add to the board", part: "add",
          fields: [
            { name: "title", label: "What is needed", required: true },
            { name: "detail", label: "Details (optional)", kind: "textarea", rows: 3 },
            { name: "sensing", label: "What you sense", kind: "radios", value: ["emergent"],
              options: Object.entries(SENSING) },
          ],
          done: () => toast("Need added"),
        })),
        el.waitingBox,
        section("Load and capacity",
          h("p", { class: "lead" }, "What each person holds, next to the capacity they last stated. "
            + "It is here to help discern together, never to rank."),
          el.loads))),
  ];
}

export async function refresh() {
  const [board, capacity, asks, awaiting] = await Promise.all([
    call("need.list"), call("capacity.list"), call("mobilizing.list"), call("mobilizing.awaiting")]);
  // Each need carries its asks, so a new answer re-renders the need it is about.
  const needs = board.map((n) => ({ ...n, asks: asks.filter((a) => a.need === n.id) }));
  data = { needs, capacity, asks };
  const active = needs.filter((n) => n.state === "open" || n.state === "held" || n.needs_reconciliation);
  const closed = needs.filter((n) => !active.includes(n));
  morph(el.active, active, (n) => n.id, renderNeed, "Nothing on the board. Name a need you sense.");
  morph(el.closed, closed, (n) => n.id, renderNeed, "None yet.");
  el.closedCount.textContent = `(${closed.length})`;
  morph(el.loads, capacity.filter((r) => r.active), (r) => r.member, renderLoad);
  const reasons = new Map(awaiting.map((x) => [x.ask, x.reason]));
  const waiting = asks.filter((a) => reasons.has(a.id)).map((a) => ({ ...a, waiting: reasons.get(a.id) }));
  el.waitingBox.hidden = waiting.length === 0;
  morph(el.waiting, waiting, (a) => a.id, renderWaiting);
}
