"""Thread queries: the shared document queries, and the list OpenAI never had.

`GET /v1/threads` (an extension, for the console) pages a project's threads by id like
every list, optionally keeping only those whose metadata has given key/value pairs.
The filter reads the stored document: SQLite through `json_each` (any key, no path
quoting), PostgreSQL through `jsonb ->>`. There is no index on metadata, so a filtered
page looks at no more than `scan` threads past its cursor (the window, read from the
(project, id) index) instead of reading the whole table: a page it cannot fill there
ends early with `has_more`, and one with no match there says so
(`FilteredPage.exhausted`).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache
from typing import Any

from sqlalchemy import BindParameter, Text, and_, bindparam, exists, func, literal_column, select
from sqlalchemy.dialects.postgresql import JSONB

from assistantd.protocol.common import ListParams
from assistantd.store.repos.documents import DocumentRepository
from assistantd.store.repos.pages import Page, cursor_values, fetch_page, keyset, page_from_rows
from assistantd.store.sql import Conn, Query, as_bytes
from assistantd.store.tables import ThreadRow, table_of

__all__ = ["FilteredPage", "ThreadRepository", "threads_repo"]

_threads = table_of(ThreadRow)


@dataclass(frozen=True)
class FilteredPage:
    page: Page
    exhausted: bool  # no match in the scan window, and more threads follow it


@cache
def _filtered(
    dialect: str, pairs: int, descending: bool, after: bool, before: bool
) -> tuple[Query, Query]:
    """Threads of a project whose metadata holds `pairs` key/value pairs (`k0`/`v0`, …),
    among the `scan` threads past the cursor; and how many threads that window holds."""
    mine = and_(_threads.c.project == bindparam("project"), _threads.c.listed == 1)
    window = keyset(select(_threads.c.id).where(mine), _threads, descending, after, before)
    window = window.limit(bindparam("scan"))
    in_window = _threads.c.id.in_(select(window.subquery().c.id))
    query = select(as_bytes(_threads.c.doc)).where(mine, in_window)
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
    counted = select(func.count()).select_from(window.subquery())
    return Query(keyset(query, _threads, descending, after, before)), Query(counted)


class ThreadRepository(DocumentRepository):
    def __init__(self) -> None:
        super().__init__(_threads)

    def insert(self, conn: Conn, values: Mapping[str, Any]) -> None:
        """A thread is listed unless it says otherwise (a response's own is not)."""
        super().insert(conn, {"listed": 1, **values})

    def page_threads(
        self, conn: Conn, project: str, params: ListParams, metadata: dict[str, str], scan: int
    ) -> FilteredPage:
        if not metadata:
            page = fetch_page(conn, _threads, {"project": project, "listed": 1}, params)
            return FilteredPage(page, exhausted=False)
        query, counted = _filtered(
            conn.dialect,
            len(metadata),
            params.order == "desc",
            params.after is not None,
            params.before is not None,
        )
        values = {"project": project, "scan": scan, **cursor_values(params)}
        for i, (key, value) in enumerate(metadata.items()):
            values[f"k{i}"], values[f"v{i}"] = key, value
        rows = conn.all(query, values)
        if len(rows) > params.limit:
            return FilteredPage(page_from_rows(rows, params), exhausted=False)
        # A short page: the end of the threads, or of the window (the scan's limit). At
        # the window's end a page with matches says `has_more` (the next one starts past
        # its last match, so paging always moves on); one without cannot move on.
        window = conn.first(counted, values)
        page = page_from_rows(rows, params)
        if window is None or int(window[0]) < scan:
            return FilteredPage(page, exhausted=False)
        if rows:
            return FilteredPage(Page(docs=page.docs, has_more=True), exhausted=False)
        return FilteredPage(page, exhausted=True)


# The one instance of each: repositories hold compiled statements and no state.
threads_repo = ThreadRepository()
