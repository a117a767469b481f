// The pieces of unmodified automerge-repo that the interop peers and the
// benchmark build on, imported from this folder's pinned node_modules so that
// scripts elsewhere (tests/bench) resolve the very same versions.
import { isDeepStrictEqual } from "node:util";
import { Repo, cbor } from "@automerge/automerge-repo";
import {
  WebSocketClientAdapter,
  WebSocketServerAdapter,
} from "@automerge/automerge-repo-network-websocket";
import { WebSocketServer } from "ws";

export { Repo, WebSocketClientAdapter, WebSocketServerAdapter, WebSocketServer, cbor };

// A storage adapter that keeps every chunk in a Map. It gives a repo a
// storageId (so peers persist sync state for it, as they do for a real node)
// without touching the disk.
export class MemoryStorage {
  #data = new Map();

  static #name(key) {
    return key.join("\u0000");
  }

  async load(key) {
    return this.#data.get(MemoryStorage.#name(key));
  }

  async save(key, data) {
    this.#data.set(MemoryStorage.#name(key), data);
  }

  async remove(key) {
    this.#data.delete(MemoryStorage.#name(key));
  }

  #matching(prefix) {
    const p = prefix.length === 0 ? "" : MemoryStorage.#name(prefix);
    return [...this.#data.keys()].filter(
      k => p === "" || k === p || k.startsWith(p + "\u0000"),
    );
  }

  async loadRange(prefix) {
    return this.#matching(prefix).map(k => ({
      key: k.split("\u0000"),
      data: this.#data.get(k),
    }));
  }

  async removeRange(prefix) {
    for (const k of this.#matching(prefix)) this.#data.delete(k);
  }

  keys() {
    return [...this.#data.keys()].map(k => k.split("\u0000"));
  }
}

// Start a ws server on 127.0.0.1 (port 0 picks a free one) and resolve once it
// listens, so callers can report the real port.
export function listen(port) {
  return new Promise((resolve, reject) => {
    const wss = new WebSocketServer({ host: "127.0.0.1", port });
    wss.once("listening", () => resolve(wss));
    wss.once("error", reject);
  });
}

// The value at `path` (a list of map keys or list indices) in a document, or
// undefined when any step is missing.
export function valueAt(doc, path) {
  let node = doc;
  for (const key of path) {
    if (node === null || typeof node !== "object") return undefined;
    node = node[key];
  }
  return node;
}

// JSON-equality: automerge values (text, counters, nested maps) compared by
// their plain JSON form, so a JSON value sent by a test matches.
export function sameValue(actual, expected) {
  if (actual === undefined) return expected === undefined;
  return isDeepStrictEqual(JSON.parse(JSON.stringify(actual)), expected);
}

// Set the value at `path` inside a change callback, creating maps on the way.
export function setAt(doc, path, value) {
  if (path.length === 0) throw new Error("path must name at least one key");
  let node = doc;
  for (const key of path.slice(0, -1)) {
    if (node[key] === undefined || node[key] === null) node[key] = {};
    node = node[key];
  }
  node[path[path.length - 1]] = value;
}
