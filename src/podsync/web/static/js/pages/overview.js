// The pod: members and who is connected now, invites, teams, sync state.

import { call, status } from "../api.js";
import { h, morph } from "../dom.js";
import { inboxPanel } from "../inbox.js";
import { relaysSection } from "../relays.js";
import {
  app, badge, disclose, memberOptions, opButton, opForm, reconcile, section, toast, when, who, words,
} from "../ui.js";

export const title = "Pod";

// Connections come and go without a document changing: look again this often.
const POLL_MS = 3000;

const KIND_NAMES = {
  pod: "Pod: members and teams",
  needs: "Needs board",
  agreements: "Agreements",
  decisions: "Decisions",
  capacity: "Capacity",
  "team-items": "Team items",
  "feedback-thread": "Feedback thread (private)",
  "feedback-statement": "Feedback statement",
};

const KINDS = Object.keys(KIND_NAMES);
const PRIVATE_KINDS = ["feedback-thread", "feedback-statement"];
const el = {};
// Document id → the member ids reading it ("pod" when made public), for private documents.
let privateReaders = new Map();

function confirmRemoval(name) {
  const dialog = h("dialog", { "aria-labelledby": "remove-title" },
    h("h2", { id: "remove-title" }, `Remove ${name} from the pod?`),
    h("p", {}, "Their devices stop syncing with the pod as soon as each member's node hears of it."),
    h("p", { class: "notice warn" }, h("strong", {}, "Data already on their devices cannot be recalled. "),
      `Whatever ${name} could read until now stays with them.`),
    h("form", { method: "dialog", class: "actions" },
      h("button", { value: "cancel", class: "secondary", autofocus: true }, "Keep them"),
      h("button", { value: "remove", class: "danger" }, `Remove ${name}`)));
  document.body.append(dialog);
  return new Promise((resolve) => {
    dialog.addEventListener("close", () => {
      resolve(dialog.returnValue === "remove");
      dialog.remove();
    });
    dialog.showModal();
  });
}

function reachable(memberId) {
  if (memberId === app.me) return true;
  return (app.status.peers || []).some((p) => p.connected && p.member_id === memberId);
}

function renderMember(m) {
  const here = m.member_id === app.me;
  const now = reachable(m.member_id);
  const devices = m.devices.filter((d) => d.status === "active").length;
  return h("li", { class: "item", tabindex: -1 },
    h("div", { class: "head", "data-part": "head" },
      h("h3", {}, who(m.member_id)),
      here ? badge("this device", "ok") : now ? badge("connected now", "ok") : badge("not connected", "quiet")),
    h("p", { class: "meta", "data-part": "meta" },
      `${devices} device${devices === 1 ? "" : "s"} · joined `, when(m.added_at),
      m.added_by && m.added_by !== m.member_id ? ` · added by ${who(m.added_by)}` : ""),
    here ? null : opForm({
      op: "members.remove", args: () => ({ target: m.member_id }), submit: `Remove ${m.name}…`,
      part: "remove", layout: "inline", buttonClass: "secondary",
      confirm: () => confirmRemoval(m.name), done: () => toast(`${m.name} was removed`),
    }));
}

function renderRemoved(m) {
  return h("li", {}, `${m.name} — removed `, when(m.removed_at), m.removed_by ? ` by ${who(m.removed_by)}` : "");
}

function inviteForm() {
  const result = h("div", { class: "qr", "aria-live": "polite" });
  const form = opForm({
    op: "invite.create", submit: "Create invite", layout: "inline", part: "invite",
    fields: [{ name: "expires", label: "Valid for", kind: "select", value: "24h",
               options: [["30m", "30 minutes"], ["24h", "24 hours"], ["7d", "7 days"]] }],
    done: (invite) => {
      result.replaceChildren(
        h("img", { src: `/ui/qr.svg?data=${encodeURIComponent(invite.code)}`, width: 192, height: 192,
                   alt: "The invite code as a QR code" }),
        h("p", { class: "label" }, "Invite code"),
        h("p", { class: "code" }, invite.code),
        h("p", { class: "meta" }, "Valid once, until ", when(invite.expires_at),
          ". The newcomer runs ", h("code", {}, "podsync join CODE --name THEIR_NAME"), "."));
    },
  });
  return [form, result];
}

function renderTeamItem(item) {
  const classes = ["bubble", item.needs_reconciliation ? "conflict" : ""].join(" ").trim();
  return h("li", { class: classes, tabindex: -1 },
    h("p", { "data-part": "head" }, h("strong", {}, item.title), " ",
      badge(item.state, item.state === "addressed" ? "ok" : ""),
      item.origin === "feedback" ? badge("from feedback", "quiet") : null,
      item.needs_reconciliation ? badge("needs reconciliation", "conflict") : null),
    item.detail ? h("p", { class: "detail", "data-part": "detail" }, item.detail) : null,
    item.addressed_note ? h("p", { class: "meta", "data-part": "addressed" }, `Addressed: ${item.addressed_note}`) : null,
    reconcile(item, "team.item_settle", { id: item.id }),
    !item.needs_reconciliation && item.state === "open" ? disclose("Mark addressed…", opForm({
      op: "team.item_address", submit: "Mark addressed",
      fields: [{ name: "note", label: "How the team addressed it", kind: "textarea", rows: 2, required: true }],
      args: (v) => ({ id: item.id, note: v.note }), done: () => toast("Marked addressed"),
    }), "address") : null,
    !item.needs_reconciliation && item.state === "addressed" ? opButton({
      op: "team.item_reopen", args: { id: item.id, note: "" }, text: "Reopen", part: "reopen",
    }) : null);
}

function renderTeam(t) {
  const mine = t.members.includes(app.me);
  const invitedMe = t.invited.includes(app.me);
  const list = h("ul", { class: "bubbles", "data-part": "items", "aria-label": `Items for ${t.name}` });
  morph(list, t.items, (i) => i.id, renderTeamItem);
  const others = memberOptions({ exclude: [...t.members, ...t.invited, app.me] });
  return h("li", { class: "item", tabindex: -1 },
    h("div", { class: "head", "data-part": "head" }, h("h3", {}, t.name),
      badge(`${t.members.length} member${t.members.length === 1 ? "" : "s"}`, "quiet")),
    h("p", { class: "meta", "data-part": "members" },
      t.members.length ? t.members.map(who).join(", ") : "No members yet",
      t.invited.length ? ` · invited: ${t.invited.map(who).join(", ")}` : ""),
    invitedMe ? h("div", { class: "notice", "data-part": "invitation" },
      h("p", {}, `You are invited to ${t.name}.`),
      h("div", { class: "actions" },
        opButton({ op: "team.accept", args: { team_id: t.id }, text: "Accept", buttonClass: "",
                   done: () => toast(`You are in ${t.name}`) }),
        opButton({ op: "team.decline", args: { team_id: t.id }, text: "Decline",
                   done: () => toast("Declined") }))) : null,
    t.items.length ? list : null,
    invitedMe ? null : opButton({ op: mine ? "team.leave" : "team.join", args: { team_id: t.id, member: app.me },
                                  text: mine ? "Leave team" : "Join team", part: "membership" }),
    mine && others.length ? disclose("Invite someone…", opForm({
      op: "team.join", submit: "Invite", part: "invite-member",
      fields: [{ name: "member", label: "Whom", kind: "select", options: others }],
      args: (v) => ({ team_id: t.id, member: v.member }), done: () => toast("Invited: they accept or decline"),
    }), "invite-member") : null,
    disclose("Ask the team to attend to something…", opForm({
      op: "team.item_add", submit: "Ask the team",
      fields: [{ name: "title", label: "What needs attending to", required: true },
               { name: "detail", label: "Details (optional)", kind: "textarea", rows: 2 }],
      args: (v) => ({ team_id: t.id, title: v.title, detail: v.detail }), done: () => toast("Asked"),
    }), "item-add"));
}

function exportButton(format, text) {
  return opForm({
    op: "pod.export", submit: text, layout: "inline", buttonClass: "secondary", part: `export-${format}`,
    args: () => ({ format }),
    done: (result) => {
      const body = format === "json" ? JSON.stringify(result.content, null, 2) : result.content;
      const link = h("a", {
        href: URL.createObjectURL(new Blob([body], { type: format === "json" ? "application/json" : "text/markdown" })),
        download: `${(app.status.pod_name || "pod").replace(/[^\w-]+/g, "-")}.${format === "json" ? "json" : "md"}`,
      });
      link.click();
      setTimeout(() => URL.revokeObjectURL(link.href), 10000);
    },
  });
}

function heads(list) {
  return list.length ? list.map((x) => x.slice(0, 8)).join(" ") : "empty";
}

/** Whether member `memberId` reads document `d`: private feedback travels only to its readers. */
function reads(d, memberId) {
  const only = privateReaders.get(d.url.replace(/^automerge:/, ""));
  if (only) return only === "pod" || only.includes(memberId);
  return !PRIVATE_KINDS.includes(d.kind);
}

function renderPeer(p, docs) {
  const theirs = docs.filter((d) => reads(d, p.member_id));
  const inSync = theirs.filter((d) => (d.in_sync_with || []).includes(p.device_id)).length;
  return h("tr", {},
    h("td", {}, p.member_id ? who(p.member_id) : "unknown device"),
    h("td", {}, p.connected ? badge("connected", "ok") : badge("not connected", "quiet")),
    h("td", {}, p.connected ? `${inSync} of ${theirs.length}` : "—"),
    h("td", {}, p.address || "", p.found_by ? h("span", { class: "meta" }, ` (${words(p.found_by)})`) : ""));
}

function renderDoc(d, peers) {
  const names = peers.filter((p) => (d.in_sync_with || []).includes(p.device_id))
    .map((p) => (p.member_id ? who(p.member_id) : p.device_id.slice(0, 8)));
  return h("tr", {},
    h("td", {}, KIND_NAMES[d.kind] || d.kind || "other"),
    h("td", {}, h("code", { title: d.url }, heads(d.heads))),
    h("td", {}, names.length ? names.join(", ") : h("span", { class: "meta" }, "no connected peer yet")));
}

// Records that could not be verified: kept, never used. Shown so nobody has to
// take on trust that a member's modified software wrote nothing odd.
const REASONS = {
  "bad-signature": "signed by someone other than who it claims",
  "unknown-signer": "signed by a device this one does not know",
  "malformed": "not a record",
  "misplaced": "stored under the wrong key",
};

function unverified(records) {
  if (!records || !records.total) return [];
  const lines = records.documents.map((d) => h("li", {},
    `${KIND_NAMES[d.kind] || d.kind || "other"}: `,
    Object.entries(d.reasons).map(([why, n]) => `${n} ${REASONS[why] || why}`).join("; ")));
  return [h("div", { class: "notice warn", "data-part": "unverified" },
    h("p", {}, `${records.total} record${records.total === 1 ? "" : "s"} could not be verified. `
      + "They are kept and never used: whatever they claim changes nothing here."),
    h("ul", { class: "rows" }, lines))];
}

/** Save `bytes` (base64) as a file named `name`. */
function download(name, base64, type) {
  const raw = Uint8Array.from(atob(base64), (c) => c.charCodeAt(0));
  const link = h("a", { href: URL.createObjectURL(new Blob([raw], { type })), download: name });
  link.click();
  setTimeout(() => URL.revokeObjectURL(link.href), 10000);
}

function renderQuarantined(list) {
  if (!list.length) return null;
  return h("div", { class: "notice warn", "data-part": "quarantined" },
    h("p", {}, h("strong", {}, `${list.length} document${list.length === 1 ? " is" : "s are"} set aside. `),
      "Their stored bytes do not load here (or would cost too much to), so this node keeps them on disk, "
      + "unread, and serves everything else. Download a copy to inspect it or to show someone who can help."),
    h("ul", { class: "rows" }, list.map((d) => h("li", {},
      h("strong", {}, KIND_NAMES[d.kind] || d.kind || "document"), " ",
      h("code", { title: d.url }, d.url.replace(/^automerge:/, "").slice(0, 12)), ": ", d.reason, " ",
      opButton({
        op: "quarantine.export", args: { url: d.url }, text: "Download stored bytes", part: "export-quarantined",
        done: (x) => download(`${x.url.replace(/^automerge:/, "")}.automerge`, x.data, "application/octet-stream"),
      })))));
}

function renderSync() {
  const st = app.status;
  const peers = (st.peers || []).filter((p) => p.device_id);
  const docs = st.documents || [];
  const peerTable = peers.length
    ? h("div", { class: "table-wrap" }, h("table", {},
      h("caption", { class: "visually-hidden" }, "Peers"),
      h("thead", {}, h("tr", {}, ["Member", "Link", "Documents the same", "Address (found by)"].map((c) =>
        h("th", { scope: "col" }, c)))),
      h("tbody", {}, peers.map((p) => renderPeer(p, docs)))))
    : h("p", { class: "empty" }, "No other member's device is known to this one yet.");
  const connected = peers.filter((p) => p.connected);
  docs.sort((x, y) => KINDS.indexOf(x.kind) - KINDS.indexOf(y.kind) || x.url.localeCompare(y.url));
  const behind = docs.filter((d) => connected.some((p) => reads(d, p.member_id)
    && !(d.in_sync_with || []).includes(p.device_id)));
  const summary = !connected.length
    ? h("p", { class: "notice warn" }, "No other member's device is connected right now. "
      + "Everything you do is kept here and merges when you meet.")
    : behind.length
      ? h("p", { class: "notice" }, `Catching up: ${behind.length} of ${docs.length} documents still differ from a connected device.`)
      : h("p", { class: "notice ok" }, "Up to date: every document is the same here as on each connected device that may read it.");
  const docTable = h("div", { class: "table-wrap" }, h("table", {},
    h("caption", { class: "visually-hidden" }, "Documents"),
    h("thead", {}, h("tr", {}, ["Document", "Latest changes", "Same as"].map((c) => h("th", { scope: "col" }, c)))),
    h("tbody", {}, docs.map((d) => renderDoc(d, connected)))));
  const quarantined = renderQuarantined(st.damaged_documents || []);
  el.sync.replaceChildren(
    summary,
    ...unverified(st.unverified_records),
    ...(quarantined ? [quarantined] : []),
    h("h3", { class: "sub" }, "Peers"), peerTable,
    h("h3", { class: "sub" }, "Documents"),
    h("p", { class: "meta" }, "Each document is the same on two devices when their latest changes match."),
    docTable);
  el.relays.update(st);
}

export function mount() {
  el.members = h("ul", { class: "list", "aria-label": "Members" });
  el.removed = h("ul", { class: "rows" });
  el.removedBox = h("details", { "data-key": "removed", hidden: true },
    h("summary", {}, "Removed members"), el.removed);
  el.teams = h("ul", { class: "list", "aria-label": "Teams" });
  el.sync = h("div", { "aria-live": "off" });
  el.relays = relaysSection();
  el.heading = h("h1", {}, "Your pod");
  setInterval(async () => {
    try {
      app.status = await status();
      renderSync();
      morph(el.members, app.members.filter((m) => m.status === "active"), (m) => m.member_id, renderMember);
    } catch {
      // The live indicator already tells the member the node is out of reach.
    }
  }, POLL_MS);
  return [
    el.heading,
    inboxPanel(),
    h("p", { class: "page-intro" },
      "Everyone in this pod, whose device is connected to yours right now, and how up to date each shared record is. "
      + "There is no admin: any member may invite or remove."),
    h("div", { class: "grid two" },
      h("div", {}, section("Members", el.members, el.removedBox)),
      h("div", {},
        section("Invite someone",
          h("p", { class: "lead" }, "An invite works once. Any member's node can admit the newcomer."),
          inviteForm()),
        section("Teams", el.teams,
          disclose("Form a team", opForm({
            op: "team.add", submit: "Form team", part: "team-add",
            fields: [{ name: "name", label: "Team name", required: true }],
            args: (v) => ({ name: v.name, members: [app.me] }),
            done: () => toast("Team formed"),
          }), "team-add")),
        section("Your copy",
          h("p", { class: "lead" }, "Everything you may read in this pod, with its full history, "
            + "readable without podsync."),
          h("div", { class: "actions" }, exportButton("markdown", "Download as Markdown"),
            exportButton("json", "Download as JSON"))))),
    section("Sync", el.sync),
    section("Relays", ...el.relays.parts),
  ];
}

export async function refresh() {
  const [teamList, items, threads, statements] = await Promise.all([
    call("team.list"), call("team.items"), call("feedback.threads"), call("feedback.received")]);
  // Each team carries its items, so a change to an item re-renders its team.
  const teams = teamList.map((t) => ({ ...t, items: items.filter((i) => i.team === t.id) }));
  privateReaders = new Map([
    ...threads.map((t) => [t.thread_id, [t.giver, ...t.stewards]]),
    ...statements.map((x) => [x.statement_id, x.public ? "pod" : [x.leader, x.giver, ...x.stewards]]),
  ]);
  el.heading.textContent = app.status.pod_name || "Your pod";
  morph(el.members, app.members.filter((m) => m.status === "active"), (m) => m.member_id, renderMember);
  const removed = app.members.filter((m) => m.status !== "active");
  el.removedBox.hidden = removed.length === 0;
  el.removed.replaceChildren(...removed.map(renderRemoved));
  morph(el.teams, teams, (t) => t.id, renderTeam, "No teams yet.");
  app.status = await status();
  renderSync();
}
