"""create_app(settings): the one place the ASGI application is assembled.

Starlette rather than FastAPI: on this hot path FastAPI's dependency solving and
nested routers cost about two thirds of a request that does nothing (7,000 against
22,000 requests/s for the same empty endpoint, bench/RESULTS.md). Request bodies are
validated by the Pydantic models in `protocol/` either way.
"""

from __future__ import annotations

import asyncio
import gc
import ipaddress
import logging
from collections.abc import AsyncIterator, Awaitable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import orjson
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles

from assistantd.api import (
    assistants,
    conversations,
    files,
    messages,
    model_endpoints,
    models,
    responses,
    run_steps,
    runs,
    threads,
    uploads,
    vector_stores,
)
from assistantd.api.request_ids import RequestIds
from assistantd.container import Container
from assistantd.errors import APIError, error_body
from assistantd.observability.metrics import CONTENT_TYPE, exposition
from assistantd.settings import Settings
from assistantd.store.migrate import upgrade
from assistantd.store.sql import PING

__all__ = ["AssistantdApp", "create_app"]


class JSONBytes(Response):
    """A response whose body is JSON already encoded."""

    media_type = "application/json"


log = logging.getLogger("assistantd")


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


async def _api_error(_request: Request, exc: Exception) -> Response:
    assert isinstance(exc, APIError)
    return JSONBytes(exc.body(), status_code=exc.status, headers=exc.headers)


async def _http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    # OpenAI's answer to an unknown route or method.
    message = f"Invalid URL ({request.method} {request.url.path})"
    if exc.status_code not in (404, 405):
        message = str(exc.detail)
    body = error_body(message, type="invalid_request_error")
    return JSONBytes(body, status_code=exc.status_code)


async def _unhandled(_request: Request, exc: Exception) -> Response:
    log.exception("unhandled error", exc_info=exc)
    body = error_body(
        "The server had an error while processing your request. Sorry about that!",
        type="server_error",
    )
    return JSONBytes(body, status_code=500)


async def _answers(check: Awaitable[object], timeout_s: float = 2.0) -> str:
    try:
        await asyncio.wait_for(check, timeout_s)
    except Exception as exc:
        log.warning("health check failed: %r", exc)
        return "unavailable"
    return "ok"


async def _health(request: Request) -> Response:
    """Whether this process can reach what it needs: 200 if all answer, else 503."""
    container: Container = request.app.state.container
    report = {"database": await _answers(container.db.read(lambda conn: conn.first(PING, {})))}
    if container.redis_client is not None:
        report["redis"] = await _answers(container.redis_client.ping())
    healthy = all(value == "ok" for value in report.values())
    body = {"status": "ok" if healthy else "unavailable", **report}
    return JSONBytes(orjson.dumps(body), status_code=200 if healthy else 503)


async def _metrics(request: Request) -> Response:
    """Prometheus text format; no key needed (counts only, no tenant data), like /health.
    Turn it off with ASSISTANTD_METRICS=false where the port is public."""
    container: Container = request.app.state.container
    if not container.settings.metrics:
        raise HTTPException(404)
    body = exposition(await container.operations.gauges())
    return Response(body, media_type=CONTENT_TYPE)


def _tune_gc() -> None:
    """Keep the cyclic garbage collector off the request path's tail.

    Full collections walk every live object; under load they stalled requests for tens
    of milliseconds (create p99 47 ms with the collector as is, 9 ms without it,
    bench/RESULTS.md). What exists at start-up lives as long as the process, so it is
    frozen out of collections, and young collections run less often.
    """
    gc.collect()
    gc.freeze()
    gc.set_threshold(50_000, 20, 100)


async def _sweep_forever(container: Container, every_s: float = 60.0) -> None:
    """Expire Files and Uploads whose time is up, and temp blobs left by crashed processes."""
    while True:
        try:
            await container.files.sweep_expired()
            await container.uploads.sweep_expired()
            container.blobs.sweep_temps(older_than_s=6 * 3600)
        except Exception:  # the next round tries again; never let the sweeper die
            log.exception("sweeping expired files and uploads failed")
        await asyncio.sleep(every_s)


async def _warm_up(container: Container) -> None:
    """Start the embedded model in the background: the server answers meanwhile, and the
    first run does not wait for the load."""
    if not container.settings.embedded_warm_up:
        return
    try:
        await container.providers.warm_up()
    except Exception as exc:  # runs that need it will say why it failed
        log.warning("the embedded model could not be loaded at start-up: %s", exc)


# The web console: static files served at `/`, talking only to the public /v1 API.
CONSOLE_DIR = Path(__file__).with_name("console")
# Only this origin, for everything: a script injected through API data could neither
# load code from elsewhere nor send what it reads anywhere else (images: File bytes
# fetched as blob: URLs).
_CONSOLE_HEADERS = {
    "content-security-policy": "default-src 'self'; img-src 'self' blob: data:; "
    "object-src 'none'; base-uri 'none'; frame-ancestors 'none'",
    "x-content-type-options": "nosniff",
    "referrer-policy": "no-referrer",
}


class ConsoleFiles(StaticFiles):
    def file_response(self, *args: Any, **kwargs: Any) -> Response:
        response = super().file_response(*args, **kwargs)
        response.headers.update(_CONSOLE_HEADERS)
        return response


def _routes() -> list[Route | Mount]:
    routes: list[Route | Mount] = [
        Route("/health", _health, methods=["GET"]),
        Route("/metrics", _metrics, methods=["GET"]),
    ]
    # runs before threads: /threads/runs is not /threads/{thread_id}
    for module in (
        assistants,
        runs,
        run_steps,
        threads,
        messages,
        files,
        uploads,
        models,
        model_endpoints,
        responses,
        conversations,
        vector_stores,
    ):
        for route in module.routes:
            routes.append(Route("/v1" + route.path, route.endpoint, methods=route.methods))
    routes.append(Mount("/", ConsoleFiles(directory=CONSOLE_DIR, html=True), name="console"))
    return routes


class AssistantdApp(RequestIds):
    """The ASGI application uvicorn serves, and the hook its signal handler calls."""

    def __init__(self, starlette: Starlette, *, access_log: bool) -> None:
        super().__init__(starlette, access_log=access_log)
        self.starlette = starlette

    def stop_claiming(self) -> None:
        """SIGTERM: take no new runs from now on (runs in flight go on; see Worker.stop)."""
        container: Container | None = getattr(self.starlette.state, "container", None)
        if container is not None:
            container.worker.stop_claiming()


def create_app(settings: Settings | None = None) -> AssistantdApp:
    settings = settings or Settings()

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        if settings.database_url is None:
            settings.data_dir.mkdir(parents=True, exist_ok=True)
        if settings.migrate_on_start:
            await upgrade(settings.resolved_database_url())
        container = Container.build(settings)
        if orphans := container.blobs.sweep_orphans():
            log.info("removed %d temp files of uploads cut short by a crash", orphans)
        log.info("authentication %s", await container.auth.describe())
        if await container.auth.is_open() and not _is_loopback(settings.host):
            log.warning(
                "No API keys exist, so anyone who can reach %s:%d can use this server. "
                "Create one with `assistantd keys create --project NAME`.",
                settings.host,
                settings.port,
            )
        app.state.container = container
        _tune_gc()
        # With ASSISTANTD_WORKERS=0 this starts no slots, only the reaper and heartbeat:
        # streamed runs still execute here (see Worker.take) and must not look dead.
        container.start()
        sweeper = asyncio.create_task(_sweep_forever(container))
        warming = asyncio.create_task(_warm_up(container))
        try:
            yield
        finally:
            warming.cancel()
            sweeper.cancel()
            await container.close()

    app = Starlette(
        routes=_routes(),
        lifespan=lifespan,
        exception_handlers={
            APIError: _api_error,
            HTTPException: _http_error,
            Exception: _unhandled,
        },
    )
    return AssistantdApp(app, access_log=settings.access_log)
