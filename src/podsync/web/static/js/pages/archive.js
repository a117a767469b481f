// The archive: closed items nothing has happened to for a while (the pod's
// setting says how long) leave the other pages and are kept here, searchable.
// A note or a reopening brings an item back to its page.

import { call } from "../api.js";
import { h, morph, refill } from "../dom.js";
import { badge, history, opForm, section, toast, when, who, words } from "../ui.js";

export const title = "Archive";

// Items shown per section at first: a pod of some years holds thousands.
const PAGE = 50;

const KINDS = [
  { key: "needs", op: "need.list", heading: "Needs", title: (x) => x.title, id: (x) => x.id,
    detail: (x) => x.reason || x.detail },
  { key: "agreements", op: "agreement.list", heading: "Agreements", title: (x) => x.what,
    id: (x) => x.id, detail: () => "" },
  { key: "decisions", op: "decision.list", heading: "Decisions", title: (x) => x.title,
    id: (x) => x.id, detail: (x) => x.decision || "" },
  { key: "team-items", op: "team.items", heading: "Team items", title: (x) => x.title,
    id: (x) => x.id, detail: (x) => x.addressed_note || "" },
  { key: "threads", op: "feedback.threads", heading: "Feedback threads you took part in",
    title: (x) => `Feedback for ${who(x.leader)} from ${who(x.giver)}`, id: (x) => x.thread_id,
    detail: (x) => (x.routed ? `Routed: ${words(x.routed.route)}` : "") },
];

const el = {};
const shown = {};
let found = null;

function lastActivity(item) {
  const times = [item.created_at, ...(item.history || []).map((e) => e.at)];
  return times.sort().at(-1);
}

function renderItem(kind, item) {
  const detail = kind.detail(item);
  return h("li", { class: `item state-${item.state}`, tabindex: -1, "aria-label": kind.title(item) },
    h("div", { class: "head", "data-part": "head" },
      h("h3", {}, kind.title(item)), badge(item.state, "quiet")),
    detail ? h("p", { class: "detail", "data-part": "detail" }, detail) : null,
    h("p", { class: "meta", "data-part": "meta" }, "Started ", when(item.created_at),
      " · last change ", when(lastActivity(item))),
    history(item.history || [], (e) => words(e.op)));
}

function renderFound(f) {
  return h("li", { class: `item state-${f.state}` },
    h("div", { class: "head" }, h("h3", {}, f.title), badge(f.kind, "quiet"), badge(f.state),
      f.archived ? badge("archived", "quiet") : null),
    h("p", { class: "meta" }, "Started ", when(f.created_at)));
}

function searchForm() {
  return opForm({
    op: "pod.search", submit: "Search", part: "search", layout: "inline",
    fields: [{ name: "text", label: "Words to find (in the archive and everywhere else)", required: true }],
    done: (result) => {
      found = result;
      morph(el.found, result, (f) => `${f.kind}-${f.id}`, renderFound, "Nothing found.");
      el.found.hidden = false;
    },
  });
}

function settingForm(days) {
  return opForm({
    op: "pod.setting", submit: "Change", part: "setting", layout: "inline",
    fields: [{ name: "value", label: "Days a closed item stays on its page after its last change",
               value: String(days), required: true }],
    args: (v) => ({ name: "archive_after_days", value: Number.parseInt(v.value, 10) }),
    done: () => toast("Changed for the whole pod"),
  });
}

export function mount() {
  el.found = h("ul", { class: "list", "aria-label": "Search results", hidden: true });
  el.setting = h("div", {});
  el.about = h("p", { class: "page-intro" });
  const sections = KINDS.map((kind) => {
    el[kind.key] = h("ul", { class: "list", "aria-label": `Archived ${kind.heading.toLowerCase()}` });
    el[`${kind.key}-more`] = h("div", {});
    shown[kind.key] = PAGE;
    return section(kind.heading, el[kind.key], el[`${kind.key}-more`]);
  });
  return [
    h("h1", {}, "Archive"),
    el.about,
    h("div", { class: "grid two" },
      h("div", {}, ...sections),
      h("div", {},
        section("Search", searchForm(), el.found),
        section("How long items stay", el.setting))),
  ];
}

function more(kind, total) {
  const slot = el[`${kind.key}-more`];
  if (total <= shown[kind.key]) {
    slot.replaceChildren();
    return;
  }
  slot.replaceChildren(h("button", {
    type: "button", class: "secondary",
    onclick: () => {
      shown[kind.key] += PAGE;
      refresh(new Set([kind.key]));
    },
  }, `Show more (${total - shown[kind.key]} older)`));
}

export async function refresh() {
  const [settings, ...lists] = await Promise.all([
    call("pod.settings"), ...KINDS.map((kind) => call(kind.op, { all: true }))]);
  const days = settings.find((s) => s.name === "archive_after_days");
  el.about.textContent = `Closed items nothing has happened to for ${days.value} days: attended and `
    + "let-be needs, retired agreements, decisions made, addressed team items, routed feedback. "
    + "Newest first. A note or a reopening brings one back to its page.";
  refill(el.setting, () => h("div", {},
    h("p", { class: "meta" }, days.set_by ? ["Set by ", who(days.set_by), " · ", when(days.set_at)]
      : "The default; any member may change it for the whole pod."),
    settingForm(days.value)));
  KINDS.forEach((kind, i) => {
    const archived = lists[i].filter((x) => x.archived).reverse();
    morph(el[kind.key], archived.slice(0, shown[kind.key]), kind.id,
      (item) => renderItem(kind, item), "Nothing archived yet.");
    more(kind, archived.length);
  });
  if (found) el.found.hidden = false;
}
