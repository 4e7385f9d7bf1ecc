"""VectorStoreFileService: a store's files and file batches (the attach, list, update,
detach and content operations, batches and their cancel).

Attaching goes through `VectorStoreService.attach_files`, which queues each File for
ingestion in the same transaction; the answer waits briefly for this process's worker
(`VectorStoreService.wait_for`), so a small file is usually `completed` in it.
"""

from __future__ import annotations

from typing import Any

import orjson

from assistantd import clock
from assistantd.errors import NotFound
from assistantd.ids import IdKind, new_id
from assistantd.protocol.vector_stores import FileBatchCreate, StoreFileCreate, StoreFileListParams
from assistantd.services.documents import encode
from assistantd.services.vector_store_docs import batch_doc, refresh
from assistantd.services.vector_stores import Attach, VectorStoreService
from assistantd.store.db import Database
from assistantd.store.repos.pages import render_list
from assistantd.store.repos.vector_stores import batches_repo as batches
from assistantd.store.repos.vector_stores import store_files_repo as files
from assistantd.store.repos.vector_stores import stores_repo as stores
from assistantd.store.sql import Conn

__all__ = ["VectorStoreFileService"]


class VectorStoreFileService:
    def __init__(self, db: Database, vector_stores: VectorStoreService) -> None:
        self.db = db
        self.stores = vector_stores

    async def attach(self, project: str, store_id: str, req: StoreFileCreate) -> bytes:
        item = Attach(req.file_id, "file_id", req.chunking_strategy, req.attributes)

        def unit(conn: Conn) -> list[str]:
            self.stores.live(conn, project, store_id)
            queued = self.stores.attach_files(conn, project, store_id, [item], None)
            refresh(conn, project, store_id)
            return queued

        queued = await self.db.write(unit)
        await self.stores.wait_for(store_id, queued)
        return await self.get_file(project, store_id, req.file_id)

    async def get_file(self, project: str, store_id: str, file_id: str) -> bytes:
        def unit(conn: Conn) -> bytes | None:
            if stores.get_doc(conn, project, store_id) is None:
                raise NotFound(f"No vector store found with id '{store_id}'.")
            row = files.get(conn, project, store_id, file_id)
            return row[0] if row else None

        found = await self.db.read(unit)
        if found is None:
            raise NotFound(f"No file found with id '{file_id}' in vector store '{store_id}'.")
        return found

    async def list_files(
        self, project: str, store_id: str, params: StoreFileListParams, batch_id: str | None = None
    ) -> bytes:
        def unit(conn: Conn) -> bytes:
            if stores.get_doc(conn, project, store_id) is None:
                raise NotFound(f"No vector store found with id '{store_id}'.")
            scope: dict[str, Any] = {"vector_store_id": store_id}
            if batch_id is not None:
                if batches.get_in_store(conn, project, store_id, batch_id) is None:
                    raise NotFound(f"No file batch found with id '{batch_id}'.")
                scope["batch_id"] = batch_id
            if params.filter is not None:
                scope["status"] = params.filter
            return render_list(files.page(conn, scope, params))

        return await self.db.read(unit)

    async def update_file(
        self, project: str, store_id: str, file_id: str, attributes: dict[str, Any] | None
    ) -> bytes:
        def unit(conn: Conn) -> bytes:
            self.stores.locked(conn, project, store_id)
            row = files.get(conn, project, store_id, file_id)
            if row is None:
                raise NotFound(f"No file found with id '{file_id}' in vector store '{store_id}'.")
            doc = orjson.loads(row[0])
            doc["attributes"] = attributes or {}
            text = encode(doc)
            files.set(
                conn, store_id, file_id, doc=text, status=row[1], usage_bytes=doc["usage_bytes"]
            )
            return text.encode()

        return await self.db.write(unit)

    async def detach(self, project: str, store_id: str, file_id: str) -> bytes:
        def unit(conn: Conn) -> bool:
            self.stores.locked(conn, project, store_id)
            row = files.get(conn, project, store_id, file_id)
            if row is None:
                return False
            files.delete(conn, store_id, file_id)
            self.stores.chunks.remove(conn, store_id, file_id)
            stores.bump(conn, store_id)
            refresh(conn, project, store_id, [row[2]])
            return True

        if not await self.db.write(unit):
            raise NotFound(f"No file found with id '{file_id}' in vector store '{store_id}'.")
        return orjson.dumps({"id": file_id, "object": "vector_store.file.deleted", "deleted": True})

    async def content(self, project: str, store_id: str, file_id: str) -> bytes:
        await self.get_file(project, store_id, file_id)
        parsed = await self.db.read(lambda conn: files.parsed(conn, project, store_id, file_id))
        pages = orjson.loads(parsed) if parsed else []
        data = [{"type": "text", "text": page} for page in pages if page]
        return orjson.dumps(
            {
                "object": "vector_store.file_content.page",
                "data": data,
                "has_more": False,
                "next_page": None,
            }
        )

    # -- batches -------------------------------------------------------------------

    async def create_batch(self, project: str, store_id: str, req: FileBatchCreate) -> bytes:
        if req.files is not None:
            items = [
                Attach(f.file_id, f"files[{i}].file_id", f.chunking_strategy, f.attributes)
                for i, f in enumerate(req.files)
            ]
        else:
            items = [
                Attach(f, f"file_ids[{i}]", req.chunking_strategy, req.attributes)
                for i, f in enumerate(req.file_ids or [])
            ]
        batch_id = new_id(IdKind.vector_store_file_batch)

        def unit(conn: Conn) -> list[str]:
            self.stores.live(conn, project, store_id)
            doc = batch_doc(batch_id=batch_id, store_id=store_id, created_at=clock.now())
            batches.insert(
                conn,
                {
                    "id": batch_id,
                    "vector_store_id": store_id,
                    "project": project,
                    "doc": encode(doc),
                },
            )
            queued = self.stores.attach_files(conn, project, store_id, items, batch_id)
            # Files already attached join the batch as they are.
            for item in items:
                if item.file_id not in queued:
                    files.rebatch(conn, store_id, item.file_id, batch_id)
            refresh(conn, project, store_id, [batch_id])
            return queued

        queued = await self.db.write(unit)
        await self.stores.wait_for(store_id, queued)
        return await self.get_batch(project, store_id, batch_id)

    async def get_batch(self, project: str, store_id: str, batch_id: str) -> bytes:
        def unit(conn: Conn) -> bytes | None:
            if stores.get_doc(conn, project, store_id) is None:
                raise NotFound(f"No vector store found with id '{store_id}'.")
            return batches.get_in_store(conn, project, store_id, batch_id)

        found = await self.db.read(unit)
        if found is None:
            raise NotFound(f"No file batch found with id '{batch_id}'.")
        return found

    async def cancel_batch(self, project: str, store_id: str, batch_id: str) -> bytes:
        """Files still in progress become `cancelled` at once, so the batch's in-progress
        count is 0 and its status final together (Python polls one, Node the other)."""

        def unit(conn: Conn) -> None:
            self.stores.locked(conn, project, store_id)
            raw = batches.get_in_store(conn, project, store_id, batch_id)
            if raw is None:
                raise NotFound(f"No file batch found with id '{batch_id}'.")
            for s, file_id in files.in_progress_of_batch(conn, batch_id):
                row = files.get(conn, project, s, file_id)
                if row is None:
                    continue
                doc = orjson.loads(row[0])
                doc["status"] = "cancelled"
                files.set(conn, s, file_id, doc=encode(doc), status="cancelled", usage_bytes=0)
            batch = orjson.loads(raw)
            if batch["status"] == "in_progress":
                batch["status"] = "cancelled"
                batches.replace(conn, project, batch_id, encode(batch))
            refresh(conn, project, store_id, [batch_id])

        await self.db.write(unit)
        return await self.get_batch(project, store_id, batch_id)
