"""Queries shared by every document table: insert, get, replace, delete, list in a project."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import orjson
from sqlalchemy import Table, bindparam, delete, insert, select, update

from assistantd.protocol.common import ListParams
from assistantd.store.repos.pages import Page, fetch_page
from assistantd.store.sql import Conn, Query, as_bytes

__all__ = ["DocumentRepository"]


class DocumentRepository:
    """One table of `(id, project, ..., doc)` rows; subclasses add their own queries.

    Every query is scoped by project: an id alone never reaches another tenant's row.
    """

    def __init__(self, table: Table) -> None:
        self.table = table
        scope = (table.c.id == bindparam("id"), table.c.project == bindparam("project"))
        self._insert = Query(insert(table))
        self._get = Query(select(as_bytes(table.c.doc)).where(*scope))
        self._get_for_update = Query(select(as_bytes(table.c.doc)).where(*scope).with_for_update())
        # UPDATE may not bind a column's own name in WHERE; hence the key_ prefix.
        self._replace = Query(
            update(table)
            .where(table.c.id == bindparam("key_id"), table.c.project == bindparam("key_project"))
            .values(doc=bindparam("doc"))
        )
        self._delete = Query(delete(table).where(*scope))

    def insert(self, conn: Conn, values: Mapping[str, Any]) -> None:
        conn.execute(self._insert, values)

    def get_doc(self, conn: Conn, project: str, object_id: str) -> bytes | None:
        row = conn.first(self._get, {"id": object_id, "project": project})
        return row[0] if row else None

    def get_doc_for_update(self, conn: Conn, project: str, object_id: str) -> bytes | None:
        """Read a document to change it: locks the row on PostgreSQL (SQLite writes are serial)."""
        row = conn.first(self._get_for_update, {"id": object_id, "project": project})
        return row[0] if row else None

    def replace(self, conn: Conn, project: str, object_id: str, doc: str) -> None:
        conn.execute(self._replace, {"key_id": object_id, "key_project": project, "doc": doc})

    def patch(
        self, conn: Conn, project: str, object_id: str, changes: Mapping[str, Any]
    ) -> str | None:
        """Set top-level fields of a stored document; the new document, or None if absent."""
        current = self.get_doc_for_update(conn, project, object_id)
        if current is None:
            return None
        doc = orjson.loads(current)
        doc.update(changes)
        text = orjson.dumps(doc).decode()
        self.replace(conn, project, object_id, text)
        return text

    def delete(self, conn: Conn, project: str, object_id: str) -> bool:
        return conn.execute(self._delete, {"id": object_id, "project": project}) > 0

    def page(self, conn: Conn, project: str, params: ListParams) -> Page:
        return fetch_page(conn, self.table, {"project": project}, params)
