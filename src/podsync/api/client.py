"""Run an operation for a home: through its running node, or on its store.

CONTRACT.md: every command works whether or not ``podsync up`` runs for the home.
When it runs, the node owns the store and the live documents, so the command goes
through its loopback API; otherwise the operation runs here, on the store.
"""

from __future__ import annotations

import asyncio
import json
import urllib.error
import urllib.parse
import urllib.request
from typing import Any

from podsync import errors
from podsync.api import ops
from podsync.api.context import offline_context
from podsync.home import Home
from podsync.node.runfile import running_node

#: A node answers operations from memory plus one group commit; one that takes
#: longer than this is stuck, and the member should hear so rather than wait.
API_TIMEOUT_SECONDS = 30.0


def call(home: Home, name: str, args: dict[str, Any] | None = None) -> Any:
    """The JSON-ready result of operation ``name`` with ``args`` for ``home``."""
    ops.get(name)  # unknown names fail the same way on both paths
    record = running_node(home)
    if record is not None and isinstance(record.get("api_url"), str):
        return _call_node(record["api_url"], name, args or {})
    return asyncio.run(_call_offline(home, name, args or {}))


async def _call_offline(home: Home, name: str, args: dict[str, Any]) -> Any:
    # Encoded as the API would receive it, so both paths validate alike (text the
    # shell could not decode, for one, is refused as it would be over HTTP).
    body = json.dumps(args).encode()
    async with offline_context(home) as ctx:
        result = await ops.run(ctx, name, body)
    return json.loads(ops.to_json(result))


def _call_node(api_url: str, name: str, args: dict[str, Any]) -> Any:
    parts = urllib.parse.urlsplit(api_url)
    token = urllib.parse.parse_qs(parts.query).get("token", [""])[0]
    url = urllib.parse.urlunsplit((parts.scheme, parts.netloc, f"/api/ops/{name}", "", ""))
    request = urllib.request.Request(
        url, data=json.dumps(args).encode(), method="POST",
        headers={"Content-Type": "application/json", "Authorization": f"Bearer {token}"})
    try:
        with urllib.request.urlopen(request, timeout=API_TIMEOUT_SECONDS) as resp:
            return json.loads(resp.read() or b"null")
    except urllib.error.HTTPError as exc:
        raise error_from_response(exc.code, exc.read()) from None
    except (urllib.error.URLError, OSError) as exc:
        raise errors.UnreachableError(
            f"the node running for this home does not answer at {parts.netloc} ({exc}); "
            "is `podsync up` stuck? Stop it and try again") from None


def error_from_response(status: int, body: bytes) -> errors.PodsyncError:
    """The PodsyncError an API error answer stands for."""
    try:
        detail = json.loads(body)["error"]
        message, exit_code = str(detail["message"]), int(detail.get("exit_code", 1))
    except (ValueError, KeyError, TypeError):
        return errors.PodsyncError(f"the node answered HTTP {status}")
    err = errors.PodsyncError(message)
    err.exit_code = exit_code
    return err
