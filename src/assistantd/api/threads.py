"""/v1/threads, and `GET /v1/threads` (an extension: list and filter threads)."""

from __future__ import annotations

import re

from starlette.routing import Route

from assistantd.api.deps import Call, list_params, read_body, v1
from assistantd.api.validation import parse_body
from assistantd.errors import InvalidRequest
from assistantd.ids import IdKind
from assistantd.protocol.threads import ThreadCreate, ThreadUpdate


async def create_thread(call: Call) -> bytes:
    req = parse_body(ThreadCreate, await read_body(call))
    return await call.container.threads.create(call.project, req)


_METADATA_PARAM = re.compile(r"^metadata\[(.+)\]$")
_MAX_PAIRS, _MAX_KEY, _MAX_VALUE = 16, 64, 512  # metadata's own limits


def metadata_filter(call: Call) -> dict[str, str]:
    """`metadata[KEY]=VALUE` query parameters: threads whose metadata has every pair."""
    pairs: dict[str, str] = {}
    for name, value in call.query.items():
        match = _METADATA_PARAM.match(name)
        if match is None:
            continue
        key = match.group(1)
        if "\x00" in key or "\x00" in value:
            # PostgreSQL's text cannot hold NUL (it answered 500): refused on both backends.
            raise InvalidRequest(
                f"Invalid '{name}': metadata keys and values cannot contain NUL characters.",
                param=name,
                code="invalid_value",
            )
        if len(key) > _MAX_KEY or len(value) > _MAX_VALUE:
            raise InvalidRequest(
                f"Invalid '{name}': metadata keys are at most {_MAX_KEY} characters and "
                f"values at most {_MAX_VALUE}.",
                param=name,
                code="invalid_value",
            )
        pairs[key] = value
    if len(pairs) > _MAX_PAIRS:
        raise InvalidRequest(f"Too many metadata filters: at most {_MAX_PAIRS}.", param="metadata")
    return pairs


async def list_threads(call: Call) -> bytes:
    return await call.container.threads.list(call.project, list_params(call), metadata_filter(call))


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
    Route("/threads", v1(list_threads), methods=["GET"]),
    Route("/threads/{thread_id}", v1(get_thread), methods=["GET"]),
    Route("/threads/{thread_id}", v1(modify_thread), methods=["POST"]),
    Route("/threads/{thread_id}", v1(delete_thread), methods=["DELETE"]),
]
