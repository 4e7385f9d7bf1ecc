"""Queries shared by every document table: get, replace, delete and list within a project."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import ColumnElement, delete, insert, select, update
from sqlalchemy.ext.asyncio import AsyncConnection
from sqlalchemy.sql.schema import Table

from assistantd.protocol.common import ListParams
from assistantd.store.repos.pages import Page, fetch_page

__all__ = ["DocumentRepository"]


class DocumentRepository:
    """One table of `(id, project, ..., doc)` rows; subclasses add their own queries."""

    def __init__(self, table: Table) -> None:
        self.table = table

    def _scope(self, project: str, object_id: str) -> tuple[ColumnElement[bool], ...]:
        return (self.table.c.id == object_id, self.table.c.project == project)

    async def insert(self, conn: AsyncConnection, **values: Any) -> None:
        await conn.execute(insert(self.table).values(**values))

    async def get_doc(
        self, conn: AsyncConnection, project: str, object_id: str, *extra: ColumnElement[bool]
    ) -> str | None:
        query = select(self.table.c.doc).where(*self._scope(project, object_id), *extra)
        return (await conn.execute(query)).scalar_one_or_none()

    async def get_doc_for_update(
        self, conn: AsyncConnection, project: str, object_id: str, *extra: ColumnElement[bool]
    ) -> str | None:
        """Read a document to change it: locks the row on PostgreSQL (SQLite locks on BEGIN)."""
        query = select(self.table.c.doc).where(*self._scope(project, object_id), *extra)
        if conn.dialect.name == "postgresql":
            query = query.with_for_update()
        return (await conn.execute(query)).scalar_one_or_none()

    async def replace(
        self, conn: AsyncConnection, project: str, object_id: str, doc: str, **columns: Any
    ) -> None:
        await conn.execute(
            update(self.table).where(*self._scope(project, object_id)).values(doc=doc, **columns)
        )

    async def delete(
        self, conn: AsyncConnection, project: str, object_id: str, *extra: ColumnElement[bool]
    ) -> bool:
        result = await conn.execute(
            delete(self.table).where(*self._scope(project, object_id), *extra)
        )
        return bool(result.rowcount)

    async def page(
        self,
        conn: AsyncConnection,
        where: Sequence[ColumnElement[bool]],
        params: ListParams,
    ) -> Page:
        return await fetch_page(conn, self.table, where, params)
