// Boots a page: who am I, which page, then live updates from the pod.
//
// Every change anywhere in the pod arrives as a server-sent event naming the
// document's kind; the page re-fetches the lists that kind feeds and updates
// them in place (dom.js keeps whatever the member is typing).

import { call, follow, status } from "./api.js";
import { h } from "./dom.js";
import { refreshInbox } from "./inbox.js";
import { app } from "./ui.js";

const PAGES = {
  "/": "overview",
  "/needs": "needs",
  "/agreements": "agreements",
  "/decisions": "decisions",
  "/capacity": "capacity",
  "/feedback": "feedback",
  "/archive": "archive",
};
// Changes arrive in bursts (one operation can touch two documents); gather
// them for a moment so a burst costs one re-fetch.
const GATHER_MS = 40;
// How often a page whose node is gone asks whether it is back: quick enough to
// feel immediate, rare enough to cost nothing on loopback.
const RETRY_MS = 1500;

const main = document.getElementById("main");
let page = null;
let pending = new Set();
let timer = 0;
let running = null;
let again = false;

function problem(message) {
  let box = document.getElementById("problem");
  if (!message) {
    if (box) box.remove();
    return;
  }
  if (!box) {
    box = h("p", { id: "problem", class: "notice danger", role: "alert" });
    main.prepend(box);
  }
  box.textContent = message;
}

async function loadWho() {
  const [st, members] = await Promise.all([status(), call("members.list")]);
  app.status = st;
  app.me = st.member_id;
  app.members = members;
  document.getElementById("pod-name").textContent = st.pod_name || "podsync";
  const me = members.find((m) => m.member_id === st.member_id);
  document.getElementById("me").textContent = me ? `You are ${me.name}` : "";
}

async function refresh(kinds) {
  if (running) {
    again = true;
    kinds.forEach((k) => pending.add(k));
    return running;
  }
  running = (async () => {
    try {
      if (kinds.has("*") || kinds.has("pod")) await loadWho();
      // Any change can bring something for this member (or take it away).
      await Promise.all([page.refresh(kinds), refreshInbox()]);
      problem("");
    } catch (err) {
      problem(err.message);
    }
  })();
  await running;
  running = null;
  if (again) {
    again = false;
    const next = pending;
    pending = new Set();
    await refresh(next);
  }
}

function schedule(kind) {
  pending.add(kind || "*");
  clearTimeout(timer);
  timer = setTimeout(() => {
    const kinds = pending;
    pending = new Set();
    refresh(kinds);
  }, GATHER_MS);
}

function changed(change) {
  schedule(change.kind);
}

function live(on) {
  const el = document.getElementById("live");
  el.classList.toggle("on", on);
  el.classList.toggle("off", !on);
  document.getElementById("live-text").textContent = on ? "Live" : "Reconnecting…";
}

// When the node is gone (stopped, or the computer restarting it), say so
// plainly and how to bring it back; nothing on the page is cleared, so what
// the member typed is still there when the node returns.
function nodeGone(err) {
  let box = document.getElementById("offline");
  if (!box) {
    box = h("section", { id: "offline", class: "notice danger offline", role: "alert",
                         "aria-labelledby": "offline-title" },
      h("h2", { id: "offline-title" }, "Your podsync node is not running"),
      h("p", { id: "offline-why" }),
      h("p", {}, "Start it again: open a terminal and run ", h("code", {}, "podsync open"),
        " (or ", h("code", {}, "podsync up"), "). If the podsync service is installed, "
        + "a node that failed starts again by itself."),
      h("p", {}, "What you have typed stays on this page. It reconnects by itself as soon as the node is back."));
    document.querySelector("header.top").after(box);
  }
  document.getElementById("offline-why").textContent = err && err.status === 401
    ? "A node answers, but this page's key no longer works: open the page again with podsync open."
    : "This page cannot save anything or show the pod's changes until it is back.";
}

function nodeBack() {
  const box = document.getElementById("offline");
  if (box) box.remove();
}

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));
let stream = null;
let watching = false;

// The event stream dropped: ask the node directly until it answers, then
// follow it again and fetch everything (changes may have been missed).
async function watchNode() {
  if (watching) return;
  watching = true;
  live(false);
  for (;;) {
    try {
      await status();
      break;
    } catch (err) {
      nodeGone(err);
      await sleep(RETRY_MS);
    }
  }
  watching = false;
  nodeBack();
  if (!page) {
    location.reload();  // it never came up: nothing typed yet to keep
    return;
  }
  followNode();
  schedule("*");
}

function followNode() {
  stream = follow(changed, (on) => {
    if (on) {
      live(true);
      return;
    }
    // We reconnect ourselves: the browser's own retry gives up on some errors.
    stream.close();
    watchNode();
  });
}

async function boot() {
  const name = PAGES[location.pathname] || "overview";
  for (const link of document.querySelectorAll("nav a")) {
    if (link.dataset.page === name) link.setAttribute("aria-current", "page");
  }
  app.refresh = () => refresh(new Set(["*"]));
  try {
    const [module] = await Promise.all([import(`./pages/${name}.js`), loadWho()]);
    page = module;
    document.title = `${module.title} · ${app.status.pod_name || "podsync"}`;
    main.replaceChildren(...module.mount());
    await Promise.all([page.refresh(new Set(["*"])), refreshInbox()]);
  } catch (err) {
    problem(err.message);
    if (err.status === 0 || err.status === 401) watchNode();
    return;
  }
  followNode();
}

boot();
