"""ConversationService: the Conversations API over threads (docs/conversations.md).

A conversation is a thread: `POST /v1/conversations` makes a thread whose id is spelled
`conv_…`, and any thread can be read and written as a conversation by its `thread_…`
id. Its metadata is the thread's; its items are the thread's messages, its runs' tool
calls and what else was written to it (services/conversation_items.py), listed in one
order by services/conversation_pages.py.
"""

from __future__ import annotations

import builtins
from collections.abc import Sequence
from typing import Any

import orjson

from assistantd import clock
from assistantd.errors import InvalidRequest, NotFound
from assistantd.ids import new_conversation_id
from assistantd.protocol.common import ListParams
from assistantd.protocol.conversations import ConversationCreate, ConversationUpdate
from assistantd.services.conversation_items import item_key, mint
from assistantd.services.conversation_pages import ItemReader, delete_item, find_item
from assistantd.services.documents import encode, metadata_or_empty
from assistantd.services.files import FileService
from assistantd.services.item_writes import append_items, resolve_references
from assistantd.services.response_input import FileRefs, ItemRef, input_items, shown
from assistantd.services.threads import ThreadService, thread_doc
from assistantd.store.db import Database
from assistantd.store.repos.pages import Page, render_list
from assistantd.store.repos.runs import runs_repo
from assistantd.store.repos.threads import threads_repo
from assistantd.store.sql import Conn

__all__ = ["ConversationService", "conversation_of"]

JSON = dict[str, Any]
Parsed = tuple[list[JSON], FileRefs, list[ItemRef]]  # response_input.input_items


def conversation_of(thread: bytes | str) -> JSON:
    """The Conversation object of a thread's document."""
    doc = orjson.loads(thread)
    return {
        "id": doc["id"],
        "object": "conversation",
        "created_at": doc["created_at"],
        "metadata": doc.get("metadata") or {},
    }


def _render(items: Sequence[JSON], has_more: bool) -> bytes:
    docs = [orjson.dumps(shown(i)) for i in items]
    return render_list(Page(docs=docs, has_more=has_more))


class ConversationService:
    def __init__(self, db: Database, files: FileService, threads: ThreadService) -> None:
        self.db = db
        self.files = files
        self.threads = threads

    def _thread(self, conn: Conn, project: str, conversation_id: str) -> bytes:
        doc = threads_repo.get_doc(conn, project, conversation_id)
        if doc is None:
            raise NotFound.object("conversation", conversation_id)
        return doc

    def _prepared(self, conn: Conn, project: str, parsed: Parsed) -> list[JSON]:
        """The checked items with their references resolved and new ids."""
        items, refs, references = parsed
        self.files.check_refs(conn, project, refs)
        resolved = resolve_references(conn, project, items, references, "items")
        return [mint(item) for item in resolved]

    async def create(self, project: str, req: ConversationCreate) -> bytes:
        conversation_id = new_conversation_id()
        now = clock.now()
        doc = thread_doc(
            thread_id=conversation_id, created_at=now, metadata=req.metadata, tool_resources=None
        )
        text = encode(doc)
        parsed = input_items(req.items or [], "items")  # a malformed item: a 400 here

        def unit(conn: Conn) -> None:
            items = self._prepared(conn, project, parsed)
            row = {"id": conversation_id, "project": project, "created_at": now, "doc": text}
            threads_repo.insert(conn, row)
            append_items(conn, project, conversation_id, items, now)

        await self.db.write(unit)
        return orjson.dumps(conversation_of(text))

    async def get(self, project: str, conversation_id: str) -> bytes:
        doc = await self.db.read(lambda conn: self._thread(conn, project, conversation_id))
        return orjson.dumps(conversation_of(doc))

    async def update(self, project: str, conversation_id: str, req: ConversationUpdate) -> bytes:
        changes = {"metadata": metadata_or_empty(req.metadata)}

        def unit(conn: Conn) -> str:
            text = threads_repo.patch(conn, project, conversation_id, changes)
            if text is None:
                raise NotFound.object("conversation", conversation_id)
            return text

        return orjson.dumps(conversation_of(await self.db.write(unit)))

    async def delete(self, project: str, conversation_id: str) -> bytes:
        """Its items go with it (ON DELETE CASCADE), as a thread's messages and runs do."""
        deleted = await self.db.write(
            lambda conn: threads_repo.delete(conn, project, conversation_id)
        )
        if not deleted:
            raise NotFound.object("conversation", conversation_id)
        body = {"id": conversation_id, "object": "conversation.deleted", "deleted": True}
        return orjson.dumps(body)

    async def list(self, project: str, params: ListParams, metadata: dict[str, str]) -> bytes:
        """The project's conversations (an extension, like `GET /v1/threads`)."""
        page = await self.threads.page(project, params, metadata)
        docs = [orjson.dumps(conversation_of(doc)) for doc in page.docs]
        return render_list(Page(docs=docs, has_more=page.has_more))

    async def add_items(
        self, project: str, conversation_id: str, raw: builtins.list[Any], include: Sequence[str]
    ) -> bytes:
        parsed = input_items(raw, "items")  # a malformed item: a 400 before the write
        now = clock.now()

        def unit(conn: Conn) -> builtins.list[JSON]:
            self._thread(conn, project, conversation_id)
            runs_repo.lock_thread(conn, project, conversation_id)
            active = runs_repo.active_run(conn, conversation_id)
            if active is not None:
                raise InvalidRequest(
                    f"Can't add items to {conversation_id} while a run or response "
                    f"{active} is active on it.",
                    code="conversation_locked",
                )
            items = self._prepared(conn, project, parsed)
            append_items(conn, project, conversation_id, items, now)
            return items

        items = await self.db.write(unit)
        return _render(items, has_more=False)

    async def list_items(
        self, project: str, conversation_id: str, params: ListParams, include: Sequence[str]
    ) -> bytes:
        if params.before is not None:
            raise InvalidRequest(
                "Unknown parameter: 'before'. Conversation items page with 'after'.",
                param="before",
                code="unknown_parameter",
            )
        after = item_key(params.after) if params.after is not None else None

        def unit(conn: Conn) -> tuple[builtins.list[JSON], bool]:
            self._thread(conn, project, conversation_id)
            reader = ItemReader(
                conn,
                project,
                conversation_id,
                descending=params.order == "desc",
                after=after,
                include=include,
                batch=params.limit + 1,
            )
            found = reader.take(params.limit + 1)
            return [item for _, item in found[: params.limit]], len(found) > params.limit

        items, has_more = await self.db.read(unit)
        return _render(items, has_more)

    async def get_item(
        self, project: str, conversation_id: str, item_id: str, include: Sequence[str]
    ) -> bytes:
        def unit(conn: Conn) -> JSON | None:
            self._thread(conn, project, conversation_id)
            return find_item(conn, project, conversation_id, item_id, include)

        item = await self.db.read(unit)
        if item is None:
            raise NotFound.object("item", item_id)
        return orjson.dumps(shown(item))

    async def delete_item(self, project: str, conversation_id: str, item_id: str) -> bytes:
        """The item is gone from the conversation (and from the prompts of responses on
        it); the answer is the conversation, as OpenAI's is."""

        def unit(conn: Conn) -> bytes:
            thread = self._thread(conn, project, conversation_id)
            if not delete_item(conn, project, conversation_id, item_id):
                raise NotFound.object("item", item_id)
            return thread

        return orjson.dumps(conversation_of(await self.db.write(unit)))
