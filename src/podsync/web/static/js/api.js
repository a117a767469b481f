// The node's local API. The session cookie set when the member opened the UI
// carries the token on every same-origin request, the event stream included.

export class ApiError extends Error {
  constructor(message, status, type) {
    super(message);
    this.status = status;
    this.type = type;
  }
}

async function answer(response) {
  let body = null;
  try {
    body = await response.json();
  } catch {
    body = null;
  }
  if (!response.ok) {
    const error = body && body.error;
    const message = error && error.message ? error.message : `the node answered ${response.status}`;
    throw new ApiError(message, response.status, error && error.type);
  }
  return body;
}

/** Run operation `name` with `args`; resolves to its result, rejects with ApiError. */
export async function call(name, args = {}) {
  let response;
  try {
    response = await fetch(`/api/ops/${encodeURIComponent(name)}`, {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify(args),
    });
  } catch {
    throw new ApiError("this page cannot reach your node; is `podsync up` still running?", 0);
  }
  return answer(response);
}

export async function status() {
  let response;
  try {
    response = await fetch("/api/status");
  } catch {
    throw new ApiError("this page cannot reach your node; is `podsync up` still running?", 0);
  }
  return answer(response);
}

/**
 * Follow the pod's changes: `onChange({kind, doc_id, origin, peer_id})` per
 * document change; `onState(true|false)` when the stream opens or drops (the
 * browser reconnects by itself).
 */
export function follow(onChange, onState) {
  const source = new EventSource("/api/events");
  source.addEventListener("open", () => onState(true));
  source.addEventListener("error", () => onState(false));
  source.addEventListener("change", (event) => {
    let data = null;
    try {
      data = JSON.parse(event.data);
    } catch {
      return;
    }
    onChange(data);
  });
  window.addEventListener("pagehide", () => source.close());
  return source;
}
