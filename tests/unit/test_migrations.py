"""Migrations build exactly the schema the tables declare, on SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect
from sqlalchemy.engine import Connection

from assistantd.store.migrate import upgrade, with_sync_connection
from assistantd.store.tables import UNMAPPED_TABLES, Base
from tests.servers import database


def _drift(conn: Connection) -> list[object]:
    assert {"assistants", "threads", "messages", "api_keys"} <= set(inspect(conn).get_table_names())

    def mapped(name: str | None, type_: str, _parents: object) -> bool:
        return not (type_ == "table" and name in UNMAPPED_TABLES)

    context = MigrationContext.configure(conn, opts={"include_name": mapped})
    return list(compare_metadata(context, Base.metadata))


@pytest.mark.parametrize("engine_backend", ["sqlite", "postgres"])
def test_upgrade_head_matches_tables(engine_backend: str, tmp_path: Path) -> None:
    async def check(url: str) -> object:
        await upgrade(url)
        await upgrade(url)  # idempotent: a second start migrates nothing
        return await with_sync_connection(url, _drift)

    with database(engine_backend, tmp_path) as url:
        assert asyncio.run(check(url)) == []
