// Agreements: concrete actions, each affirmed by every party as within their
// capacity; renegotiated, never "broken".

import { call } from "../api.js";
import { h, morph, refill } from "../dom.js";
import {
  app, badge, day, disclose, history, memberOptions, notes, opButton, opForm, reconcile, section,
  toast, when, who, words,
} from "../ui.js";

export const title = "Agreements";

const STATE_KIND = {
  proposed: "", declined: "warn", active: "ok", review_due: "warn", renegotiating: "warn", paused: "quiet",
  retired: "quiet",
};
const el = {};
let needTitles = new Map();

function describeEvent(e) {
  const a = e.args || {};
  const text = {
    affirm: a.version ? `affirmed version ${a.version} is within their capacity`
      : "affirmed it is within their capacity",
    decline: "said it is not within their capacity", withdraw: "withdrew from it",
    no_longer: "said it is no longer within their capacity",
    renew: `renewed it until ${a.review_on}`, revise: "proposed a new version", pause: "paused it",
    resume: "resumed it", retire: "consented to retire it", remind: "volunteered as a reminder",
    unremind: "stopped reminding", note: "left a note", settle: `settled it as ${words(a.state)}`,
  }[e.op] || words(e.op);
  const said = a.note || a.text;
  return said ? `${text}: “${said}”` : text;
}

function anchorText(anchor) {
  if (anchor.kind === "need") return `need “${needTitles.get(anchor.ref) || anchor.ref}”`;
  return `principle “${anchor.ref}”`;
}

function party(p) {
  if (p.withdrawn) return h("li", { class: "person no" }, `${who(p.member)}: withdrew`);
  if (p.declined !== null && p.declined !== undefined) {
    return h("li", { class: "person no" }, `${who(p.member)}: not within capacity`,
      p.declined ? ` — “${p.declined}”` : "");
  }
  if (p.no_longer !== null && p.no_longer !== undefined) {
    return h("li", { class: "person no" }, `${who(p.member)}: no longer within capacity`,
      p.no_longer ? ` — “${p.no_longer}”` : "");
  }
  if (p.affirmed) {
    return h("li", { class: "person yes" }, `✓ ${who(p.member)}: within capacity`, p.note ? ` — “${p.note}”` : "",
      p.retiring ? " · consents to retire" : "");
  }
  return h("li", { class: "person" }, `${who(p.member)}: not yet affirmed`);
}

function sameList(a, b) {
  return JSON.stringify([...a].sort()) === JSON.stringify([...b].sort());
}

/** Only what the member changed: the rest carries over from the version in force. */
function changedTerms(a, v) {
  const before = termsArgs({
    what: a.what, parties: a.parties.filter((p) => !p.withdrawn).map((p) => p.member),
    principle: (a.anchors.find((x) => x.kind === "principle") || {}).ref || "",
    need: (a.anchors.find((x) => x.kind === "need") || {}).ref || "", review_on: a.review_on || "" });
  const after = termsArgs(v);
  const out = {};
  if (after.what !== before.what) out.what = after.what;
  if (!sameList(after.parties, before.parties)) out.parties = after.parties;
  if (JSON.stringify(after.anchors) !== JSON.stringify(before.anchors)) out.anchors = after.anchors;
  if (after.review_on !== before.review_on) out.review_on = after.review_on;
  return out;
}

function renderRevision(a) {
  const r = a.revision;
  const mine = r.parties.find((p) => p.member === app.me);
  const leavingMe = r.leaving.includes(app.me);
  const settled = !a.needs_reconciliation;
  return h("div", { class: "notice", "data-part": "revision" },
    h("p", {}, h("strong", {}, `Proposed version ${r.version}: `), r.what),
    h("p", { class: "meta" }, `Proposed by ${who(r.by)}, `, when(r.at),
      ". The version in force stays until every party of this one affirms it."),
    h("ul", { class: "people", "aria-label": `Parties of version ${r.version}` }, r.parties.map(party)),
    r.leaving.length ? h("p", { class: leavingMe ? "notice warn" : "meta" },
      leavingMe ? "This version leaves you out of the agreement." : `Leaves out ${r.leaving.map(who).join(", ")}.`) : null,
    settled && mine && !mine.affirmed && mine.declined === null ? h("div", { class: "actions" },
      opButton({ op: "agreement.affirm", args: { id: a.id, version: r.version }, text: `Affirm version ${r.version}`,
                 buttonClass: "", part: "affirm-revision", done: () => toast("Affirmed") }),
      opForm({ op: "agreement.decline", submit: "Not within my capacity", layout: "inline", buttonClass: "secondary",
               part: "decline-revision", fields: [{ name: "note", label: "Why (optional)" }],
               args: (v) => ({ id: a.id, version: r.version, note: v.note }), done: () => toast("Declined") })) : null);
}

function termsFields(current = {}) {
  const anchors = current.anchors || [];
  const principle = anchors.find((x) => x.kind === "principle");
  const need = anchors.find((x) => x.kind === "need");
  return [
    { name: "what", label: "What will be done, by whom", kind: "textarea", required: true, rows: 3,
      value: current.what || "" },
    { name: "parties", label: "Parties", hint: "Each party affirms it is within their capacity.", kind: "choices",
      options: memberOptions(), value: current.parties || [app.me] },
    { name: "principle", label: "Principle it anchors (optional)", value: principle ? principle.ref : "" },
    { name: "need", label: "Need it anchors (optional)", kind: "select", value: need ? need.ref : "",
      options: [["", "None"], ...[...needTitles].map(([id, t]) => [id, t])] },
    { name: "review_on", label: "Revisit on (optional)", kind: "date", value: current.review_on || "" },
  ];
}

function termsArgs(v) {
  const anchors = [];
  if (v.principle) anchors.push({ kind: "principle", ref: v.principle });
  if (v.need) anchors.push({ kind: "need", ref: v.need });
  return { what: v.what, parties: v.parties, anchors, review_on: v.review_on || null };
}

/** The parties' ways to carry an agreement on: renew, revise, pause or resume, retire. */
function lifecycle(a, parties) {
  const forms = [];
  if (["active", "review_due"].includes(a.state)) {
    forms.push(opForm({
      op: "agreement.review", submit: "Renew as it is", layout: "inline",
      fields: [{ name: "review_on", label: "Revisit again on", kind: "date", required: true },
               { name: "note", label: "Note (optional)" }],
      args: (v) => ({ id: a.id, review_on: v.review_on, note: v.note }), done: () => toast("Renewed"),
    }));
  }
  forms.push(h("details", { "data-key": "revise" }, h("summary", {}, "Revise: a new version…"), opForm({
    op: "agreement.revise", submit: "Propose this version",
    fields: [...termsFields({ what: a.what, parties, anchors: a.anchors, review_on: a.review_on }),
             { name: "note", label: "Why revise (optional)" }],
    args: (v) => ({ id: a.id, ...changedTerms(a, v), note: v.note }),
    done: (result) => toast(result.revision ? "New version proposed: each of its parties affirms it" : "Revised"),
  })));
  const pause = a.state === "paused"
    ? { op: "agreement.resume", submit: "Resume", done: "Resumed" }
    : ["active", "review_due", "renegotiating"].includes(a.state)
      ? { op: "agreement.pause", submit: "Pause", done: "Paused" } : null;
  const buttons = [];
  if (pause) {
    buttons.push(opForm({
      op: pause.op, submit: pause.submit, layout: "inline",
      buttonClass: "secondary", fields: [{ name: "note", label: `Why ${pause.submit.toLowerCase()} (optional)` }],
      args: (v) => ({ id: a.id, note: v.note }), done: () => toast(pause.done),
    }));
  }
  const me = a.parties.find((p) => p.member === app.me);
  const alone = ["proposed", "declined", "renegotiating"].includes(a.state);
  if (!me.retiring) {
    buttons.push(opForm({
      op: "agreement.retire", submit: alone ? "Retire" : "Consent to retire", layout: "inline",
      buttonClass: "secondary", fields: [{ name: "note", label: "Why retire (optional)" }],
      args: (v) => ({ id: a.id, note: v.note }),
      done: (result) => toast(result.state === "retired" ? "Retired; it stays in the record"
        : "Your consent is recorded; it retires once every party consents"),
    }));
  }
  buttons.push(opForm({
    op: "agreement.withdraw", submit: "Withdraw myself", layout: "inline",
    buttonClass: "secondary", fields: [{ name: "note", label: "Why (optional)" }],
    args: (v) => ({ id: a.id, note: v.note }), done: () => toast("You withdrew; the others renegotiate it"),
  }));
  return [...forms, ...buttons];
}

function renderAgreement(a) {
  const parties = a.parties.filter((p) => !p.withdrawn).map((p) => p.member);
  const mine = parties.includes(app.me);
  const me = a.parties.find((p) => p.member === app.me);
  const settled = !a.needs_reconciliation;
  const classes = ["item", `state-${a.state}`];
  if (a.needs_reconciliation) classes.push("conflict");
  if (a.state === "review_due" || a.state === "renegotiating") classes.push("neglected");
  const canAffirm = mine && settled && ["proposed", "declined", "renegotiating"].includes(a.state) && !me.affirmed;
  // Before it starts a party declines; only someone who said yes can say it no longer fits.
  const canDecline = mine && settled && ["proposed", "declined"].includes(a.state) && me.declined === null;
  const canStrain = mine && settled && ["active", "review_due", "renegotiating", "paused"].includes(a.state)
    && me.affirmed;
  const buttons = [];
  const reminding = a.reminders.includes(app.me);
  buttons.push(opButton({ op: reminding ? "agreement.unremind" : "agreement.remind", args: { id: a.id },
                          text: reminding ? "Stop reminding" : "Volunteer as reminder" }));
  return h("li", { class: classes.join(" "), tabindex: -1, "aria-label": a.what },
    h("div", { class: "head", "data-part": "head" },
      h("h3", {}, a.what),
      badge(a.state, STATE_KIND[a.state]),
      a.version > 1 ? badge(`version ${a.version}`, "quiet") : null,
      a.needs_reconciliation ? badge("needs reconciliation", "conflict") : null),
    a.state === "review_due" ? h("p", { class: "notice warn", "data-part": "due" },
      "Its review date has come: renew it as it is, revise it, or retire it.") : null,
    a.state === "renegotiating" ? h("p", { class: "notice warn", "data-part": "renegotiating" },
      "Someone can no longer hold this within their capacity. Talk it through; revise it, or affirm again.") : null,
    a.state === "declined" ? h("p", { class: "notice warn", "data-part": "declined" },
      "A party said this is not within their capacity: it does not start as it is. Revise it, or retire it.") : null,
    h("ul", { class: "people", "data-part": "parties", "aria-label": "Parties" }, a.parties.map(party)),
    h("p", { class: "meta", "data-part": "meta" },
      a.anchors.length ? `Anchors ${a.anchors.map(anchorText).join(" · ")} · ` : "",
      a.review_on ? ["Revisit on ", day(a.review_on), " · "] : "No review date · ",
      `proposed by ${who(a.created_by)}, `, when(a.created_at)),
    a.reminders.length ? h("p", { class: "meta", "data-part": "reminders" },
      `Reminders: ${a.reminders.map(who).join(", ")}`) : null,
    a.revision ? renderRevision(a) : null,
    reconcile(a, "agreement.settle", { id: a.id }, (c) => (c.fields.revision
      ? `${words(c.state)}, proposing “${c.fields.revision}”` : `${words(c.state)}: “${c.fields.what}”`)),
    notes(a.notes),
    h("div", { class: "actions", "data-part": "buttons" }, buttons),
    canAffirm ? disclose("Affirm: this is within my capacity…", opForm({
      op: "agreement.affirm", submit: "Affirm",
      fields: [{ name: "note", label: "How it sits with you (optional)", kind: "textarea", rows: 2 }],
      args: (v) => ({ id: a.id, note: v.note }), done: () => toast("Affirmed"),
    }), "affirm") : null,
    canDecline ? disclose("This is not within my capacity…", opForm({
      op: "agreement.decline", submit: "Decline",
      fields: [{ name: "note", label: "What makes it not fit (optional)", kind: "textarea", rows: 2 }],
      args: (v) => ({ id: a.id, note: v.note }), done: () => toast("Declined: it does not start as it is"),
    }), "decline") : null,
    canStrain ? disclose("This is no longer within my capacity…", opForm({
      op: "agreement.strain", submit: "Ask to renegotiate",
      fields: [{ name: "note", label: "What has changed for you", kind: "textarea", rows: 2, required: true }],
      args: (v) => ({ id: a.id, note: v.note }), done: () => toast("The agreement is being renegotiated"),
    }), "strain") : null,
    settled && mine && a.state !== "retired" ? disclose(
      a.state === "review_due" ? "Review it now: renew, revise, pause or retire…" : "Renew, revise, pause or retire…",
      h("div", { class: "stack" }, lifecycle(a, parties)), "lifecycle") : null,
    disclose("Add a note…", opForm({
      op: "agreement.note", submit: "Add note",
      fields: [{ name: "text", label: "Note", kind: "textarea", rows: 2, required: true }],
      args: (v) => ({ id: a.id, text: v.text }), done: () => toast("Note added"),
    }), "note"),
    a.versions.length > 1 ? h("details", { "data-part": "versions", "data-key": "versions" },
      h("summary", {}, `Earlier versions (${a.versions.length - 1})`),
      h("ol", { class: "history" }, a.versions.slice(0, -1).map((v) => h("li", {},
        `Version ${v.version}: “${v.what}” — ${v.parties.map(who).join(", ")}, `, when(v.at))))) : null,
    history(a.history, describeEvent));
}

function proposeForm() {
  return opForm({
    op: "agreement.propose", submit: "Propose", part: "propose",
    fields: termsFields(), args: termsArgs, done: () => toast("Proposed: each party now affirms it"),
  });
}

export function mount() {
  el.current = h("ul", { class: "list", "aria-label": "Agreements" });
  el.past = h("ul", { class: "list", "aria-label": "Retired agreements" });
  el.pastCount = h("span", {});
  el.propose = h("div", {});
  return [
    h("h1", {}, "Agreements"),
    h("p", { class: "page-intro" },
      "Concrete agreements, each within the capacity of everyone who makes it. When one no longer is, "
      + "it is renegotiated, never broken."),
    h("div", { class: "grid two" },
      h("div", {},
        section("Our agreements", el.current),
        h("details", { class: "card", "data-key": "retired" },
          h("summary", {}, "Retired ", el.pastCount), el.past)),
      h("div", {}, section("Propose an agreement", el.propose))),
  ];
}

export async function refresh(kinds) {
  const [list, needs] = await Promise.all([call("agreement.list"), call("need.list")]);
  const titles = new Map(needs.filter((n) => n.state !== "attended").map((n) => [n.id, n.title]));
  const changedOptions = JSON.stringify([...titles]) !== JSON.stringify([...needTitles]);
  needTitles = titles;
  if (changedOptions || kinds.has("*") || kinds.has("pod") || !el.propose.firstElementChild) {
    refill(el.propose, proposeForm);
  }
  const current = list.filter((a) => a.state !== "retired" || a.needs_reconciliation);
  const past = list.filter((a) => !current.includes(a));
  morph(el.current, current, (a) => a.id, renderAgreement, "No agreements yet. Propose the first one.");
  morph(el.past, past, (a) => a.id, renderAgreement, "None.");
  el.pastCount.textContent = `(${past.length})`;
}
