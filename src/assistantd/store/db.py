"""The database handle: engines, connection setup, and the read/write units of work.

SQLite gets two engines on one file. Writes go through a single connection that
opens transactions with `BEGIN IMMEDIATE`, so writers in this process queue in the
pool instead of failing with SQLITE_BUSY, and a read-then-write transaction can
never be refused at its first write. Reads use a pool of autocommit connections;
WAL lets them run beside the writer. Other processes (workers) wait on
`busy_timeout`. PostgreSQL needs none of this: one pooled engine serves both.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from sqlalchemy import event
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, create_async_engine

__all__ = ["Database"]


class Database:
    """Owns the engines; `read()` and `write()` hand out connections in a transaction."""

    def __init__(self, url: str, *, pool_size: int = 8, sqlite_synchronous: str = "FULL") -> None:
        self.url = url
        self.is_sqlite = url.startswith("sqlite")
        if self.is_sqlite:
            self._writer = create_async_engine(url, pool_size=1, max_overflow=0)
            self._reader = create_async_engine(url, pool_size=pool_size, max_overflow=0)
            _setup_sqlite(self._writer, sqlite_synchronous, begin="BEGIN IMMEDIATE")
            _setup_sqlite(self._reader, sqlite_synchronous, begin=None)
        else:
            self._writer = create_async_engine(
                url, pool_size=pool_size, max_overflow=pool_size, pool_pre_ping=False
            )
            self._reader = self._writer

    @property
    def engine(self) -> AsyncEngine:
        return self._writer

    @asynccontextmanager
    async def write(self) -> AsyncIterator[AsyncConnection]:
        """A transaction that commits when the block ends and rolls back on an exception."""
        async with self._writer.begin() as conn:
            yield conn

    @asynccontextmanager
    async def read(self) -> AsyncIterator[AsyncConnection]:
        """A connection for reads; on SQLite each statement sees the latest commit."""
        if self.is_sqlite:
            async with self._reader.connect() as conn:
                yield conn
        else:
            async with self._reader.begin() as conn:
                yield conn

    async def dispose(self) -> None:
        await self._writer.dispose()
        if self._reader is not self._writer:
            await self._reader.dispose()


def _setup_sqlite(engine: AsyncEngine, synchronous: str, *, begin: str | None) -> None:
    @event.listens_for(engine.sync_engine, "connect")
    def _on_connect(dbapi_conn: Any, _record: Any) -> None:
        # Take transaction control away from the sqlite3 module, which would
        # otherwise open deferred transactions behind SQLAlchemy's back.
        dbapi_conn.isolation_level = None
        cursor = dbapi_conn.cursor()
        for pragma in (
            "PRAGMA journal_mode=WAL",
            f"PRAGMA synchronous={synchronous}",
            "PRAGMA foreign_keys=ON",
            "PRAGMA busy_timeout=30000",
        ):
            cursor.execute(pragma)
        cursor.close()

    @event.listens_for(engine.sync_engine, "begin")
    def _on_begin(conn: Connection) -> None:
        if begin is not None:
            conn.exec_driver_sql(begin)
