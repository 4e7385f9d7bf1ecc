"""The `assistantd` command: serve, migrate, keys. Wiring only; the work lives elsewhere."""

from __future__ import annotations

import argparse
import asyncio
import logging
import signal
import socket
import sys
from collections.abc import Awaitable, Callable, Sequence
from pathlib import Path
from types import FrameType
from typing import Any, TypeVar

from assistantd import __version__
from assistantd.errors import APIError
from assistantd.settings import Settings
from assistantd.store.db import Database, open_database

__all__ = ["main"]

T = TypeVar("T")


def _settings(args: argparse.Namespace) -> Settings:
    overrides: dict[str, Any] = {}
    for name in ("host", "port", "data_dir", "database_url"):
        value = getattr(args, name, None)
        if value is not None:
            overrides[name] = value
    return Settings(**overrides)


def with_db(
    settings: Settings,
    work: Callable[[Database], Awaitable[T]],
    *,
    pool_size: int = 1,
    sqlite_synchronous: str = "FULL",
) -> T:
    """Run `work` on the configured database, migrated first, closed after."""
    from assistantd.store.migrate import upgrade

    async def run() -> T:
        url = settings.resolved_database_url()
        await upgrade(url)
        db = open_database(url, pool_size=pool_size, sqlite_synchronous=sqlite_synchronous)
        try:
            return await work(db)
        finally:
            await db.dispose()

    return asyncio.run(run())


def _serve(args: argparse.Namespace) -> int:
    import uvicorn

    from assistantd.api.connections import ConnectionLimits, limited_protocol
    from assistantd.app import create_app

    settings = _settings(args)
    _configure_logging(settings)
    if args.workers is not None and args.workers > 1:
        return _serve_many(args, settings)
    limits = ConnectionLimits(
        max_header_bytes=settings.max_header_bytes,
        header_timeout_s=settings.header_timeout_s,
        max_connections=settings.max_connections,
    )
    app = create_app(settings)

    class Server(uvicorn.Server):
        # At the signal, not after uvicorn has drained its connections: no run may
        # be claimed while the process is going away.
        def handle_exit(self, sig: int, frame: FrameType | None) -> None:
            app.stop_claiming()
            super().handle_exit(sig, frame)

    config = uvicorn.Config(
        app,
        host=settings.host,
        port=settings.port,
        log_level=settings.log_level,
        log_config=None,  # ours (_configure_logging), so uvicorn's lines can be JSON too
        access_log=False,  # assistantd's own, with the request id (api/request_ids.py)
        http=limited_protocol(limits),  # httptools, with limits on heads and connections
        loop="uvloop",
        timeout_graceful_shutdown=max(1, round(settings.shutdown_grace_s)),
    )
    sockets = None
    if args.fd is not None:
        # A child of `serve --workers N`: serve the socket its parent bound. Not
        # uvicorn's `fd=`, which opens it as a Unix socket, so accepted connections
        # went without TCP_NODELAY and every response waited 40 ms for a delayed ACK.
        sockets = [socket.socket(fileno=args.fd)]
    Server(config).run(sockets=sockets)
    return 0


def _serve_many(args: argparse.Namespace, settings: Settings) -> int:
    from assistantd.supervisor import supervise

    if settings.database_url is None:
        settings.data_dir.mkdir(parents=True, exist_ok=True)
    if settings.migrate_on_start:
        with_db(settings, _nothing)
    child_args: list[str] = []
    for option in ("data_dir", "database_url"):
        value = getattr(args, option, None)
        if value is not None:
            child_args += ["--" + option.replace("_", "-"), str(value)]
    return supervise(settings.host, settings.port, args.workers, child_args)


async def _nothing(_db: Database) -> None:
    return None


def _configure_logging(settings: Settings) -> None:
    from assistantd.observability.logs import configure_logging

    configure_logging(settings.log_level, settings.log_format)


def _worker(args: argparse.Namespace) -> int:
    """Execute queued runs in this process, without serving HTTP, until SIGTERM or SIGINT."""
    from assistantd.container import Container
    from assistantd.store.migrate import upgrade

    settings = _settings(args)
    if args.concurrency is not None:
        settings.workers = args.concurrency
    if settings.workers < 1:
        # ASSISTANTD_WORKERS=0 is how API processes leave runs to workers; a worker that
        # inherited it would run nothing, silently.
        print(
            f"assistantd worker: {settings.workers} run slots; a worker needs at least 1 "
            "(ASSISTANTD_WORKERS=0 is meant for API processes: pass --concurrency N "
            "or unset it for this process)",
            file=sys.stderr,
        )
        return 2
    _configure_logging(settings)

    async def run() -> None:
        await upgrade(settings.resolved_database_url())
        container = Container.build(settings)
        container.start()
        logging.getLogger("assistantd").info(
            "worker %s executing runs, %d at once", container.worker.id, settings.workers
        )
        stopping = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, stopping.set)
        try:
            await stopping.wait()
            logging.getLogger("assistantd").info("stopping: finishing runs in flight")
        finally:
            await container.close()

    asyncio.run(run())
    return 0


def _migrate(args: argparse.Namespace) -> int:
    settings = _settings(args)
    with_db(settings, _nothing)
    print(f"database at head: {settings.resolved_database_url()}")
    return 0


def _keys(args: argparse.Namespace) -> int:
    from assistantd.services.api_keys import ApiKeyService

    settings = _settings(args)
    if args.keys_command == "create":
        record, secret = with_db(
            settings, lambda db: ApiKeyService(db).create(args.project, args.name)
        )
        print(secret)
        print(
            f"created {record.id} for project '{record.project}'. "
            "Save the key now: only its hash is stored.",
            file=sys.stderr,
        )
        return 0
    if args.keys_command == "list":
        for key in with_db(settings, lambda db: ApiKeyService(db).list()):
            state = "revoked" if key.revoked_at else "active"
            print(f"{key.id}\t{key.project}\t{key.redacted}\t{state}\t{key.name or ''}")
        return 0
    revoked = with_db(settings, lambda db: ApiKeyService(db).revoke(args.key_id))
    if not revoked:
        print(f"no active key with id {args.key_id}", file=sys.stderr)
        return 1
    print(f"revoked {args.key_id}")
    return 0


def _projects(args: argparse.Namespace) -> int:
    from assistantd.limits.buckets import MemoryBuckets
    from assistantd.services.rate_limits import RateLimiter

    settings = _settings(args)

    def limiter(db: Database) -> RateLimiter:
        return RateLimiter(db, MemoryBuckets(), ttl_s=0)

    if args.projects_command == "limits":
        rpm, tpm = args.requests_per_minute, args.tokens_per_minute
        with_db(settings, lambda db: limiter(db).set_limits(args.project, rpm, tpm))
        shown = ", ".join(
            f"{value} {name} per minute"
            for name, value in (("requests", rpm), ("tokens", tpm))
            if value is not None
        )
        print(f"project '{args.project}': {shown or 'no limits'}")
        print(
            f"every server applies it within ASSISTANTD_KEY_CACHE_TTL_S "
            f"({settings.key_cache_ttl_s:g} s)",
            file=sys.stderr,
        )
        return 0
    for item in with_db(settings, lambda db: limiter(db).all_limits()):
        rpm_text = item.requests_per_minute or "-"
        tpm_text = item.tokens_per_minute or "-"
        print(f"{item.project}\trequests/min {rpm_text}\ttokens/min {tpm_text}")
    return 0


def _add_db_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--data-dir", type=Path, help="where SQLite and files live (./data)")
    parser.add_argument("--database-url", help="e.g. postgresql+asyncpg://user@host/db")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="assistantd", description=__doc__)
    parser.add_argument("--version", action="version", version=f"assistantd {__version__}")
    commands = parser.add_subparsers(dest="command", required=True)

    serve = commands.add_parser("serve", help="run the HTTP server")
    serve.add_argument("--host", help="interface to listen on (127.0.0.1)")
    serve.add_argument("--port", type=int, help="port to listen on (8000)")
    serve.add_argument(
        "--workers",
        type=int,
        help="server processes sharing the port (1); see docs/scaling-out.md",
    )
    serve.add_argument("--fd", type=int, help=argparse.SUPPRESS)  # set by --workers
    _add_db_options(serve)
    serve.set_defaults(handler=_serve)

    worker = commands.add_parser("worker", help="execute queued runs, without serving HTTP")
    worker.add_argument("--concurrency", type=int, help="runs executed at once (4)")
    _add_db_options(worker)
    worker.set_defaults(handler=_worker)

    migrate = commands.add_parser("migrate", help="bring the database schema up to date")
    _add_db_options(migrate)
    migrate.set_defaults(handler=_migrate)

    keys = commands.add_parser("keys", help="manage API keys")
    key_commands = keys.add_subparsers(dest="keys_command", required=True)
    create = key_commands.add_parser("create", help="mint a key; prints it once")
    create.add_argument("--project", required=True, help="the project (tenant) it belongs to")
    create.add_argument("--name", help="a label to recognise it by")
    _add_db_options(create)
    listing = key_commands.add_parser("list", help="list keys (never their secrets)")
    _add_db_options(listing)
    revoke = key_commands.add_parser("revoke", help="revoke a key by its id")
    revoke.add_argument("key_id")
    _add_db_options(revoke)
    keys.set_defaults(handler=_keys)

    projects = commands.add_parser("projects", help="per-project settings: rate limits")
    project_commands = projects.add_subparsers(dest="projects_command", required=True)
    limits = project_commands.add_parser(
        "limits", help="set a project's rate limits (omit both to remove them)"
    )
    limits.add_argument("project")
    limits.add_argument("--requests-per-minute", type=int, help="requests of any kind")
    limits.add_argument("--tokens-per-minute", type=int, help="model tokens, prompt and answer")
    _add_db_options(limits)
    project_list = project_commands.add_parser("list", help="projects that have limits")
    _add_db_options(project_list)
    projects.set_defaults(handler=_projects)

    from assistantd.cli_data import add_data_commands

    add_data_commands(commands, _add_db_options, _settings)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        result: int = args.handler(args)
    except APIError as exc:
        print(f"error: {exc.message}", file=sys.stderr)
        return 2
    return result
