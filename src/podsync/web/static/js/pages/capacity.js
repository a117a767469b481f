// Capacity check-in: where each of us is, what each holds, "are you mobilizing?"
// discerned together, and allies who check in with each other. Listed by person,
// never ranked.

import { call } from "../api.js";
import { renderAsk } from "../asks.js";
import { h, morph, refill } from "../dom.js";
import {
  app, badge, disclose, memberOptions, opButton, opForm, section, toast, when, who,
} from "../ui.js";

export const title = "Capacity";

const LEVELS = [
  ["depleted", "Depleted — I need to put things down"],
  ["stretched", "Stretched — holding on, nothing more"],
  ["baseline", "Baseline — steady"],
  ["spacious", "Spacious — I can take something on"],
];
const LOW = ["depleted", "stretched"];
const el = {};
let needs = [];
// What a low check-in brought up; kept until each item is answered or the page reloads.
let review = [];

function level(name) {
  return name ? h("span", { class: `badge cap-${name}` }, name) : h("span", { class: "badge quiet" }, "no check-in yet");
}

function titles(list) {
  return list.map((x) => x.title).join(" · ");
}

function renderMember(row) {
  const { needs: held, agreements } = row.load;
  return h("li", { class: row.member === app.me ? "item mine" : "item", tabindex: -1 },
    h("div", { class: "head", "data-part": "head" }, h("h3", {}, who(row.member)),
      level(row.current && row.current.level)),
    row.current ? h("p", { class: "meta", "data-part": "when" }, "Checked in ", when(row.current.at),
      row.current.note ? ` — “${row.current.note}”` : "") : null,
    h("p", { "data-part": "load" },
      `Holds ${held.length} need${held.length === 1 ? "" : "s"}`, held.length ? `: ${titles(held)}` : "",
      h("br"),
      `Party to ${agreements.length} agreement${agreements.length === 1 ? "" : "s"}`,
      agreements.length ? `: ${titles(agreements)}` : ""),
    row.strained.length ? h("p", { class: "notice warn", "data-part": "strained" },
      `No longer within capacity (being renegotiated, not counted above): ${titles(row.strained)}`) : null);
}

function renderCheckIn(c) {
  return h("li", {}, when(c.at), " — ", level(c.level), c.note ? ` “${c.note}”` : "");
}

function renderReview(item) {
  const answer = item.kind === "agreement"
    ? opForm({
      op: "agreement.strain", submit: "No longer within my capacity", layout: "inline", buttonClass: "secondary",
      part: `strain-${item.id}`,
      fields: [{ name: "note", label: "What has changed", required: true }],
      args: (v) => ({ id: item.id, note: v.note }),
      done: () => { review = review.filter((x) => x.id !== item.id); toast("It is being renegotiated"); },
    })
    : opButton({
      op: "need.release", args: { id: item.id, note: "no longer within my capacity" }, text: "Let go of it",
      part: `release-${item.id}`,
      done: () => { review = review.filter((x) => x.id !== item.id); toast("Released"); },
    });
  return h("li", {},
    h("p", {}, h("strong", {}, item.title), h("span", { class: "meta" }, ` · ${item.kind}`)),
    h("p", {}, item.question),
    h("div", { class: "actions" },
      h("button", { type: "button", class: "secondary", onclick: () => {
        review = review.filter((x) => x.id !== item.id);
        refresh(new Set(["review"]));
      } }, "Yes, still within"), answer));
}

function askForm() {
  const open = needs.filter((n) => n.state === "open");
  const held = needs.filter((n) => n.state === "held");
  return opForm({
    op: "mobilizing.ask", submit: "Ask", part: "ask",
    fields: [
      { name: "member", label: "Whom", kind: "select", options: memberOptions({ exclude: [app.me] }) },
      { name: "need", label: "About", kind: "select", options: [
        ["", "A pattern (no particular need)"],
        ...held.map((n) => [n.id, `Held: ${n.title}`]),
        ...open.map((n) => [n.id, `Open, nobody holds it: ${n.title}`])] },
      { name: "question", label: "Your question", kind: "textarea", rows: 2,
        value: "Are you mobilizing? Shall we discern it together?" },
    ],
    args: (v) => ({ member: v.member, need_id: v.need || null, question: v.question }),
    done: () => toast("Asked: each of you adds a view"),
  });
}

function renderAllies(a) {
  const mine = a.allies.includes(app.me);
  const asked = a.allies[1] === app.me && a.state === "proposed";
  const other = a.allies.find((m) => m !== app.me) || a.allies[1];
  return h("li", { class: `item state-${a.state === "active" ? "active" : "open"}`, tabindex: -1 },
    h("div", { class: "head", "data-part": "head" },
      h("h3", {}, mine ? `With ${who(other)}` : a.allies.map(who).join(" and ")),
      badge(a.state, a.state === "active" ? "ok" : "quiet"),
      a.due ? badge("check-in due", "warn") : null),
    h("p", { "data-part": "focus" }, a.focus),
    h("p", { class: "meta", "data-part": "rhythm" }, `Every ${a.every_days} day${a.every_days === 1 ? "" : "s"}`,
      a.last_met ? [" · last met ", when(a.last_met)] : "",
      a.due_at ? [" · next ", when(a.due_at)] : ""),
    a.met_note ? h("p", { class: "meta" }, `“${a.met_note}”`) : null,
    asked ? h("div", { class: "actions", "data-part": "answer" },
      opButton({ op: "allies.accept", args: { id: a.id }, text: "Accept", buttonClass: "", done: () => toast("Allies") }),
      opButton({ op: "allies.decline", args: { id: a.id }, text: "Decline", done: () => toast("Declined") })) : null,
    mine && a.state === "active" ? disclose(a.due ? "We checked in…" : "Record a check-in…", opForm({
      op: "allies.met", submit: "We checked in",
      fields: [{ name: "note", label: "A word about it (optional)" }],
      args: (v) => ({ id: a.id, note: v.note }), done: () => toast("Check-in recorded"),
    }), "met") : null,
    mine && ["proposed", "active"].includes(a.state) ? disclose("Stop these check-ins…", opForm({
      op: "allies.stop", submit: "Stop", buttonClass: "secondary",
      fields: [{ name: "note", label: "Why (optional)" }],
      args: (v) => ({ id: a.id, note: v.note }), done: () => toast("Stopped"),
    }), "stop") : null);
}

function alliesForm() {
  return opForm({
    op: "allies.propose", submit: "Propose", part: "allies",
    fields: [
      { name: "member", label: "With", kind: "select", options: memberOptions({ exclude: [app.me] }) },
      { name: "every_days", label: "Every how many days", value: "7", max: 3 },
      { name: "focus", label: "What you co-hold together", required: true },
    ],
    args: (v) => ({ member: v.member, every_days: Number(v.every_days), focus: v.focus }),
    done: () => toast("Proposed: they accept or decline"),
  });
}

export function mount() {
  el.members = h("ul", { class: "list", "aria-label": "Members' capacity and load" });
  el.mine = h("ul", { class: "rows", "aria-label": "Your check-ins" });
  el.asks = h("ul", { class: "list", "aria-label": "Are you mobilizing?" });
  el.allies = h("ul", { class: "list", "aria-label": "Allies" });
  el.review = h("ul", { class: "rows", "aria-label": "Still within my capacity?" });
  el.reviewBox = section("Still within your capacity?", h("p", { class: "lead" },
    "You checked in low. For each thing you hold: is it still within your capacity?"), el.review);
  el.reviewBox.hidden = true;
  el.ask = h("div", {});
  el.alliesForm = h("div", {});
  return [
    h("h1", {}, "Capacity"),
    h("p", { class: "page-intro" },
      "Say where your capacity is, so the pod can hold its load together. "
      + "What each person holds is shown beside it to help discern, never to compare."),
    h("div", { class: "grid two" },
      h("div", {},
        section("Where everyone is", el.members),
        section("Are you mobilizing?",
          h("p", { class: "lead" }, "Discerned together, never alone: each says their view, one proposes, "
            + "and it takes effect once the person asked and one more of you confirm it."),
          el.asks, disclose("Ask someone…", el.ask, "ask"))),
      h("div", {},
        section("Check in", opForm({
          op: "capacity.set", submit: "Check in", part: "check-in",
          fields: [{ name: "level", label: "Where is your capacity now?", kind: "radios", required: true,
                     options: LEVELS },
                   { name: "note", label: "A word about it (optional)", kind: "textarea", rows: 2 }],
          done: (result, given) => {
            review = LOW.includes(given.level) ? result.review : [];
            toast("Checked in");
          },
        })),
        el.reviewBox,
        section("Allies", h("p", { class: "lead" }, "Two of you check in with each other at a rhythm you choose, "
          + "to co-hold what one alone cannot shift."), el.allies,
        disclose("Propose to be allies…", el.alliesForm, "allies-add")),
        section("Your check-ins", el.mine))),
  ];
}

export async function refresh(kinds) {
  if (kinds.has("review") && kinds.size === 1) {
    el.reviewBox.hidden = review.length === 0;
    morph(el.review, review, (x) => x.id, renderReview);
    return;
  }
  const [rows, asks, board, allies] = await Promise.all([
    call("capacity.list"), call("mobilizing.list"), call("need.list"), call("allies.list")]);
  needs = board;
  const titlesById = new Map(board.map((n) => [n.id, n.title]));
  morph(el.members, rows.filter((r) => r.active), (r) => r.member, renderMember);
  const mine = rows.find((r) => r.member === app.me);
  morph(el.mine, mine ? [...mine.history].reverse() : [], (c) => c.id, renderCheckIn, "You have not checked in yet.");
  const shown = asks.map((a) => ({ ...a, needTitle: titlesById.get(a.need) || "" })).reverse();
  morph(el.asks, shown, (a) => a.id, (a) => renderAsk(a, a.needTitle), "No one has asked yet.");
  morph(el.allies, allies.filter((a) => ["proposed", "active"].includes(a.state)), (a) => a.id, renderAllies,
    "No allies yet.");
  el.reviewBox.hidden = review.length === 0;
  morph(el.review, review, (x) => x.id, renderReview);
  if (kinds.has("*") || kinds.has("pod") || kinds.has("needs")) {
    refill(el.ask, askForm);
    refill(el.alliesForm, alliesForm);
  }
}
