"""Which server tools a run may call, and the vector stores its file_search reads.

A run's file_search reads the assistant's store and the thread's (at most one each,
as the spec allows), looked up when the run executes, so a file attached to the
thread after the run was queued is searched too. Using a store counts as activity
(`last_active_at` moves, and with it an expiry policy's `expires_at`); a run on an
expired store fails with a `last_error` that names it.
"""

from __future__ import annotations

from typing import Any

import orjson

from assistantd.services.vector_stores import VectorStoreService
from assistantd.store.db import Database
from assistantd.store.repos.assistants import AssistantRepository
from assistantd.store.repos.threads import ThreadRepository
from assistantd.store.sql import Conn
from assistantd.tools.base import ServerTool
from assistantd.tools.file_search.tool import ToolFailed

__all__ = ["StoreLookup", "server_tools_for"]


def _ids(doc: bytes | None) -> list[str]:
    if doc is None:
        return []
    resources = orjson.loads(doc).get("tool_resources") or {}
    ids: list[str] = (resources.get("file_search") or {}).get("vector_store_ids") or []
    return ids


class StoreLookup:
    def __init__(self, db: Database, vector_stores: VectorStoreService) -> None:
        self.db = db
        self.vector_stores = vector_stores

    async def __call__(self, project: str, run: dict[str, Any]) -> list[str]:
        """The run's store ids, each marked active now; ToolFailed if one has expired."""

        def unit(conn: Conn) -> list[str]:
            assistant = AssistantRepository().get_doc(conn, project, run["assistant_id"])
            thread = ThreadRepository().get_doc(conn, project, run["thread_id"])
            ids = list(dict.fromkeys(_ids(assistant) + _ids(thread)))
            live = []
            for store_id in ids:
                doc = self.vector_stores.touch(conn, project, store_id)
                if doc is None:
                    continue  # deleted: nothing to search there
                if doc["status"] == "expired":
                    raise ToolFailed("server_error", f"Vector store '{store_id}' has expired.")
                live.append(store_id)
            return live

        return await self.db.write(unit)


def server_tools_for(run: dict[str, Any], tools: dict[str, ServerTool]) -> dict[str, ServerTool]:
    """The server tools the run enabled, by the function name the model calls."""
    enabled = {t["type"] for t in run["tools"]}
    return {name: tool for name, tool in tools.items() if tool.type in enabled}
