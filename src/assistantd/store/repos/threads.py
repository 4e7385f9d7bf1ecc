"""Thread queries: the shared document queries, and the list OpenAI never had.

`GET /v1/threads` (an extension, for the console) pages a project's threads by id like
every list, optionally keeping only those whose metadata has given key/value pairs.
The filter reads the stored document: SQLite through `json_each` (any key, no path
quoting), PostgreSQL through `jsonb ->>`.
"""

from __future__ import annotations

from functools import cache

from sqlalchemy import BindParameter, Text, and_, bindparam, exists, func, literal_column, select
from sqlalchemy.dialects.postgresql import JSONB

from assistantd.protocol.common import ListParams
from assistantd.store.repos.documents import DocumentRepository
from assistantd.store.repos.pages import Page, cursor_values, keyset, page_from_rows
from assistantd.store.sql import Conn, Query, as_bytes
from assistantd.store.tables import ThreadRow, table_of

__all__ = ["ThreadRepository"]

_threads = table_of(ThreadRow)


@cache
def _filtered(dialect: str, pairs: int, descending: bool, after: bool, before: bool) -> Query:
    """Threads of a project whose metadata holds `pairs` key/value pairs (`k0`/`v0`, …)."""
    query = select(as_bytes(_threads.c.doc)).where(_threads.c.project == bindparam("project"))
    for i in range(pairs):
        key: BindParameter[str] = bindparam(f"k{i}", type_=Text())
        value: BindParameter[str] = bindparam(f"v{i}", type_=Text())
        if dialect == "sqlite":
            entries = func.json_each(_threads.c.doc, "$.metadata").table_valued("key", "value")
            query = query.where(
                exists(
                    select(literal_column("1"))
                    .select_from(entries)
                    .where(and_(entries.c.key == key, entries.c.value == value))
                )
            )
        else:
            metadata = _threads.c.doc.cast(JSONB())["metadata"]
            query = query.where(metadata.op("->>")(key) == value)
    return Query(keyset(query, _threads, descending, after, before))


class ThreadRepository(DocumentRepository):
    def __init__(self) -> None:
        super().__init__(_threads)

    def page_threads(
        self, conn: Conn, project: str, params: ListParams, metadata: dict[str, str]
    ) -> Page:
        if not metadata:
            return self.page(conn, project, params)
        query = _filtered(
            conn.dialect,
            len(metadata),
            params.order == "desc",
            params.after is not None,
            params.before is not None,
        )
        values = {"project": project, **cursor_values(params)}
        for i, (key, value) in enumerate(metadata.items()):
            values[f"k{i}"], values[f"v{i}"] = key, value
        return page_from_rows(conn.all(query, values), params)
