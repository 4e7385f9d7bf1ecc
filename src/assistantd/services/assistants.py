"""AssistantService: create, read, modify, delete and list assistants."""

from __future__ import annotations

from typing import Any

import orjson

from assistantd import clock
from assistantd.errors import NotFound
from assistantd.ids import IdKind, new_id
from assistantd.protocol.assistants import AssistantCreate, AssistantUpdate
from assistantd.protocol.common import ListParams
from assistantd.protocol.documents import AssistantDoc
from assistantd.services.documents import dump, encode, metadata_or_empty
from assistantd.services.file_refs import resource_refs, store_refs
from assistantd.services.files import FileService
from assistantd.services.tool_resources import realize_stores, render_tool_resources
from assistantd.services.vector_store_docs import check_store_refs
from assistantd.services.vector_stores import VectorStoreService
from assistantd.store.db import Database
from assistantd.store.repos.assistants import assistants_repo
from assistantd.store.repos.pages import render_list
from assistantd.store.sql import Conn

__all__ = ["AssistantService"]


def _response_format(value: Any) -> Any:
    return value if isinstance(value, str) or value is None else dump(value)


class AssistantService:
    def __init__(self, db: Database, files: FileService, vector_stores: VectorStoreService) -> None:
        self.db = db
        self.files = files
        self.vector_stores = vector_stores
        self.repo = assistants_repo

    async def create(self, project: str, req: AssistantCreate) -> bytes:
        assistant_id = new_id(IdKind.assistant)
        created_at = clock.now()
        # Key order follows OpenAI's AssistantObject reference.
        doc: AssistantDoc = {
            "id": assistant_id,
            "object": "assistant",
            "created_at": created_at,
            "name": req.name,
            "description": req.description,
            "model": req.model,
            "instructions": req.instructions,
            "tools": [dump(tool) for tool in req.tools],
            "tool_resources": render_tool_resources(req.tool_resources, "tool_resources"),
            "metadata": metadata_or_empty(req.metadata),
            "top_p": req.top_p,
            "temperature": req.temperature,
            "response_format": _response_format(req.response_format),
        }
        text = encode(doc)
        values = {
            "id": assistant_id,
            "project": project,
            "created_at": created_at,
            "reasoning_effort": req.reasoning_effort,
            "doc": text,
        }
        refs = resource_refs(req.tool_resources)
        stores_named = store_refs(req.tool_resources)

        def unit(conn: Conn) -> tuple[str, bool]:
            self.files.check_refs(conn, project, refs)
            check_store_refs(conn, project, stores_named)
            made: AssistantDoc = {**doc, "tool_resources": dict(doc["tool_resources"])}
            queued = realize_stores(
                conn, project, made["tool_resources"], self.vector_stores, default_days=None
            )
            final = encode(made)
            self.repo.insert(conn, {**values, "doc": final})
            return final, queued

        final, queued = await self.db.write(unit)
        if queued:
            self.vector_stores.wake()
        return final.encode()

    async def get(self, project: str, assistant_id: str) -> bytes:
        doc = await self.db.read(lambda conn: self.repo.get_doc(conn, project, assistant_id))
        if doc is None:
            raise NotFound.object("assistant", assistant_id)
        return doc

    async def update(self, project: str, assistant_id: str, req: AssistantUpdate) -> bytes:
        changes: dict[str, Any] = {}
        for field in req.model_fields_set:
            value = getattr(req, field)
            if field == "tools":
                changes[field] = [dump(tool) for tool in value or []]
            elif field == "tool_resources":
                changes[field] = render_tool_resources(value, "tool_resources", modify=True)
            elif field == "metadata":
                changes[field] = metadata_or_empty(value)
            elif field == "response_format":
                changes[field] = _response_format(value) if value is not None else "auto"
            elif field == "model" and value is None:
                continue  # model cannot be unset
            elif field != "reasoning_effort":
                changes[field] = value

        refs = resource_refs(req.tool_resources)
        stores_named = store_refs(req.tool_resources)

        def unit(conn: Conn) -> str:
            self.files.check_refs(conn, project, refs)
            check_store_refs(conn, project, stores_named)
            text = self.repo.patch(conn, project, assistant_id, changes)
            if text is None:
                raise NotFound.object("assistant", assistant_id)
            if "reasoning_effort" in req.model_fields_set:
                self.repo.set_reasoning_effort(conn, project, assistant_id, req.reasoning_effort)
            return text

        return (await self.db.write(unit)).encode()

    async def delete(self, project: str, assistant_id: str) -> bytes:
        deleted = await self.db.write(lambda conn: self.repo.delete(conn, project, assistant_id))
        if not deleted:
            raise NotFound.object("assistant", assistant_id)
        return orjson.dumps({"id": assistant_id, "object": "assistant.deleted", "deleted": True})

    async def list(self, project: str, params: ListParams) -> bytes:
        page = await self.db.read(lambda conn: self.repo.page(conn, project, params))
        return render_list(page)
