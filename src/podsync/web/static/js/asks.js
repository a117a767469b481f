// "Are you mobilizing?": an ask about a need, its answer and what was discerned.

import { h } from "./dom.js";
import { app, badge, opForm, reconcile, toast, when, who, words } from "./ui.js";

const OUTCOMES = [["", "Not yet"], ["continue", "Continue"], ["release", "Release it"],
  ["ask_for_support", "Ask for support"], ["take_on", "Someone takes it on"]];

/** One ask as a speech bubble, with the answer form for the member asked. */
export function renderAsk(ask, needTitle) {
  const question = ask.question || "Are you mobilizing?";
  const forMe = ask.member === app.me && ask.state === "asked";
  const mayDiscern = ask.state === "answered" && [ask.asker, ask.member].includes(app.me);
  return h("li", { class: "bubble" },
    h("p", { class: "meta" }, `${who(ask.asker)} asked ${who(ask.member)} · `, when(ask.created_at)),
    h("p", { class: "detail" }, question),
    ask.answer ? h("p", { class: "detail" }, h("strong", {}, `${who(ask.member)}: `), ask.answer) : null,
    ask.discernment ? h("p", {}, badge(`discerned: ${words(ask.discernment)}`, "ok"),
      ask.discernment_note ? ` ${ask.discernment_note}` : "") : null,
    reconcile(ask, "mobilizing.settle", { ask_id: ask.id }, (c) => words(c.fields.discernment || c.state)),
    forMe ? opForm({
      op: "mobilizing.answer", submit: "Answer", part: `answer-${ask.id}`,
      fields: [
        { name: "text", label: "Your answer", kind: "textarea", required: true, rows: 2 },
        { name: "outcome", label: "What you discerned together", kind: "select", options: OUTCOMES },
        { name: "note", label: "Note (optional)" },
      ],
      args: (v) => ({ ask_id: ask.id, text: v.text, outcome: v.outcome || null, note: v.note }),
      done: () => toast("Answer recorded"),
    }) : null,
    mayDiscern ? opForm({
      op: "mobilizing.discern", submit: "Record discernment", part: `discern-${ask.id}`,
      layout: "inline",
      fields: [{ name: "outcome", label: "What you discerned together", kind: "select",
                 options: OUTCOMES.slice(1) },
               { name: "note", label: "Note (optional)" }],
      args: (v) => ({ ask_id: ask.id, outcome: v.outcome, note: v.note }),
      done: () => toast("Discernment recorded"),
    }) : null);
}
