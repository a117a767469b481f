"""Run an operation for a home: through its running node, or on its store.

CONTRACT.md: every command works whether or not ``podsync up`` runs for the home.
When it runs, the node owns the store and the live documents, so the command goes
through its loopback API; otherwise the operation runs here, on the store.

Every command imports this module, so it stays light: each path imports what it
needs when it runs, the standard library's HTTP client to ask a running node,
the whole offline stack (automerge, the store, the pod's practices) otherwise.
"""

from __future__ import annotations

import json
import urllib.parse
from typing import Any

import msgspec

from podsync import errors, startup
from podsync.home import Home
from podsync.node.runfile import running_node

#: A node answers operations from memory plus one group commit; one that takes
#: longer than this is stuck, and the member should hear so rather than wait.
API_TIMEOUT_SECONDS = 30.0


def call(home: Home, name: str, args: dict[str, Any] | None = None, *,
         as_type: Any = Any) -> Any:
    """The JSON-ready result of operation ``name`` with ``args`` for ``home``,
    read as ``as_type`` (a struct with ``msgspec.Raw`` fields leaves those unread:
    an export is passed on as the node wrote it)."""
    record = running_node(home)
    if record is not None and isinstance(record.get("api_url"), str):
        return _call_node(record["api_url"], name, args or {}, as_type)
    return _call_offline(home, name, args or {}, as_type)


def _call_offline(home: Home, name: str, args: dict[str, Any], as_type: Any) -> Any:
    # The whole offline stack, for this path only (module docstring), made once
    # for the process (podsync.startup).
    with startup.long_lived():
        import asyncio  # noqa: PLC0415

        from podsync.api import ops  # noqa: PLC0415
        from podsync.api.context import offline_context  # noqa: PLC0415

        ops.get(name)  # an unknown name fails before the store is opened, as the node's API does

    async def run() -> Any:
        # Encoded as the API would receive it, so both paths validate alike (text the
        # shell could not decode, for one, is refused as it would be over HTTP).
        body = json.dumps(args).encode()
        async with offline_context(home) as ctx:
            result = await ops.run(ctx, name, body)
        return msgspec.json.decode(ops.to_json(result), type=as_type)

    return asyncio.run(run())


def _call_node(api_url: str, name: str, args: dict[str, Any], as_type: Any) -> Any:
    status, body = request_node(api_url, "POST", f"/api/ops/{name}", json.dumps(args).encode())
    if status >= 400:
        raise error_from_response(status, body)
    try:
        # msgspec (every command has it loaded) reads a board of 2,000 needs, 2 MB
        # of JSON, in 6 ms where the json module takes 13.
        return msgspec.json.decode(body or b"null", type=as_type)
    except msgspec.ValidationError:
        raise errors.PodsyncError(f"the node's answer to {name} is not what this podsync "
                                  "expects; is the node the same version?") from None
    except ValueError:
        # Another program on the port a node once had, say: never a result.
        raise errors.PodsyncError(f"the node answered HTTP {status} with something that is "
                                  "not JSON") from None


def request_node(api_url: str, method: str, path: str, body: bytes | None = None, *,
                 timeout: float = API_TIMEOUT_SECONDS) -> tuple[int, bytes]:
    """The status and body of one request to the node's loopback API.

    ``api_url`` is the node's UI address from ``node.json`` (its token in the
    query); UnreachableError if nothing answers there in ``timeout`` seconds.
    """
    import http.client  # noqa: PLC0415 - not needed when no node runs

    parts = urllib.parse.urlsplit(api_url)
    token = urllib.parse.parse_qs(parts.query).get("token", [""])[0]
    headers = {"Authorization": f"Bearer {token}"}
    if body is not None:
        headers["Content-Type"] = "application/json"
    try:
        connection = http.client.HTTPConnection(parts.hostname or "127.0.0.1", parts.port,
                                                timeout=timeout)
        try:
            connection.request(method, path, body=body, headers=headers)
            response = connection.getresponse()
            return response.status, response.read()
        finally:
            connection.close()
    except (OSError, http.client.HTTPException, ValueError) as exc:
        raise errors.UnreachableError(
            f"the node running for this home does not answer at {parts.netloc} ({exc}); "
            "is `podsync up` stuck? Stop it and try again") from None


def error_from_response(status: int, body: bytes) -> errors.PodsyncError:
    """The PodsyncError an API error answer stands for (never one that exits 0)."""
    try:
        detail = json.loads(body)["error"]
        message, exit_code = str(detail["message"]), int(detail.get("exit_code", 1))
    except (ValueError, KeyError, TypeError):
        return errors.PodsyncError(f"the node answered HTTP {status}")
    err = errors.PodsyncError(message)
    err.exit_code = exit_code if exit_code in (1, 2, 3) else 1  # CONTRACT.md's failure codes
    return err
