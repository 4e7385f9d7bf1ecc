"""ThreadService: threads, created with their first messages in one transaction."""

from __future__ import annotations

import orjson

from assistantd import clock
from assistantd.errors import InvalidRequest, NotFound
from assistantd.ids import IdKind, new_id
from assistantd.protocol.common import ListParams
from assistantd.protocol.documents import ThreadDoc
from assistantd.protocol.threads import ThreadCreate, ThreadUpdate
from assistantd.protocol.tools import ToolResources
from assistantd.services.documents import encode, metadata_or_empty
from assistantd.services.file_refs import message_refs, resource_refs, store_refs
from assistantd.services.files import FileService
from assistantd.services.messages import message_rows
from assistantd.services.tool_resources import (
    THREAD_STORE_DAYS,
    attach_to_thread_store,
    file_search_attachments,
    realize_stores,
    render_tool_resources,
)
from assistantd.services.vector_store_docs import check_store_refs
from assistantd.services.vector_stores import VectorStoreService
from assistantd.store.db import Database
from assistantd.store.repos.messages import messages_repo
from assistantd.store.repos.pages import Page, render_list
from assistantd.store.repos.threads import threads_repo
from assistantd.store.sql import Conn

__all__ = ["ThreadService", "thread_doc"]


def thread_doc(
    *,
    thread_id: str,
    created_at: int,
    metadata: dict[str, str] | None,
    tool_resources: ToolResources | None,
) -> ThreadDoc:
    return {
        "id": thread_id,
        "object": "thread",
        "created_at": created_at,
        "metadata": metadata_or_empty(metadata),
        "tool_resources": render_tool_resources(tool_resources, "tool_resources"),
    }


class ThreadService:
    def __init__(
        self,
        db: Database,
        files: FileService,
        vector_stores: VectorStoreService,
        *,
        filter_scan_rows: int = 10_000,
    ) -> None:
        self.filter_scan_rows = filter_scan_rows
        self.db = db
        self.files = files
        self.vector_stores = vector_stores
        self.repo = threads_repo
        self.messages = messages_repo

    async def list(self, project: str, params: ListParams, metadata: dict[str, str]) -> bytes:
        """The project's threads (an extension: OpenAI listed them only in its dashboard),
        those whose metadata holds every pair of `metadata` if given."""
        return render_list(await self.page(project, params, metadata))

    async def page(self, project: str, params: ListParams, metadata: dict[str, str]) -> Page:
        """A page of the project's threads (and conversations: they are one)."""
        scan = self.filter_scan_rows
        # Off the event loop: a filtered page reads up to `scan` documents.
        found = await self.db.read_heavy(
            lambda conn: self.repo.page_threads(conn, project, params, metadata, scan)
        )
        if found.exhausted:
            raise InvalidRequest(
                f"No thread matched the metadata filter among the {scan} threads past the "
                "cursor, the most one request reads (thread metadata has no index). Page "
                "from a nearer cursor with `after`/`before`, or filter on fewer threads.",
                param="metadata",
                code="filter_scan_limit",
            )
        return found.page

    async def create(self, project: str, req: ThreadCreate) -> bytes:
        thread_id = new_id(IdKind.thread)
        created_at = clock.now()
        doc = thread_doc(
            thread_id=thread_id,
            created_at=created_at,
            metadata=req.metadata,
            tool_resources=req.tool_resources,
        )
        rows = message_rows(
            req.messages, project=project, thread_id=thread_id, created_at=created_at
        )
        text = encode(doc)
        row = {"id": thread_id, "project": project, "created_at": created_at, "doc": text}

        refs = resource_refs(req.tool_resources)
        stores_named = store_refs(req.tool_resources)
        for i, message in enumerate(req.messages):
            refs += message_refs(message, prefix=f"messages[{i}].")

        attachments = file_search_attachments(req.messages, "messages")

        def unit(conn: Conn) -> tuple[str, bool]:
            self.files.check_refs(conn, project, refs)
            check_store_refs(conn, project, stores_named)
            made: ThreadDoc = {**doc, "tool_resources": dict(doc["tool_resources"])}
            queued = realize_stores(
                conn,
                project,
                made["tool_resources"],
                self.vector_stores,
                default_days=THREAD_STORE_DAYS,
            )
            if attachments:
                attach_to_thread_store(conn, project, made, attachments, self.vector_stores)
                queued = True
            final = encode(made)
            self.repo.insert(conn, {**row, "doc": final})
            self.messages.insert_many(conn, rows)
            return final, queued

        final, queued = await self.db.write(unit)
        if queued:
            self.vector_stores.wake()
        return final.encode()

    async def get(self, project: str, thread_id: str) -> bytes:
        doc = await self.db.read(lambda conn: self.repo.get_doc(conn, project, thread_id))
        if doc is None:
            raise NotFound.object("thread", thread_id)
        return doc

    async def update(self, project: str, thread_id: str, req: ThreadUpdate) -> bytes:
        changes: dict[str, object] = {}
        if "metadata" in req.model_fields_set:
            changes["metadata"] = metadata_or_empty(req.metadata)
        if "tool_resources" in req.model_fields_set:
            changes["tool_resources"] = render_tool_resources(
                req.tool_resources, "tool_resources", modify=True
            )

        refs = resource_refs(req.tool_resources)
        stores_named = store_refs(req.tool_resources)

        def unit(conn: Conn) -> str:
            self.files.check_refs(conn, project, refs)
            check_store_refs(conn, project, stores_named)
            text = self.repo.patch(conn, project, thread_id, changes)
            if text is None:
                raise NotFound.object("thread", thread_id)
            return text

        return (await self.db.write(unit)).encode()

    async def delete(self, project: str, thread_id: str) -> bytes:
        # Messages go with the thread (ON DELETE CASCADE).
        deleted = await self.db.write(lambda conn: self.repo.delete(conn, project, thread_id))
        if not deleted:
            raise NotFound.object("thread", thread_id)
        return orjson.dumps({"id": thread_id, "object": "thread.deleted", "deleted": True})
