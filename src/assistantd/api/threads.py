"""/v1/threads"""

from __future__ import annotations

from fastapi import APIRouter, Request

from assistantd.api.deps import JSONBytes, container, path_id, project, read_body
from assistantd.api.validation import parse_body
from assistantd.ids import IdKind
from assistantd.protocol.threads import ThreadCreate, ThreadUpdate

router = APIRouter(tags=["Assistants"])


def _id(thread_id: str) -> str:
    return path_id(IdKind.thread, thread_id, "thread_id")


@router.post("/threads")
async def create_thread(request: Request) -> JSONBytes:
    req = parse_body(ThreadCreate, await read_body(request))
    return JSONBytes(await container(request).threads.create(project(request), req))


@router.get("/threads/{thread_id}")
async def get_thread(request: Request, thread_id: str) -> JSONBytes:
    return JSONBytes(await container(request).threads.get(project(request), _id(thread_id)))


@router.post("/threads/{thread_id}")
async def modify_thread(request: Request, thread_id: str) -> JSONBytes:
    tid = _id(thread_id)
    req = parse_body(ThreadUpdate, await read_body(request))
    return JSONBytes(await container(request).threads.update(project(request), tid, req))


@router.delete("/threads/{thread_id}")
async def delete_thread(request: Request, thread_id: str) -> JSONBytes:
    return JSONBytes(await container(request).threads.delete(project(request), _id(thread_id)))
