"""What a run's server tools read: the vector stores its file_search searches, and the
files its code_interpreter puts in /mnt/data. The tools see these through their own
small protocols (tools/file_search/tool.py `StoresFor`, tools/code_interpreter/tool.py
`InputFiles`); this is the store-backed implementation the container gives them.

A run's file_search reads the assistant's store and the thread's (at most one each,
as the spec allows), looked up when the run executes, so a file attached to the
thread after the run was queued is searched too. Using a store counts as activity
(`last_active_at` moves, and with it an expiry policy's `expires_at`); a run on an
expired store fails with a `last_error` that names it.
"""

from __future__ import annotations

import time

import orjson

from assistantd.protocol.common import ListParams
from assistantd.protocol.objects import RunDoc
from assistantd.services.vector_stores import VectorStoreService
from assistantd.store.db import Database
from assistantd.store.repos.assistants import assistants_repo
from assistantd.store.repos.files import files_repo
from assistantd.store.repos.messages import messages_repo
from assistantd.store.repos.runs import runs_repo
from assistantd.store.repos.threads import threads_repo
from assistantd.store.repos.vector_stores import stores_repo
from assistantd.store.sql import Conn
from assistantd.tools.base import ToolFailed

__all__ = ["CodeFiles", "StoreLookup"]

# How far back a thread's messages are read for code_interpreter attachments.
_ATTACHMENT_MESSAGES = 1000
# How long a wait for the thread's store trusts this process to hear of its files: one
# ingested by another process (scale-out) is seen on the next look, at most this late.
_LOOK_AGAIN_S = 1.0


def _thread_resources(conn: Conn, project: str, run: RunDoc) -> bytes | None:
    """The document whose `tool_resources` the run reads besides its assistant's: its
    thread's, and its own (RunPrivate["tool_resources"]: those a response on a
    conversation brings, searched with the conversation's own store)."""
    thread = threads_repo.get_doc(conn, project, run["thread_id"])
    run_id = run.get("id")
    private = orjson.loads((run_id and runs_repo.private(conn, run_id)) or "{}") or {}
    own = private.get("tool_resources")
    if not isinstance(own, dict):
        return thread
    merged: dict[str, dict[str, list[str]]] = {}
    for resources in (own, orjson.loads(thread or b"{}").get("tool_resources") or {}):
        for tool, keys in resources.items():
            for key, ids in (keys or {}).items():
                have = merged.setdefault(tool, {}).setdefault(key, [])
                have += [i for i in ids or [] if i not in have]
    return orjson.dumps({"tool_resources": merged})


def _ids(doc: bytes | None, tool: str = "file_search", key: str = "vector_store_ids") -> list[str]:
    if doc is None:
        return []
    resources = orjson.loads(doc).get("tool_resources") or {}
    ids: list[str] = (resources.get(tool) or {}).get(key) or []
    return ids


class CodeFiles:
    """The files a run's code finds in /mnt/data: the assistant's and the thread's
    `tool_resources.code_interpreter.file_ids`, then the files attached to the
    thread's messages for code_interpreter (newest last), each by its File name."""

    def __init__(self, db: Database) -> None:
        self.db = db

    async def __call__(self, project: str, run: RunDoc) -> dict[str, str]:
        def unit(conn: Conn) -> dict[str, str]:
            assistant = assistants_repo.get_doc(conn, project, run["assistant_id"])
            thread = _thread_resources(conn, project, run)
            ids = _ids(assistant, "code_interpreter", "file_ids")
            ids += _ids(thread, "code_interpreter", "file_ids")
            params = ListParams(limit=100, order="desc")
            attached: list[str] = []
            for _ in range(_ATTACHMENT_MESSAGES // 100):
                page = messages_repo.page_in_thread(
                    conn, project=project, thread_id=run["thread_id"], params=params
                )
                for raw in page.docs:
                    for attachment in orjson.loads(raw).get("attachments") or []:
                        tools = {t.get("type") for t in attachment.get("tools") or []}
                        if "code_interpreter" in tools:
                            attached.append(attachment["file_id"])
                if not page.has_more:
                    break
                params = ListParams(limit=100, order="desc", after=page.last_id)
            names = {}
            for file_id in dict.fromkeys(ids + attached[::-1]):
                doc = files_repo.get_doc(conn, project, file_id)
                if doc is not None:
                    names[file_id] = str(orjson.loads(doc)["filename"])
            return names

        return await self.db.read(unit)


class StoreLookup:
    def __init__(
        self,
        db: Database,
        vector_stores: VectorStoreService,
        *,
        ready_wait_s: float = 60.0,
        look_again_s: float = _LOOK_AGAIN_S,
    ) -> None:
        self.db = db
        self.vector_stores = vector_stores
        self.ready_wait_s = ready_wait_s
        self.look_again_s = look_again_s

    async def wait_for_thread_store(self, project: str, run: RunDoc) -> None:
        """OpenAI's rule: a run waits (at most 60 s) for files still being ingested into
        the *thread's* store, so "attach, then run at once" searches them; the
        assistant's store is not waited for. It wakes when this process's ingestion
        finishes a file of the store, or after `look_again_s` for another process's."""
        deadline = time.monotonic() + self.ready_wait_s

        def busy(conn: Conn) -> str | None:
            thread = _thread_resources(conn, project, run)
            for store_id in _ids(thread):
                doc = stores_repo.get_doc(conn, project, store_id)
                if doc is not None and orjson.loads(doc)["status"] == "in_progress":
                    return store_id
            return None

        while (left := deadline - time.monotonic()) > 0:
            store_id = await self.db.read(busy)
            if store_id is None:
                return
            await self.vector_stores.file_finished(store_id, min(left, self.look_again_s))

    async def __call__(self, project: str, run: RunDoc) -> list[str]:
        """The run's store ids, each marked active now; ToolFailed if one has expired."""

        def unit(conn: Conn) -> list[str]:
            assistant = assistants_repo.get_doc(conn, project, run["assistant_id"])
            thread = _thread_resources(conn, project, run)
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
