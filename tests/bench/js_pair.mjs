// The JavaScript half of the side-by-side benchmark: two unmodified
// automerge-repo 2.5.6 repos (one WebSocketServerAdapter, one
// WebSocketClientAdapter) over loopback WebSocket, measured the same way as a
// pair of podsync nodes. Prints ONE JSON object on stdout; progress goes to
// stderr.
//
//   node tests/bench/js_pair.mjs [--changes 20000] [--docs 2000] [--rounds 300]
//
// Needs `npm ci` in tests/interop (the pinned packages live there).
//
// Both repos get in-memory storage: that gives each a storageId, so each side
// treats the other as a persistent peer, as two nodes with disks would. All
// traffic runs through a small TCP proxy in this script that counts the bytes
// on the wire (WebSocket frames and the HTTP upgrade included) in each
// direction; the server side also counts WebSocket messages and the documents
// they name.
import net from "node:net";
import { readFileSync } from "node:fs";
import {
  MemoryStorage,
  Repo,
  WebSocketClientAdapter,
  WebSocketServerAdapter,
  cbor,
  listen,
} from "../interop/repo_kit.mjs";

// Documents changed on the server while the client is away in the reconnect
// scenario.
const CHANGED_WHILE_AWAY = 10;
// The wire counts as settled after this long without a byte: longer than
// automerge-repo's 100 ms sync throttle, so a throttled reply is not missed.
const QUIET_MS = 500;
// Upper bound for any one wait, so a broken run ends instead of hanging.
const WAIT_LIMIT_MS = 60_000;
const POLL_MS = 20;
// Idle time between propagation rounds. automerge-repo throttles each
// document's outgoing sync to one run per 100 ms, so an edit made within
// 100 ms of the last sync waits out the rest of that window (~95 ms p50
// measured for back-to-back edits). Rounds spaced wider than the window time
// an isolated edit, as a person makes one; back-to-back rounds would instead
// time the throttle, or, with no event-loop turn between rounds, an edit that
// rides on the previous round's acknowledgement.
const ROUND_GAP_MS = 150;

function parseArgs(argv) {
  const opts = { changes: 20_000, docs: 2_000, rounds: 300 };
  for (let i = 0; i < argv.length; i += 2) {
    const name = argv[i].replace(/^--/, "");
    const value = Number(argv[i + 1]);
    if (!(name in opts) || !Number.isInteger(value) || value < 1) {
      throw new Error(`usage: js_pair.mjs [--changes N] [--docs N] [--rounds N] (bad ${argv[i]})`);
    }
    opts[name] = value;
  }
  if (opts.docs < CHANGED_WHILE_AWAY) throw new Error(`--docs must be at least ${CHANGED_WHILE_AWAY}`);
  return opts;
}

const log = msg => process.stderr.write(`js_pair: ${msg}\n`);
const sleep = ms => new Promise(resolve => setTimeout(resolve, ms));

async function until(what, predicate, limitMs = WAIT_LIMIT_MS) {
  const deadline = performance.now() + limitMs;
  while (!predicate()) {
    if (performance.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(POLL_MS);
  }
}

function percentile(sorted, p) {
  const i = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[i];
}

const round2 = x => Math.round(x * 100) / 100;

// Wire and message counters for one connection, reset per measurement.
class Counters {
  constructor() {
    this.reset();
  }

  reset() {
    this.wireUp = 0; // client -> server bytes on the TCP connection
    this.wireDown = 0;
    this.msgsUp = 0; // WebSocket messages as the server adapter saw them
    this.msgsDown = 0;
    this.docsNamed = new Set(); // documentIds in those messages
    this.lastByteAt = performance.now();
  }

  snapshot() {
    return {
      wire_bytes_up: this.wireUp,
      wire_bytes_down: this.wireDown,
      wire_bytes_total: this.wireUp + this.wireDown,
      ws_messages_up: this.msgsUp,
      ws_messages_down: this.msgsDown,
      documents_in_messages: this.docsNamed.size,
    };
  }

  noteMessage(bytes, up) {
    if (up) this.msgsUp += 1;
    else this.msgsDown += 1;
    const message = cbor.decode(new Uint8Array(bytes));
    if (message.documentId) this.docsNamed.add(message.documentId);
  }
}

// A TCP proxy to `targetPort` that counts bytes both ways.
function startProxy(targetPort, counters) {
  const sockets = new Set();
  const server = net.createServer(inbound => {
    const outbound = net.connect(targetPort, "127.0.0.1");
    for (const s of [inbound, outbound]) {
      sockets.add(s);
      s.on("close", () => sockets.delete(s));
      s.on("error", () => {
        inbound.destroy();
        outbound.destroy();
      });
    }
    inbound.on("data", chunk => {
      counters.wireUp += chunk.length;
      counters.lastByteAt = performance.now();
      outbound.write(chunk);
    });
    outbound.on("data", chunk => {
      counters.wireDown += chunk.length;
      counters.lastByteAt = performance.now();
      inbound.write(chunk);
    });
    inbound.on("end", () => outbound.end());
    outbound.on("end", () => inbound.end());
  });
  return new Promise(resolve => {
    server.listen(0, "127.0.0.1", () =>
      resolve({
        port: server.address().port,
        close() {
          for (const s of sockets) s.destroy();
          server.close();
        },
      }),
    );
  });
}

// Count every WebSocket message the server adapter receives and sends.
function countMessages(wss, counters) {
  wss.on("connection", socket => {
    socket.on("message", data => counters.noteMessage(data, true));
    const send = socket.send.bind(socket);
    socket.send = (data, ...rest) => {
      counters.noteMessage(data, false);
      return send(data, ...rest);
    };
  });
}

// One server repo and one client repo dialling it through the counting proxy.
async function startPair({ serverSharePolicy }) {
  const counters = new Counters();
  const wss = await listen(0);
  countMessages(wss, counters);
  const server = new Repo({
    network: [new WebSocketServerAdapter(wss)],
    storage: new MemoryStorage(),
    sharePolicy: serverSharePolicy,
  });
  const proxy = await startProxy(wss.address().port, counters);
  const pair = { server, wss, proxy, counters, clients: [] };
  pair.connectClient = async () => {
    const adapter = new WebSocketClientAdapter(`ws://127.0.0.1:${proxy.port}`);
    const client = new Repo({
      network: [adapter],
      storage: new MemoryStorage(),
      sharePolicy: async () => true,
    });
    pair.clients.push(client);
    await until("the client to join", () => client.peers.includes(server.peerId));
    return { client, adapter };
  };
  pair.close = async () => {
    for (const client of pair.clients) await client.shutdown();
    await server.shutdown();
    wss.close();
    proxy.close();
  };
  return pair;
}

// (a) One small, isolated change on the client until the server's handle
// shows it.
async function propagation(rounds) {
  const pair = await startPair({ serverSharePolicy: async () => true });
  const { client } = await pair.connectClient();
  const a = client.create({ n: -1 });
  const b = await pair.server.find(a.url);
  await until("the first state to arrive", () => b.doc().n === -1);
  const samples = [];
  for (let i = 0; i < rounds; i++) {
    const arrived = new Promise(resolve => {
      const onChange = ({ doc }) => {
        if (doc.n !== i) return;
        b.off("change", onChange);
        resolve();
      };
      b.on("change", onChange);
    });
    const start = performance.now();
    a.change(d => {
      d.n = i;
    });
    await arrived;
    samples.push(performance.now() - start);
    await sleep(ROUND_GAP_MS);
  }
  await pair.close();
  samples.sort((x, y) => x - y);
  return {
    rounds,
    direction: "client -> server",
    gap_between_rounds_ms: ROUND_GAP_MS,
    p50_ms: round2(percentile(samples, 50)),
    p99_ms: round2(percentile(samples, 99)),
    max_ms: round2(samples[samples.length - 1]),
  };
}

// (b) A document built from `changes` separate changes, found by a new peer.
// The server is a sync server (sharePolicy false), so nothing is pushed: the
// new peer's find() is the whole exchange.
async function coldSync(changes) {
  const pair = await startPair({ serverSharePolicy: async () => false });
  const source = pair.server.create({ n: -1 });
  const buildStart = performance.now();
  for (let i = 0; i < changes; i++) {
    source.change(d => {
      d.n = i;
    });
  }
  const buildMs = performance.now() - buildStart;
  const expectedChanges = source.metrics().numChanges;
  const { client } = await pair.connectClient();
  pair.counters.reset();
  const start = performance.now();
  const handle = await client.find(source.url);
  const findMs = performance.now() - start;
  if (handle.doc().n !== changes - 1 || handle.metrics().numChanges !== expectedChanges) {
    throw new Error("find resolved before the whole document arrived");
  }
  await until("the wire to settle", () => performance.now() - pair.counters.lastByteAt > QUIET_MS);
  const wire = pair.counters.snapshot();
  await pair.close();
  return {
    changes,
    document_changes: expectedChanges,
    build_ms: round2(buildMs),
    find_to_ready_ms: round2(findMs),
    ...wire,
  };
}

// (c) `docs` documents in sync on both repos, the client away while
// CHANGED_WHILE_AWAY of them change on the server, then the client back.
//
// What the JS pair does on reconnect: the client dials again with the same
// peerId; on the new "peer" event both repos' CollectionSynchronizers start
// sync for EVERY open document the share policy allows (sharePolicy true here,
// all handles loaded), each from the in-memory sync state kept for that peerId
// (round-tripped through encode/decode, which drops what was in flight). So
// each of the `docs` documents costs at least one sync message each way even
// though only CHANGED_WHILE_AWAY changed; documents_in_messages shows how many
// were named on the wire.
async function reconnect(docs) {
  const pair = await startPair({ serverSharePolicy: async () => true });
  const { client, adapter } = await pair.connectClient();
  const clientHandles = [];
  for (let i = 0; i < docs; i++) clientHandles.push(client.create({ i, v: 0 }));
  const serverHandles = [];
  for (const h of clientHandles) serverHandles.push(await pair.server.find(h.url));
  const inSync = () =>
    serverHandles.every((s, i) => s.heads().join() === clientHandles[i].heads().join());
  await until("all documents to reach the server", inSync);
  await until("the wire to settle", () => performance.now() - pair.counters.lastByteAt > QUIET_MS);

  adapter.disconnect();
  await until("the server to drop the client", () => pair.server.peers.length === 0);
  const changed = serverHandles.slice(0, CHANGED_WHILE_AWAY);
  for (const h of changed) {
    h.change(d => {
      d.v = 1;
    });
  }
  // Let the server's throttled sync attempts (to no one) pass before counting.
  await sleep(QUIET_MS);

  pair.counters.reset();
  const arrivedAll = Promise.all(
    clientHandles.slice(0, CHANGED_WHILE_AWAY).map(
      h =>
        new Promise(resolve => {
          const check = ({ doc }) => {
            if (doc.v !== 1) return;
            h.off("change", check);
            resolve();
          };
          h.on("change", check);
        }),
    ),
  );
  const start = performance.now();
  adapter.connect(adapter.peerId, adapter.peerMetadata);
  await arrivedAll;
  const arrivedMs = performance.now() - start;
  const atArrival = pair.counters.snapshot();
  await until("the wire to settle", () => performance.now() - pair.counters.lastByteAt > QUIET_MS);
  const settledMs = pair.counters.lastByteAt - start;
  const settled = pair.counters.snapshot();
  if (!inSync()) throw new Error("the pair is not in sync after reconnecting");
  await pair.close();
  return {
    docs,
    changed_while_away: CHANGED_WHILE_AWAY,
    changes_arrived_ms: round2(arrivedMs),
    wire_bytes_until_arrived: atArrival.wire_bytes_total,
    settled_ms: round2(settledMs),
    ...settled,
  };
}

function versions() {
  const version = name =>
    JSON.parse(
      readFileSync(new URL(`../interop/node_modules/${name}/package.json`, import.meta.url)),
    ).version;
  return {
    node: process.version,
    "@automerge/automerge-repo": version("@automerge/automerge-repo"),
    "@automerge/automerge-repo-network-websocket": version(
      "@automerge/automerge-repo-network-websocket",
    ),
    "@automerge/automerge": version("@automerge/automerge"),
  };
}

async function main() {
  const opts = parseArgs(process.argv.slice(2));
  const started = performance.now();
  log(`propagation: ${opts.rounds} rounds`);
  const a = await propagation(opts.rounds);
  log(`cold sync: ${opts.changes} changes`);
  const b = await coldSync(opts.changes);
  log(`reconnect: ${opts.docs} documents`);
  const c = await reconnect(opts.docs);
  process.stdout.write(
    JSON.stringify({
      implementation: "automerge-repo (JS)",
      versions: versions(),
      transport: "WebSocket over loopback TCP, through a byte-counting proxy",
      propagation: a,
      cold_sync: b,
      reconnect: c,
      total_s: round2((performance.now() - started) / 1000),
    }) + "\n",
  );
  // Client adapters keep retry timers; the figures are out, so leave now.
  process.exit(0);
}

main().catch(err => {
  process.stderr.write(`js_pair: ${err?.stack ?? err}\n`);
  process.exit(1);
});
