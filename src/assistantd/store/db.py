"""The database handle: units of work, scheduled the way each backend runs best.

A unit of work is a plain function `unit(conn) -> result` that runs every query of
one use case on one connection, in one transaction. Services call
`await db.write(unit)` or `await db.read(unit)`; repositories write the queries.
Keeping units synchronous lets SQLite run them without a thread hop per statement
and PostgreSQL run them through SQLAlchemy's `run_sync` in one greenlet.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Protocol, TypeVar

from assistantd.store.sql import Conn

__all__ = ["Database", "Unit", "open_database"]

T = TypeVar("T")
Unit = Callable[[Conn], T]


class Database(Protocol):
    dialect: str

    async def read(self, unit: Callable[[Conn], T]) -> T:
        """Run a read-only unit; it sees every transaction committed before it started."""
        ...

    async def read_heavy(self, unit: Callable[[Conn], T]) -> T:
        """A read that computes for long (a vector scan): never on the event loop."""
        ...

    async def snapshot(self, unit: Callable[[Conn], T]) -> T:
        """A long read-only unit that sees one consistent state of the whole database
        while writes go on (an export): SQLite's WAL read transaction on a connection of
        its own, off the loop; PostgreSQL's REPEATABLE READ, READ ONLY."""
        ...

    async def write(self, unit: Callable[[Conn], T], *, single_write: bool = False) -> T:
        """Run a unit in a transaction that commits when it returns and rolls back if it raises.

        A unit may run twice (the first attempt rolled back), so it must do nothing but
        database work. `single_write`: at most one of the unit's statements changes
        anything (the others only read), so it needs no transaction of its own, and
        PostgreSQL runs it without BEGIN and COMMIT (two round trips fewer).
        """
        ...

    async def dispose(self) -> None: ...


def open_database(url: str, *, pool_size: int = 8, sqlite_synchronous: str = "FULL") -> Database:
    """A Database for a SQLAlchemy URL: `sqlite:///path` or `postgresql+asyncpg://…`."""
    if url.startswith("sqlite"):
        from assistantd.store.sqlite import SqliteDatabase, sqlite_path

        return SqliteDatabase(sqlite_path(url), synchronous=sqlite_synchronous)
    from assistantd.store.postgres import PostgresDatabase

    return PostgresDatabase(url, pool_size=pool_size)
