"""Assistant queries: the shared document queries are all assistants need."""

from __future__ import annotations

from assistantd.store.repos.documents import DocumentRepository
from assistantd.store.tables import AssistantRow

__all__ = ["AssistantRepository"]


class AssistantRepository(DocumentRepository):
    def __init__(self) -> None:
        super().__init__(AssistantRow.__table__)  # type: ignore[arg-type]
