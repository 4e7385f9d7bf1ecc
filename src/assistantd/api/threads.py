"""/v1/threads"""

from __future__ import annotations

from starlette.routing import Route

from assistantd.api.deps import Call, read_body, v1
from assistantd.api.validation import parse_body
from assistantd.ids import IdKind
from assistantd.protocol.threads import ThreadCreate, ThreadUpdate


async def create_thread(call: Call) -> bytes:
    req = parse_body(ThreadCreate, await read_body(call))
    return await call.container.threads.create(call.project, req)


async def get_thread(call: Call) -> bytes:
    thread_id = call.path(IdKind.thread, "thread_id")
    return await call.container.threads.get(call.project, thread_id)


async def modify_thread(call: Call) -> bytes:
    thread_id = call.path(IdKind.thread, "thread_id")
    req = parse_body(ThreadUpdate, await read_body(call))
    return await call.container.threads.update(call.project, thread_id, req)


async def delete_thread(call: Call) -> bytes:
    thread_id = call.path(IdKind.thread, "thread_id")
    return await call.container.threads.delete(call.project, thread_id)


routes = [
    Route("/threads", v1(create_thread), methods=["POST"]),
    Route("/threads/{thread_id}", v1(get_thread), methods=["GET"]),
    Route("/threads/{thread_id}", v1(modify_thread), methods=["POST"]),
    Route("/threads/{thread_id}", v1(delete_thread), methods=["DELETE"]),
]
