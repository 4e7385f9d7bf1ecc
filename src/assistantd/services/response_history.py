"""The history a Response's run is prompted with: its chain of earlier responses.

A response's context is, newest first: what its own run wrote in earlier turns, its
input, then each earlier response of its `previous_response_id` chain, output before
input. It is read one response at a time and only as far as the engine's budget asks
(engine/context.py stops reading when the context window is full), so a response at
the end of a long chain reads what it can use, not the whole chain. `instructions` are
not carried over the chain, as OpenAI documents: each response has its own.

This is the engine's `History` seam (engine/context.py), registered under the name
"response" (RunPrivate["history"]).
"""

from __future__ import annotations

from functools import partial
from typing import Any

import orjson

from assistantd.ids import IdKind
from assistantd.protocol.objects import RunDoc
from assistantd.services.response_docs import message_item, output_items
from assistantd.services.response_prompt import chat_groups
from assistantd.store.db import Database
from assistantd.store.repos.responses import ResponseRecord, responses_repo
from assistantd.store.sql import Conn

__all__ = ["RESPONSE_HISTORY", "ChainReader", "ResponseHistory"]

JSON = dict[str, Any]
Group = list[JSON]
# Earlier responses read per trip to the database: few first (most chains are short
# or most prompts fill up early), then more.
_FIRST_BATCH = 4
_BATCH = 16


class ChainReader:
    """Reads a chain newest first: `run`'s own response first, or, without a run, the
    items `start` gives and the chain from the response it names."""

    def __init__(
        self,
        db: Database,
        project: str,
        run: RunDoc | None,
        start: tuple[list[JSON], str | None] = ([], None),
    ) -> None:
        self.db, self.project, self.run = db, project, run
        self.buffer: list[Group] = []
        self.outputs: dict[str, str] = {}  # function outputs whose calls are older
        self.started = run is None
        self.next_id: str | None = start[1]
        if run is None:
            self.buffer = chat_groups(start[0], self.outputs)

    def _first(self, conn: Conn) -> tuple[list[JSON], str | None]:
        """This response's own items: its input, then its run's earlier messages."""
        assert self.run is not None
        record = responses_repo.by_run(conn, self.run["id"])
        if record is None or record.project != self.project:
            return [], None
        written = []
        for raw in responses_repo.messages(conn, record):
            message = orjson.loads(raw)
            if message["status"] != "in_progress":
                written.append(message_item(message, ""))
        return [*orjson.loads(record.input), *written], record.previous_response_id

    def _earlier(self, conn: Conn, *, response_id: str) -> tuple[list[JSON], str | None]:
        record: ResponseRecord | None = responses_repo.get(conn, self.project, response_id)
        if record is None:
            return [], None  # deleted: the chain ends here
        output = responses_repo.output(conn, record)
        if output is None:
            return orjson.loads(record.input), record.previous_response_id
        produced = output_items(output, record.thread_id, ())
        # What the server tools told the model, for their calls replayed below.
        exchanges = (orjson.loads(output.private) or {}).get("exchanges") or {}
        for item in produced:
            call = item["id"].split("_", 1)[-1]
            if item["type"] in ("file_search_call", "code_interpreter_call"):
                told = exchanges.get(IdKind.tool_call.value + call)
                if told is not None:
                    self.outputs.setdefault(item["id"], str(told.get("output") or ""))
        return [*orjson.loads(record.input), *produced], record.previous_response_id

    def _batch(self, conn: Conn, *, response_id: str, count: int) -> list[list[JSON]]:
        """Up to `count` earlier responses, newest first, in one read (one hop to the
        database's thread for several links of the chain)."""
        out: list[list[JSON]] = []
        next_id: str | None = response_id
        while next_id is not None and len(out) < count:
            items, next_id = self._earlier(conn, response_id=next_id)
            out.append(items)
        self.next_id = next_id
        return out

    async def next(self, limit: int) -> list[Group]:
        if not self.started:
            self.started = True
            items, self.next_id = await self.db.read(self._first)
            self.buffer += chat_groups(items, self.outputs)
        count = _FIRST_BATCH
        while len(self.buffer) < limit and self.next_id is not None:
            batch = await self.db.read(partial(self._batch, response_id=self.next_id, count=count))
            for items in batch:
                self.buffer += chat_groups(items, self.outputs)
            count = _BATCH
        taken, self.buffer = self.buffer[:limit], self.buffer[limit:]
        return taken


class ResponseHistory:
    def reader(self, db: Database, *, project: str, run: RunDoc) -> ChainReader:
        return ChainReader(db, project, run)


RESPONSE_HISTORY = ResponseHistory()
