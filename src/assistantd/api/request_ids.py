"""`x-request-id` on every response, and the access log line that carries it.

OpenAI answered every request with an `x-request-id` header (the SDK exposes it as
`_request_id` on what it returns), and support asked for it. This middleware wraps the
whole application, outside Starlette's own error middleware, so that 404s, 413s and
even the 500 of an unhandled bug carry one, and it writes the access log line itself
(uvicorn's has no room for the id) after the response ends, with its status and time.
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

from assistantd.observability.logs import REQUEST_ID
from assistantd.observability.metrics import REQUEST_SECONDS, REQUESTS

__all__ = ["RequestIds", "new_request_id"]

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

log = logging.getLogger("assistantd.access")


def new_request_id() -> str:
    """`req_` and 32 hex digits, the shape OpenAI's ids had."""
    return "req_" + os.urandom(16).hex()


class RequestIds:
    """ASGI middleware: stamp each HTTP response with an id; log one line per request."""

    def __init__(self, app: ASGIApp, *, access_log: bool) -> None:
        self.app = app
        self.access_log = access_log

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)  # lifespan
            return
        request_id = new_request_id()
        REQUEST_ID.set(request_id)
        header = (b"x-request-id", request_id.encode())
        status = 0
        started = time.perf_counter()

        async def stamped(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                message["headers"] = [*message.get("headers", ()), header]
            await send(message)

        try:
            await self.app(scope, receive, stamped)
        finally:
            elapsed = time.perf_counter() - started
            # The route's template, never the raw path: ids would make every path a series.
            route = scope.get("route")
            label = getattr(route, "path", "") or ("console" if route else "unmatched")
            REQUESTS.labels(scope["method"], label, str(status)).inc()
            REQUEST_SECONDS.labels(scope["method"], label).observe(elapsed)
            if self.access_log:
                client = scope.get("client") or ("-", 0)
                log.info(
                    '%s:%d "%s %s HTTP/%s" %d %.1fms %s',
                    client[0],
                    client[1],
                    scope["method"],
                    scope["path"],
                    scope.get("http_version", "1.1"),
                    status,
                    elapsed * 1000,
                    request_id,
                )
