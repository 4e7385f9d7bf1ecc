"""The history a response on a conversation is prompted with: the conversation's items.

Newest first: what its own run wrote in earlier turns, its input, then the items the
conversation held before it (messages, tool calls and their outputs, items written
through the Conversations API; deleted ones are gone), a page at a time and only as
far as the engine's budget asks (engine/context.py). Its input is read from the
response rather than from the conversation, because only the response keeps the text
read out of its `input_file`s; earlier turns' files are shown by name.

This is the engine's `History` seam (engine/context.py), registered under the name
"conversation" (RunPrivate["history"]).
"""

from __future__ import annotations

from typing import Any

import orjson

from assistantd.ids import id_key
from assistantd.protocol.objects import RunDoc
from assistantd.services.conversation_pages import ItemReader
from assistantd.services.response_docs import message_item
from assistantd.services.response_prompt import chat_groups
from assistantd.store.db import Database
from assistantd.store.repos.responses import responses_repo
from assistantd.store.sql import Conn

__all__ = ["CONVERSATION_HISTORY", "ConversationHistory", "ConversationReader"]

JSON = dict[str, Any]
Group = list[JSON]
# What a prompt shows of a server tool's call: its results and its logs.
_SHOWN = ("file_search_call.results", "code_interpreter_call.outputs")


class ConversationReader:
    """Reads a conversation newest first: `run`'s own response first, or, without a run,
    the items `start` gives and the whole conversation before them."""

    def __init__(
        self,
        db: Database,
        project: str,
        thread_id: str,
        run: RunDoc | None = None,
        start: list[JSON] | None = None,
    ) -> None:
        self.db, self.project, self.thread_id, self.run = db, project, thread_id, run
        self.buffer: list[Group] = []
        self.outputs: dict[str, str] = {}  # function outputs whose calls are older
        # Items of earlier turns stand before the run's id (ids.id_key): its input
        # and its output were written after it was made.
        self.after: str | None = id_key(run["id"]) if run is not None else None
        self.started = run is None
        self.done = False
        if run is None:
            self.buffer = chat_groups(start or [], self.outputs)

    def _first(self, conn: Conn) -> list[JSON]:
        assert self.run is not None
        record = responses_repo.by_run(conn, self.run["id"])
        if record is None or record.project != self.project:
            return []
        written = [
            message_item(message, "")
            for message in map(orjson.loads, responses_repo.messages(conn, record))
            if message["status"] != "in_progress"
        ]
        items: list[JSON] = orjson.loads(record.input)
        return [*items, *written]

    def _page(self, conn: Conn, count: int) -> list[JSON]:
        reader = ItemReader(
            conn,
            self.project,
            self.thread_id,
            descending=True,
            after=self.after,
            include=_SHOWN,
            batch=count,
        )
        found = reader.take(count)
        self.done = len(found) < count
        if found:
            self.after = found[-1][0]
        return [item for _, item in reversed(found)]

    async def next(self, limit: int) -> list[Group]:
        if not self.started:
            self.started = True
            self.buffer += chat_groups(await self.db.read(self._first), self.outputs)
        while len(self.buffer) < limit and not self.done:
            items = await self.db.read(lambda conn: self._page(conn, limit))
            self.buffer += chat_groups(items, self.outputs)
        taken, self.buffer = self.buffer[:limit], self.buffer[limit:]
        return taken


class ConversationHistory:
    def reader(self, db: Database, *, project: str, run: RunDoc) -> ConversationReader:
        return ConversationReader(db, project, run["thread_id"], run)


CONVERSATION_HISTORY = ConversationHistory()
