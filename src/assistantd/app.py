"""create_app(settings): the one place the ASGI application is assembled."""

from __future__ import annotations

import ipaddress
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import APIRouter, Depends, FastAPI, Request, Response
from fastapi.exceptions import RequestValidationError
from sqlalchemy import text
from starlette.exceptions import HTTPException

from assistantd import __version__
from assistantd.api import assistants, messages, models, threads
from assistantd.api.deps import JSONBytes, authenticate, container
from assistantd.api.validation import invalid_request_from
from assistantd.container import Container
from assistantd.errors import APIError, error_body
from assistantd.settings import Settings
from assistantd.store.migrate import upgrade

__all__ = ["create_app"]

log = logging.getLogger("assistantd")


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _api_router() -> APIRouter:
    router = APIRouter(prefix="/v1", dependencies=[Depends(authenticate)])
    for module in (assistants, threads, messages, models):
        router.include_router(module.router)
    return router


def _install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(APIError)
    async def _api_error(_request: Request, exc: APIError) -> Response:
        return JSONBytes(exc.body(), status_code=exc.status, headers=exc.headers)

    @app.exception_handler(RequestValidationError)
    async def _validation(_request: Request, exc: RequestValidationError) -> Response:
        # Path and query parameters FastAPI validated itself; strip its location prefix.
        errors = [{**e, "loc": tuple(e["loc"][1:])} for e in exc.errors()]
        error = invalid_request_from(errors)
        return JSONBytes(error.body(), status_code=error.status)

    @app.exception_handler(HTTPException)
    async def _http(request: Request, exc: HTTPException) -> Response:
        # OpenAI's answer to an unknown route or method.
        message = f"Invalid URL ({request.method} {request.url.path})"
        if exc.status_code not in (404, 405):
            message = str(exc.detail)
        body = error_body(message, type="invalid_request_error")
        return JSONBytes(body, status_code=exc.status_code)

    @app.exception_handler(Exception)
    async def _unhandled(_request: Request, exc: Exception) -> Response:
        log.exception("unhandled error", exc_info=exc)
        body = error_body(
            "The server had an error while processing your request. Sorry about that!",
            type="server_error",
        )
        return JSONBytes(body, status_code=500)


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or Settings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        if settings.database_url is None:
            settings.data_dir.mkdir(parents=True, exist_ok=True)
        c = Container.build(settings)
        if settings.migrate_on_start:
            await upgrade(c.db)
        if await c.auth.is_open() and not _is_loopback(settings.host):
            log.warning(
                "No API keys exist, so anyone who can reach %s:%d can use this server. "
                "Create one with `assistantd keys create --project NAME`.",
                settings.host,
                settings.port,
            )
        app.state.container = c
        try:
            yield
        finally:
            await c.close()

    app = FastAPI(
        title="assistantd",
        version=__version__,
        lifespan=lifespan,
        docs_url=None,
        redoc_url=None,
        openapi_url=None,
    )
    _install_error_handlers(app)
    app.include_router(_api_router())

    @app.get("/health", include_in_schema=False)
    async def health(request: Request) -> JSONBytes:
        async with container(request).db.read() as conn:
            await conn.execute(text("SELECT 1"))
        return JSONBytes(b'{"status":"ok"}')

    return app
