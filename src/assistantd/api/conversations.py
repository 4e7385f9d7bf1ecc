"""/v1/conversations and their items; `GET /v1/conversations` is an extension (OpenAI
listed conversations nowhere), filtered by metadata like `GET /v1/threads`."""

from __future__ import annotations

import re

from starlette.routing import Route

from assistantd.api.deps import Call, include_params, list_params, read_body, v1
from assistantd.api.threads import metadata_filter
from assistantd.api.validation import parse_body
from assistantd.errors import InvalidRequest
from assistantd.ids import IdKind
from assistantd.protocol.conversations import ConversationCreate, ConversationUpdate, ItemsCreate
from assistantd.protocol.responses import RESPONSE_INCLUDABLE

_ITEM_ID = re.compile(r"[A-Za-z0-9_-]{1,128}")


def _conversation(call: Call) -> str:
    return call.path(IdKind.conversation, "conversation_id")


def _item(call: Call) -> str:
    value: str = call.scope["path_params"]["item_id"]
    if not _ITEM_ID.fullmatch(value):
        raise InvalidRequest(
            f"Invalid 'item_id': '{value}'. Item ids contain only letters, digits, '_' and '-'.",
            param="item_id",
            code="invalid_id",
        )
    return value


async def create_conversation(call: Call) -> bytes:
    req = parse_body(ConversationCreate, await read_body(call))
    return await call.container.conversations.create(call.project, req)


async def list_conversations(call: Call) -> bytes:
    service = call.container.conversations
    return await service.list(call.project, list_params(call), metadata_filter(call))


async def get_conversation(call: Call) -> bytes:
    return await call.container.conversations.get(call.project, _conversation(call))


async def update_conversation(call: Call) -> bytes:
    conversation_id = _conversation(call)
    req = parse_body(ConversationUpdate, await read_body(call))
    return await call.container.conversations.update(call.project, conversation_id, req)


async def delete_conversation(call: Call) -> bytes:
    return await call.container.conversations.delete(call.project, _conversation(call))


async def create_items(call: Call) -> bytes:
    conversation_id = _conversation(call)
    include = include_params(call, RESPONSE_INCLUDABLE)
    req = parse_body(ItemsCreate, await read_body(call))
    service = call.container.conversations
    return await service.add_items(call.project, conversation_id, req.items, include)


async def list_items(call: Call) -> bytes:
    conversation_id = _conversation(call)
    include = include_params(call, RESPONSE_INCLUDABLE)
    service = call.container.conversations
    return await service.list_items(call.project, conversation_id, list_params(call), include)


async def get_item(call: Call) -> bytes:
    conversation_id, item_id = _conversation(call), _item(call)
    include = include_params(call, RESPONSE_INCLUDABLE)
    return await call.container.conversations.get_item(
        call.project, conversation_id, item_id, include
    )


async def delete_item(call: Call) -> bytes:
    conversation_id, item_id = _conversation(call), _item(call)
    return await call.container.conversations.delete_item(call.project, conversation_id, item_id)


_ONE = "/conversations/{conversation_id}"
routes = [
    Route("/conversations", v1(create_conversation), methods=["POST"]),
    Route("/conversations", v1(list_conversations), methods=["GET"]),
    Route(_ONE, v1(get_conversation), methods=["GET"]),
    Route(_ONE, v1(update_conversation), methods=["POST"]),
    Route(_ONE, v1(delete_conversation), methods=["DELETE"]),
    Route(_ONE + "/items", v1(create_items), methods=["POST"]),
    Route(_ONE + "/items", v1(list_items), methods=["GET"]),
    Route(_ONE + "/items/{item_id}", v1(get_item), methods=["GET"]),
    Route(_ONE + "/items/{item_id}", v1(delete_item), methods=["DELETE"]),
]
