// What needs me: the inbox panel on the overview, the count in the navigation,
// and a desktop notification when something new arrives.
//
// Every change in the pod (server-sent events, app.js) brings a new look at
// `inbox.list`, so the panel and the count follow the pod live. Notifications
// use the standard Notification API, asked for only when the member presses
// the button, never on load.

import { call } from "./api.js";
import { h, morph } from "./dom.js";
import { app } from "./ui.js";

const KIND_NAMES = {
  need: "Need", agreement: "Agreement", decision: "Decision", ask: "Are you mobilizing?",
  allies: "Allies", team: "Team", nomination: "Steward", thread: "Feedback",
  statement: "Feedback for you",
};
const relative = new Intl.RelativeTimeFormat(undefined, { numeric: "auto" });
const UNITS = [["day", 86400], ["hour", 3600], ["minute", 60]];

const panel = { list: null, button: null };
// Entries already seen on this page (kind:id:reason), so only new ones notify.
let seen = null;

/** "in 3 days", "2 hours ago": an ISO moment relative to now, in words. */
export function fromNow(iso) {
  const seconds = (new Date(iso).getTime() - Date.now()) / 1000;
  if (Number.isNaN(seconds)) return iso;
  for (const [unit, size] of UNITS) {
    if (Math.abs(seconds) >= size) return relative.format(Math.round(seconds / size), unit);
  }
  return "just now";
}

function renderEntry(e) {
  const timing = e.due
    ? h("time", { datetime: e.due, title: new Date(e.due).toLocaleString() },
      e.overdue ? `was due ${fromNow(e.due)}` : `due ${fromNow(e.due)}`)
    : h("time", { datetime: e.since, title: new Date(e.since).toLocaleString() },
      `waiting since ${fromNow(e.since)}`);
  return h("li", { class: `item${e.overdue ? " overdue" : ""}`, "data-reason": e.reason },
    h("div", { class: "head" },
      h("h3", {}, h("span", { class: "kind" }, `${KIND_NAMES[e.kind] || e.kind}: `), e.title),
      timing),
    h("p", {}, e.action),
    h("p", { class: "actions" },
      h("a", { href: `${e.page}#${e.kind}-${e.id}` }, "Open"),
      // The command as the member would type it: the id's first characters do.
      h("code", { class: "meta" }, e.command.replace(e.id, e.id.slice(0, 8)))));
}

function notifyButton() {
  if (!("Notification" in window)) return null;
  const button = h("button", { type: "button", class: "secondary", "data-part": "notify" },
    "Notify me when something new needs me");
  const sync = () => {
    button.hidden = Notification.permission === "granted";
    button.disabled = Notification.permission === "denied";
    if (button.disabled) button.textContent = "Notifications are blocked in this browser";
  };
  button.addEventListener("click", async () => {
    await Notification.requestPermission();
    sync();
  });
  sync();
  return button;
}

/** The panel for the top of the overview. */
export function inboxPanel() {
  panel.list = h("ul", { class: "list", "aria-label": "What needs you", id: "inbox-list" });
  panel.button = notifyButton();
  return h("section", { class: "card inbox", id: "inbox", "aria-labelledby": "inbox-title" },
    h("h2", { id: "inbox-title" }, "What needs you"),
    panel.list, panel.button);
}

function notify(fresh) {
  if (!("Notification" in window) || Notification.permission !== "granted") return;
  for (const e of fresh) {
    try {
      new Notification(`${KIND_NAMES[e.kind] || e.kind}: ${e.title}`, { body: e.action, tag: `${e.kind}:${e.id}:${e.reason}` });
    } catch {
      // A browser that only notifies from a service worker: the panel still shows it.
    }
  }
}

/** Look at the inbox again: the count in the navigation, the panel, notifications. */
export async function refreshInbox() {
  const entries = await call("inbox.list");
  const count = document.getElementById("inbox-count");
  if (count) {
    count.textContent = String(entries.length);
    count.hidden = entries.length === 0;
    count.setAttribute("aria-label", `${entries.length} thing${entries.length === 1 ? "" : "s"} need${entries.length === 1 ? "s" : ""} you`);
  }
  if (panel.list && panel.list.isConnected) {
    morph(panel.list, entries, (e) => `${e.kind}:${e.id}:${e.reason}`, renderEntry,
      "Nothing needs you now.");
  }
  const keys = entries.map((e) => `${e.kind}:${e.id}:${e.reason}`);
  if (seen !== null) notify(entries.filter((e, i) => !seen.has(keys[i])));
  seen = new Set(keys);
  app.inbox = entries;
}
