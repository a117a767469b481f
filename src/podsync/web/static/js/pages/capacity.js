// Capacity check-in: where each of us is, what each holds, and the
// "are you mobilizing?" conversations. Listed by person, never ranked.

import { call } from "../api.js";
import { renderAsk } from "../asks.js";
import { h, morph } from "../dom.js";
import { app, opForm, section, toast, when, who } from "../ui.js";

export const title = "Capacity";

const LEVELS = [
  ["depleted", "Depleted — I need to put things down"],
  ["stretched", "Stretched — holding on, nothing more"],
  ["baseline", "Baseline — steady"],
  ["spacious", "Spacious — I can take something on"],
];
const el = {};

function level(name) {
  return name ? h("span", { class: `badge cap-${name}` }, name) : h("span", { class: "badge quiet" }, "no check-in yet");
}

function renderMember(row) {
  const { needs, agreements } = row.load;
  return h("li", { class: row.member === app.me ? "item mine" : "item", tabindex: -1 },
    h("div", { class: "head", "data-part": "head" }, h("h3", {}, who(row.member)),
      level(row.current && row.current.level)),
    row.current ? h("p", { class: "meta", "data-part": "when" }, "Checked in ", when(row.current.at),
      row.current.note ? ` — “${row.current.note}”` : "") : null,
    h("p", { "data-part": "load" },
      `Holds ${needs.length} need${needs.length === 1 ? "" : "s"}`,
      needs.length ? `: ${needs.map((n) => n.title).join(" · ")}` : "",
      h("br"),
      `Party to ${agreements.length} agreement${agreements.length === 1 ? "" : "s"}`,
      agreements.length ? `: ${agreements.map((a) => a.title).join(" · ")}` : ""));
}

function renderCheckIn(c) {
  return h("li", {}, when(c.at), " — ", level(c.level), c.note ? ` “${c.note}”` : "");
}

export function mount() {
  el.members = h("ul", { class: "list", "aria-label": "Members' capacity and load" });
  el.mine = h("ul", { class: "rows", "aria-label": "Your check-ins" });
  el.asks = h("ul", { class: "bubbles", "aria-label": "Are you mobilizing?" });
  return [
    h("h1", {}, "Capacity"),
    h("p", { class: "page-intro" },
      "Say where your capacity is, so the pod can hold its load together. "
      + "What each person holds is shown beside it to help discern, never to compare."),
    h("div", { class: "grid two" },
      h("div", {},
        section("Where everyone is", el.members),
        section("Are you mobilizing?",
          h("p", { class: "lead" }, "Asks about a need someone holds: the answer, and what was discerned together. "
            + "Ask from the needs board."),
          el.asks)),
      h("div", {},
        section("Check in", opForm({
          op: "capacity.set", submit: "Check in", part: "check-in",
          fields: [{ name: "level", label: "Where is your capacity now?", kind: "radios", required: true,
                     options: LEVELS },
                   { name: "note", label: "A word about it (optional)", kind: "textarea", rows: 2 }],
          done: () => toast("Checked in"),
        })),
        section("Your check-ins", el.mine))),
  ];
}

export async function refresh() {
  const [rows, asks, needs] = await Promise.all([call("capacity.list"), call("mobilizing.list"), call("need.list")]);
  const titles = new Map(needs.map((n) => [n.id, n.title]));
  morph(el.members, rows.filter((r) => r.active), (r) => r.member, renderMember);
  const mine = rows.find((r) => r.member === app.me);
  morph(el.mine, mine ? [...mine.history].reverse() : [], (c) => c.id, renderCheckIn, "You have not checked in yet.");
  const shown = asks.map((a) => ({ ...a, needTitle: titles.get(a.need) || "a need" })).reverse();
  morph(el.asks, shown, (a) => a.id, (a) => {
    const bubble = renderAsk(a, a.needTitle);
    bubble.prepend(h("p", { class: "label" }, h("a", { href: `/needs#need-${a.need}` }, a.needTitle)));
    return bubble;
  }, "No one has asked yet.");
}
