"""tool_resources shared by assistants and threads, and the vector stores made for them.

`tool_resources.file_search.vector_stores` (on assistant, thread and thread-and-run
creates) creates a store and answers with its id in `vector_store_ids`, as OpenAI did;
a file attached to a message for `file_search` goes into the thread's store, created
on first use. Stores made for threads expire 7 days after their last use (OpenAI's
default); an assistant's store has no expiry unless asked.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import orjson

from assistantd.errors import InvalidRequest
from assistantd.protocol.documents import ThreadDoc
from assistantd.protocol.messages import MessageCreate
from assistantd.protocol.tools import ToolResources
from assistantd.protocol.vector_stores import VectorStoreCreate
from assistantd.services.documents import dump
from assistantd.services.vector_store_docs import refresh
from assistantd.services.vector_stores import Attach, VectorStoreService
from assistantd.store.sql import Conn

__all__ = [
    "THREAD_STORE_DAYS",
    "attach_to_thread_store",
    "file_search_attachments",
    "realize_stores",
    "render_tool_resources",
]

THREAD_STORE_DAYS = 7


def render_tool_resources(
    resources: ToolResources | None, param: str, *, modify: bool = False
) -> dict[str, Any]:
    """tool_resources as stored and returned; `{}` when none were given, as OpenAI did.
    A modify request takes store ids only: the spec's helper exists on creates alone."""
    if resources is None:
        return {}
    fs = resources.file_search
    if modify and fs is not None and fs.vector_stores is not None:
        raise InvalidRequest(
            f"Unknown parameter: '{param}.file_search.vector_stores'.",
            param=f"{param}.file_search.vector_stores",
            code="unknown_parameter",
        )
    if fs is not None and fs.vector_stores and fs.vector_store_ids:
        raise InvalidRequest(
            "Only one of 'vector_store_ids' or 'vector_stores' may be given.",
            param=f"{param}.file_search",
            code="invalid_value",
        )
    return dump(resources)


def realize_stores(
    conn: Conn,
    project: str,
    resources: dict[str, Any],
    vector_stores: VectorStoreService,
    *,
    default_days: int | None,
) -> bool:
    """Inside a write unit: create the store a `vector_stores` helper asks for and put its
    id in its place. True if files were queued for ingestion."""
    fs = resources.get("file_search") or {}
    helpers = fs.get("vector_stores")
    if not helpers:
        return False
    req = VectorStoreCreate.model_validate(helpers[0])
    doc, queued = vector_stores.create_unit(
        conn,
        project,
        req,
        default_days=default_days,
        param="tool_resources.file_search.vector_stores[0].",
    )
    resources["file_search"] = {"vector_store_ids": [orjson.loads(doc)["id"]]}
    return bool(queued)


def file_search_attachments(messages: Sequence[MessageCreate], prefix: str | None) -> list[Attach]:
    """The Files messages attach for file_search, with the param a 400 points at
    (`prefix[i].attachments[j].file_id`, or without `prefix[i].` when it is None)."""
    items = []
    for i, message in enumerate(messages):
        for j, attachment in enumerate(message.attachments or []):
            if any(t.type == "file_search" for t in attachment.tools or []):
                head = f"{prefix}[{i}]." if prefix is not None else ""
                items.append(Attach(attachment.file_id, f"{head}attachments[{j}].file_id"))
    return items


def attach_to_thread_store(
    conn: Conn,
    project: str,
    thread: ThreadDoc | dict[str, Any],
    items: list[Attach],
    vector_stores: VectorStoreService,
) -> bool:
    """Inside a write unit: message attachments for file_search join the thread's store,
    made now if the thread has none. True if the thread document changed."""
    if not items:
        return False
    resources = thread.setdefault("tool_resources", {})
    ids = (resources.get("file_search") or {}).get("vector_store_ids") or []
    changed = False
    if not ids:
        doc, _ = vector_stores.create_unit(
            conn, project, VectorStoreCreate(), default_days=THREAD_STORE_DAYS
        )
        ids = [orjson.loads(doc)["id"]]
        resources["file_search"] = {"vector_store_ids": ids}
        changed = True
    vector_stores.attach_unit(conn, project, ids[0], items)
    refresh(conn, project, ids[0])
    return changed
