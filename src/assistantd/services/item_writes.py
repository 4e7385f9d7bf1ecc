"""Writing Responses items to the store: the input a response or the Conversations API
appends to a conversation, and the earlier messages an `item_reference` names."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import orjson

from assistantd.errors import InvalidRequest
from assistantd.services.conversation_items import item_key, message_doc_of, to_messages
from assistantd.services.documents import encode
from assistantd.services.response_docs import message_item
from assistantd.services.response_input import shown
from assistantd.store.repos.conversations import conversations_repo
from assistantd.store.repos.messages import messages_repo
from assistantd.store.repos.responses import responses_repo
from assistantd.store.sql import Conn

__all__ = ["append_items", "resolve_references"]

JSON = dict[str, Any]


def append_items(
    conn: Conn,
    project: str,
    thread_id: str,
    items: Sequence[JSON],
    now: int,
) -> None:
    """Write minted items to a conversation: user and assistant messages as thread
    messages, every other item as it is."""
    messages, stored = [], []
    for item in items:
        if to_messages(item):
            doc = message_doc_of(item, thread_id=thread_id, created_at=now)
            messages.append(
                {
                    "id": item["id"],
                    "project": project,
                    "thread_id": thread_id,
                    "run_id": None,
                    "created_at": now,
                    "doc": encode(doc),
                }
            )
        else:
            stored.append(
                {
                    "thread_id": thread_id,
                    "id": item["id"],
                    "project": project,
                    "key": item_key(item["id"]),
                    "type": item["type"],
                    "run_id": None,
                    "created_at": now,
                    # Without the text read out of a system message's files.
                    "doc": orjson.dumps(shown(item)).decode(),
                }
            )
    if messages:
        messages_repo.insert_many(conn, messages)
    if stored:
        conversations_repo.insert(conn, stored)


def resolve_references(
    conn: Conn,
    project: str,
    items: list[JSON],
    refs: Sequence[tuple[int, str]],
    param: str = "input",
) -> list[JSON]:
    """Item references replaced by the items they name (earlier output messages)."""
    resolved = list(items)
    for at, ref in refs:
        raw = responses_repo.find_message(conn, project, ref)
        if raw is None:
            raise InvalidRequest(
                f"Item with id '{ref}' not found.",
                param=f"{param}[{at}].id",
                code="item_not_found",
            )
        resolved[at] = message_item(orjson.loads(raw), "")
    return resolved
