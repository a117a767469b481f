// Relays: sync servers the pod also syncs through, for members in different places.
// Shown on the pod page from the node's status; added and removed by any member.

import { h } from "./dom.js";
import { badge, disclose, opButton, opForm, toast, when } from "./ui.js";

function behindText(behind) {
  if (!behind) return "—";
  if (!behind.documents && !behind.unwritten) return "up to date";
  return `${behind.documents} document${behind.documents === 1 ? "" : "s"} to exchange`;
}

function renderRelay(r) {
  return h("tr", {},
    h("td", {}, h("code", {}, r.url)),
    h("td", {}, r.reachable ? badge("reachable", "ok") : badge("not reachable", "quiet"),
      !r.reachable && r.last_error ? h("span", { class: "meta" }, ` ${r.last_error}`) : ""),
    h("td", {}, r.last_exchange ? when(r.last_exchange) : "never"),
    h("td", {}, behindText(r.behind)),
    h("td", {}, opButton({ op: "relay.remove", args: { url: r.url }, text: "Remove", part: "relay-remove",
                           done: () => toast("Relay removed") })));
}

function renderList(st) {
  const relays = st.relays || [];
  const refused = Object.values((st.relay && st.relay.refused) || {}).reduce((a, b) => a + b, 0);
  return [
    relays.length
      ? h("div", { class: "table-wrap" }, h("table", { "data-part": "relays" },
        h("caption", { class: "visually-hidden" }, "Relays"),
        h("thead", {}, h("tr", {}, ["Relay", "Now", "Last exchange", "Behind", ""].map((c) =>
          h("th", { scope: "col" }, c)))),
        h("tbody", {}, relays.map(renderRelay))))
      : h("p", { class: "empty" }, "No relay yet."),
    refused
      ? h("p", { class: "notice warn", "data-part": "relay-refused" },
        `${refused} relay entr${refused === 1 ? "y was" : "ies were"} refused (altered, forged or not `
        + "allowed) and never used.")
      : null,
  ].filter(Boolean);
}

/** The relays section: its parts, and `update(status)` for the list (the form stays put). */
export function relaysSection() {
  const list = h("div", { "aria-live": "off" });
  const parts = [
    h("p", { class: "lead" }, "Members on the same network sync directly. For members in different "
      + "places the pod can also sync through a relay: an automerge-repo sync server that holds only "
      + "sealed bundles it cannot read."),
    list,
    disclose("Add a relay…", opForm({
      op: "relay.add", submit: "Add relay", part: "relay-add",
      fields: [{ name: "url", label: "Sync server address (wss://…)", required: true }],
      done: () => toast("Relay added"),
    }), "relay-add"),
  ];
  return { parts, update: (st) => list.replaceChildren(...renderList(st)) };
}
