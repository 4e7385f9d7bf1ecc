"""Message queries: create in one statement, everything else scoped to its thread."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy import bindparam, delete, exists, insert, select, update

from assistantd.protocol.common import ListParams
from assistantd.protocol.runs import ACTIVE_STATUSES
from assistantd.store.repos.pages import Page, fetch_page
from assistantd.store.sql import Conn, Query, as_bytes, one_of
from assistantd.store.tables import MessageRow, RunRow, ThreadRow, table_of

__all__ = ["MessageRepository", "messages_repo"]

_messages = table_of(MessageRow)
_threads = table_of(ThreadRow)
_runs = table_of(RunRow)
_runs = table_of(RunRow)
_in_thread = (
    _messages.c.id == bindparam("id"),
    _messages.c.thread_id == bindparam("thread_id"),
    _messages.c.project == bindparam("project"),
)

# INSERT … SELECT: the row is written only if the thread exists in this project and has
# no active run, so a create is one statement with no read before it.
_INSERT_INTO_THREAD = Query(
    insert(_messages).from_select(
        ["id", "project", "thread_id", "run_id", "created_at", "doc"],
        select(
            bindparam("id"),
            bindparam("project"),
            _threads.c.id,
            bindparam("run_id"),
            bindparam("created_at"),
            bindparam("doc"),
        ).where(
            _threads.c.id == bindparam("thread_id"),
            _threads.c.project == bindparam("project"),
            ~exists().where(
                _runs.c.thread_id == _threads.c.id, one_of(_runs.c.status, ACTIVE_STATUSES)
            ),
        ),
    )
)
_INSERT = Query(insert(_messages))
_GET = Query(select(as_bytes(_messages.c.doc)).where(*_in_thread))
_GET_FOR_UPDATE = Query(select(as_bytes(_messages.c.doc)).where(*_in_thread).with_for_update())
# UPDATE may not bind a column's own name in WHERE; hence the key_ prefix.
_REPLACE = Query(
    update(_messages)
    .where(
        _messages.c.id == bindparam("key_id"),
        _messages.c.thread_id == bindparam("key_thread_id"),
        _messages.c.project == bindparam("key_project"),
    )
    .values(doc=bindparam("doc"))
)
_DELETE = Query(delete(_messages).where(*_in_thread))


class MessageRepository:
    table = _messages

    def insert_into_thread(
        self,
        conn: Conn,
        *,
        project: str,
        thread_id: str,
        message_id: str,
        created_at: int,
        doc: str,
        run_id: str | None = None,
    ) -> bool:
        """False when no thread matched (the caller answers 404)."""
        values = {
            "id": message_id,
            "project": project,
            "thread_id": thread_id,
            "run_id": run_id,
            "created_at": created_at,
            "doc": doc,
        }
        return conn.execute(_INSERT_INTO_THREAD, values) > 0

    def insert_many(self, conn: Conn, rows: Sequence[Mapping[str, Any]]) -> None:
        conn.executemany(_INSERT, rows)

    def get_doc(self, conn: Conn, project: str, thread_id: str, message_id: str) -> bytes | None:
        row = conn.first(_GET, {"id": message_id, "thread_id": thread_id, "project": project})
        return row[0] if row else None

    def get_doc_for_update(
        self, conn: Conn, project: str, thread_id: str, message_id: str
    ) -> bytes | None:
        key = {"id": message_id, "thread_id": thread_id, "project": project}
        row = conn.first(_GET_FOR_UPDATE, key)
        return row[0] if row else None

    def replace(self, conn: Conn, project: str, thread_id: str, message_id: str, doc: str) -> None:
        key = {"key_id": message_id, "key_thread_id": thread_id, "key_project": project}
        conn.execute(_REPLACE, {**key, "doc": doc})

    def delete(self, conn: Conn, project: str, thread_id: str, message_id: str) -> bool:
        key = {"id": message_id, "thread_id": thread_id, "project": project}
        return conn.execute(_DELETE, key) > 0

    def page_in_thread(
        self,
        conn: Conn,
        *,
        project: str,
        thread_id: str,
        params: ListParams,
        run_id: str | None = None,
    ) -> Page:
        scope: dict[str, Any] = {"thread_id": thread_id, "project": project}
        if run_id is not None:
            scope["run_id"] = run_id
        return fetch_page(conn, _messages, scope, params)


# The one instance of each: repositories hold compiled statements and no state.
messages_repo = MessageRepository()
