"""/v1/assistants"""

from __future__ import annotations

from starlette.routing import Route

from assistantd.api.deps import Call, list_params, read_body, v1
from assistantd.api.validation import parse_body
from assistantd.ids import IdKind
from assistantd.protocol.assistants import AssistantCreate, AssistantUpdate


async def create_assistant(call: Call) -> bytes:
    req = parse_body(AssistantCreate, await read_body(call))
    return await call.container.assistants.create(call.project, req)


async def list_assistants(call: Call) -> bytes:
    return await call.container.assistants.list(call.project, list_params(call))


async def get_assistant(call: Call) -> bytes:
    assistant_id = call.path(IdKind.assistant, "assistant_id")
    return await call.container.assistants.get(call.project, assistant_id)


async def modify_assistant(call: Call) -> bytes:
    assistant_id = call.path(IdKind.assistant, "assistant_id")
    req = parse_body(AssistantUpdate, await read_body(call))
    return await call.container.assistants.update(call.project, assistant_id, req)


async def delete_assistant(call: Call) -> bytes:
    assistant_id = call.path(IdKind.assistant, "assistant_id")
    return await call.container.assistants.delete(call.project, assistant_id)


routes = [
    Route("/assistants", v1(create_assistant), methods=["POST"]),
    Route("/assistants", v1(list_assistants), methods=["GET"]),
    Route("/assistants/{assistant_id}", v1(get_assistant), methods=["GET"]),
    Route("/assistants/{assistant_id}", v1(modify_assistant), methods=["POST"]),
    Route("/assistants/{assistant_id}", v1(delete_assistant), methods=["DELETE"]),
]
