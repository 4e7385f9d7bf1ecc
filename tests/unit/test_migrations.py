"""Migrations build exactly the schema the tables declare, on SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect

from assistantd.store.db import Database
from assistantd.store.migrate import upgrade
from assistantd.store.tables import Base
from tests.servers import database


@pytest.mark.parametrize("engine_backend", ["sqlite", "postgres"])
def test_upgrade_head_matches_tables(engine_backend: str, tmp_path: Path) -> None:
    async def check(url: str) -> list[object]:
        db = Database(url, pool_size=1)
        try:
            await upgrade(db)
            await upgrade(db)  # idempotent: a second start migrates nothing
            async with db.write() as conn:
                tables = await conn.run_sync(lambda c: set(inspect(c).get_table_names()))
                assert {"assistants", "threads", "messages", "api_keys"} <= tables
                return await conn.run_sync(
                    lambda c: compare_metadata(MigrationContext.configure(c), Base.metadata)
                )
        finally:
            await db.dispose()

    with database(engine_backend, tmp_path) as url:
        assert asyncio.run(check(url)) == []
