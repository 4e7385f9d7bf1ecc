"""Assistant queries: the shared document queries, plus reasoning_effort beside the document."""

from __future__ import annotations

from sqlalchemy import bindparam, update

from assistantd.store.repos.documents import DocumentRepository
from assistantd.store.sql import Conn, Query
from assistantd.store.tables import AssistantRow, table_of

__all__ = ["AssistantRepository", "assistants_repo"]

_assistants = table_of(AssistantRow)


class AssistantRepository(DocumentRepository):
    def __init__(self) -> None:
        super().__init__(_assistants)
        self._set_effort = Query(
            update(_assistants)
            .where(
                _assistants.c.id == bindparam("key_id"),
                _assistants.c.project == bindparam("key_project"),
            )
            .values(reasoning_effort=bindparam("reasoning_effort"))
        )

    def set_reasoning_effort(
        self, conn: Conn, project: str, assistant_id: str, reasoning_effort: str | None
    ) -> None:
        values = {"key_id": assistant_id, "key_project": project}
        conn.execute(self._set_effort, {**values, "reasoning_effort": reasoning_effort})


# The one instance of each: repositories hold compiled statements and no state.
assistants_repo = AssistantRepository()
