// Building and updating the page without losing what the member is doing.
//
// Lists are rebuilt from fresh data after every change in the pod; `morph`
// keeps each item's element (by key) and replaces only the parts that changed,
// and never a part the member is busy with: focused, typed into, or waiting
// for an answer. Text always goes in as text nodes, never as HTML.

let counter = 0;

/** A unique id for pairing a label with its control. */
export function uid(prefix = "f") {
  counter += 1;
  return `${prefix}-${counter}`;
}

/** An element: h("p", {class: "meta"}, "text", child, [more]). */
export function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs || {})) {
    if (value === null || value === undefined || value === false) continue;
    if (name === "class") el.className = value;
    else if (name.startsWith("on") && typeof value === "function") el.addEventListener(name.slice(2), value);
    else if (name === "value" && tag === "textarea") el.defaultValue = value;
    else if (value === true) el.setAttribute(name, "");
    else el.setAttribute(name, String(value));
  }
  append(el, children);
  return el;
}

function append(el, children) {
  for (const child of children.flat(Infinity)) {
    if (child === null || child === undefined || child === false) continue;
    el.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return el;
}

/** True when the member is using something inside `el`. */
export function busy(el) {
  if (el.contains(document.activeElement) && document.activeElement !== document.body) return true;
  if (el.querySelector("[data-pending]") || el.hasAttribute("data-pending")) return true;
  for (const control of el.querySelectorAll("input, textarea, select")) {
    if (control.type === "checkbox" || control.type === "radio") {
      if (control.checked !== control.defaultChecked) return true;
    } else if (control.tagName === "SELECT") {
      // With no option marked selected, the first one is the untouched choice.
      const initial = Math.max(0, [...control.options].findIndex((o) => o.defaultSelected));
      if (control.selectedIndex !== initial) return true;
    } else if (control.value !== control.defaultValue) {
      return true;
    }
  }
  return false;
}

function move(parent, node, before) {
  // moveBefore keeps focus and typed state where the browser has it.
  if (parent.moveBefore && node.isConnected && node.parentNode === parent) parent.moveBefore(node, before);
  else parent.insertBefore(node, before);
}

function place(parent, nodes) {
  nodes.forEach((node, i) => {
    const at = parent.children[i] || null;
    if (at !== node) move(parent, node, at);
  });
  while (parent.children.length > nodes.length) parent.lastElementChild.remove();
}

function keepOpen(old, fresh) {
  for (const d of old.querySelectorAll("details[open][data-key]")) {
    const twin = fresh.querySelector(`details[data-key="${CSS.escape(d.dataset.key)}"]`);
    if (twin) twin.open = true;
  }
}

function patch(old, fresh) {
  if (!busy(old)) {
    keepOpen(old, fresh);
    return fresh;
  }
  // Busy: keep the element and each busy part; refresh the rest around them.
  const oldParts = new Map([...old.children].map((c) => [c.dataset.part, c]));
  const parts = [...fresh.children].map((part) => {
    const before = part.dataset.part ? oldParts.get(part.dataset.part) : undefined;
    if (before && busy(before)) return before;
    if (before) keepOpen(before, part);
    return part;
  });
  for (const attr of ["class", "aria-label"]) {
    if (fresh.hasAttribute(attr)) old.setAttribute(attr, fresh.getAttribute(attr));
  }
  place(old, parts);
  return old;
}

/**
 * Bring `container`'s children in line with `items`, each rendered by
 * `render(item)` and keyed by `key(item)`; unchanged items are left alone.
 */
export function morph(container, items, key, render, emptyText = "") {
  const old = new Map();
  for (const el of container.children) if (el.dataset.key) old.set(el.dataset.key, el);
  const next = [];
  for (const item of items) {
    const k = String(key(item));
    const sig = JSON.stringify(item);
    let el = old.get(k);
    old.delete(k);
    if (el && el.podSig === sig) {
      next.push(el);
      continue;
    }
    const fresh = render(item);
    fresh.dataset.key = k;
    fresh.podSig = sig;
    el = el ? patch(el, fresh) : fresh;
    el.podSig = sig;
    next.push(el);
  }
  // A vanished item the member is busy with stays until they are done.
  for (const el of old.values()) if (busy(el)) next.push(el);
  if (next.length === 0 && emptyText) {
    const empty = h("li", { class: "empty", "data-key": "__empty" }, emptyText);
    empty.podSig = emptyText;
    next.push(empty);
  }
  place(container, next);
}

/** Replace `slot`'s content by `render()`, unless the member is using it. */
export function refill(slot, render) {
  if (slot.firstElementChild && busy(slot)) return false;
  slot.replaceChildren(render());
  return true;
}
