// A scriptable, unmodified automerge-repo peer for interoperability tests.
//
//   node peer.mjs client <ws-url>     Repo + WebSocketClientAdapter, no storage,
//                                     default sharePolicy (a browser app)
//   node peer.mjs server <port|0>     Repo + WebSocketServerAdapter on 127.0.0.1,
//                                     in-memory storage, sharePolicy false
//                                     (automerge-repo-sync-server)
//
// Commands arrive as JSON lines on stdin, {"id": 1, "cmd": "create", ...}; each
// gets exactly one JSON line on stdout with the same id, either the result or
// {"id", "error"}. Lines without an id are events: started/listening at start,
// peer/peer-disconnected, ephemeral, uncaught.
import { createInterface } from "node:readline";
import {
  MemoryStorage,
  Repo,
  WebSocketClientAdapter,
  WebSocketServerAdapter,
  listen,
  sameValue,
  setAt,
  valueAt,
} from "./repo_kit.mjs";

// How long find and waitFor wait when the command names no timeout: longer
// than the ~1 s a found document normally takes, shorter than automerge-repo's
// own 60 s request timeout, so a lost document is reported rather than hung on.
const DEFAULT_TIMEOUT_MS = 20_000;
// repo.shutdown() flushes storage; never let a wedged flush keep the process.
const SHUTDOWN_GRACE_MS = 2_000;

// JSON cannot carry BigInt (cbor-x decodes uint64 to it) or bytes; give both a
// form a Python reader can recognise.
function replacer(_key, value) {
  if (typeof value === "bigint") {
    return Number.isSafeInteger(Number(value)) ? Number(value) : value.toString();
  }
  if (value instanceof Uint8Array) {
    return { $bytes: Buffer.from(value).toString("base64") };
  }
  return value;
}

function emit(obj) {
  process.stdout.write(JSON.stringify(obj, replacer) + "\n");
}

// Adapter errors other than ECONNREFUSED are thrown from socket callbacks
// (WebSocketClientAdapter.onError); a test that kills a socket must see them
// reported, not lose the peer.
process.on("uncaughtException", err => {
  process.stderr.write(`uncaught: ${err?.stack ?? err}\n`);
  emit({ event: "uncaught", error: String(err?.message ?? err) });
});
process.on("unhandledRejection", err => {
  process.stderr.write(`unhandled rejection: ${err?.stack ?? err}\n`);
  emit({ event: "uncaught", error: String(err?.message ?? err) });
});

async function startRepo(mode, arg) {
  if (mode === "client") {
    if (!arg) throw new Error("usage: peer.mjs client <ws-url>");
    const repo = new Repo({ network: [new WebSocketClientAdapter(arg)] });
    emit({ event: "started", mode, peerId: repo.peerId });
    return { repo, storage: undefined, wss: undefined };
  }
  if (mode === "server") {
    const port = Number(arg ?? 0);
    if (!Number.isInteger(port) || port < 0) throw new Error(`bad port: ${arg}`);
    const wss = await listen(port);
    const storage = new MemoryStorage();
    const repo = new Repo({
      network: [new WebSocketServerAdapter(wss)],
      storage,
      sharePolicy: async () => false,
    });
    emit({ event: "listening", port: wss.address().port, peerId: repo.peerId });
    return { repo, storage, wss };
  }
  throw new Error("usage: peer.mjs client <ws-url> | server <port|0>");
}

const { repo, storage, wss } = await startRepo(process.argv[2], process.argv[3]);
const handles = new Map(); // url -> DocHandle this peer created or found
const listening = new Set(); // urls whose ephemeral messages are reported

repo.networkSubsystem.on("peer", ({ peerId }) => emit({ event: "peer", peerId }));
repo.networkSubsystem.on("peer-disconnected", ({ peerId }) =>
  emit({ event: "peer-disconnected", peerId }),
);

function opened(url) {
  const handle = handles.get(url);
  if (!handle) throw new Error(`no open handle for ${url}: create or find it first`);
  return handle;
}

function requireUrl(args) {
  if (typeof args.url !== "string") throw new Error("url must be a string");
  return args.url;
}

function requirePath(args) {
  if (!Array.isArray(args.path) || args.path.length === 0) {
    throw new Error("path must be a non-empty list of keys");
  }
  return args.path;
}

const commands = {
  async create({ value = {} }) {
    const handle = repo.create(value);
    handles.set(handle.url, handle);
    return { url: handle.url };
  },

  async change(args) {
    const handle = opened(requireUrl(args));
    const path = requirePath(args);
    handle.change(d => setAt(d, path, args.value));
    return { heads: handle.heads() };
  },

  async find(args) {
    const url = requireUrl(args);
    const timeoutMs = args.timeoutMs ?? DEFAULT_TIMEOUT_MS;
    const signal = AbortSignal.timeout(timeoutMs);
    const start = performance.now();
    try {
      const handle = await repo.find(url, { signal });
      handles.set(url, handle);
      return { ok: true, doc: handle.doc(), ms: performance.now() - start };
    } catch (err) {
      const ms = performance.now() - start;
      const message = String(err?.message ?? err);
      let error = message;
      if (signal.aborted) error = "timeout";
      else if (/is unavailable/.test(message)) error = "unavailable";
      return { ok: false, error, ms };
    }
  },

  async get(args) {
    const handle = opened(requireUrl(args));
    return { doc: handle.doc(), heads: handle.heads() };
  },

  async waitFor(args) {
    const handle = opened(requireUrl(args));
    const path = requirePath(args);
    const timeoutMs = args.timeoutMs ?? DEFAULT_TIMEOUT_MS;
    const start = performance.now();
    const matches = doc => sameValue(valueAt(doc, path), args.value);
    if (matches(handle.doc())) return { ok: true, ms: 0 };
    return await new Promise(resolve => {
      const onChange = ({ doc }) => {
        if (!matches(doc)) return;
        finish(true);
      };
      const timer = setTimeout(() => finish(false), timeoutMs);
      function finish(ok) {
        clearTimeout(timer);
        handle.off("change", onChange);
        const result = { ok, ms: performance.now() - start };
        if (!ok) result.value = valueAt(handle.doc(), path) ?? null;
        resolve(result);
      }
      handle.on("change", onChange);
    });
  },

  async broadcast(args) {
    opened(requireUrl(args)).broadcast(args.message);
    return {};
  },

  async listenEphemeral(args) {
    const url = requireUrl(args);
    const handle = opened(url);
    if (!listening.has(url)) {
      listening.add(url);
      handle.on("ephemeral-message", ({ message, senderId }) =>
        emit({ event: "ephemeral", url, message, senderId }),
      );
    }
    return {};
  },

  async peers() {
    return { peers: repo.peers, peerId: repo.peerId };
  },

  // Storage keys, e.g. [docId, "sync-state", storageId] once a peer with a
  // storageId has synced: evidence that this server took a node for a
  // persistent peer.
  async storageKeys() {
    return { keys: storage ? storage.keys() : [] };
  },

  async close() {
    setImmediate(() => shutdown(0));
    return {};
  },
};

let closing = false;
async function shutdown(code) {
  if (closing) return;
  closing = true;
  setTimeout(() => process.exit(code), SHUTDOWN_GRACE_MS).unref();
  try {
    await repo.shutdown();
    wss?.close();
  } finally {
    process.exit(code);
  }
}

async function run(line) {
  let request;
  try {
    request = JSON.parse(line);
  } catch {
    emit({ event: "bad-line", line });
    return;
  }
  const { id, cmd, ...args } = request;
  try {
    const command = Object.hasOwn(commands, cmd) ? commands[cmd] : undefined;
    if (!command) throw new Error(`unknown command: ${cmd}`);
    emit({ id, ...(await command(args)) });
  } catch (err) {
    emit({ id, error: String(err?.message ?? err) });
  }
}

const input = createInterface({ input: process.stdin, crlfDelay: Infinity });
input.on("line", line => {
  if (line.trim() !== "") void run(line);
});
input.on("close", () => void shutdown(0));
