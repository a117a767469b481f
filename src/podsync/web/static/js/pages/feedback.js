// Feedback pathways: feedback for someone in leadership goes first to their
// stewards (named by consent), in a thread the leader cannot read. Together giver
// and stewards clarify it in four parts and decide where it belongs; a steward
// carries it out, only with the giver's consent, and the giver's name travels
// only if they choose.

import { call } from "../api.js";
import { h, morph, refill } from "../dom.js";
import { flagJudgments } from "../judgments.js";
import {
  activeMembers, app, badge, disclose, memberOptions, opButton, opForm, reconcile, section, toast, when,
  who, words,
} from "../ui.js";

export const title = "Feedback";

const PARTS = [
  ["happened", "What happened (as a camera would have seen it)"],
  ["feeling", "The feeling it brings up"],
  ["need", "The need behind the feeling"],
  ["request", "A request the leader can say yes to"],
];
const ROUTE_DONE = { team: "to a team", void: "to the needs board, as a void", leader: "to the leader",
  dissolved: "nowhere: dissolved" };
const el = {};
let teams = [];
let stewards = new Map();
// Statement id → the statement, for threads a steward routed to the leader.
let delivered = new Map();

function routeText(p) {
  if (p.route === "team") {
    const team = teams.find((t) => t.id === p.team);
    return `To the team ${team ? team.name : "(unknown team)"}, as an item`;
  }
  if (p.route === "void") return "To the needs board, as a void";
  if (p.route === "leader") return `To the leader, as a statement${p.public ? ", made public to the pod" : ""}`;
  return "Dissolve it: nothing is forwarded";
}

/** The four parts as one statement, for a proposal to start from. */
function composed(parts) {
  if (!parts) return "";
  const lines = [];
  if (parts.happened) lines.push(parts.happened);
  if (parts.feeling) lines.push(`I feel ${parts.feeling}`);
  if (parts.need) lines.push(`because I need ${parts.need}.`);
  if (parts.request) lines.push(parts.request);
  return lines.join(" ").replace(/\s+/g, " ").trim();
}

function renderParts(parts) {
  return h("dl", { class: "criteria" }, PARTS.filter(([key]) => parts[key]).map(([key, label]) => [
    h("dt", {}, label), h("dd", { class: "detail" }, parts[key])]));
}

function answerForm(t, p) {
  const giver = t.giver === app.me;
  return opForm({
    op: "feedback.consent", submit: "Answer", part: `consent-${p.id}`,
    fields: giver
      ? [{ name: "consent", label: "Do you consent to this?", kind: "radios", required: true,
           options: [["yes", "Yes, route it like this"], ["no", "No, not like this"]] },
         { name: "named", label: "Let my name travel with it (otherwise it goes without your name)",
           kind: "checkbox" },
         { name: "note", label: "A word to the stewards (optional)" }]
      : [{ name: "consent", label: "Do you, as a steward, agree?", kind: "radios", required: true,
           options: [["yes", "Yes, it can go like this"], ["no", "Not like this"]] },
         { name: "note", label: "A word to the giver (optional)" }],
    args: (v) => ({ thread_id: t.thread_id, proposal_id: p.id, consent: v.consent === "yes", note: v.note,
                    named: giver && v.consent === "yes" && v.named }),
    done: () => toast("Answered"),
  });
}

function renderProposal(t, p) {
  const giver = t.giver === app.me;
  const steward = t.stewards.includes(app.me);
  const open = t.state === "open" && !t.needs_reconciliation;
  const byGiver = p.by === t.giver;
  const mayAnswer = open && ((giver && !byGiver && p.consent !== true) || (steward && byGiver && p.agreed !== true));
  const agreed = p.consent === true && p.agreed === true;
  const status = byGiver
    ? (p.agreed === true ? badge("a steward agrees", "ok") : p.agreed === false ? badge("a steward does not agree", "warn")
      : badge("waiting for a steward", "quiet"))
    : (p.consent === true ? badge("giver consents", "ok") : p.consent === false ? badge("giver declined", "warn")
      : badge("waiting for the giver", "quiet"));
  return h("li", { class: "bubble proposal" },
    h("p", { class: "meta" }, `${who(p.by)} proposes · `, when(p.at)),
    h("p", {}, h("strong", {}, routeText(p)), " ", status),
    p.title ? h("p", {}, h("strong", {}, "Title: "), p.title) : null,
    p.parts ? renderParts(p.parts) : null,
    p.statement ? h("p", { class: "detail" }, p.statement) : null,
    agreed || byGiver ? h("p", { class: "meta" },
      p.named ? `With ${who(t.giver)}'s name` : "Without the giver's name") : null,
    p.consent_note ? h("p", { class: "meta" }, `${who(t.giver)}: “${p.consent_note}”`) : null,
    mayAnswer ? answerForm(t, p) : null,
    open && agreed && steward ? opButton({
      op: "feedback.route", args: { thread_id: t.thread_id, proposal_id: p.id }, text: "Route it now",
      buttonClass: "", part: `route-${p.id}`, done: () => toast("Routed"),
    }) : null);
}

function clarifyForm(t) {
  const draft = t.clarifications.length ? t.clarifications[t.clarifications.length - 1].parts : {};
  return flagJudgments(opForm({
    op: "feedback.clarify", submit: "Save this draft", part: "clarify",
    fields: PARTS.map(([name, label]) => ({ name, label, kind: "textarea", rows: 2, value: draft[name] || "" })),
    args: (v) => ({ thread_id: t.thread_id, ...v }), done: () => toast("Draft saved: the others see it"),
  }));
}

function proposeForm(t) {
  const giver = t.giver === app.me;
  const draft = t.clarifications.length ? t.clarifications[t.clarifications.length - 1].parts : null;
  return flagJudgments(opForm({
    op: "feedback.propose_route", submit: giver ? "Propose to the stewards" : "Propose to the giver",
    fields: [
      { name: "route", label: "Where it goes", kind: "radios", required: true, options: [
        ["leader", `To ${who(t.leader)}, as a clear statement`], ["team", "To a team, as an item"],
        ["void", "To the needs board, as a void"], ["dissolved", "Nowhere: dissolve it"]] },
      { name: "statement", label: "The clarified statement (all that travels)", kind: "textarea", rows: 4,
        value: composed(draft) },
      { name: "title", label: "Title (for a team item or a need)" },
      { name: "team_id", label: "Team", kind: "select",
        options: [["", "—"], ...teams.map((x) => [x.id, x.name])] },
      { name: "public", label: "Make the statement public to the pod", kind: "checkbox" },
      ...(giver ? [{ name: "named", label: "Let my name travel with it", kind: "checkbox" }] : []),
    ],
    args: (v) => ({ thread_id: t.thread_id, route: v.route, statement: v.statement, title: v.title,
                    team_id: v.team_id || null, public: v.route === "leader" && v.public,
                    named: giver && Boolean(v.named), parts: draft }),
    done: () => toast(giver ? "Proposed: a steward answers" : "Proposed: the giver answers"),
  }));
}

function renderResponses(t) {
  const statement = t.routed && t.routed.target_doc ? delivered.get(t.routed.target_doc) : null;
  if (!statement || !statement.responses.length) return null;
  const passOn = t.stewards.includes(app.me);
  return h("div", { "data-part": "responses" }, h("p", { class: "label" }, `${who(t.leader)} responded`),
    h("ul", { class: "bubbles" }, statement.responses.map((r) => h("li", { class: "bubble" },
      h("p", { class: "meta" }, when(r.at)), h("p", { class: "detail" }, r.text),
      passOn && t.giver !== app.me && !statement.giver ? opButton({
        op: "feedback.reply", args: { thread_id: t.thread_id, text: `${who(t.leader)} responded: “${r.text}”` },
        text: "Pass it on to the giver", part: `pass-${r.id}`, done: () => toast("Passed on in the thread"),
      }) : null))));
}

function renderThread(t) {
  const steward = t.stewards.includes(app.me);
  const giver = t.giver === app.me;
  const open = t.state === "open" && !t.needs_reconciliation;
  const classes = ["item", t.state === "open" ? "state-open" : "state-attended"];
  if (t.needs_reconciliation) classes.push("conflict");
  const routed = t.routed;
  const draft = t.clarifications.length ? t.clarifications[t.clarifications.length - 1] : null;
  return h("li", { class: classes.join(" "), tabindex: -1, "aria-label": `Feedback for ${who(t.leader)}` },
    h("div", { class: "head", "data-part": "head" },
      h("h3", {}, `Feedback for ${who(t.leader)}`),
      badge(t.state, t.state === "routed" ? "ok" : t.state === "withdrawn" ? "quiet" : ""),
      t.needs_reconciliation ? badge("needs reconciliation", "conflict") : null),
    h("p", { class: "meta", "data-part": "meta" }, `From ${who(t.giver)} · stewards ${t.stewards.map(who).join(", ")} · `,
      when(t.created_at), ` · ${who(t.leader)} cannot read this thread`),
    h("ul", { class: "bubbles", "data-part": "messages", "aria-label": "Messages" }, t.messages.map((m) =>
      h("li", { class: m.by === app.me ? "bubble mine" : "bubble" },
        h("p", { class: "meta" }, who(m.by), " · ", when(m.at)), h("p", { class: "detail" }, m.text)))),
    draft ? h("div", { class: "notice", "data-part": "draft" },
      h("p", { class: "label" }, `The statement so far (drafted by ${who(draft.by)}, `, when(draft.at), ")"),
      renderParts(draft.parts)) : null,
    t.proposals.length ? h("div", { "data-part": "proposals" }, h("p", { class: "label" }, "Where it could go"),
      h("ul", { class: "bubbles" }, t.proposals.map((p) => renderProposal(t, p)))) : null,
    routed ? h("p", { class: "notice ok", "data-part": "routed" },
      `Routed by ${who(routed.by)}, `, when(routed.at), `: ${ROUTE_DONE[routed.route] || words(routed.route)}`) : null,
    t.withdrawn ? h("p", { class: "notice", "data-part": "withdrawn" }, `${who(t.giver)} withdrew it, `,
      when(t.withdrawn.at), t.withdrawn.note ? `: “${t.withdrawn.note}”` : "") : null,
    renderResponses(t),
    reconcile(t, "feedback.settle", { thread_id: t.thread_id }, (c) => words(c.state)),
    open ? disclose("Clarify it together: four parts…", clarifyForm(t), "clarify") : null,
    t.state !== "withdrawn" ? disclose("Reply…", opForm({
      op: "feedback.reply", submit: "Send",
      fields: [{ name: "text", label: "Your message", kind: "textarea", rows: 3, required: true }],
      args: (v) => ({ thread_id: t.thread_id, text: v.text }), done: () => toast("Sent"),
    }), "reply") : null,
    open && (steward || giver) ? disclose("Propose where it goes…", proposeForm(t), "propose") : null,
    open && giver ? disclose("Withdraw this feedback…", opForm({
      op: "feedback.withdraw", submit: "Withdraw it", buttonClass: "secondary",
      fields: [{ name: "note", label: "A word to the stewards (optional)" }],
      args: (v) => ({ thread_id: t.thread_id, note: v.note }), done: () => toast("Withdrawn"),
    }), "withdraw") : null);
}

function renderStatement(s) {
  const leader = s.leader === app.me;
  const from = s.giver ? `From ${who(s.giver)}, clarified with ` : "The giver's name was not passed on · clarified by ";
  return h("li", { class: "item state-open", tabindex: -1, "aria-label": `Statement for ${who(s.leader)}` },
    h("div", { class: "head", "data-part": "head" },
      h("h3", {}, leader ? "Feedback for you" : `Feedback for ${who(s.leader)}`),
      s.public ? badge("public to the pod", "quiet") : badge("private", "quiet")),
    h("p", { class: "meta", "data-part": "meta" }, from, `${s.stewards.map(who).join(", ")} · `, when(s.created_at)),
    s.parts ? renderParts(s.parts) : null,
    h("blockquote", { class: "detail", "data-part": "statement" }, s.statement),
    s.responses.length ? h("ul", { class: "bubbles", "data-part": "responses", "aria-label": "Responses" },
      s.responses.map((r) => h("li", { class: "bubble mine" },
        h("p", { class: "meta" }, `${who(r.by)} responded · `, when(r.at)), h("p", { class: "detail" }, r.text),
        r.agreement ? h("p", {}, "It became an agreement: ",
          h("a", { href: "/agreements" }, "see it, or volunteer to remind them")) : null))) : null,
    leader ? disclose("Respond…", opForm({
      op: "feedback.respond", submit: "Respond",
      fields: [{ name: "text", label: "Your response", kind: "textarea", rows: 3, required: true },
               { name: "agree", label: "Make it an agreement of mine (others may volunteer to remind me)",
                 kind: "checkbox" },
               { name: "review_on", label: "Revisit the agreement on (optional)", kind: "date" }],
      args: (v) => ({ statement_id: s.statement_id, text: v.text,
                      agreement: v.agree ? { what: "", review_on: v.review_on || null } : null }),
      done: (result, given) => toast(given.agree ? "Responded: it is an agreement now" : "Response recorded"),
    }), "respond") : null);
}

const ENDING = { declined: "declined", stepped_down: "stepped down", removed: "role ended" };

function renderNomination(n) {
  const steward = n.steward === app.me;
  const leader = n.leader === app.me;
  const note = (text) => [{ name: "note", label: text }];
  const actions = [];
  if (n.state === "proposed" && steward && !n.affirmed_at) {
    actions.push(opForm({ op: "steward.affirm", submit: "It is within my capacity", layout: "inline",
                          part: `affirm-${n.id}`, fields: note("A word (optional)"),
                          args: (v) => ({ id: n.id, note: v.note }), done: () => toast("Affirmed") }));
  }
  if (n.state === "proposed" && leader && !n.consented_at) {
    actions.push(opButton({ op: "steward.consent", args: { id: n.id, note: "" }, text: "I consent",
                            buttonClass: "", part: `consent-${n.id}`, done: () => toast("Consented") }));
  }
  if (n.state === "proposed" && (steward || leader)) {
    actions.push(opButton({ op: "steward.decline", args: { id: n.id, note: "" }, text: "Decline",
                            part: `decline-${n.id}`, done: () => toast("Declined") }));
  }
  if (n.state === "active" && steward) {
    actions.push(opButton({ op: "steward.step_down", args: { id: n.id, note: "" }, text: "Step down",
                            part: `step-down-${n.id}`, done: () => toast("Stepped down") }));
  }
  if (n.state === "active" && leader) {
    actions.push(opButton({ op: "steward.remove", args: { id: n.id, note: "" }, text: "End this role",
                            part: `end-${n.id}`, done: () => toast("Role ended") }));
  }
  const waiting = n.state === "proposed" ? [
    n.affirmed_at ? null : `${who(n.steward)} to say it is within their capacity`,
    n.consented_at ? null : `${who(n.leader)} to consent`].filter(Boolean) : [];
  return h("li", { tabindex: -1 },
    h("p", {}, h("strong", {}, who(n.steward)), ` for ${who(n.leader)} `,
      badge(n.state === "active" ? "steward" : n.ending ? ENDING[n.ending] : n.state,
        n.state === "active" ? "ok" : "quiet")),
    h("p", { class: "meta" }, `Proposed by ${who(n.proposed_by)}, `, when(n.proposed_at),
      waiting.length ? ` · waiting for ${waiting.join(" and ")}` : "",
      n.ending ? [` · ${ENDING[n.ending]} by ${who(n.ended_by)}, `, when(n.ended_at)] : ""),
    actions.length ? h("div", { class: "actions" }, actions) : null);
}

function giveForm() {
  const leaders = [...stewards].filter(([leader, list]) => leader !== app.me && list.some((s) => s !== app.me))
    .map(([leader]) => [leader, who(leader)]);
  if (!leaders.length) {
    return h("p", { class: "empty" }, "No one in leadership has stewards yet (other than you). Propose stewards below.");
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
    op: "steward.propose", submit: "Propose", layout: "stack",
    fields: [{ name: "leader", label: "Leader", kind: "select", options: memberOptions() },
             { name: "steward", label: "Steward (never the leader)", kind: "select", options: memberOptions() },
             { name: "note", label: "Why them (optional)" }],
    done: () => toast("Proposed: the steward affirms, the leader consents"),
  });
}

function renderSummary(summary) {
  return h("li", {}, h("p", {}, `${summary.total} piece${summary.total === 1 ? "" : "s"} of feedback routed`),
    h("ul", { class: "rows", "aria-label": "Where feedback ended up" }, summary.routes.map((r) => h("li", {},
      h("strong", {}, ROUTE_DONE[r.route]), `: ${r.count}`,
      r.count ? h("span", { class: "meta" }, ` · typically ${r.median_days} day${r.median_days === 1 ? "" : "s"}, `
        + `at most ${r.longest_days}`) : ""))));
}

export function mount() {
  el.mine = h("ul", { class: "list", "aria-label": "Threads you opened" });
  el.inbox = h("ul", { class: "list", "aria-label": "Threads you steward" });
  el.received = h("ul", { class: "list", "aria-label": "Feedback received" });
  el.nominations = h("ul", { class: "rows", "aria-label": "Stewards" });
  el.summary = h("ul", { class: "rows", "aria-label": "Summary" });
  el.give = h("div", {});
  el.stewardForm = h("div", {});
  return [
    h("h1", {}, "Feedback"),
    h("p", { class: "page-intro" },
      "Feedback for someone in leadership goes first to their stewards, in a thread the leader cannot read. "
      + "Together you clarify it and decide where it belongs; nothing is routed without the giver's consent, "
      + "and the giver's name goes with it only if they choose."),
    h("div", { class: "grid two" },
      h("div", {},
        section("Your threads", el.mine),
        section("Steward's inbox", el.inbox),
        section("Feedback received", h("p", { class: "lead" },
          "Clarified statements delivered to you, and those made public to the pod."), el.received)),
      h("div", {},
        section("Give feedback", el.give),
        section("Stewards", h("p", { class: "lead" }, "Who listens first, for each member in leadership. "
          + "A steward is in place once they say it is within their capacity and the leader consents."),
        el.nominations, disclose("Propose a steward…", el.stewardForm, "steward-add")),
        section("Where feedback ended up", h("p", { class: "lead" },
          "For the whole pod: where feedback went and how long it took. No content, no names."), el.summary))),
  ];
}

export async function refresh(kinds) {
  const [threads, received, teamList, nominations, summary] = await Promise.all([
    call("feedback.threads"), call("feedback.received"), call("team.list"), call("steward.list"),
    call("feedback.summary")]);
  teams = teamList;
  const leaderRoutes = threads.filter((t) => t.routed && t.routed.route === "leader" && t.stewards.includes(app.me));
  // A statement another steward routed may not have reached this node yet: shown once it has.
  const statements = await Promise.all(leaderRoutes.map((t) =>
    call("feedback.statement", { statement_id: t.routed.target_doc }).catch(() => null)));
  delivered = new Map(statements.filter(Boolean).map((x) => [x.statement_id, x]));
  if (kinds.has("*") || kinds.has("pod")) {
    const leaders = activeMembers().map((m) => m.member_id);
    const lists = await Promise.all(leaders.map((leader) => call("feedback.stewards", { leader })));
    stewards = new Map(leaders.map((leader, i) => [leader, lists[i]]));
    refill(el.give, giveForm);
    refill(el.stewardForm, stewardForm);
  }
  const withAnswers = (t) => ({ ...t, responses: delivered.get(t.routed && t.routed.target_doc) || null });
  morph(el.mine, threads.filter((t) => t.giver === app.me).map(withAnswers), (t) => t.thread_id, renderThread,
    "You have not opened a thread.");
  morph(el.inbox, threads.filter((t) => t.stewards.includes(app.me)).map(withAnswers), (t) => t.thread_id,
    renderThread, "No feedback is waiting for you as a steward.");
  morph(el.received, received, (s) => s.statement_id, renderStatement, "Nothing has been routed to you.");
  const shown = nominations.filter((n) => n.state === "proposed" || n.state === "active").reverse();
  morph(el.nominations, shown, (n) => n.id, renderNomination, "No one has stewards yet.");
  morph(el.summary, [summary], () => "summary", renderSummary);
}
