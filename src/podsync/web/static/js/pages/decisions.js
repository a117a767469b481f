// Decisions by advice process: anyone may decide, after asking those affected
// and those with expertise, and integrating what they can. No votes, no veto.

import { call } from "../api.js";
import { h, morph, refill } from "../dom.js";
import {
  app, badge, day, disclose, history, memberOptions, notes, opButton, opForm, reconcile, section, toast,
  when, who, words,
} from "../ui.js";

export const title = "Decisions";

const STANCES = [["support", "Support"], ["concern", "Concern"], ["discourage", "Discourage"],
  ["no_advice", "No advice"]];
const STANCE_KIND = { support: "ok", concern: "warn", discourage: "danger", no_advice: "quiet" };
const el = {};

function describeEvent(e) {
  const a = e.args || {};
  const text = {
    ask: `asked ${who(a.member)} for advice (${words(a.reason)})`,
    unask: `withdrew the ask of ${who(a.member)}`,
    decline: "declined to advise",
    advise: `gave advice: ${words(a.stance)}`,
    integrate: a.integrated ? "integrated a piece of advice" : "did not integrate a piece of advice",
    deadline: "moved the deadline", link: `linked a ${words(a.kind)}`,
    withdraw: "withdrew the decision",
    decide: a.reason && !(a.advice || []).length ? "decided: nobody else is affected" : "decided",
    note: "left a note", settle: `settled it as ${words(a.state)}`,
  }[e.op] || words(e.op);
  const said = a.why || a.text || a.note || (e.op === "decide" ? a.reason : "");
  return said ? `${text}: “${said}”` : text;
}

function renderAdvice(d, advice) {
  const decider = d.decider === app.me;
  const open = d.state === "gathering_advice" && !d.needs_reconciliation;
  const integration = advice.integration;
  return h("li", { class: advice.by === app.me ? "bubble mine" : "bubble" },
    h("p", { class: "meta" }, who(advice.by), advice.asked ? " (asked)" : "", " · ", when(advice.at), " "),
    h("p", {}, badge(advice.stance, STANCE_KIND[advice.stance])),
    advice.text ? h("p", { class: "detail" }, advice.text) : null,
    integration ? h("p", { class: "meta" }, h("strong", {}, integration.integrated ? "Integrated: " : "Not integrated: "),
      integration.why) : null,
    decider && open && !integration ? opForm({
      op: "decision.integrate", submit: "Record", part: `integrate-${advice.id}`,
      fields: [{ name: "integrated", label: "Did you take it in?", kind: "radios", required: true,
                 options: [["yes", "Integrated"], ["no", "Not integrated"]] },
               { name: "why", label: "How, or why not", kind: "textarea", rows: 2, required: true }],
      args: (v) => ({ id: d.id, advice_id: advice.id, integrated: v.integrated === "yes", why: v.why }),
      done: () => toast("Recorded"),
    }) : null);
}

let titles = { need: new Map(), agreement: new Map() };

function linkText(link) {
  const name = titles[link.kind].get(link.ref);
  return `${link.kind} “${name || link.ref.slice(0, 8)}”`;
}

function basisText(d) {
  if (!d.basis) return null;
  if (d.basis.kind === "advice") {
    const by = d.advice.filter((x) => d.basis.advice.includes(x.id)).map((x) => who(x.by));
    return `Decided after advice from ${[...new Set(by)].join(", ") || "members asked"}`;
  }
  return `Decided without advice — nobody else is affected: “${d.basis.reason}”`;
}

function asked(d, x, open) {
  const state = x.withdrawn ? "ask withdrawn" : x.declined ? "declined to advise" : x.answered ? "" : "waiting";
  const note = x.withdrawn ? x.withdrawn_note : x.declined ? x.decline_note : "";
  return h("li", { class: x.answered ? "person yes" : x.withdrawn || x.declined ? "person no" : "person" },
    `${x.answered ? "✓ " : ""}${who(x.member)} · ${words(x.reason)}${state ? ` · ${state}` : ""}`,
    note ? ` — “${note}”` : "",
    open && d.decider === app.me && !x.withdrawn && !x.answered ? opButton({
      op: "decision.unask", args: { id: d.id, member: x.member, note: "" }, text: "×", buttonClass: "link",
      buttonLabel: `Withdraw the ask of ${who(x.member)}`, part: `unask-${x.member}`,
      done: () => toast("Ask withdrawn"),
    }) : null);
}

function renderDecision(d) {
  const decider = d.decider === app.me;
  const open = d.state === "gathering_advice" && !d.needs_reconciliation;
  const pastDeadline = new Date(d.deadline) < new Date();
  const classes = ["item", `state-${d.state}`];
  if (d.needs_reconciliation) classes.push("conflict");
  if (d.state === "review_due") classes.push("neglected");
  const askedMe = d.asked.find((x) => x.member === app.me && !x.withdrawn);
  const gaveAdvice = d.advice.some((x) => x.by === app.me);
  const adviceFromAsked = d.advice.some((x) => d.asked.some((a) => a.member === x.by));
  return h("li", { class: classes.join(" "), tabindex: -1, "aria-label": d.title },
    h("div", { class: "head", "data-part": "head" },
      h("h3", {}, d.title),
      badge(d.state === "gathering_advice" ? "gathering advice" : d.state, d.state === "decided" ? "ok" : ""),
      d.needs_reconciliation ? badge("needs reconciliation", "conflict") : null),
    h("p", { class: "detail", "data-part": "proposal" }, d.proposal),
    h("p", { class: "meta", "data-part": "meta" }, `${who(d.decider)} decides · advice until `, when(d.deadline),
      open && pastDeadline ? " (passed)" : "",
      d.deadline_moves.length ? ` · deadline moved ${d.deadline_moves.length}×` : ""),
    d.deadline_moves.length ? h("ul", { class: "rows meta", "data-part": "moves" }, d.deadline_moves.map((m) =>
      h("li", {}, "Moved to ", when(m.deadline), " on ", when(m.at), m.note ? ` — “${m.note}”` : ""))) : null,
    d.links.length ? h("p", { class: "meta", "data-part": "links" }, `Touches ${d.links.map(linkText).join(" · ")}`) : null,
    askedMe && open && !gaveAdvice && !askedMe.declined ? h("div", { class: "notice warn", "data-part": "asked-me" },
      h("p", {}, `${who(d.decider)} asks for your advice (${words(askedMe.reason)})`,
        askedMe.note ? `: “${askedMe.note}”` : "."),
      disclose("I cannot advise on this…", opForm({
        op: "decision.decline", submit: "Decline to advise", buttonClass: "secondary",
        fields: [{ name: "note", label: "A word to the decider (optional)" }],
        args: (v) => ({ id: d.id, note: v.note }), done: () => toast("Declined: nobody waits for you"),
      }), "decline")) : null,
    d.asked.length ? h("div", { "data-part": "asked" }, h("p", { class: "label" }, "Asked for advice"),
      h("ul", { class: "people" }, d.asked.map((x) => asked(d, x, open)))) : null,
    d.advice.length ? h("div", { "data-part": "advice" }, h("p", { class: "label" }, "Advice"),
      h("ul", { class: "bubbles" }, d.advice.map((x) => renderAdvice(d, x)))) : null,
    d.decision ? h("div", { class: "notice ok", "data-part": "decision" },
      h("p", {}, h("strong", {}, "Decided "), when(d.decided_at), ": "),
      h("p", { class: "detail" }, d.decision),
      h("p", { "data-part": "basis" }, basisText(d)),
      d.review_on ? h("p", {}, "Review on ", day(d.review_on)) : null) : null,
    d.state === "withdrawn" ? h("p", { class: "notice", "data-part": "withdrawn" },
      h("strong", {}, "Withdrawn by the decider: "), d.withdrawn_note) : null,
    reconcile(d, "decision.settle", { id: d.id }),
    notes(d.notes),
    decider && open ? disclose("Ask someone for advice…", opForm({
      op: "decision.ask", submit: "Ask",
      fields: [{ name: "member", label: "Whom", kind: "select", options: memberOptions({ exclude: [app.me] }) },
               { name: "reason", label: "Because they are", kind: "radios", value: ["affected"], required: true,
                 options: [["affected", "Affected"], ["expertise", "Experienced in this"]] },
               { name: "note", label: "A word for them (optional)" }],
      args: (v) => ({ id: d.id, member: v.member, reason: v.reason, note: v.note }),
      done: () => toast("Asked"),
    }), "ask") : null,
    !decider && open ? disclose(gaveAdvice ? "Give more advice…" : "Give advice…", opForm({
      op: "decision.advise", submit: "Give advice",
      fields: [{ name: "stance", label: "Your stance", kind: "radios", required: true, options: STANCES },
               { name: "text", label: "Your advice", kind: "textarea", rows: 3 }],
      args: (v) => ({ id: d.id, stance: v.stance, text: v.text }), done: () => toast("Advice given"),
    }), "advise") : null,
    decider && open ? disclose("Decide…", opForm({
      op: "decision.decide", submit: "Decide",
      fields: [{ name: "text", label: "The decision", kind: "textarea", rows: 3, required: true },
               { name: "review_on", label: "Review on (optional)", kind: "date" },
               ...(adviceFromAsked ? [] : [{
                 name: "no_one_affected", label: "Nobody you asked has advised yet. Why is nobody else affected?",
                 kind: "textarea", rows: 2,
                 hint: "Recorded and shown with the decision. Or ask someone affected first." }])],
      args: (v) => ({ id: d.id, text: v.text, review_on: v.review_on || null,
                      no_one_affected: v.no_one_affected || "" }),
      done: () => toast("Decided"),
    }), "decide") : null,
    decider && open ? disclose("Move the deadline…", opForm({
      op: "decision.deadline", submit: "Move it",
      fields: [{ name: "deadline", label: "New deadline", kind: "datetime", required: true },
               { name: "note", label: "Why (shown to everyone)" }],
      args: (v) => ({ id: d.id, deadline: new Date(v.deadline).toISOString(), note: v.note }),
      done: () => toast("Deadline moved"),
    }), "deadline") : null,
    decider && open ? disclose("Withdraw this decision…", opForm({
      op: "decision.withdraw", submit: "Withdraw it", buttonClass: "secondary",
      fields: [{ name: "note", label: "Why (kept in the record)", required: true }],
      args: (v) => ({ id: d.id, note: v.note }), done: () => toast("Withdrawn"),
    }), "withdraw") : null,
    disclose("Add a note…", opForm({
      op: "decision.note", submit: "Add note",
      fields: [{ name: "text", label: "Note", kind: "textarea", rows: 2, required: true }],
      args: (v) => ({ id: d.id, text: v.text }), done: () => toast("Note added"),
    }), "note"),
    history(d.history, describeEvent));
}

function inAWeek() {
  const d = new Date(Date.now() + 7 * 24 * 3600 * 1000);
  d.setMinutes(d.getMinutes() - d.getTimezoneOffset());
  return d.toISOString().slice(0, 16);
}

function startForm() {
  const links = [...[...titles.need].map(([id, t]) => [`need:${id}`, `Need: ${t}`]),
    ...[...titles.agreement].map(([id, t]) => [`agreement:${id}`, `Agreement: ${t}`])];
  return opForm({
    op: "decision.start", submit: "Start gathering advice", part: "start",
    fields: [{ name: "title", label: "What is to be decided", required: true },
             { name: "proposal", label: "Your proposal", kind: "textarea", rows: 4, required: true },
             { name: "deadline", label: "Advice until", kind: "datetime", required: true, value: inAWeek() },
             ...(links.length ? [{ name: "links", label: "Needs and agreements it touches (optional)",
                                   kind: "choices", options: links }] : [])],
    args: (v) => ({ title: v.title, proposal: v.proposal, deadline: new Date(v.deadline).toISOString(),
                    links: (v.links || []).map((x) => ({ kind: x.split(":")[0], ref: x.split(":")[1] })) }),
    done: () => toast("Decision started: now ask for advice"),
  });
}

export function mount() {
  el.open = h("ul", { class: "list", "aria-label": "Decisions gathering advice" });
  el.decided = h("ul", { class: "list", "aria-label": "Decided" });
  el.start = h("div", {});
  return [
    h("h1", {}, "Decisions"),
    h("p", { class: "page-intro" },
      "Any member may make any decision after asking those affected and those with expertise, "
      + "and integrating what they can. There are no votes and no veto."),
    h("div", { class: "grid two" },
      h("div", {},
        section("Gathering advice", el.open),
        section("Decided or withdrawn", el.decided)),
      h("div", {}, section("Start a decision", el.start))),
  ];
}

export async function refresh() {
  const [list, needs, agreements] = await Promise.all([
    call("decision.list"), call("need.list"), call("agreement.list")]);
  const fresh = {
    need: new Map(needs.filter((n) => n.state !== "attended").map((n) => [n.id, n.title])),
    agreement: new Map(agreements.filter((x) => x.state !== "retired").map((x) => [x.id, x.what])),
  };
  const changed = JSON.stringify([...fresh.need, ...fresh.agreement])
    !== JSON.stringify([...titles.need, ...titles.agreement]);
  titles = fresh;
  if (changed || !el.start.firstElementChild) refill(el.start, startForm);
  const open = list.filter((d) => d.state === "gathering_advice" || d.needs_reconciliation);
  morph(el.open, open, (d) => d.id, renderDecision, "Nothing is being decided right now.");
  morph(el.decided, list.filter((d) => !open.includes(d)), (d) => d.id, renderDecision, "No decisions yet.");
}
