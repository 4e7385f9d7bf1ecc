"""Alembic environment: runs on the connection `store.migrate` hands it, or opens its own."""

from __future__ import annotations

import asyncio

from alembic import context
from sqlalchemy.engine import Connection

from assistantd.store.tables import UNMAPPED_TABLES, Base

config = context.config


def _mapped(name: str | None, type_: str, _parents: object) -> bool:
    return not (type_ == "table" and name in UNMAPPED_TABLES)


def _run(connection: Connection) -> None:
    context.configure(
        include_name=_mapped,
        connection=connection,
        target_metadata=Base.metadata,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


_connection = config.attributes.get("connection")
if _connection is not None:
    _run(_connection)
else:  # the `alembic` command line, for authoring revisions
    from assistantd.store.migrate import with_sync_connection

    asyncio.run(with_sync_connection(config.get_main_option("sqlalchemy.url") or "", _run))
