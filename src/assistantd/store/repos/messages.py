"""Message queries: create in one statement, list a thread by id order."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import insert, literal, null, select
from sqlalchemy.ext.asyncio import AsyncConnection

from assistantd.protocol.common import ListParams
from assistantd.store.repos.documents import DocumentRepository
from assistantd.store.repos.pages import Page
from assistantd.store.tables import MessageRow, ThreadRow, table_of

__all__ = ["MessageRepository"]

_messages = table_of(MessageRow)
_threads = table_of(ThreadRow)


class MessageRepository(DocumentRepository):
    def __init__(self) -> None:
        super().__init__(_messages)

    async def insert_into_thread(
        self,
        conn: AsyncConnection,
        *,
        project: str,
        thread_id: str,
        message_id: str,
        created_at: int,
        doc: str,
        run_id: str | None = None,
    ) -> bool:
        """Insert only if the thread exists in this project: one statement, no read first.

        Returns False when no thread matched, so the caller can answer 404.
        """
        source = select(
            literal(message_id),
            literal(project),
            _threads.c.id,
            literal(run_id) if run_id is not None else null(),
            literal(created_at),
            literal(doc),
        ).where(_threads.c.id == thread_id, _threads.c.project == project)
        columns = ["id", "project", "thread_id", "run_id", "created_at", "doc"]
        result = await conn.execute(insert(_messages).from_select(columns, source))
        return bool(result.rowcount)

    async def insert_many(self, conn: AsyncConnection, rows: Sequence[dict[str, Any]]) -> None:
        if rows:
            await conn.execute(insert(_messages), list(rows))

    async def page_in_thread(
        self,
        conn: AsyncConnection,
        *,
        project: str,
        thread_id: str,
        params: ListParams,
        run_id: str | None = None,
    ) -> Page:
        where = [_messages.c.thread_id == thread_id, _messages.c.project == project]
        if run_id is not None:
            where.append(_messages.c.run_id == run_id)
        return await self.page(conn, where, params)
