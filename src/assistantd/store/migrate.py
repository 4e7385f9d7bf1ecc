"""Bring a database's schema to the latest revision (server start-up and `assistantd migrate`)."""

from __future__ import annotations

import asyncio
from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy import create_engine, text
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import create_async_engine

from assistantd.store.sqlite import sqlite_path

__all__ = ["alembic_config", "upgrade", "with_sync_connection"]

_MIGRATIONS = Path(__file__).parent / "migrations"
# Any constant works; it only has to be the same in every assistantd process.
_PG_LOCK_KEY = 0x61737369


def alembic_config() -> Config:
    config = Config()
    config.set_main_option("script_location", str(_MIGRATIONS))
    return config


def _upgrade(connection: Connection) -> None:
    if connection.dialect.name == "postgresql":
        # Several servers starting together must not migrate at once.
        connection.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": _PG_LOCK_KEY})
    config = alembic_config()
    config.attributes["connection"] = connection
    command.upgrade(config, "head")


async def with_sync_connection(url: str, work: object) -> object:
    """Run `work(connection)` in one transaction on a plain SQLAlchemy connection."""
    assert callable(work)
    if url.startswith("sqlite"):
        path = sqlite_path(url)
        if path != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)

        def run() -> object:
            engine = create_engine(f"sqlite:///{path}")
            try:
                with engine.begin() as conn:
                    return work(conn)
            finally:
                engine.dispose()

        return await asyncio.to_thread(run)
    engine = create_async_engine(url)
    try:
        async with engine.begin() as conn:
            return await conn.run_sync(work)
    finally:
        await engine.dispose()


async def upgrade(url: str) -> None:
    await with_sync_connection(url, _upgrade)
