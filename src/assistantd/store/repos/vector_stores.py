"""Vector stores, their files (also the ingestion queue) and file batches."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sqlalchemy import and_, bindparam, delete, func, insert, select, update

from assistantd.protocol.common import ListParams
from assistantd.store.repos.documents import DocumentRepository
from assistantd.store.repos.pages import Page, fetch_page
from assistantd.store.sql import Conn, Query, as_bytes
from assistantd.store.tables import (
    VectorStoreFileBatchRow,
    VectorStoreFileRow,
    VectorStoreRow,
    table_of,
)

__all__ = [
    "BatchRepository",
    "StoreFileRepository",
    "VectorStoreRepository",
    "batches_repo",
    "store_files_repo",
    "stores_repo",
]

_stores = table_of(VectorStoreRow)
_files = table_of(VectorStoreFileRow)
_batches = table_of(VectorStoreFileBatchRow)

_STORE_FOR_SEARCH = Query(
    select(as_bytes(_stores.c.doc), _stores.c.generation).where(
        _stores.c.id == bindparam("id"), _stores.c.project == bindparam("project")
    )
)
_STORE_SET = Query(
    update(_stores)
    .where(_stores.c.id == bindparam("key_id"))
    .values(doc=bindparam("doc"), expires_at=bindparam("expires_at"))
)
_BUMP = Query(
    update(_stores)
    .where(_stores.c.id == bindparam("key_id"))
    .values(generation=_stores.c.generation + 1)
)
_DUE = Query(
    select(_stores.c.id, _stores.c.project)
    .where(_stores.c.expires_at <= bindparam("now"))
    .limit(bindparam("limit"))
)
_COUNTS = {
    column: Query(
        select(_files.c.status, func.count(), func.coalesce(func.sum(_files.c.usage_bytes), 0))
        .where(_files.c[column] == bindparam("key"))
        .group_by(_files.c.status)
    )
    for column in ("vector_store_id", "batch_id")
}

_file_key = and_(_files.c.vector_store_id == bindparam("store"), _files.c.id == bindparam("file"))
_FILE_GET = Query(
    select(as_bytes(_files.c.doc), _files.c.status, _files.c.batch_id, _files.c.filename).where(
        _file_key, _files.c.project == bindparam("project")
    )
)
_LIVENESS = Query(select(_files.c.status, _files.c.worker, _files.c.heartbeat_at).where(_file_key))
_FILE_PARSED = Query(
    select(_files.c.parsed).where(_file_key, _files.c.project == bindparam("project"))
)
_FILE_INSERT = Query(insert(_files))
_FILE_DELETE = Query(delete(_files).where(_file_key))
_FILE_SET = Query(
    update(_files)
    .where(_files.c.vector_store_id == bindparam("key_store"), _files.c.id == bindparam("key_file"))
    .values(
        doc=bindparam("doc"),
        status=bindparam("status"),
        usage_bytes=bindparam("usage_bytes"),
        worker=bindparam("worker"),
        heartbeat_at=bindparam("heartbeat_at"),
    )
)
_REBATCH = Query(
    update(_files)
    .where(_files.c.vector_store_id == bindparam("key_store"), _files.c.id == bindparam("key_file"))
    .values(batch_id=bindparam("batch_id"))
)
_FILE_PARSED_SET = Query(
    update(_files)
    .where(_files.c.vector_store_id == bindparam("key_store"), _files.c.id == bindparam("key_file"))
    .values(parsed=bindparam("parsed"))
)
_queued = and_(_files.c.status == "in_progress", _files.c.worker.is_(None))
_INGESTING = select(_files.c.project).where(
    _files.c.status == "in_progress", _files.c.worker.is_not(None)
)
# Fair turns between projects: first a file of a project with nothing in ingestion
# (false sorts first), so one project's thousand files delay another's one by at most
# one job; else any queued file.
_CLAIMABLE = Query(
    select(_files.c.vector_store_id, _files.c.id, _files.c.project)
    .where(_queued)
    .order_by(_files.c.project.in_(_INGESTING))
    .limit(1)
    .with_for_update(skip_locked=True)
)
_CLAIM = Query(
    update(_files)
    .where(
        _files.c.vector_store_id == bindparam("key_store"),
        _files.c.id == bindparam("key_file"),
        _files.c.status == "in_progress",
        _files.c.worker.is_(None),
    )
    .values(worker=bindparam("worker"), heartbeat_at=bindparam("now"))
)
_BACKLOG = Query(select(func.count()).select_from(_files).where(_files.c.status == "in_progress"))
_HEARTBEAT = Query(
    update(_files)
    # Not bindparam("worker"): an UPDATE reserves its table's column names for SET.
    .where(_files.c.worker == bindparam("key_worker"), _files.c.status == "in_progress")
    .values(heartbeat_at=bindparam("now"))
)
_STALE = Query(
    select(_files.c.vector_store_id, _files.c.id, _files.c.project)
    .where(
        _files.c.status == "in_progress",
        _files.c.worker.is_not(None),
        _files.c.heartbeat_at < bindparam("before"),
    )
    .limit(bindparam("limit"))
)
_IN_PROGRESS_OF_BATCH = Query(
    select(_files.c.vector_store_id, _files.c.id).where(
        _files.c.batch_id == bindparam("batch"), _files.c.status == "in_progress"
    )
)
_ALL_FILES = Query(select(_files.c.id).where(_files.c.vector_store_id == bindparam("store")))
_FILTERABLE = Query(
    select(_files.c.id, as_bytes(_files.c.doc)).where(
        _files.c.vector_store_id == bindparam("store"), _files.c.status == "completed"
    )
)
_COMPLETED_FILE = Query(
    select(as_bytes(_files.c.doc), _files.c.filename).where(
        _file_key, _files.c.status == "completed"
    )
)


_BATCH_IN_STORE = Query(
    select(as_bytes(_batches.c.doc)).where(
        _batches.c.id == bindparam("id"),
        _batches.c.project == bindparam("project"),
        _batches.c.vector_store_id == bindparam("store"),
    )
)


class VectorStoreRepository(DocumentRepository):
    def __init__(self) -> None:
        super().__init__(_stores)

    def for_search(self, conn: Conn, project: str, store_id: str) -> tuple[bytes, int] | None:
        row = conn.first(_STORE_FOR_SEARCH, {"id": store_id, "project": project})
        return (row[0], int(row[1])) if row else None

    def set(self, conn: Conn, store_id: str, doc: str, sweep_at: int | None) -> None:
        """Write the store's document; `sweep_at` is when the expiry sweeper must look."""
        conn.execute(_STORE_SET, {"key_id": store_id, "doc": doc, "expires_at": sweep_at})

    def bump(self, conn: Conn, store_id: str) -> None:
        conn.execute(_BUMP, {"key_id": store_id})

    def due(self, conn: Conn, now: int, limit: int) -> list[tuple[str, str]]:
        return [(r[0], r[1]) for r in conn.all(_DUE, {"now": now, "limit": limit})]

    def counts(self, conn: Conn, column: str, key: str) -> tuple[dict[str, int], int]:
        """({status: files}, usage bytes) of a store's or a batch's files."""
        counts: dict[str, int] = {}
        usage = 0
        for status, n, used in conn.all(_COUNTS[column], {"key": key}):
            counts[status] = int(n)
            usage += int(used)
        return counts, usage


class StoreFileRepository:
    table = _files

    def backlog(self, conn: Conn) -> int:
        """Files waiting for or in ingestion, in every store."""
        row = conn.first(_BACKLOG, {})
        return int(row[0]) if row else 0

    def get(self, conn: Conn, project: str, store_id: str, file_id: str) -> tuple[Any, ...] | None:
        """(doc, status, batch_id, filename) or None."""
        return conn.first(_FILE_GET, {"store": store_id, "file": file_id, "project": project})

    def parsed(self, conn: Conn, project: str, store_id: str, file_id: str) -> str | None:
        row = conn.first(_FILE_PARSED, {"store": store_id, "file": file_id, "project": project})
        return row[0] if row else None

    def insert(self, conn: Conn, values: Mapping[str, Any]) -> None:
        conn.execute(_FILE_INSERT, values)

    def delete(self, conn: Conn, store_id: str, file_id: str) -> bool:
        return conn.execute(_FILE_DELETE, {"store": store_id, "file": file_id}) > 0

    def set(
        self,
        conn: Conn,
        store_id: str,
        file_id: str,
        *,
        doc: str,
        status: str,
        usage_bytes: int,
        worker: str | None = None,
        heartbeat_at: int | None = None,
    ) -> None:
        conn.execute(
            _FILE_SET,
            {
                "key_store": store_id,
                "key_file": file_id,
                "doc": doc,
                "status": status,
                "usage_bytes": usage_bytes,
                "worker": worker,
                "heartbeat_at": heartbeat_at,
            },
        )

    def set_parsed(self, conn: Conn, store_id: str, file_id: str, parsed: str) -> None:
        conn.execute(
            _FILE_PARSED_SET, {"key_store": store_id, "key_file": file_id, "parsed": parsed}
        )

    def liveness(
        self, conn: Conn, store_id: str, file_id: str
    ) -> tuple[str, str | None, int | None] | None:
        """(status, worker, heartbeat_at) of an attached file, or None."""
        row = conn.first(_LIVENESS, {"store": store_id, "file": file_id})
        if row is None:
            return None
        return row[0], row[1], int(row[2]) if row[2] is not None else None

    def rebatch(self, conn: Conn, store_id: str, file_id: str, batch_id: str) -> None:
        conn.execute(_REBATCH, {"key_store": store_id, "key_file": file_id, "batch_id": batch_id})

    def claim(self, conn: Conn, worker: str, now: int) -> tuple[str, str, str] | None:
        """(store, file, project) of a file nobody is ingesting, now claimed by `worker`:
        one of a project with no file in ingestion if there is one."""
        row = conn.first(_CLAIMABLE, {})
        if row is None:
            return None
        params = {"key_store": row[0], "key_file": row[1], "worker": worker, "now": now}
        if conn.execute(_CLAIM, params) != 1:
            return None
        return row[0], row[1], row[2]

    def heartbeat(self, conn: Conn, worker: str, now: int) -> None:
        conn.execute(_HEARTBEAT, {"key_worker": worker, "now": now})

    def stale(self, conn: Conn, before: int, limit: int) -> list[tuple[str, str, str]]:
        rows = conn.all(_STALE, {"before": before, "limit": limit})
        return [(r[0], r[1], r[2]) for r in rows]

    def in_progress_of_batch(self, conn: Conn, batch_id: str) -> list[tuple[str, str]]:
        return [(r[0], r[1]) for r in conn.all(_IN_PROGRESS_OF_BATCH, {"batch": batch_id})]

    def ids(self, conn: Conn, store_id: str) -> list[str]:
        return [r[0] for r in conn.all(_ALL_FILES, {"store": store_id})]

    def completed_docs(self, conn: Conn, store_id: str) -> list[tuple[str, bytes]]:
        return [(r[0], r[1]) for r in conn.all(_FILTERABLE, {"store": store_id})]

    def completed(self, conn: Conn, store_id: str, file_id: str) -> tuple[bytes, str] | None:
        """(doc, filename) of one completed file of the store (a search result's), or None."""
        row = conn.first(_COMPLETED_FILE, {"store": store_id, "file": file_id})
        return (row[0], row[1]) if row else None

    def page(self, conn: Conn, scope: dict[str, Any], params: ListParams) -> Page:
        return fetch_page(conn, _files, scope, params)


class BatchRepository(DocumentRepository):
    def __init__(self) -> None:
        super().__init__(_batches)

    def get_in_store(self, conn: Conn, project: str, store_id: str, batch_id: str) -> bytes | None:
        row = conn.first(_BATCH_IN_STORE, {"id": batch_id, "project": project, "store": store_id})
        return row[0] if row else None


# The one instance of each: repositories hold compiled statements and no state.
stores_repo = VectorStoreRepository()
store_files_repo = StoreFileRepository()
batches_repo = BatchRepository()
