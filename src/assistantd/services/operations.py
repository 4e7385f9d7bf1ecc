"""What the database says about the work waiting: for /metrics, read at each scrape."""

from __future__ import annotations

import time

from assistantd.store.db import Database
from assistantd.store.repos.runs import runs_repo
from assistantd.store.repos.vector_stores import store_files_repo
from assistantd.store.sql import Conn

__all__ = ["Gauges", "OperationsService"]

Gauges = dict[str, tuple[str, float]]  # metric name → (help, value)


class OperationsService:
    def __init__(self, db: Database) -> None:
        self.db = db
        self.runs = runs_repo
        self.files = store_files_repo

    async def gauges(self) -> Gauges:
        def read(conn: Conn) -> tuple[int, int | None, int]:
            depth, oldest = self.runs.queue(conn)
            return depth, oldest, self.files.backlog(conn)

        depth, oldest, backlog = await self.db.read(read)
        age = max(0.0, time.time() - oldest) if oldest is not None else 0.0
        return {
            "assistantd_runs_queued": ("Runs waiting for a worker", depth),
            "assistantd_runs_oldest_queued_seconds": ("Age of the oldest queued run", age),
            "assistantd_ingestion_backlog": ("Vector store files not yet ingested", backlog),
        }
