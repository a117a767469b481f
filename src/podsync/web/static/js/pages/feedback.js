// Feedback pathways: feedback for someone in leadership goes first to their
// stewards, in a thread the leader cannot read; together giver and stewards
// clarify it and, only with the giver's consent, route it to one place.

import { call } from "../api.js";
import { h, morph, refill } from "../dom.js";
import {
  activeMembers, app, badge, disclose, memberOptions, opButton, opForm, reconcile, section, toast, when,
  who, words,
} from "../ui.js";

export const title = "Feedback";

const el = {};
let teams = [];
let stewards = new Map();

function routeText(p) {
  if (p.route === "team") {
    const team = teams.find((t) => t.id === p.team);
    return `To the team ${team ? team.name : "(unknown team)"}, as an item`;
  }
  if (p.route === "void") return "To the needs board, as a void";
  if (p.route === "leader") return `To the leader, as a statement${p.public ? ", made public to the pod" : ""}`;
  return "Dissolve it: nothing is forwarded";
}

function renderProposal(t, p) {
  const giver = t.giver === app.me;
  const open = t.state === "open" && !t.needs_reconciliation;
  const status = p.consent === true ? badge("giver consents", "ok")
    : p.consent === false ? badge("giver declined", "warn") : badge("waiting for the giver", "quiet");
  return h("li", { class: "bubble proposal" },
    h("p", { class: "meta" }, `${who(p.by)} proposes · `, when(p.at)),
    h("p", {}, h("strong", {}, routeText(p)), " ", status),
    p.title ? h("p", {}, h("strong", {}, "Title: "), p.title) : null,
    p.statement ? h("p", { class: "detail" }, p.statement) : null,
    p.consent_note ? h("p", { class: "meta" }, `${who(t.giver)}: “${p.consent_note}”`) : null,
    giver && open && p.consent !== true ? opForm({
      op: "feedback.consent", submit: "Answer", part: `consent-${p.id}`,
      fields: [{ name: "consent", label: "Do you consent to this?", kind: "radios", required: true,
                 options: [["yes", "Yes, route it like this"], ["no", "No, not like this"]] },
               { name: "note", label: "A word to the stewards (optional)" }],
      args: (v) => ({ thread_id: t.thread_id, proposal_id: p.id, consent: v.consent === "yes", note: v.note }),
      done: () => toast("Answered"),
    }) : null,
    open && p.consent === true ? opButton({
      op: "feedback.route", args: { thread_id: t.thread_id, proposal_id: p.id }, text: "Route it now",
      buttonClass: "", part: `route-${p.id}`, done: () => toast("Routed"),
    }) : null);
}

function proposeForm(t) {
  return opForm({
    op: "feedback.propose_route", submit: "Propose to the giver",
    fields: [
      { name: "route", label: "Where it goes", kind: "radios", required: true, options: [
        ["leader", `To ${who(t.leader)}, as a clear statement`], ["team", "To a team, as an item"],
        ["void", "To the needs board, as a void"], ["dissolved", "Nowhere: dissolve it"]] },
      { name: "statement", label: "The clarified statement (all that travels)", kind: "textarea", rows: 4 },
      { name: "title", label: "Title (for a team item or a need)" },
      { name: "team_id", label: "Team", kind: "select",
        options: [["", "—"], ...teams.map((x) => [x.id, x.name])] },
      { name: "public", label: "Make the statement public to the pod", kind: "checkbox" },
    ],
    args: (v) => ({ thread_id: t.thread_id, route: v.route, statement: v.statement, title: v.title,
                    team_id: v.team_id || null, public: v.route === "leader" && v.public }),
    done: () => toast("Proposed: the giver answers"),
  });
}

function renderThread(t) {
  const steward = t.stewards.includes(app.me);
  const open = t.state === "open" && !t.needs_reconciliation;
  const classes = ["item", t.state === "routed" ? "state-attended" : "state-open"];
  if (t.needs_reconciliation) classes.push("conflict");
  const routed = t.routed;
  return h("li", { class: classes.join(" "), tabindex: -1, "aria-label": `Feedback for ${who(t.leader)}` },
    h("div", { class: "head", "data-part": "head" },
      h("h3", {}, `Feedback for ${who(t.leader)}`),
      badge(t.state, t.state === "routed" ? "ok" : ""),
      t.needs_reconciliation ? badge("needs reconciliation", "conflict") : null),
    h("p", { class: "meta", "data-part": "meta" }, `From ${who(t.giver)} · stewards ${t.stewards.map(who).join(", ")} · `,
      when(t.created_at), ` · ${who(t.leader)} cannot read this thread`),
    h("ul", { class: "bubbles", "data-part": "messages", "aria-label": "Messages" }, t.messages.map((m) =>
      h("li", { class: m.by === app.me ? "bubble mine" : "bubble" },
        h("p", { class: "meta" }, who(m.by), " · ", when(m.at)), h("p", { class: "detail" }, m.text)))),
    t.proposals.length ? h("div", { "data-part": "proposals" }, h("p", { class: "label" }, "Where it could go"),
      h("ul", { class: "bubbles" }, t.proposals.map((p) => renderProposal(t, p)))) : null,
    routed ? h("p", { class: "notice ok", "data-part": "routed" },
      `Routed by ${who(routed.by)}, `, when(routed.at), `: ${routeText(t.proposals.find((p) => p.id === routed.proposal) || routed)}`) : null,
    reconcile(t, "feedback.settle", { thread_id: t.thread_id }, (c) => words(c.state)),
    open ? disclose("Reply…", opForm({
      op: "feedback.reply", submit: "Send",
      fields: [{ name: "text", label: "Your message", kind: "textarea", rows: 3, required: true }],
      args: (v) => ({ thread_id: t.thread_id, text: v.text }), done: () => toast("Sent"),
    }), "reply") : null,
    steward && open ? disclose("Propose where it goes…", proposeForm(t), "propose") : null);
}

function renderStatement(s) {
  const leader = s.leader === app.me;
  return h("li", { class: "item state-open", tabindex: -1, "aria-label": `Statement for ${who(s.leader)}` },
    h("div", { class: "head", "data-part": "head" },
      h("h3", {}, leader ? "Feedback for you" : `Feedback for ${who(s.leader)}`),
      s.public ? badge("public to the pod", "quiet") : badge("private", "quiet")),
    h("p", { class: "meta", "data-part": "meta" }, `From ${who(s.giver)}, clarified with ${s.stewards.map(who).join(", ")} · `,
      when(s.created_at)),
    h("blockquote", { class: "detail", "data-part": "statement" }, s.statement),
    s.responses.length ? h("ul", { class: "bubbles", "data-part": "responses", "aria-label": "Responses" },
      s.responses.map((r) => h("li", { class: "bubble mine" },
        h("p", { class: "meta" }, `${who(r.by)} responded · `, when(r.at)), h("p", { class: "detail" }, r.text)))) : null,
    leader ? disclose("Respond…", opForm({
      op: "feedback.respond", submit: "Respond",
      fields: [{ name: "text", label: "Your response", kind: "textarea", rows: 3, required: true }],
      args: (v) => ({ statement_id: s.statement_id, text: v.text }), done: () => toast("Response recorded"),
    }), "respond") : null);
}

function renderStewards(row) {
  return h("li", { tabindex: -1 },
    h("p", { class: "load" }, h("strong", {}, who(row.leader)), row.stewards.length ? "" : h("span", { class: "meta" }, "no stewards")),
    row.stewards.length ? h("ul", { class: "people" }, row.stewards.map((s) => h("li", { class: "person" }, who(s),
      opButton({ op: "feedback.stewards_set", args: { leader: row.leader, remove: [s] }, text: "×",
                 buttonClass: "link", buttonLabel: `Stop naming ${who(s)} steward of ${who(row.leader)}` })))) : null);
}

function giveForm() {
  const leaders = [...stewards].filter(([leader, list]) => leader !== app.me && list.some((s) => s !== app.me))
    .map(([leader]) => [leader, who(leader)]);
  if (!leaders.length) {
    return h("p", { class: "empty" }, "No one in leadership has stewards yet (other than you). Name stewards below first.");
  }
  return opForm({
    op: "feedback.give", submit: "Open a private thread",
    fields: [{ name: "leader", label: "Feedback for", kind: "select", options: leaders },
             { name: "text", label: "What you want to say", kind: "textarea", rows: 4, required: true,
               hint: "Only the stewards read this. Nothing goes further without your consent." }],
    done: () => toast("Thread opened with the stewards"),
  });
}

function stewardForm() {
  return opForm({
    op: "feedback.stewards_set", submit: "Name steward", layout: "stack",
    fields: [{ name: "leader", label: "Leader", kind: "select", options: memberOptions() },
             { name: "steward", label: "Steward (never the leader)", kind: "select", options: memberOptions() }],
    args: (v) => ({ leader: v.leader, add: [v.steward] }), done: () => toast("Steward named"),
  });
}

export function mount() {
  el.mine = h("ul", { class: "list", "aria-label": "Threads you opened" });
  el.inbox = h("ul", { class: "list", "aria-label": "Threads you steward" });
  el.received = h("ul", { class: "list", "aria-label": "Feedback received" });
  el.stewards = h("ul", { class: "rows", "aria-label": "Stewards" });
  el.give = h("div", {});
  el.stewardForm = h("div", {});
  return [
    h("h1", {}, "Feedback"),
    h("p", { class: "page-intro" },
      "Feedback for someone in leadership goes first to their stewards, in a thread the leader cannot read. "
      + "Together you clarify it and decide where it belongs; nothing is routed without the giver's consent."),
    h("div", { class: "grid two" },
      h("div", {},
        section("Your threads", el.mine),
        section("Steward's inbox", el.inbox),
        section("Feedback received", h("p", { class: "lead" },
          "Clarified statements delivered to you, and those made public to the pod."), el.received)),
      h("div", {},
        section("Give feedback", el.give),
        section("Stewards", h("p", { class: "lead" }, "Who listens first, for each member in leadership."),
          el.stewards, disclose("Name a steward…", el.stewardForm, "steward-add")))),
  ];
}

export async function refresh(kinds) {
  const [threads, received, teamList] = await Promise.all([
    call("feedback.threads"), call("feedback.received"), call("team.list")]);
  teams = teamList;
  if (kinds.has("*") || kinds.has("pod")) {
    const leaders = activeMembers().map((m) => m.member_id);
    const lists = await Promise.all(leaders.map((leader) => call("feedback.stewards", { leader })));
    stewards = new Map(leaders.map((leader, i) => [leader, lists[i]]));
    refill(el.give, giveForm);
    refill(el.stewardForm, stewardForm);
  }
  morph(el.mine, threads.filter((t) => t.giver === app.me), (t) => t.thread_id, renderThread,
    "You have not opened a thread.");
  morph(el.inbox, threads.filter((t) => t.stewards.includes(app.me)), (t) => t.thread_id, renderThread,
    "No feedback is waiting for you as a steward.");
  morph(el.received, received, (s) => s.statement_id, renderStatement, "Nothing has been routed to you.");
  morph(el.stewards, [...stewards].filter(([, list]) => list.length).map(([leader, list]) => ({ leader, stewards: list })),
    (r) => r.leader, renderStewards, "No one has stewards yet.");
}
