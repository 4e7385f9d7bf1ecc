"""/v1/assistants"""

from __future__ import annotations

from fastapi import APIRouter, Request

from assistantd.api.deps import JSONBytes, container, list_params, path_id, project, read_body
from assistantd.api.validation import parse_body
from assistantd.ids import IdKind
from assistantd.protocol.assistants import AssistantCreate, AssistantUpdate

router = APIRouter(tags=["Assistants"])


def _id(assistant_id: str) -> str:
    return path_id(IdKind.assistant, assistant_id, "assistant_id")


@router.post("/assistants")
async def create_assistant(request: Request) -> JSONBytes:
    req = parse_body(AssistantCreate, await read_body(request))
    return JSONBytes(await container(request).assistants.create(project(request), req))


@router.get("/assistants")
async def list_assistants(request: Request) -> JSONBytes:
    params = list_params(request)
    return JSONBytes(await container(request).assistants.list(project(request), params))


@router.get("/assistants/{assistant_id}")
async def get_assistant(request: Request, assistant_id: str) -> JSONBytes:
    return JSONBytes(await container(request).assistants.get(project(request), _id(assistant_id)))


@router.post("/assistants/{assistant_id}")
async def modify_assistant(request: Request, assistant_id: str) -> JSONBytes:
    aid = _id(assistant_id)
    req = parse_body(AssistantUpdate, await read_body(request))
    return JSONBytes(await container(request).assistants.update(project(request), aid, req))


@router.delete("/assistants/{assistant_id}")
async def delete_assistant(request: Request, assistant_id: str) -> JSONBytes:
    aid = _id(assistant_id)
    return JSONBytes(await container(request).assistants.delete(project(request), aid))
