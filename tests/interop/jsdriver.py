"""Drive the unmodified JavaScript automerge-repo peers in ``peer.mjs`` from asyncio.

Each :class:`JsPeer` is one ``node peer.mjs ...`` process speaking JSON lines:
``await peer.call("create", value={...})`` sends ``{"id", "cmd", ...}`` and
returns the reply with the same id; lines without an id are events and land in
``peer.events``. The Node packages are pinned by ``package-lock.json`` here and
installed with ``npm ci`` (``scripts/test`` does it).
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import itertools
import json
import shutil
from pathlib import Path
from typing import Any

INTEROP_DIR = Path(__file__).resolve().parent
PEER_SCRIPT = INTEROP_DIR / "peer.mjs"
# Present only once `npm ci` has installed the pinned packages.
_INSTALLED_MARKER = INTEROP_DIR / "node_modules" / "@automerge" / "automerge-repo" / "package.json"

# Node starts, loads automerge's wasm and opens its socket in well under a
# second here; ten leaves room for a loaded 2-core CI machine.
START_TIMEOUT_S = 10.0
# A reply normally takes milliseconds; commands that wait (find, waitFor) get
# their own timeoutMs added on top of this.
REPLY_TIMEOUT_S = 10.0
# How long `close` may take to flush and exit before the process is killed.
CLOSE_TIMEOUT_S = 5.0
# stderr lines kept to explain a peer that died.
STDERR_TAIL_LINES = 40
# How often stored_by polls a JS server's storage.
STORAGE_POLL_S = 0.05
# peer.mjs writes whole documents on one line; asyncio's 64 KiB default would
# cut large ones.
LINE_LIMIT_BYTES = 64 * 1024 * 1024


class JsHarnessError(RuntimeError):
    """The JavaScript peer could not be started, answered with an error, or died."""


def require_node() -> str:
    """Path to ``node``; raises :class:`JsHarnessError` saying how to get the peers."""
    node = shutil.which("node")
    if node is None:
        raise JsHarnessError(
            "node is not installed: install Node.js 20 (Debian: apt-get install nodejs npm), "
            "or run scripts/test, which installs it"
        )
    if not _INSTALLED_MARKER.exists():
        raise JsHarnessError(
            f"the JavaScript peers' packages are not installed: run `npm ci` in {INTEROP_DIR} "
            "(scripts/test does it)"
        )
    return node


class JsPeer:
    """One running ``peer.mjs`` process. Create it with :meth:`start`."""

    def __init__(self, proc: asyncio.subprocess.Process, argv: list[str]) -> None:
        self._proc = proc
        self._argv = argv
        self._ids = itertools.count(1)
        self._pending: dict[int, asyncio.Future[dict[str, Any]]] = {}
        self._stderr: collections.deque[str] = collections.deque(maxlen=STDERR_TAIL_LINES)
        self.events: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
        self.peer_id: str | None = None
        # The started/listening event: client peers report their peerId, servers also their port.
        self.first_event: dict[str, Any] = {}
        self._reader = asyncio.create_task(self._read_stdout())
        self._stderr_reader = asyncio.create_task(self._read_stderr())

    @classmethod
    async def start(cls, *args: str) -> JsPeer:
        """Spawn ``node peer.mjs *args`` and wait for its first event (started/listening)."""
        node = require_node()
        argv = [node, str(PEER_SCRIPT), *args]
        proc = await asyncio.create_subprocess_exec(
            *argv,
            cwd=INTEROP_DIR,
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
            limit=LINE_LIMIT_BYTES,
        )
        peer = cls(proc, argv)
        try:
            first = await peer.next_event(timeout=START_TIMEOUT_S)
        except BaseException:
            await peer.close()
            raise
        peer.peer_id = first.get("peerId")
        peer.first_event = first
        return peer

    @property
    def pid(self) -> int:
        return self._proc.pid

    @property
    def returncode(self) -> int | None:
        return self._proc.returncode

    def stderr_tail(self) -> str:
        return "\n".join(self._stderr)

    async def call(self, cmd: str, *, reply_timeout: float | None = None, **args: Any) -> dict[str, Any]:
        """Send one command and return its reply; a failed command raises :class:`JsHarnessError`."""
        if self._reader.done():
            raise JsHarnessError(f"{self!r} has exited\n{self.stderr_tail()}")
        request_id = next(self._ids)
        future: asyncio.Future[dict[str, Any]] = asyncio.get_running_loop().create_future()
        self._pending[request_id] = future
        assert self._proc.stdin is not None
        try:
            self._proc.stdin.write(json.dumps({"id": request_id, "cmd": cmd, **args}).encode() + b"\n")
            await self._proc.stdin.drain()
        except ConnectionError:
            self._pending.pop(request_id, None)
            raise JsHarnessError(f"{self!r} has exited\n{self.stderr_tail()}") from None
        if reply_timeout is None:
            reply_timeout = REPLY_TIMEOUT_S + args.get("timeoutMs", 0) / 1000
        try:
            reply = await asyncio.wait_for(future, reply_timeout)
        except asyncio.TimeoutError:
            raise JsHarnessError(f"{self!r}: no reply to {cmd} within {reply_timeout} s") from None
        finally:
            self._pending.pop(request_id, None)
        # find answers {"ok": false, "error": ...} as a result, not a failure.
        if "error" in reply and "ok" not in reply:
            raise JsHarnessError(f"{self!r}: {cmd} failed: {reply['error']}")
        return reply

    async def next_event(self, kind: str | None = None, *, timeout: float = REPLY_TIMEOUT_S) -> dict[str, Any]:
        """The next event (of ``kind`` when given; other kinds are dropped)."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            remaining = deadline - loop.time()
            if remaining <= 0:
                raise JsHarnessError(f"{self!r}: no {kind or 'event'} within {timeout} s")
            try:
                event = await asyncio.wait_for(self.events.get(), remaining)
            except asyncio.TimeoutError:
                continue
            if event.get("event") == "exited":
                self.events.put_nowait(event)  # later waiters must learn it too
                raise JsHarnessError(f"{self!r} exited\n{self.stderr_tail()}")
            if kind is None or event.get("event") == kind:
                return event

    async def close(self, timeout: float = CLOSE_TIMEOUT_S) -> int:
        """Ask the peer to exit; kill it if it has not within ``timeout``. Returns its exit code."""
        if self._proc.returncode is None and not self._reader.done():
            with contextlib.suppress(JsHarnessError):
                await self.call("close", reply_timeout=timeout)
        try:
            await asyncio.wait_for(self._proc.wait(), timeout)
        except asyncio.TimeoutError:
            self.kill()
            await self._proc.wait()
        for task in (self._reader, self._stderr_reader):
            with contextlib.suppress(asyncio.CancelledError):
                await task
        return self._proc.returncode if self._proc.returncode is not None else -1

    def kill(self) -> None:
        """SIGKILL the process (a crash, not a goodbye)."""
        if self._proc.returncode is None:
            with contextlib.suppress(ProcessLookupError):
                self._proc.kill()

    async def _read_stdout(self) -> None:
        assert self._proc.stdout is not None
        while line := await self._proc.stdout.readline():
            try:
                message = json.loads(line)
            except ValueError:
                self._stderr.append(f"(stdout, not JSON) {line.decode(errors='replace').rstrip()}")
                continue
            request_id = message.get("id")
            future = self._pending.get(request_id) if request_id is not None else None
            if future is not None and not future.done():
                future.set_result(message)
            else:
                self.events.put_nowait(message)
        for future in self._pending.values():
            if not future.done():
                future.set_exception(JsHarnessError(f"{self!r} exited\n{self.stderr_tail()}"))
        self.events.put_nowait({"event": "exited"})

    async def _read_stderr(self) -> None:
        assert self._proc.stderr is not None
        while line := await self._proc.stderr.readline():
            self._stderr.append(line.decode(errors="replace").rstrip())

    def __repr__(self) -> str:
        return f"JsPeer({' '.join(self._argv[2:])}, pid={self._proc.pid})"


async def start_js_server(port: int = 0) -> tuple[JsPeer, int]:
    """A JS sync server (sharePolicy false, in-memory storage) on 127.0.0.1; returns it and its port."""
    peer = await JsPeer.start("server", str(port))
    if peer.first_event.get("event") != "listening":
        await peer.close()
        raise JsHarnessError(f"{peer!r} started without listening: {peer.first_event}")
    return peer, int(peer.first_event["port"])


async def start_js_client(url: str) -> JsPeer:
    """A JS browser-style client (no storage, default sharePolicy) dialling ``url``."""
    return await JsPeer.start("client", url)


async def stored_by(server: JsPeer, *key: str, timeout: float) -> None:
    """Wait until the JS ``server`` stores something under ``key`` (a storage key
    prefix: a document id, then e.g. "sync-state" and a storage id).

    A client pushes a document it created after automerge-repo's 100 ms sync
    throttle, and a server with sharePolicy false asks nobody for a document it
    lacks: a find through it succeeds only once the document is stored there."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not any(k[:len(key)] == list(key) for k in (await server.call("storageKeys"))["keys"]):
        if loop.time() > deadline:
            raise JsHarnessError(f"{server!r} stored nothing under {list(key)} within {timeout} s")
        await asyncio.sleep(STORAGE_POLL_S)
