"""Response queries: a response's row, the documents of the run behind it, a chain link."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy import bindparam, delete, insert, select

from assistantd.store.sql import Conn, Query
from assistantd.store.tables import MessageRow, ResponseRow, RunRow, RunStepRow, table_of

__all__ = ["ResponseRecord", "ResponseRepository", "RunOutput", "responses_repo"]

_responses = table_of(ResponseRow)
_runs = table_of(RunRow)
_steps = table_of(RunStepRow)
_messages = table_of(MessageRow)

_INSERT = Query(insert(_responses))
_COLUMNS = (
    _responses.c.id,
    _responses.c.project,
    _responses.c.thread_id,
    _responses.c.run_id,
    _responses.c.previous_response_id,
    _responses.c.doc,
    _responses.c.input,
)
_GET = Query(
    select(*_COLUMNS).where(
        _responses.c.id == bindparam("id"), _responses.c.project == bindparam("project")
    )
)
_BY_RUN = Query(select(*_COLUMNS).where(_responses.c.run_id == bindparam("run_id")))
_RUN = Query(select(_runs.c.doc, _runs.c.private).where(_runs.c.id == bindparam("run_id")))
_STEPS = Query(
    select(_steps.c.doc).where(_steps.c.run_id == bindparam("run_id")).order_by(_steps.c.id)
)
# The messages its run wrote: on a conversation's thread, not all of the thread's.
# SQLite is told which index to read: unprompted, it walks every message of the thread
# by its primary key to find one run's few (318 ms on a thread of 100,000).
_MESSAGES = Query(
    select(_messages.c.doc)
    .where(
        _messages.c.thread_id == bindparam("thread_id"),
        _messages.c.run_id == bindparam("run_id"),
    )
    .order_by(_messages.c.id),
    sqlite_index=("messages", "ix_messages_thread_id_run_id_id"),
)
_MESSAGE_ANYWHERE = Query(
    select(_messages.c.doc).where(
        _messages.c.id == bindparam("id"), _messages.c.project == bindparam("project")
    )
)
_DELETE = Query(delete(_responses).where(_responses.c.id == bindparam("id")))


@dataclass(frozen=True, slots=True)
class ResponseRecord:
    id: str
    project: str
    thread_id: str
    run_id: str
    previous_response_id: str | None
    doc: str  # the request's echoed fields (ResponseRequestDoc)
    input: str  # its input items, a JSON list


@dataclass(frozen=True, slots=True)
class RunOutput:
    """What the run behind a response wrote: its Run, private state, steps and messages."""

    run: str
    private: str
    steps: list[str]
    messages: list[str]


class ResponseRepository:
    def insert(self, conn: Conn, values: Mapping[str, Any]) -> None:
        conn.execute(_INSERT, values)

    def get(self, conn: Conn, project: str, response_id: str) -> ResponseRecord | None:
        row = conn.first(_GET, {"id": response_id, "project": project})
        return ResponseRecord(*row) if row else None

    def by_run(self, conn: Conn, run_id: str) -> ResponseRecord | None:
        """The response a run answers."""
        row = conn.first(_BY_RUN, {"run_id": run_id})
        return ResponseRecord(*row) if row else None

    def output(self, conn: Conn, record: ResponseRecord) -> RunOutput | None:
        run = conn.first(_RUN, {"run_id": record.run_id})
        if run is None:
            return None
        steps = [r[0] for r in conn.all(_STEPS, {"run_id": record.run_id})]
        return RunOutput(run[0], run[1], steps, self.messages(conn, record))

    def messages(self, conn: Conn, record: ResponseRecord) -> list[str]:
        """The messages the response's run wrote, oldest first."""
        values = {"thread_id": record.thread_id, "run_id": record.run_id}
        return [r[0] for r in conn.all(_MESSAGES, values)]

    def find_message(self, conn: Conn, project: str, message_id: str) -> str | None:
        """A message of any thread of the project, by id (an `item_reference`)."""
        row = conn.first(_MESSAGE_ANYWHERE, {"id": message_id, "project": project})
        return row[0] if row else None

    def delete(self, conn: Conn, response_id: str) -> bool:
        return conn.execute(_DELETE, {"id": response_id}) > 0


responses_repo = ResponseRepository()
