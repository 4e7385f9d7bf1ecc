"""/v1/threads/{thread_id}/messages"""

from __future__ import annotations

from fastapi import APIRouter, Request

from assistantd.api.deps import JSONBytes, container, list_params, path_id, project, read_body
from assistantd.api.validation import parse_body
from assistantd.ids import IdKind
from assistantd.protocol.messages import MessageCreate, MessageUpdate

router = APIRouter(tags=["Assistants"])


def _ids(thread_id: str, message_id: str | None = None) -> tuple[str, str]:
    tid = path_id(IdKind.thread, thread_id, "thread_id")
    mid = path_id(IdKind.message, message_id, "message_id") if message_id is not None else ""
    return tid, mid


@router.post("/threads/{thread_id}/messages")
async def create_message(request: Request, thread_id: str) -> JSONBytes:
    tid, _ = _ids(thread_id)
    req = parse_body(MessageCreate, await read_body(request))
    return JSONBytes(await container(request).messages.create(project(request), tid, req))


@router.get("/threads/{thread_id}/messages")
async def list_messages(request: Request, thread_id: str) -> JSONBytes:
    tid, _ = _ids(thread_id)
    params = list_params(request)
    run_id = request.query_params.get("run_id")
    if run_id is not None:
        run_id = path_id(IdKind.run, run_id, "run_id")
    body = await container(request).messages.list(project(request), tid, params, run_id)
    return JSONBytes(body)


@router.get("/threads/{thread_id}/messages/{message_id}")
async def get_message(request: Request, thread_id: str, message_id: str) -> JSONBytes:
    tid, mid = _ids(thread_id, message_id)
    return JSONBytes(await container(request).messages.get(project(request), tid, mid))


@router.post("/threads/{thread_id}/messages/{message_id}")
async def modify_message(request: Request, thread_id: str, message_id: str) -> JSONBytes:
    tid, mid = _ids(thread_id, message_id)
    req = parse_body(MessageUpdate, await read_body(request))
    return JSONBytes(await container(request).messages.update(project(request), tid, mid, req))


@router.delete("/threads/{thread_id}/messages/{message_id}")
async def delete_message(request: Request, thread_id: str, message_id: str) -> JSONBytes:
    tid, mid = _ids(thread_id, message_id)
    return JSONBytes(await container(request).messages.delete(project(request), tid, mid))
