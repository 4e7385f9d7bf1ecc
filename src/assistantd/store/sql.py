"""Queries defined once as SQLAlchemy Core and run on either backend, fast on the hot path.

Statements are built once, with bind parameters, at import time. Each is compiled
once per backend to SQL text and run on the raw driver (`sqlite3`, asyncpg): building
and executing a Core statement costs about 135 µs against 6 µs for the same INSERT run
raw on SQLite (bench/RESULTS.md), and on PostgreSQL SQLAlchemy's execution cost more
CPU than the query itself.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Protocol, cast

from sqlalchemy import (
    ClauseElement,
    ColumnElement,
    Executable,
    LargeBinary,
    literal_column,
    or_,
    select,
)
from sqlalchemy.dialects import sqlite
from sqlalchemy.dialects.postgresql.asyncpg import PGDialect_asyncpg
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.functions import FunctionElement

__all__ = ["PING", "Conn", "Query", "as_bytes", "one_of"]

_SQLITE = sqlite.dialect(paramstyle="named")
_POSTGRES = PGDialect_asyncpg()  # type: ignore[no-untyped-call]


def _compile(statement: Executable, dialect: Any) -> tuple[str, tuple[str, ...], dict[str, Any]]:
    """SQL text, the order of its positional binds (if the dialect has them), and the
    values SQLAlchemy bound itself (e.g. the OFFSET 0 it adds after LIMIT)."""
    compiled = cast(ClauseElement, statement).compile(dialect=dialect)
    params = getattr(compiled, "params", None) or {}  # DDL has none
    binds = getattr(compiled, "binds", {})
    # A value bound at construction (even None, as in SET worker = NULL) is a default;
    # a bindparam() left for the caller is required.
    defaults = {
        k: v for k, v in params.items() if v is not None or (k in binds and not binds[k].required)
    }
    return str(compiled), tuple(getattr(compiled, "positiontup", None) or ()), defaults


class Query:
    """A Core statement plus its SQLite and PostgreSQL texts, each compiled on first use."""

    __slots__ = ("_defaults", "_pg", "_sqlite", "sqlite_index", "statement")

    def __init__(self, statement: Executable, sqlite_index: tuple[str, str] | None = None) -> None:
        """`sqlite_index` (table, index): the index SQLite must read that table by. On a
        WITHOUT ROWID table its planner prefers the primary key whenever that matches the
        first equality, even where a longer index matches them all (PostgreSQL's planner,
        with statistics, needs no telling)."""
        self.statement = statement
        self.sqlite_index = sqlite_index
        self._sqlite: str | None = None
        self._defaults: dict[str, Any] = {}
        self._pg: tuple[str, tuple[str, ...], dict[str, Any]] | None = None

    @property
    def sqlite(self) -> str:
        if self._sqlite is None:
            sql, _, self._defaults = _compile(self.statement, _SQLITE)
            if self.sqlite_index is not None:
                table, index = self.sqlite_index
                hinted = sql.replace(f"FROM {table} ", f"FROM {table} INDEXED BY {index} ", 1)
                assert hinted != sql, f"no FROM {table} in {sql}"
                sql = hinted
            self._sqlite = sql
        return self._sqlite

    def sqlite_params(self, params: Mapping[str, Any]) -> Mapping[str, Any]:
        return {**self._defaults, **params} if self._defaults else params

    def postgres_call(self, params: Mapping[str, Any]) -> tuple[str, list[Any]]:
        """asyncpg's SQL ($1, $2... with the casts SQLAlchemy's asyncpg dialect renders)
        and its positional arguments, compiled on first use."""
        if self._pg is None:
            self._pg = _compile(self.statement, _POSTGRES)
        sql, names, defaults = self._pg
        return sql, [params[n] if n in params else defaults[n] for n in names]


class Conn(Protocol):
    """What a unit of work sees: a connection inside one transaction (or autocommit reads)."""

    dialect: str

    def all(self, query: Query, params: Mapping[str, Any]) -> list[tuple[Any, ...]]:
        """Every row."""
        ...

    def first(self, query: Query, params: Mapping[str, Any]) -> tuple[Any, ...] | None:
        """The first row, or None."""
        ...

    def execute(self, query: Query, params: Mapping[str, Any]) -> int:
        """Run a statement; returns the number of rows it changed."""
        ...

    def executemany(self, query: Query, rows: Sequence[Mapping[str, Any]]) -> None:
        """Run a statement once per parameter set."""
        ...


PING = Query(select(literal_column("1")))


class as_bytes(FunctionElement[bytes]):
    """A text column read back as bytes, so stored JSON goes to the client without decoding."""

    type = LargeBinary()
    inherit_cache = True

    def __init__(self, column: ColumnElement[str]) -> None:
        super().__init__(column)


@compiles(as_bytes, "sqlite")
def _as_bytes_sqlite(element: as_bytes, compiler: SQLCompiler, **kw: Any) -> str:
    return f"CAST({compiler.process(element.clauses, **kw)} AS BLOB)"


@compiles(as_bytes, "postgresql")
def _as_bytes_postgresql(element: as_bytes, compiler: SQLCompiler, **kw: Any) -> str:
    # Not ::bytea, which would read backslashes in the JSON as escapes.
    return f"convert_to({compiler.process(element.clauses, **kw)}, 'UTF8')"


def one_of(column: ColumnElement[Any], values: Sequence[Any]) -> ColumnElement[bool]:
    """`column IN (values)` for a fixed list, as plain binds: an IN list compiles to an
    "expanding" parameter that only SQLAlchemy's own execution can fill in."""
    return or_(*(column == value for value in values))
