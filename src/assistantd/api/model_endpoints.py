"""/v1/chat/completions and /v1/embeddings: the models behind the assistants, called
directly, so one `base_url` serves the whole SDK (docs/model-endpoints.md)."""

from __future__ import annotations

from starlette.responses import Response, StreamingResponse
from starlette.routing import Route

from assistantd.api.deps import Call, read_body, v1
from assistantd.api.validation import parse_body
from assistantd.protocol.chat import ChatCompletionCreate, EmbeddingCreate


async def create_chat_completion(call: Call) -> bytes | Response:
    req = parse_body(ChatCompletionCreate, await read_body(call))
    completions = call.container.completions
    if not req.stream:
        return await completions.create(call.project, req)
    body = await completions.stream(call.project, req)
    headers = {"cache-control": "no-cache", "x-accel-buffering": "no"}
    return StreamingResponse(body, media_type="text/event-stream", headers=headers)


async def create_embeddings(call: Call) -> bytes:
    req = parse_body(EmbeddingCreate, await read_body(call))
    return await call.container.embeddings.create(call.project, req)


routes = [
    Route("/chat/completions", v1(create_chat_completion, uses_model=True), methods=["POST"]),
    Route("/embeddings", v1(create_embeddings), methods=["POST"]),
]
