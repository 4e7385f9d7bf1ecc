"""Conversation queries: the three places a conversation's items live, each read in
key order one bounded range at a time (services/conversation_pages.py merges them).

A conversation is a thread. Its items are, by where they are stored:
- `messages`: user and assistant messages (keyed by their id);
- `run_steps`: the tool calls its runs made (found by thread, keyed by step id; a
  step's calls come after the step in key order and before the next one);
- `conversation_items`: everything else (keyed by `key`), and the marks of run tool
  calls deleted from the conversation (`type` "deleted").
Each range is one index seek, so a page costs the same on any length of conversation.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import cache
from typing import Any, Literal

from sqlalchemy import BindParameter, ColumnElement, Table, bindparam, delete, insert, select

from assistantd.store.sql import Conn, Query, as_bytes
from assistantd.store.tables import (
    ConversationItemRow,
    MessageRow,
    RunStepRow,
    table_of,
)

__all__ = ["DELETED", "Entry", "Source", "conversations_repo"]

_items = table_of(ConversationItemRow)
_messages = table_of(MessageRow)
_steps = table_of(RunStepRow)

Source = Literal["message", "step", "item"]
DELETED = "deleted"  # `type` of the mark a deleted run tool call leaves


@dataclass(frozen=True, slots=True)
class Entry:
    """A row of one source: its position column's value, its run, its document."""

    position: str  # message or step id, or an item's key
    run_id: str | None
    doc: bytes


def _shape(source: Source) -> tuple[Table, ColumnElement[str], tuple[ColumnElement[bool], ...]]:
    if source == "message":
        return _messages, _messages.c.id, ()
    if source == "step":
        return _steps, _steps.c.id, ()
    return _items, _items.c.key, (_items.c.type != DELETED,)


@cache
def _range(source: Source, descending: bool, bounded: bool, inclusive: bool) -> Query:
    """Rows of a thread past `bound` (or from the start), in key order, `limit` of them."""
    table, position, extra = _shape(source)
    query = select(position, table.c.run_id, as_bytes(table.c.doc)).where(
        table.c.thread_id == bindparam("thread_id"),
        table.c.project == bindparam("project"),
        *extra,
    )
    if bounded:
        bound: BindParameter[str] = bindparam("bound")
        if descending:
            query = query.where(position <= bound if inclusive else position < bound)
        else:
            query = query.where(position >= bound if inclusive else position > bound)
    order = position.desc() if descending else position.asc()
    return Query(query.order_by(order).limit(bindparam("limit")))


_ITEM = Query(
    select(_items.c.type, as_bytes(_items.c.doc)).where(
        _items.c.thread_id == bindparam("thread_id"),
        _items.c.project == bindparam("project"),
        _items.c.id == bindparam("id"),
    )
)
_DELETED_IN = Query(
    select(_items.c.id).where(
        _items.c.thread_id == bindparam("thread_id"),
        _items.c.type == DELETED,
        _items.c.key >= bindparam("low"),
        _items.c.key <= bindparam("high"),
    )
)
_INSERT = Query(insert(_items))
_DELETE = Query(
    delete(_items).where(
        _items.c.thread_id == bindparam("thread_id"),
        _items.c.project == bindparam("project"),
        _items.c.id == bindparam("id"),
        _items.c.type != DELETED,
    )
)


class ConversationRepository:
    def range(
        self,
        conn: Conn,
        source: Source,
        *,
        project: str,
        thread_id: str,
        bound: str | None,
        descending: bool,
        limit: int,
        inclusive: bool = False,
    ) -> list[Entry]:
        """Up to `limit` rows of `source` past `bound` (a position), in key order."""
        query = _range(source, descending, bound is not None, inclusive)
        values: dict[str, Any] = {"thread_id": thread_id, "project": project, "limit": limit}
        if bound is not None:
            values["bound"] = bound
        return [Entry(r[0], r[1], r[2]) for r in conn.all(query, values)]

    def item(
        self, conn: Conn, project: str, thread_id: str, item_id: str
    ) -> tuple[str, bytes] | None:
        """A stored item (or a deletion mark) by id: its type and document."""
        row = conn.first(_ITEM, {"thread_id": thread_id, "project": project, "id": item_id})
        return (row[0], row[1]) if row else None

    def deleted_between(self, conn: Conn, thread_id: str, low: str, high: str) -> set[str]:
        """Ids of run tool calls deleted from the conversation, with keys in [low, high]."""
        rows = conn.all(_DELETED_IN, {"thread_id": thread_id, "low": low, "high": high})
        return {r[0] for r in rows}

    def insert(self, conn: Conn, rows: Sequence[Mapping[str, Any]]) -> None:
        conn.executemany(_INSERT, rows)

    def delete(self, conn: Conn, project: str, thread_id: str, item_id: str) -> bool:
        values = {"thread_id": thread_id, "project": project, "id": item_id}
        return conn.execute(_DELETE, values) > 0


# The one instance of each: repositories hold compiled statements and no state.
conversations_repo = ConversationRepository()
