"""PostgreSQL: asyncpg directly, each Core statement compiled once to asyncpg's SQL.

Units of work are synchronous functions (store/db.py says why), so a unit runs in a
greenlet (SQLAlchemy's `greenlet_spawn`) and each of its statements awaits asyncpg
from inside it (`await_only`), which is how SQLAlchemy's own async engine runs sync
code. What is left out is SQLAlchemy's per-statement execution (the compiled cache
lookup, parameter and result processing, its pool and transaction bookkeeping), which
cost more than the query itself: messages.create at 32 connections went from 1,852 to
N req/s (bench/RESULTS.md). The statements are the same SQL SQLAlchemy's asyncpg
dialect would send, with its casts; asyncpg prepares each once per connection.

Reads run without an explicit transaction: under PostgreSQL's default READ COMMITTED
each statement sees its own snapshot either way, so BEGIN and ROLLBACK (two round
trips) would buy nothing. Writes run in one transaction each, except units that say
they write at most once (`single_write`, messages.create's), whose write commits alone.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable, Mapping, Sequence
from contextlib import asynccontextmanager
from typing import Any, TypeVar, cast

import asyncpg
from sqlalchemy.engine import make_url
from sqlalchemy.util import await_only, greenlet_spawn

from assistantd.store.sql import Conn, Query

__all__ = ["PostgresDatabase"]

T = TypeVar("T")


def _rowcount(status: str) -> int:
    """asyncpg's command tag ("UPDATE 3", "INSERT 0 1") → rows changed."""
    last = status.rpartition(" ")[2]
    return int(last) if last.isdigit() else 0


class _Pool:
    """Connections, at most `size` in use: asyncpg's own pool, less what we never need
    (its reset query, idle timers and per-acquire timeouts: 8% of a list's CPU)."""

    def __init__(self, dsn: str, size: int) -> None:
        self.dsn = dsn
        self._slots = asyncio.Semaphore(size)
        self._idle: list[asyncpg.Connection] = []

    @asynccontextmanager
    async def connection(self) -> AsyncIterator[asyncpg.Connection]:
        async with self._slots:
            connection = self._idle.pop() if self._idle else await asyncpg.connect(self.dsn)
            try:
                yield connection
            except (asyncio.CancelledError, asyncpg.InterfaceError, OSError):
                # Cancelled mid-statement, or the connection broke: its state is unknown.
                connection.terminate()
                raise
            except BaseException:
                # A failed statement or an error the unit raised (a 404, say): the
                # connection is sound, its transaction rolled back by its own manager.
                self._keep(connection)
                raise
            self._keep(connection)

    def _keep(self, connection: asyncpg.Connection) -> None:
        if not connection.is_closed():
            self._idle.append(connection)

    async def close(self) -> None:
        idle, self._idle = self._idle, []
        for connection in idle:
            await connection.close()


class _PgConn:
    dialect = "postgresql"

    def __init__(self, connection: asyncpg.Connection) -> None:
        self.connection = connection

    # asyncpg's Records index, unpack and iterate like the tuples the Conn protocol
    # promises; copying 101 of them into tuples cost more than reading them.
    def all(self, query: Query, params: Mapping[str, Any]) -> list[tuple[Any, ...]]:
        sql, args = query.postgres_call(params)
        return cast(list[tuple[Any, ...]], await_only(self.connection.fetch(sql, *args)))

    def first(self, query: Query, params: Mapping[str, Any]) -> tuple[Any, ...] | None:
        sql, args = query.postgres_call(params)
        return cast(tuple[Any, ...] | None, await_only(self.connection.fetchrow(sql, *args)))

    def execute(self, query: Query, params: Mapping[str, Any]) -> int:
        sql, args = query.postgres_call(params)
        return _rowcount(await_only(self.connection.execute(sql, *args)))

    def executemany(self, query: Query, rows: Sequence[Mapping[str, Any]]) -> None:
        if rows:
            calls = [query.postgres_call(r) for r in rows]
            await_only(self.connection.executemany(calls[0][0], [args for _, args in calls]))


class PostgresDatabase:
    dialect = "postgresql"

    def __init__(self, url: str, *, pool_size: int) -> None:
        dsn = make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)
        self._pool = _Pool(dsn, pool_size * 2)

    async def read(self, unit: Callable[[Conn], T]) -> T:
        async with self._pool.connection() as connection:
            result: T = await greenlet_spawn(unit, _PgConn(connection))
            return result

    async def read_heavy(self, unit: Callable[[Conn], T]) -> T:
        return await self.read(unit)  # the work is the server's; the loop only waits

    async def snapshot(self, unit: Callable[[Conn], T]) -> T:
        async with (
            self._pool.connection() as connection,
            connection.transaction(isolation="repeatable_read", readonly=True),
        ):
            result: T = await greenlet_spawn(unit, _PgConn(connection))
            return result

    async def write(self, unit: Callable[[Conn], T], *, single_write: bool = False) -> T:
        if single_write:
            return await self.read(unit)  # its one write commits by itself
        async with self._pool.connection() as connection, connection.transaction():
            result: T = await greenlet_spawn(unit, _PgConn(connection))
            return result

    async def dispose(self) -> None:
        await self._pool.close()
