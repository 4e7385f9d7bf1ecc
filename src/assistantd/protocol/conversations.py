"""Requests of the Conversations API (docs/conversations.md).

Items are checked one by one in services/response_input.py, as a response's input is,
so that a 400 names the exact path (`items[3].call_id`); here only their number.
"""

from __future__ import annotations

from typing import Any

from pydantic import Field

from assistantd.protocol.common import Metadata, RequestModel

__all__ = ["MAX_ITEMS_PER_CALL", "ConversationCreate", "ConversationUpdate", "ItemsCreate"]

# OpenAI's limit: a create or an items call adds at most 20 items.
MAX_ITEMS_PER_CALL = 20


class ConversationCreate(RequestModel):
    items: list[Any] | None = Field(default=None, max_length=MAX_ITEMS_PER_CALL)
    metadata: Metadata = None


class ConversationUpdate(RequestModel):
    metadata: Metadata


class ItemsCreate(RequestModel):
    items: list[Any] = Field(max_length=MAX_ITEMS_PER_CALL)
