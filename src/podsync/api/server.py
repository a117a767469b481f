"""The local HTTP API: operations, their OpenAPI description, live events.

Loopback only and token-protected (the node refuses a non-loopback ``--api``).
Every answer is JSON; a bad request gets a 4xx whose body names the field and the
problem, ``{"error": {"type", "message", "exit_code"}}``, never a 500.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Awaitable, Callable
from typing import Any

import msgspec
from aiohttp import web

from podsync import __version__
from podsync.api import ops
from podsync.api.context import PodContext
from podsync.errors import PodsyncError
from podsync.ids import document_url, hex_heads
from podsync.net import token_ok
from podsync.repo import Repo

log = logging.getLogger(__name__)

#: Largest request body. Operations carry prose of at most 20,000 characters; 4 MiB
#: lets an over-long field reach validation (and get an answer naming the field)
#: instead of being cut off by the HTTP layer.
MAX_BODY_BYTES = 4 * 1024 * 1024
#: Seconds between SSE comments that keep an idle stream (and proxies) alive.
SSE_KEEPALIVE_SECONDS = 15.0


def error_response(err: PodsyncError) -> web.Response:
    return web.json_response({"error": {"type": type(err).__name__, "message": str(err),
                                        "exit_code": err.exit_code}},
                             status=err.http_status)


@web.middleware
async def json_errors(request: web.Request,
                      handler: Callable[[web.Request], Awaitable[web.StreamResponse]]
                      ) -> web.StreamResponse:
    """Turn every failure into a JSON answer; a bug becomes a logged, plain 500."""
    try:
        return await handler(request)
    except PodsyncError as err:
        return error_response(err)
    except web.HTTPException as exc:
        if exc.status >= 400 and request.path.startswith("/api/"):
            return web.json_response({"error": {"type": "HTTPError", "message": exc.reason,
                                                "exit_code": 1}}, status=exc.status)
        raise
    except Exception:  # noqa: BLE001 - the last line of defence for a member's request
        log.exception("unexpected error serving %s %s", request.method, request.path)
        return web.json_response({"error": {"type": "InternalError", "exit_code": 1,
                                            "message": "the node hit an unexpected error; "
                                                       "details are in its log"}}, status=500)


class Api:
    """Routes of the local API for one running node."""

    def __init__(self, context: PodContext, token: str, status: Callable[[], dict[str, Any]]) -> None:
        self.context = context
        self.token = token
        self.status = status
        #: Open event streams; they end when the node shuts down (a stream never
        #: ends by itself, so otherwise stopping would wait for it to time out).
        self._streams: set[asyncio.Task[Any]] = set()

    @property
    def repo(self) -> Repo:
        return self.context.repo

    def add_routes(self, app: web.Application) -> None:
        app.router.add_get("/api/status", self.get_status)
        app.router.add_get("/api/openapi.json", self.get_openapi)
        app.router.add_get("/api/events", self.get_events)
        app.router.add_post("/api/ops/{name}", self.post_op)
        app.on_shutdown.append(self._end_streams)

    async def _end_streams(self, app: web.Application) -> None:
        for task in list(self._streams):
            task.cancel()

    def check_token(self, request: web.Request) -> None:
        if not token_ok(request, self.token):
            raise web.HTTPUnauthorized(reason="missing or wrong token")

    async def get_status(self, request: web.Request) -> web.Response:
        self.check_token(request)
        return web.json_response(self.status())

    async def post_op(self, request: web.Request) -> web.Response:
        self.check_token(request)
        body = await request.read()
        result = await ops.run(self.context, request.match_info["name"], body)
        return web.Response(body=ops.to_json(result), content_type="application/json")

    async def get_openapi(self, request: web.Request) -> web.Response:
        self.check_token(request)
        return web.json_response(openapi())

    async def get_events(self, request: web.Request) -> web.StreamResponse:
        """Server-sent events: one ``change`` event per document change, local or remote."""
        self.check_token(request)
        response = web.StreamResponse(headers={"Content-Type": "text/event-stream",
                                               "Cache-Control": "no-cache"})
        await response.prepare(request)
        queue = self.repo.subscribe()
        task = asyncio.current_task()
        assert task is not None  # aiohttp runs every request handler in a task
        self._streams.add(task)
        try:
            await response.write(b": connected\n\n")
            while True:
                try:
                    event = await asyncio.wait_for(queue.get(), SSE_KEEPALIVE_SECONDS)
                except asyncio.TimeoutError:
                    await response.write(b": keepalive\n\n")
                    continue
                if event.origin == "ephemeral":
                    continue
                data = json.dumps({"url": document_url(event.doc_id), "doc_id": event.doc_id,
                                   "kind": self.repo.kind_of(event.doc_id),
                                   "heads": hex_heads(event.heads), "origin": event.origin,
                                   "peer_id": event.peer_id})
                await response.write(f"event: change\ndata: {data}\n\n".encode())
        except (ConnectionResetError, asyncio.CancelledError):
            pass
        finally:
            self.repo.unsubscribe(queue)
            self._streams.discard(task)
        return response


def openapi() -> dict[str, Any]:
    """OpenAPI 3.1 description of every operation, from the Structs that validate them."""
    registry = ops.all_ops()
    names = sorted(registry)
    schemas, components = msgspec.json.schema_components(
        [registry[n].args for n in names], ref_template="#/components/schemas/{name}")
    paths: dict[str, Any] = {}
    for name, schema in zip(names, schemas):
        operation = registry[name]
        paths[f"/api/ops/{name}"] = {"post": {
            "operationId": name, "summary": operation.summary,
            "requestBody": {"required": True, "content": {"application/json": {"schema": schema}}},
            "responses": {
                "200": {"description": "the result", "content": {"application/json": {}}},
                "4XX": {"description": "the request cannot be done; the body names the field "
                                       "and the problem",
                        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}},
            },
        }}
    components["Error"] = {"type": "object", "properties": {"error": {"type": "object", "properties": {
        "type": {"type": "string"}, "message": {"type": "string"}, "exit_code": {"type": "integer"}}}}}
    paths["/api/status"] = {"get": {"summary": "the node's status (CONTRACT.md)",
                                    "responses": {"200": {"description": "status"}}}}
    paths["/api/events"] = {"get": {"summary": "server-sent events: `change` per document change",
                                    "responses": {"200": {"description": "text/event-stream"}}}}
    return {
        "openapi": "3.1.0",
        "info": {"title": "podsync local API", "version": __version__},
        "components": {"schemas": components,
                       "securitySchemes": {"token": {"type": "http", "scheme": "bearer"}}},
        "security": [{"token": []}],
        "paths": paths,
    }
