"""VectorStoreService: stores, queueing Files for ingestion, the wait for it, expiry.

Attaching a File writes a vector-store file `in_progress` with no worker: that row is
the ingestion queue (engine/ingestion.py claims it), committed with the attach itself,
as runs are. The answer waits briefly for a worker in this process, so a small file
is usually `completed` in the attach response, which is what clients that never poll
expect; a large one comes back `in_progress` and the SDK helpers poll.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from functools import partial
from typing import Any

import orjson

from assistantd import clock
from assistantd.errors import InvalidRequest, NotFound
from assistantd.ids import IdKind, new_id
from assistantd.protocol.common import ListParams
from assistantd.protocol.documents import VectorStoreDoc
from assistantd.protocol.tools import AutoChunking, StaticChunking
from assistantd.protocol.vector_stores import (
    VectorStoreCreate,
    VectorStoreUpdate,
)
from assistantd.retrieval.chunking import strategy_of
from assistantd.retrieval.parsing import SUPPORTED_EXTENSIONS, extension_of
from assistantd.services.documents import dump, encode, metadata_or_empty
from assistantd.services.files import FileService
from assistantd.services.vector_store_docs import refresh, set_expiry, store_doc, store_file_doc
from assistantd.store.chunks import ChunkIndex
from assistantd.store.db import Database
from assistantd.store.repos.pages import render_list
from assistantd.store.repos.vector_stores import store_files_repo as files
from assistantd.store.repos.vector_stores import stores_repo as stores
from assistantd.store.sql import Conn

__all__ = ["Attach", "VectorStoreService"]

# Python polls every second and Node every five unless told: ingestion takes less.
POLL_AFTER_MS = 200


@dataclass(frozen=True)
class Attach:
    file_id: str
    param: str
    chunking: AutoChunking | StaticChunking | None = None
    attributes: dict[str, Any] | None = None


def _check_chunking(chunking: AutoChunking | StaticChunking | None, param: str) -> None:
    if isinstance(chunking, StaticChunking):
        static = chunking.static
        if static.chunk_overlap_tokens > static.max_chunk_size_tokens // 2:
            raise InvalidRequest(
                "Invalid 'chunking_strategy.static.chunk_overlap_tokens': it must not exceed "
                f"half of max_chunk_size_tokens ({static.max_chunk_size_tokens // 2}).",
                param=f"{param}.static.chunk_overlap_tokens",
                code="invalid_value",
            )


@dataclass
class _Waiting:
    """Runs waiting for any file of one store to finish ingesting."""

    event: asyncio.Event = field(default_factory=asyncio.Event)
    count: int = 0


class VectorStoreService:
    def __init__(
        self,
        db: Database,
        file_service: FileService,
        chunks: ChunkIndex,
        *,
        wake: Callable[[], None] = lambda: None,
        inline_wait_s: float = 1.0,
    ) -> None:
        self.db = db
        self.file_service = file_service
        self.chunks = chunks
        self.wake = wake
        self.inline_wait_s = inline_wait_s
        self._done: dict[tuple[str, str], asyncio.Event] = {}
        self._store_done: dict[str, _Waiting] = {}

    # -- ingestion handshake ------------------------------------------------------

    def finished(self, store_id: str, file_id: str) -> None:
        """Called by the in-process ingestion worker when a file leaves in_progress."""
        event = self._done.get((store_id, file_id))
        if event is not None:
            event.set()
        waiting = self._store_done.pop(store_id, None)
        if waiting is not None:
            waiting.event.set()

    async def file_finished(self, store_id: str, timeout_s: float) -> None:
        """Return when this process's ingestion finishes any file of the store, or after
        `timeout_s` (the file may be another process's)."""
        waiting = self._store_done.setdefault(store_id, _Waiting())
        waiting.count += 1
        try:
            await asyncio.wait_for(waiting.event.wait(), timeout_s)
        except TimeoutError:
            pass
        finally:
            waiting.count -= 1
            if not waiting.count and self._store_done.get(store_id) is waiting:
                del self._store_done[store_id]

    async def wait_for(self, store_id: str, file_ids: Sequence[str]) -> None:
        if not file_ids or self.inline_wait_s <= 0:
            return
        events = [self._done.setdefault((store_id, f), asyncio.Event()) for f in file_ids]
        self.wake()
        try:
            waits = [asyncio.ensure_future(e.wait()) for e in events]
            _, pending = await asyncio.wait(waits, timeout=self.inline_wait_s)
            for task in pending:
                task.cancel()
        finally:
            for f in file_ids:
                self._done.pop((store_id, f), None)

    # -- stores -------------------------------------------------------------------

    def locked(self, conn: Conn, project: str, store_id: str) -> VectorStoreDoc:
        raw = stores.get_doc_for_update(conn, project, store_id)
        if raw is None:
            raise NotFound(f"No vector store found with id '{store_id}'.")
        doc: VectorStoreDoc = orjson.loads(raw)
        return doc

    def live(self, conn: Conn, project: str, store_id: str) -> VectorStoreDoc:
        """A store that can take files: an expired one cannot."""
        doc = self.locked(conn, project, store_id)
        if doc["status"] == "expired":
            raise InvalidRequest(
                f"Vector store '{store_id}' has expired.", code="vector_store_expired"
            )
        return doc

    def attach_files(
        self,
        conn: Conn,
        project: str,
        store_id: str,
        items: Sequence[Attach],
        batch_id: str | None,
    ) -> list[str]:
        """Queue Files for ingestion (a File already attached keeps its state)."""
        now = clock.now()
        self.file_service.check_refs(conn, project, [(a.file_id, a.param) for a in items])
        queued: list[str] = []
        for item in items:
            filename = self.file_service.filename(conn, project, item.file_id)
            assert filename is not None  # checked above
            ext = extension_of(filename)
            if ext not in SUPPORTED_EXTENSIONS:
                raise InvalidRequest(
                    f"Files with extensions [{ext or '(none)'}] are not supported for "
                    "retrieval. See https://platform.openai.com/docs/assistants/tools/"
                    "file-search/supported-files",
                    param=item.param,
                    code="unsupported_file",
                )
            _check_chunking(item.chunking, item.param)
            if files.get(conn, project, store_id, item.file_id) is not None:
                continue
            doc = store_file_doc(
                file_id=item.file_id,
                store_id=store_id,
                created_at=now,
                status="in_progress",
                chunking_strategy=strategy_of(dump(item.chunking) if item.chunking else None),
                attributes=item.attributes or {},
            )
            files.insert(
                conn,
                {
                    "vector_store_id": store_id,
                    "id": item.file_id,
                    "project": project,
                    "status": "in_progress",
                    "batch_id": batch_id,
                    "usage_bytes": 0,
                    "filename": filename[:512],
                    "worker": None,
                    "heartbeat_at": None,
                    "parsed": None,
                    "doc": encode(doc),
                },
            )
            queued.append(item.file_id)
        return queued

    def create_unit(
        self,
        conn: Conn,
        project: str,
        req: VectorStoreCreate,
        *,
        default_days: int | None = None,
        param: str = "",
    ) -> tuple[bytes, list[str]]:
        """Inside any write unit (assistant and thread creates call it too)."""
        now = clock.now()
        store_id = new_id(IdKind.vector_store)
        expires_after = dump(req.expires_after) if req.expires_after else None
        if expires_after is None and default_days:
            expires_after = {"anchor": "last_active_at", "days": default_days}
        doc = store_doc(
            store_id=store_id,
            created_at=now,
            name=req.name,
            description=req.description,
            expires_after=expires_after,
            last_active_at=now,
            metadata=metadata_or_empty(req.metadata),
        )
        stores.insert(
            conn,
            {
                "id": store_id,
                "project": project,
                "created_at": now,
                "expires_at": doc["expires_at"],
                "generation": 0,
                "doc": encode(doc),
            },
        )
        items = [
            Attach(f, f"{param}file_ids[{i}]", req.chunking_strategy)
            for i, f in enumerate(req.file_ids)
        ]
        queued = self.attach_files(conn, project, store_id, items, None)
        return refresh(conn, project, store_id), queued

    async def create(self, project: str, req: VectorStoreCreate) -> bytes:
        doc, queued = await self.db.write(lambda conn: self.create_unit(conn, project, req))
        if queued:
            store_id = orjson.loads(doc)["id"]
            await self.wait_for(store_id, queued)
            return await self.get(project, store_id)
        return doc

    async def get(self, project: str, store_id: str) -> bytes:
        raw = await self.db.read(lambda conn: stores.get_doc(conn, project, store_id))
        if raw is None:
            raise NotFound(f"No vector store found with id '{store_id}'.")
        return raw

    async def list(self, project: str, params: ListParams) -> bytes:
        return render_list(await self.db.read(lambda conn: stores.page(conn, project, params)))

    async def update(self, project: str, store_id: str, req: VectorStoreUpdate) -> bytes:
        sent = req.model_fields_set

        def unit(conn: Conn) -> bytes:
            doc = self.locked(conn, project, store_id)
            if "name" in sent:
                doc["name"] = req.name
            if "metadata" in sent:
                doc["metadata"] = metadata_or_empty(req.metadata)
            if "expires_after" in sent:
                doc.pop("expires_after", None)
                if req.expires_after is not None:
                    doc["expires_after"] = dump(req.expires_after)
            sweep_at = set_expiry(doc)
            text = encode(doc)
            stores.set(conn, store_id, text, sweep_at)
            return text.encode()

        return await self.db.write(unit)

    async def delete(self, project: str, store_id: str) -> bytes:
        def unit(conn: Conn) -> bool:
            self.chunks.remove(conn, store_id, None)
            return stores.delete(conn, project, store_id)

        if not await self.db.write(unit):
            raise NotFound(f"No vector store found with id '{store_id}'.")
        return orjson.dumps({"id": store_id, "object": "vector_store.deleted", "deleted": True})

    def touch(self, conn: Conn, project: str, store_id: str) -> VectorStoreDoc | None:
        """The store was used by a run: `last_active_at` moves and so does its expiry."""
        raw = stores.get_doc_for_update(conn, project, store_id)
        if raw is None:
            return None
        doc: VectorStoreDoc = orjson.loads(raw)
        if doc["status"] == "expired":
            return doc
        doc["last_active_at"] = clock.now()
        sweep_at = set_expiry(doc)
        stores.set(conn, store_id, encode(doc), sweep_at)
        return doc

    async def expire_due(self, limit: int = 100) -> int:
        """Stores past `expires_at` become `expired` and lose their files (lazily, here)."""
        due = await self.db.read(lambda conn: stores.due(conn, clock.now(), limit))

        def unit(conn: Conn, project: str, store_id: str) -> None:
            raw = stores.get_doc_for_update(conn, project, store_id)
            if raw is None:
                return
            doc = orjson.loads(raw)
            if doc["expires_at"] is None or doc["expires_at"] > clock.now():
                stores.set(conn, store_id, raw.decode(), doc["expires_at"])
                return
            for file_id in files.ids(conn, store_id):
                files.delete(conn, store_id, file_id)
            self.chunks.remove(conn, store_id, None)
            stores.bump(conn, store_id)
            doc["status"] = "expired"
            stores.set(conn, store_id, encode(doc), None)
            refresh(conn, project, store_id)

        for store_id, project in due:
            await self.db.write(partial(unit, project=project, store_id=store_id))
        return len(due)

    def attach_unit(self, conn: Conn, project: str, store_id: str, items: Sequence[Attach]) -> None:
        """Inside any write unit (message attachments): queue Files into a store."""
        if stores.get_doc(conn, project, store_id) is not None:
            self.attach_files(conn, project, store_id, items, None)
