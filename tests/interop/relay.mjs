// The automerge project's own sync server setup, unmodified: a Repo with
// Node filesystem storage, the WebSocket server adapter and a share policy that
// allows everything (automerge-repo's examples/sync-server). podsync's relay
// tests and benchmark run it as the relay.
//
//   node relay.mjs --host 127.0.0.1 --port 0 --dir DIR [--record FILE] [--share all|none]
//
// Prints {"event":"listening","port":N} on stdout once it listens. --record
// appends every frame the server receives to FILE (4-byte big-endian length,
// then the frame) by listening on the sockets beside the adapter, so tests can
// search what reached the relay. --share none is the policy of the standalone
// automerge-repo-sync-server package (answer requests, announce nothing).
import fs from "node:fs";
import os from "node:os";
import { Repo } from "@automerge/automerge-repo";
import { WebSocketServerAdapter } from "@automerge/automerge-repo-network-websocket";
import { NodeFSStorageAdapter } from "@automerge/automerge-repo-storage-nodefs";
import { WebSocketServer } from "ws";

function option(name, fallback) {
  const at = process.argv.indexOf(`--${name}`);
  return at === -1 ? fallback : process.argv[at + 1];
}

const host = option("host", "127.0.0.1");
const port = Number(option("port", "0"));
const dir = option("dir", "automerge-sync-server-data");
const record = option("record", null);
const share = option("share", "all");
fs.mkdirSync(dir, { recursive: true });

const wss = new WebSocketServer({ host, port });
await new Promise((resolve, reject) => {
  wss.once("listening", resolve);
  wss.once("error", reject);
});

if (record) {
  const out = fs.openSync(record, "a");
  wss.on("connection", (socket) => {
    socket.on("message", (data) => {
      const frame = Buffer.isBuffer(data) ? data : Buffer.concat(data);
      const length = Buffer.alloc(4);
      length.writeUInt32BE(frame.length);
      fs.writeSync(out, Buffer.concat([length, frame]));
    });
  });
}

const repo = new Repo({
  network: [new WebSocketServerAdapter(wss)],
  storage: new NodeFSStorageAdapter(dir),
  peerId: `storage-server-${os.hostname()}`,
  sharePolicy: async () => share === "all",
});

process.stdout.write(JSON.stringify({ event: "listening", port: wss.address().port, peerId: repo.peerId }) + "\n");

async function shutdown() {
  await Promise.race([repo.shutdown(), new Promise((r) => setTimeout(r, 2000))]);
  process.exit(0);
}
process.on("SIGTERM", shutdown);
process.on("SIGINT", shutdown);
