// "Are you mobilizing?" held together: everyone taking part says their view against
// the essay's criteria; an outcome proposed by one takes effect once the person it
// concerns and one more participant confirm it.

import { h } from "./dom.js";
import { app, badge, disclose, opButton, opForm, reconcile, toast, when, who, words } from "./ui.js";

export const CRITERIA = [
  ["purpose", "The purpose it serves"],
  ["within", "Capacity within them"],
  ["around", "Capacity around them"],
  ["void", "The void if they step back"],
  ["over", "The cost of over-mobilizing"],
];
export const OUTCOMES = [
  ["continue", "Continue as now"],
  ["release", "Release it"],
  ["ask_for_support", "Ask for support"],
  ["take_on", "Take it on"],
];
const OUTCOME_WORDS = Object.fromEntries(OUTCOMES);
const ABOUT = { held: "a need they hold", open: "an open need nobody holds", pattern: "a pattern" };
const DONE = {
  released: "their node let go of the need", held: "their node took the need on",
  opened: "their node opened a need for it", linked: "their node asked for support on the need",
  nothing: "nothing to change on the needs board",
};

function renderView(view) {
  return h("li", { class: view.by === app.me ? "bubble mine" : "bubble" },
    h("p", { class: "meta" }, `${who(view.by)} · `, when(view.at)),
    h("dl", { class: "criteria" }, CRITERIA.filter(([key]) => view[key]).map(([key, label]) => [
      h("dt", {}, label), h("dd", { class: "detail" }, view[key])])));
}

function renderProposal(ask, p, open) {
  const mine = p.confirmed_by.includes(app.me);
  const taking = ask.participants.includes(app.me);
  const target = p.title ? ` — a new need: “${p.title}”` : "";
  return h("li", { class: "bubble proposal" },
    h("p", {}, h("strong", {}, OUTCOME_WORDS[p.outcome] || words(p.outcome)), target,
      ` · proposed by ${who(p.by)}`),
    p.note ? h("p", { class: "detail" }, p.note) : null,
    h("p", { class: "meta" }, `Confirmed by ${p.confirmed_by.map(who).join(", ")}`,
      p.confirmed_by.includes(ask.member) ? "" : ` · waiting for ${who(ask.member)}`),
    open && taking && !mine ? opButton({
      op: "mobilizing.confirm", args: { ask_id: ask.id, proposal_id: p.id },
      text: `Confirm “${OUTCOME_WORDS[p.outcome] || words(p.outcome)}”`, buttonClass: "",
      part: `confirm-${p.id}`, done: () => toast("Confirmed"),
    }) : null);
}

function viewForm(ask) {
  const self = ask.member === app.me;
  return opForm({
    op: "mobilizing.view", submit: "Add my view", part: `view-${ask.id}`,
    fields: CRITERIA.map(([name, label]) => ({
      name, label: self ? label.replace("them", "me").replace("they", "I") : label,
      kind: "textarea", rows: 2 })),
    args: (v) => ({ ask_id: ask.id, ...v }), done: () => toast("Your view is added"),
  });
}

function proposeForm(ask) {
  return opForm({
    op: "mobilizing.propose", submit: "Propose", part: `propose-${ask.id}`,
    fields: [
      { name: "outcome", label: "What we might do", kind: "radios", required: true, options: OUTCOMES },
      { name: "note", label: "A word about it (optional)", kind: "textarea", rows: 2 },
      { name: "title", label: "A new need to open (for take on / ask for support; optional)",
        hint: ask.need ? "Leave empty to use the need this is about." : "" },
    ],
    args: (v) => ({ ask_id: ask.id, outcome: v.outcome, note: v.note, title: v.title }),
    done: () => toast("Proposed: it takes effect once confirmed"),
  });
}

/** One ask as a conversation, with what each participant may do now. */
export function renderAsk(ask, needTitle) {
  const open = ask.state === "open" && !ask.needs_reconciliation;
  const taking = ask.participants.includes(app.me);
  const saidMine = ask.views.some((v) => v.by === app.me);
  const outcome = ask.outcome;
  return h("li", { class: `item ask${ask.needs_reconciliation ? " conflict" : ""}`, tabindex: -1,
                   "aria-label": `Are you mobilizing? ${who(ask.asker)} asks ${who(ask.member)}` },
    h("div", { class: "head", "data-part": "head" },
      h("h3", {}, `${who(ask.asker)} asks ${who(ask.member)}`),
      badge(ask.state === "open" ? "discerning together" : "discerned", ask.state === "open" ? "" : "ok"),
      ask.needs_reconciliation ? badge("needs reconciliation", "conflict") : null),
    h("p", { class: "meta", "data-part": "about" }, `About ${ABOUT[ask.about] || "a need"}`,
      needTitle ? `: ${needTitle}` : "", " · ", when(ask.created_at)),
    h("p", { class: "detail", "data-part": "question" }, ask.question || "Are you mobilizing?"),
    ask.views.length ? h("ul", { class: "bubbles", "data-part": "views", "aria-label": "Views" },
      ask.views.map(renderView)) : null,
    ask.proposals.length ? h("ul", { class: "bubbles", "data-part": "proposals", "aria-label": "Proposed outcomes" },
      ask.proposals.map((p) => renderProposal(ask, p, open))) : null,
    outcome ? h("p", { class: "notice ok", "data-part": "outcome" },
      h("strong", {}, `Discerned together: ${OUTCOME_WORDS[outcome.outcome] || words(outcome.outcome)}`),
      ` — confirmed by ${outcome.confirmed_by.map(who).join(", ")}`,
      ask.followed ? `; ${DONE[ask.followed.done] || words(ask.followed.done)}.` : ".") : null,
    reconcile(ask, "mobilizing.settle", { ask_id: ask.id },
      (c) => OUTCOME_WORDS[c.fields.outcome] || words(c.fields.outcome || c.state)),
    open ? disclose(saidMine ? "Add more to my view…" : taking ? "Say my view…" : "Join: say my view…",
      viewForm(ask), "view") : null,
    open && taking ? disclose("Propose an outcome…", proposeForm(ask), "propose") : null);
}
