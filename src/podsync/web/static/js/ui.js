// Pieces every page shares: who is who, dates, forms that run an operation,
// reconciliation, history.

import { call } from "./api.js";
import { h, uid } from "./dom.js";

/** What the page knows about this member and the pod; app.js fills it. */
export const app = {
  me: "",
  status: null,
  members: [],
  refresh: async () => {},
};

export function member(id) {
  return app.members.find((m) => m.member_id === id);
}

/** A member's name, "you" marked, never a bare id when the name is known. */
export function who(id) {
  if (!id) return "someone";
  const m = member(id);
  const name = m ? m.name : `member ${id.slice(0, 8)}…`;
  return id === app.me ? `${name} (you)` : name;
}

export function activeMembers() {
  return app.members.filter((m) => m.status === "active");
}

export function memberOptions({ exclude = [] } = {}) {
  return activeMembers()
    .filter((m) => !exclude.includes(m.member_id))
    .map((m) => [m.member_id, m.member_id === app.me ? `${m.name} (you)` : m.name]);
}

const dateTime = new Intl.DateTimeFormat(undefined, { dateStyle: "medium", timeStyle: "short" });
const dateOnly = new Intl.DateTimeFormat(undefined, { dateStyle: "medium" });

/** An ISO moment as a <time> the member can read. */
export function when(iso) {
  if (!iso) return "";
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return iso;
  return h("time", { datetime: iso }, dateTime.format(d));
}

/** An ISO calendar date (YYYY-MM-DD) as a <time>. */
export function day(iso) {
  if (!iso) return "";
  const [y, m, d] = iso.split("-").map(Number);
  if (!y || !m || !d) return iso;
  return h("time", { datetime: iso }, dateOnly.format(new Date(y, m - 1, d)));
}

export function words(text) {
  return String(text || "").replaceAll("_", " ");
}

export function badge(text, kind = "") {
  return h("span", { class: `badge ${kind}`.trim() }, words(text));
}

let toastTimer = 0;
export function toast(message) {
  const el = document.getElementById("toast");
  if (!el) return;
  el.textContent = message;
  el.classList.add("show");
  clearTimeout(toastTimer);
  toastTimer = setTimeout(() => el.classList.remove("show"), 2600);
}

function control(field) {
  const id = uid(field.name);
  const hint = field.hint ? h("span", { class: "hint", id: `${id}-hint` }, field.hint) : null;
  const described = hint ? `${id}-hint` : null;
  const common = { id, name: field.name, required: field.required, "aria-describedby": described };
  if (field.kind === "choices" || field.kind === "radios") {
    const type = field.kind === "choices" ? "checkbox" : "radio";
    return h("fieldset", { class: "field" },
      h("legend", {}, field.label),
      hint,
      h("div", { class: "choices" }, field.options.map(([value, text]) => {
        const cid = uid(field.name);
        return h("label", { for: cid },
          h("input", { type, id: cid, name: field.name, value,
                       checked: (field.value || []).includes(value),
                       required: type === "radio" && field.required }),
          text);
      })));
  }
  if (field.kind === "checkbox") {
    return h("div", { class: "field choices" },
      h("label", { for: id }, h("input", { type: "checkbox", id, name: field.name, checked: field.value }),
        field.label));
  }
  let input;
  if (field.kind === "textarea") {
    input = h("textarea", { ...common, rows: field.rows || 3, value: field.value || "", maxlength: 20000 });
  } else if (field.kind === "select") {
    input = h("select", common, field.options.map(([value, text]) =>
      h("option", { value, selected: value === field.value }, text)));
  } else {
    const type = { date: "date", datetime: "datetime-local" }[field.kind] || "text";
    input = h("input", { ...common, type, value: field.value || "", autocomplete: "off",
                         maxlength: type === "text" ? field.max || 200 : null });
  }
  return h("div", { class: "field" }, h("label", { for: id }, field.label), input, hint);
}

function values(form, fields) {
  const data = new FormData(form);
  const out = {};
  for (const field of fields) {
    if (field.kind === "choices") out[field.name] = data.getAll(field.name);
    else if (field.kind === "checkbox") out[field.name] = data.has(field.name);
    else out[field.name] = String(data.get(field.name) ?? "").trim();
  }
  return out;
}

/**
 * A form that runs operation `op` with `args(values)`. On success the form is
 * cleared, `done(result)` runs and the page refreshes; a refusal is shown in
 * the form, in the node's own words.
 */
export function opForm({ op, fields = [], submit, args = (v) => v, part, layout = "stack",
                         done, confirm, buttonLabel, buttonClass = "" }) {
  const error = h("p", { class: "form-error", role: "alert" });
  // buttonLabel names a button whose visible text is a symbol.
  const button = h("button", { type: "submit", class: buttonClass, "aria-label": buttonLabel }, submit);
  const form = h("form", { class: layout, "data-part": part },
    fields.map(control), h("div", { class: "actions" }, button), error);
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    error.textContent = "";
    const given = values(form, fields);
    if (confirm && !(await confirm(given))) return;
    form.dataset.pending = "";
    button.disabled = true;
    try {
      const result = await call(op, args(given));
      form.reset();
      const details = form.closest("details");
      if (details) details.open = false;
      // Hand focus back to the item, so the refreshed item can replace its actions.
      const item = form.closest("[data-key]");
      if (item && form.contains(document.activeElement)) item.focus();
      if (done) done(result, given);
    } catch (err) {
      error.textContent = err.message;
      return;
    } finally {
      delete form.dataset.pending;
      button.disabled = false;
    }
    await app.refresh();
  });
  return form;
}

/** A one-button operation (take on, affirm…), as a form for keyboard and screen readers. */
export function opButton({ op, args, text, part, done, buttonClass = "secondary", buttonLabel }) {
  return opForm({ op, args: () => args, submit: text, part, layout: "inline", done, buttonClass, buttonLabel });
}

/** An operation that needs a few words first, folded behind its summary. */
export function disclose(summary, form, part) {
  return h("details", { class: "action", "data-part": part, "data-key": part },
    h("summary", {}, summary), form);
}

/** The candidates of an item whose changes made apart disagree, each to settle on. */
export function reconcile(item, op, idArgs, describe = (c) => words(c.state)) {
  if (!item.needs_reconciliation) return null;
  return h("div", { class: "notice conflict", "data-part": "reconcile", role: "group",
                    "aria-label": "Needs reconciliation" },
    h("p", {}, h("strong", {}, "Needs reconciliation. "),
      "Different changes were made while apart. Talk it through, then keep one:"),
    h("ul", { class: "rows" }, item.candidates.map((c) => h("li", {},
      h("p", {}, h("strong", {}, describe(c)), " — ",
        c.by.map(who).join(", "), ", ", c.at.map((at) => dateTime.format(new Date(at))).join(", ")),
      opButton({ op, args: { ...idArgs, choice: c.id }, text: `Keep “${describe(c)}”`,
                 part: `settle-${c.id}`, done: () => toast("Settled") })))));
}

/** The item's history, folded. `describe(event)` says what happened. */
export function history(events, describe) {
  return h("details", { "data-part": "history", "data-key": "history" },
    h("summary", {}, `History (${events.length})`),
    h("ol", { class: "history" }, events.map((e) =>
      h("li", {}, when(e.at), " — ", who(e.by), " ", describe(e)))));
}

export function section(title, ...children) {
  const id = uid("h");
  return h("section", { class: "card", "aria-labelledby": id }, h("h2", { id }, title), children);
}

export function notes(list) {
  if (!list.length) return null;
  return h("ul", { class: "bubbles", "data-part": "notes" }, list.map((n) =>
    h("li", { class: n.by === app.me ? "bubble mine" : "bubble" },
      h("p", { class: "meta" }, who(n.by), " · ", when(n.at)),
      h("p", { class: "detail" }, n.text))));
}
