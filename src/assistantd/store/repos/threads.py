"""Thread queries: the shared document queries are all threads need."""

from __future__ import annotations

from assistantd.store.repos.documents import DocumentRepository
from assistantd.store.tables import ThreadRow, table_of

__all__ = ["ThreadRepository"]


class ThreadRepository(DocumentRepository):
    def __init__(self) -> None:
        super().__init__(table_of(ThreadRow))
