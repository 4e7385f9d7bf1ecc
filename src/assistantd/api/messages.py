"""/v1/threads/{thread_id}/messages"""

from __future__ import annotations

from starlette.routing import Route

from assistantd.api.deps import Call, list_params, path_id, read_body, v1
from assistantd.api.validation import parse_body
from assistantd.ids import IdKind
from assistantd.protocol.messages import MessageCreate, MessageUpdate


async def create_message(call: Call) -> bytes:
    thread_id = call.path(IdKind.thread, "thread_id")
    req = parse_body(MessageCreate, await read_body(call))
    return await call.container.messages.create(call.project, thread_id, req)


async def list_messages(call: Call) -> bytes:
    thread_id = call.path(IdKind.thread, "thread_id")
    params = list_params(call)
    run_id = call.query.get("run_id")
    if run_id is not None:
        run_id = path_id(IdKind.run, run_id, "run_id")
    return await call.container.messages.list(call.project, thread_id, params, run_id)


async def get_message(call: Call) -> bytes:
    thread_id = call.path(IdKind.thread, "thread_id")
    message_id = call.path(IdKind.message, "message_id")
    return await call.container.messages.get(call.project, thread_id, message_id)


async def modify_message(call: Call) -> bytes:
    thread_id = call.path(IdKind.thread, "thread_id")
    message_id = call.path(IdKind.message, "message_id")
    req = parse_body(MessageUpdate, await read_body(call))
    return await call.container.messages.update(call.project, thread_id, message_id, req)


async def delete_message(call: Call) -> bytes:
    thread_id = call.path(IdKind.thread, "thread_id")
    message_id = call.path(IdKind.message, "message_id")
    return await call.container.messages.delete(call.project, thread_id, message_id)


_ONE = "/threads/{thread_id}/messages/{message_id}"
routes = [
    Route("/threads/{thread_id}/messages", v1(create_message), methods=["POST"]),
    Route("/threads/{thread_id}/messages", v1(list_messages), methods=["GET"]),
    Route(_ONE, v1(get_message), methods=["GET"]),
    Route(_ONE, v1(modify_message), methods=["POST"]),
    Route(_ONE, v1(delete_message), methods=["DELETE"]),
]
