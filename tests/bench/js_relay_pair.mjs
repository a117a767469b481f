// The JavaScript figure beside podsync's relay benchmark: two unmodified
// automerge-repo 2.5.6 clients (WebSocketClientAdapter, in-memory storage) on
// the same sync server the podsync nodes use, an edit on one timed until the
// other's handle reports it. Prints ONE JSON object on stdout.
//
//   node tests/bench/js_relay_pair.mjs ws://127.0.0.1:PORT [--rounds 100]
import { MemoryStorage, Repo, WebSocketClientAdapter } from "../interop/repo_kit.mjs";

// Rounds are spaced wider than automerge-repo's 100 ms sync throttle, so each
// times an isolated edit, as a person makes one (the podsync side does the same).
const ROUND_GAP_MS = 150;
const WAIT_LIMIT_MS = 30_000;

const url = process.argv[2];
const at = process.argv.indexOf("--rounds");
const rounds = at === -1 ? 100 : Number(process.argv[at + 1]);
if (!url || !Number.isInteger(rounds) || rounds < 1) {
  throw new Error("usage: js_relay_pair.mjs ws://HOST:PORT [--rounds N]");
}

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

function client() {
  return new Repo({ network: [new WebSocketClientAdapter(url)], storage: new MemoryStorage() });
}

function percentile(sorted, p) {
  const i = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[i];
}

const a = client();
const b = client();
const made = a.create({ n: 0 });
await sleep(500);
const found = await b.find(made.url);
await found.whenReady();

const times = [];
for (let i = 1; i <= rounds; i++) {
  await sleep(ROUND_GAP_MS);
  const arrived = new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`round ${i} never arrived`)), WAIT_LIMIT_MS);
    const onChange = ({ doc }) => {
      if (doc.n === i) {
        clearTimeout(timer);
        found.off("change", onChange);
        resolve(performance.now());
      }
    };
    found.on("change", onChange);
  });
  const started = performance.now();
  made.change((d) => { d.n = i; });
  times.push((await arrived) - started);
}
times.sort((x, y) => x - y);
process.stdout.write(JSON.stringify({ rounds, p50_ms: percentile(times, 50), p99_ms: percentile(times, 99) }) + "\n");
await Promise.race([Promise.all([a.shutdown(), b.shutdown()]), sleep(2000)]);
process.exit(0);
