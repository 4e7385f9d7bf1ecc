"""SqliteDatabase: group commit keeps each unit of work atomic and isolated."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from sqlalchemy import Column, Integer, MetaData, Table, bindparam, insert, select

from assistantd.store.sql import Conn, Query
from assistantd.store.sqlite import SqliteDatabase

_meta = MetaData()
_items = Table("items", _meta, Column("n", Integer, primary_key=True))
_INSERT = Query(insert(_items).values(n=bindparam("n")))
_ALL = Query(select(_items.c.n).order_by(_items.c.n))


class Refused(Exception):
    pass


async def _exercise(path: Path) -> tuple[list[object], list[int]]:
    db = SqliteDatabase(str(path))
    try:
        await db.write(lambda conn: conn.execute(Query(_items_ddl()), {}))

        def unit(n: int):  # type: ignore[no-untyped-def]
            def run(conn: Conn) -> int:
                conn.execute(_INSERT, {"n": n})
                if n % 5 == 0:
                    raise Refused(n)  # after writing: its insert must be rolled back
                return n

            return run

        results = await asyncio.gather(
            *(db.write(unit(n)) for n in range(1, 41)), return_exceptions=True
        )
        stored = [row[0] for row in await db.read(lambda conn: conn.all(_ALL, {}))]
        return list(results), stored
    finally:
        await db.dispose()


def _items_ddl():  # type: ignore[no-untyped-def]
    from sqlalchemy.schema import CreateTable

    return CreateTable(_items)


def test_a_failing_unit_fails_alone(tmp_path: Path) -> None:
    results, stored = asyncio.run(_exercise(tmp_path / "db.sqlite"))
    for n, result in enumerate(results, start=1):
        if n % 5 == 0:
            assert isinstance(result, Refused)
        else:
            assert result == n
    assert stored == [n for n in range(1, 41) if n % 5]


def test_reads_see_committed_writes(tmp_path: Path) -> None:
    async def run() -> list[int]:
        db = SqliteDatabase(str(tmp_path / "db.sqlite"))
        try:
            await db.write(lambda conn: conn.execute(Query(_items_ddl()), {}))
            await db.write(lambda conn: conn.execute(_INSERT, {"n": 7}))
            return [r[0] for r in await db.read(lambda conn: conn.all(_ALL, {}))]
        finally:
            await db.dispose()

    assert asyncio.run(run()) == [7]


@pytest.mark.parametrize("synchronous", ["FULL", "NORMAL"])
def test_writes_survive_reopening(tmp_path: Path, synchronous: str) -> None:
    async def write() -> None:
        db = SqliteDatabase(str(tmp_path / "db.sqlite"), synchronous=synchronous)
        await db.write(lambda conn: conn.execute(Query(_items_ddl()), {}))
        await asyncio.gather(
            *(db.write(lambda c, n=n: c.execute(_INSERT, {"n": n})) for n in range(100))
        )
        await db.dispose()

    async def read() -> int:
        db = SqliteDatabase(str(tmp_path / "db.sqlite"))
        try:
            return len(await db.read(lambda conn: conn.all(_ALL, {})))
        finally:
            await db.dispose()

    asyncio.run(write())
    assert asyncio.run(read()) == 100
