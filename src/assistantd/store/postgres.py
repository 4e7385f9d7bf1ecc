"""PostgreSQL: SQLAlchemy's async engine over asyncpg, each unit in one `run_sync` call."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any, TypeVar

from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import create_async_engine

from assistantd.store.sql import Conn, Query

__all__ = ["PostgresDatabase"]

T = TypeVar("T")


class _PgConn:
    dialect = "postgresql"

    def __init__(self, connection: Connection) -> None:
        self.sa = connection

    def all(self, query: Query, params: Mapping[str, Any]) -> list[tuple[Any, ...]]:
        return [tuple(row) for row in self.sa.execute(query.statement, dict(params))]

    def first(self, query: Query, params: Mapping[str, Any]) -> tuple[Any, ...] | None:
        row = self.sa.execute(query.statement, dict(params)).first()
        return tuple(row) if row is not None else None

    def execute(self, query: Query, params: Mapping[str, Any]) -> int:
        return int(self.sa.execute(query.statement, dict(params)).rowcount)

    def executemany(self, query: Query, rows: Sequence[Mapping[str, Any]]) -> None:
        if rows:
            self.sa.execute(query.statement, [dict(r) for r in rows])


class PostgresDatabase:
    dialect = "postgresql"

    def __init__(self, url: str, *, pool_size: int) -> None:
        self.engine = create_async_engine(url, pool_size=pool_size, max_overflow=pool_size)

    async def read(self, unit: Callable[[Conn], T]) -> T:
        async with self.engine.connect() as conn:
            return await conn.run_sync(lambda sync: unit(_PgConn(sync)))

    async def read_heavy(self, unit: Callable[[Conn], T]) -> T:
        return await self.read(unit)  # already off the loop, in asyncpg's greenlet

    async def write(self, unit: Callable[[Conn], T]) -> T:
        async with self.engine.begin() as conn:
            return await conn.run_sync(lambda sync: unit(_PgConn(sync)))

    async def dispose(self) -> None:
        await self.engine.dispose()
