"""MessageService: messages of a thread, and the one function that shapes a new message."""

from __future__ import annotations

from typing import Any

import orjson

from assistantd import clock
from assistantd.errors import APIError, InvalidRequest, NotFound
from assistantd.ids import IdKind, new_id
from assistantd.protocol.common import ListParams
from assistantd.protocol.messages import ContentPart, MessageCreate, MessageUpdate, TextPart
from assistantd.protocol.objects import MessageDoc
from assistantd.services.documents import dump, encode, metadata_or_empty
from assistantd.services.file_refs import message_refs
from assistantd.services.files import FileService
from assistantd.services.tool_resources import attach_to_thread_store, file_search_attachments
from assistantd.services.vector_stores import Attach, VectorStoreService
from assistantd.store.db import Database
from assistantd.store.repos.messages import messages_repo
from assistantd.store.repos.pages import render_list
from assistantd.store.repos.runs import runs_repo
from assistantd.store.repos.threads import threads_repo
from assistantd.store.sql import Conn

__all__ = ["MessageService", "message_doc", "message_rows"]


def _text(value: str) -> dict[str, Any]:
    return {"type": "text", "text": {"value": value, "annotations": []}}


def _content(content: str | list[ContentPart]) -> list[dict[str, Any]]:
    if isinstance(content, str):
        return [_text(content)]
    parts: list[dict[str, Any]] = []
    for part in content:
        if isinstance(part, TextPart):
            parts.append(_text(part.text))
        else:
            # image_file / image_url: echo with `detail` filled in, as OpenAI did.
            parts.append(part.model_dump(mode="json"))
    return parts


def _thread_locked(thread_id: str, run_id: str) -> InvalidRequest:
    return InvalidRequest(
        f"Can't add messages to {thread_id} while a run {run_id} is active.",
        code="thread_locked",
    )


def message_doc(
    req: MessageCreate, *, message_id: str, thread_id: str, created_at: int
) -> MessageDoc:
    """A user- or API-created message: already complete, not tied to any run."""
    # Key order follows OpenAI's MessageObject reference.
    return {
        "id": message_id,
        "object": "thread.message",
        "created_at": created_at,
        "assistant_id": None,
        "thread_id": thread_id,
        "run_id": None,
        "status": "completed",
        "incomplete_details": None,
        "completed_at": created_at,
        "incomplete_at": None,
        "role": req.role,
        "content": _content(req.content),
        "attachments": [dump(a) for a in req.attachments or []],
        "metadata": metadata_or_empty(req.metadata),
    }


def message_rows(
    requests: list[MessageCreate], *, project: str, thread_id: str, created_at: int
) -> list[dict[str, Any]]:
    """Rows for messages created together (a new thread's, a run's additional ones)."""
    rows = []
    for req in requests:
        message_id = new_id(IdKind.message)
        doc = message_doc(req, message_id=message_id, thread_id=thread_id, created_at=created_at)
        rows.append(
            {
                "id": message_id,
                "project": project,
                "thread_id": thread_id,
                "run_id": None,
                "created_at": created_at,
                "doc": encode(doc),
            }
        )
    return rows


class MessageService:
    def __init__(self, db: Database, files: FileService, vector_stores: VectorStoreService) -> None:
        self.db = db
        self.files = files
        self.vector_stores = vector_stores
        self.repo = messages_repo
        self.threads = threads_repo
        self.runs = runs_repo

    async def create(self, project: str, thread_id: str, req: MessageCreate) -> bytes:
        message_id = new_id(IdKind.message)
        created_at = clock.now()
        text = encode(
            message_doc(req, message_id=message_id, thread_id=thread_id, created_at=created_at)
        )
        refs = message_refs(req)
        attachments = file_search_attachments([req], None)

        def unit(conn: Conn) -> APIError | None:
            if refs:
                self.files.check_refs(conn, project, refs)
            # The insert is refused when the thread is missing or busy. The reason is
            # decided here, in the same unit: a run that ends between the insert and a
            # later read would otherwise turn "busy" into a 404 for a live thread.
            for _ in range(3):
                if self.repo.insert_into_thread(
                    conn,
                    project=project,
                    thread_id=thread_id,
                    message_id=message_id,
                    created_at=created_at,
                    doc=text,
                ):
                    if attachments:
                        self._attach(conn, project, thread_id, attachments)
                    return None
                if self.threads.get_doc(conn, project, thread_id) is None:
                    return NotFound.object("thread", thread_id)
                active = self.runs.active_run(conn, thread_id)
                if active is not None:
                    return _thread_locked(thread_id, active)
                # The blocking run ended between the two statements: insert again.
            return InvalidRequest(
                f"Can't add messages to {thread_id}: its runs keep changing; try again.",
                code="thread_locked",
            )

        # Without attachments the unit's only write is the insert that succeeds (the
        # others were refused, and the rest are reads): it needs no transaction.
        error = await self.db.write(unit, single_write=not attachments)
        if error is not None:
            raise error
        if attachments:
            self.vector_stores.wake()
        return text.encode()

    def _attach(self, conn: Conn, project: str, thread_id: str, items: list[Attach]) -> None:
        raw = self.threads.get_doc_for_update(conn, project, thread_id)
        assert raw is not None  # the message was just inserted into it
        thread = orjson.loads(raw)
        if attach_to_thread_store(conn, project, thread, items, self.vector_stores):
            self.threads.replace(conn, project, thread_id, encode(thread))

    def _thread_missing(self, conn: Conn, project: str, thread_id: str) -> NotFound | None:
        if self.threads.get_doc(conn, project, thread_id) is None:
            return NotFound.object("thread", thread_id)
        return None

    async def get(self, project: str, thread_id: str, message_id: str) -> bytes:
        def unit(conn: Conn) -> bytes:
            doc = self.repo.get_doc(conn, project, thread_id, message_id)
            if doc is None:
                raise self._thread_missing(conn, project, thread_id) or NotFound.object(
                    "message", message_id
                )
            return doc

        return await self.db.read(unit)

    async def update(
        self, project: str, thread_id: str, message_id: str, req: MessageUpdate
    ) -> bytes:
        def unit(conn: Conn) -> str:
            current = self.repo.get_doc_for_update(conn, project, thread_id, message_id)
            if current is None:
                raise self._thread_missing(conn, project, thread_id) or NotFound.object(
                    "message", message_id
                )
            doc = orjson.loads(current)
            if "metadata" in req.model_fields_set:
                doc["metadata"] = metadata_or_empty(req.metadata)
            text = encode(doc)
            self.repo.replace(conn, project, thread_id, message_id, text)
            return text

        return (await self.db.write(unit)).encode()

    async def delete(self, project: str, thread_id: str, message_id: str) -> bytes:
        def unit(conn: Conn) -> None:
            if not self.repo.delete(conn, project, thread_id, message_id):
                raise self._thread_missing(conn, project, thread_id) or NotFound.object(
                    "message", message_id
                )

        await self.db.write(unit)
        return orjson.dumps({"id": message_id, "object": "thread.message.deleted", "deleted": True})

    async def list(
        self, project: str, thread_id: str, params: ListParams, run_id: str | None
    ) -> bytes:
        def unit(conn: Conn) -> bytes:
            page = self.repo.page_in_thread(
                conn, project=project, thread_id=thread_id, params=params, run_id=run_id
            )
            # A non-empty page proves the thread exists here; only an empty one needs a look.
            if not page.docs and (missing := self._thread_missing(conn, project, thread_id)):
                raise missing
            return render_list(page)

        return await self.db.read(unit)
