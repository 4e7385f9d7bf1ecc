"""A conversation's items in order, merged from where they are stored.

Messages, run steps and stored items each come from their own index in key order
(store/repos/conversations.py); this merges them a batch at a time, so a page reads
about as many rows as it shows, however long the conversation. Every item's key is the
time-ordered part of its id (ids.id_key), so the merge needs no other ordering column,
and a cursor (`after=<item id>`) is a key without a lookup.

A run step's calls are keyed by their call ids, minted as the run made them: a
function call's after its step was opened, a server tool's call just before (the step
opens once its input starts to stream). So past a cursor, the calls are those of the
steps past it and of the one step on either side of it.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import orjson

from assistantd import clock
from assistantd.ids import IdKind, id_key
from assistantd.services.conversation_items import item_key, step_items, thread_message_item
from assistantd.services.response_docs import container_id
from assistantd.store.repos.conversations import DELETED, Entry, Source, conversations_repo
from assistantd.store.repos.messages import messages_repo
from assistantd.store.repos.runs import runs_repo
from assistantd.store.sql import Conn

__all__ = ["ItemReader", "delete_item", "find_item"]

JSON = dict[str, Any]
Keyed = tuple[str, JSON]
_PREFIX: dict[Source, str] = {"message": IdKind.message.value, "step": IdKind.run_step.value}


@dataclass
class _Stream:
    source: Source
    bound: str | None
    buffer: deque[Keyed] = field(default_factory=deque)
    done: bool = False
    first: bool = True


class ItemReader:
    """Items of one thread in key order, from `after` (a key) on, `descending` or not.
    It reads inside the caller's unit of work (one consistent snapshot)."""

    def __init__(
        self,
        conn: Conn,
        project: str,
        thread_id: str,
        *,
        descending: bool,
        after: str | None = None,
        include: Sequence[str] = (),
        batch: int = 20,
    ) -> None:
        self.conn, self.project, self.thread_id = conn, project, thread_id
        self.descending, self.after, self.include = descending, after, include
        self.batch = batch
        self.container = container_id(thread_id)
        self.exchanges: dict[str, JSON] = {}  # run id → what its server tools were told
        self.streams = [
            _Stream(source, None if after is None else _PREFIX.get(source, "") + after)
            for source in ("message", "step", "item")
        ]

    def _beyond(self, key: str) -> bool:
        if self.after is None:
            return True
        return key < self.after if self.descending else key > self.after

    def _range(self, stream: _Stream, *, reverse: bool = False, limit: int = 0) -> list[Entry]:
        return conversations_repo.range(
            self.conn,
            stream.source,
            project=self.project,
            thread_id=self.thread_id,
            bound=stream.bound,
            descending=self.descending != reverse,
            limit=limit or self.batch,
            inclusive=reverse,
        )

    def run_exchanges(self, run_id: str | None) -> JSON:
        if run_id is None:
            return {}
        if run_id not in self.exchanges:
            private = runs_repo.private(self.conn, run_id)
            self.exchanges[run_id] = (orjson.loads(private or "{}") or {}).get("exchanges") or {}
        return self.exchanges[run_id]

    def expand(self, entries: Sequence[Entry]) -> list[Keyed]:
        """Run steps as their items, less those deleted from the conversation."""
        found: list[Keyed] = []
        for entry in entries:
            step = orjson.loads(entry.doc)
            exchanges = self.run_exchanges(entry.run_id)
            found += step_items(step, exchanges, self.include, self.container)
        if found:
            keys = [key for key, _ in found]
            gone = conversations_repo.deleted_between(
                self.conn, self.thread_id, min(keys), max(keys)
            )
            found = [pair for pair in found if pair[1]["id"] not in gone]
        return found

    def _fill(self, stream: _Stream) -> None:
        entries = self._range(stream)
        stream.done = len(entries) < self.batch
        if stream.source == "step" and stream.first and self.after is not None:
            # The step on the other side of the cursor may hold calls past it.
            entries = [*self._range(stream, reverse=True, limit=1), *entries]
        if entries:
            stream.bound = entries[-1].position
        if stream.source == "message":
            got = [(id_key(e.position), _message(e.doc, self.container)) for e in entries]
        elif stream.source == "item":
            got = [(e.position, orjson.loads(e.doc)) for e in entries]
        else:
            got = [pair for pair in self.expand(entries) if self._beyond(pair[0])]
            got.sort(key=lambda pair: pair[0], reverse=self.descending)
        stream.first = False
        stream.buffer.extend(got)

    def take(self, count: int) -> list[Keyed]:
        """Up to `count` more items, in order."""
        out: list[Keyed] = []
        while len(out) < count:
            for stream in self.streams:
                while not stream.buffer and not stream.done:
                    self._fill(stream)
            live = [s for s in self.streams if s.buffer]
            if not live:
                break
            pick = (max if self.descending else min)(live, key=lambda s: s.buffer[0][0])
            out.append(pick.buffer.popleft())
        return out


def _message(doc: bytes, container: str) -> JSON:
    return thread_message_item(orjson.loads(doc), container)


def _step_item(reader: ItemReader, item_id: str) -> tuple[JSON, str | None] | None:
    """A run tool call's item (or its output's) by id, and its run."""
    key = item_key(item_id)
    bound = IdKind.run_step.value + key
    for descending in (True, False):  # the step before the call's id, or just after it
        entries = conversations_repo.range(
            reader.conn,
            "step",
            project=reader.project,
            thread_id=reader.thread_id,
            bound=bound,
            descending=descending,
            limit=1,
            inclusive=True,
        )
        for _key, item in reader.expand(entries):
            if item["id"] == item_id:
                return item, entries[0].run_id
    return None


def find_item(
    conn: Conn, project: str, thread_id: str, item_id: str, include: Sequence[str] = ()
) -> JSON | None:
    stored = conversations_repo.item(conn, project, thread_id, item_id)
    if stored is not None:
        kind, doc = stored
        return None if kind == DELETED else orjson.loads(doc)
    if item_id.startswith(IdKind.message.value):
        raw = messages_repo.get_doc(conn, project, thread_id, item_id)
        return _message(raw, container_id(thread_id)) if raw is not None else None
    reader = ItemReader(conn, project, thread_id, descending=True, include=include)
    found = _step_item(reader, item_id)
    return found[0] if found is not None else None


def delete_item(conn: Conn, project: str, thread_id: str, item_id: str) -> bool:
    """Messages and stored items are deleted; a run's tool call is marked deleted from
    the conversation (its run step, which the Assistants API shows, stays)."""
    stored = conversations_repo.item(conn, project, thread_id, item_id)
    if stored is not None:
        return conversations_repo.delete(conn, project, thread_id, item_id)
    if item_id.startswith(IdKind.message.value):
        return messages_repo.delete(conn, project, thread_id, item_id)
    reader = ItemReader(conn, project, thread_id, descending=True)
    found = _step_item(reader, item_id)
    if found is None:
        return False
    mark = {
        "thread_id": thread_id,
        "id": item_id,
        "project": project,
        "key": item_key(item_id),
        "type": DELETED,
        "run_id": found[1],
        "created_at": clock.now(),
        "doc": "{}",
    }
    conversations_repo.insert(conn, [mark])
    return True
