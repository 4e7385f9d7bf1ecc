"""Assistant queries: the shared document queries, plus reasoning_effort beside the document."""

from __future__ import annotations

from sqlalchemy import bindparam, update

from assistantd.store.repos.documents import DocumentRepository
from assistantd.store.sql import Conn, Query
from assistantd.store.tables import AssistantRow, table_of

__all__ = ["AssistantRepository"]

_assistants = table_of(AssistantRow)


class AssistantRepository(DocumentRepository):
    def __init__(self) -> None:
        super().__init__(_assistants)
        self._replace_with_effort = Query(
            update(_assistants)
            .where(
                _assistants.c.id == bindparam("id"), _assistants.c.project == bindparam("project")
            )
            .values(doc=bindparam("doc"), reasoning_effort=bindparam("reasoning_effort"))
        )

    def replace_with_effort(
        self, conn: Conn, project: str, assistant_id: str, doc: str, reasoning_effort: str | None
    ) -> None:
        conn.execute(
            self._replace_with_effort,
            {
                "id": assistant_id,
                "project": project,
                "doc": doc,
                "reasoning_effort": reasoning_effort,
            },
        )
