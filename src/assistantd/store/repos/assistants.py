"""Assistant queries: the shared document queries are all assistants need."""

from __future__ import annotations

from assistantd.store.repos.documents import DocumentRepository
from assistantd.store.tables import AssistantRow, table_of

__all__ = ["AssistantRepository"]


class AssistantRepository(DocumentRepository):
    def __init__(self) -> None:
        super().__init__(table_of(AssistantRow))
