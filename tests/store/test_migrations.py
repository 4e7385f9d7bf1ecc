"""Migrations build exactly the schema the tables declare, on SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
import uuid
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect
from sqlalchemy.engine import Connection, make_url

from assistantd.store.migrate import upgrade, with_sync_connection
from assistantd.store.tables import UNMAPPED_TABLES, Base
from tests.servers import SYSTEM_PG_DSN, database


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


def test_postgres_without_pgvector_stops_with_a_message_naming_it(tmp_path: Path) -> None:
    """The machine's own PostgreSQL (scripts/ensure-services.sh starts it) has no pgvector."""
    import asyncpg

    async def check() -> None:
        admin = await asyncpg.connect(SYSTEM_PG_DSN)
        name = f"assistantd_nopgvector_{uuid.uuid4().hex[:8]}"
        try:
            available = await admin.fetchval(
                "SELECT count(*) FROM pg_available_extensions WHERE name = 'vector'"
            )
            assert available == 0, "this PostgreSQL has pgvector; the test needs one without"
            await admin.execute(f'CREATE DATABASE "{name}"')
            url = make_url(SYSTEM_PG_DSN).set(drivername="postgresql+asyncpg", database=name)
            with pytest.raises(RuntimeError, match=r"extension 'vector' \(pgvector\)"):
                await upgrade(url.render_as_string(hide_password=False))
        finally:
            await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            await admin.close()

    asyncio.run(check())
