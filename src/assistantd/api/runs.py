"""/v1/threads/{thread_id}/runs and /v1/threads/runs"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import TypeVar
from urllib.parse import parse_qsl

from starlette.responses import Response
from starlette.routing import Route

from assistantd.api.deps import Call, list_params, read_body, v1
from assistantd.api.sse import frame, stream_run
from assistantd.api.validation import parse_body
from assistantd.errors import InvalidRequest
from assistantd.ids import IdKind, new_id
from assistantd.protocol.runs import RunCreate, RunUpdate, SubmitToolOutputs, ThreadAndRunCreate


def polled(call: Call, body: bytes) -> Response:
    """A Run, with the interval the SDK's poll helpers wait before asking again."""
    after = str(call.container.settings.poll_after_ms)
    return Response(body, media_type="application/json", headers={"openai-poll-after-ms": after})


T = TypeVar("T")
_INCLUDABLE = {"step_details.tool_calls[*].file_search.results[*].content"}


def check_include(call: Call) -> bool:
    """`include[]` (or `include`) may only name what the spec allows; whether it did."""
    raw = call.scope.get("query_string", b"").decode("latin-1")
    included = False
    for key, value in parse_qsl(raw, keep_blank_values=True):
        if key in ("include[]", "include"):
            included = True
        if key in ("include[]", "include") and value not in _INCLUDABLE:
            raise InvalidRequest(
                f"Invalid value: '{value}'. Supported values are: "
                "'step_details.tool_calls[*].file_search.results[*].content'.",
                param="include",
                code="invalid_value",
            )
    return included


# Streamed runs are reserved for this process's worker: the event bus is in-process,
# so only runs executed here can be streamed from here.
def _stream(
    call: Call,
    run_id: str,
    start: Callable[[], Awaitable[T]],
    first: Callable[[T], list[bytes]] = lambda _: [],
) -> Awaitable[Response]:
    settings = call.container.settings
    return stream_run(
        call.container.bus, run_id, start, first=first, keepalive_s=settings.stream_keepalive_s
    )


async def create_run(call: Call) -> Response:
    thread_id = call.path(IdKind.thread, "thread_id")
    include = check_include(call)
    req = parse_body(RunCreate, await read_body(call))
    runs = call.container.runs
    run_id = new_id(IdKind.run)
    if req.stream:
        local = call.container.worker.id
        return await _stream(
            call,
            run_id,
            lambda: runs.create(call.project, thread_id, req, run_id, local, include=include),
        )
    return polled(call, await runs.create(call.project, thread_id, req, run_id, include=include))


async def create_thread_and_run(call: Call) -> Response:
    req = parse_body(ThreadAndRunCreate, await read_body(call))
    runs = call.container.runs
    run_id = new_id(IdKind.run)
    if req.stream:
        local = call.container.worker.id
        return await _stream(
            call,
            run_id,
            lambda: runs.create_thread_and_run(call.project, req, run_id, local),
            first=lambda created: [frame("thread.created", created[0])],
        )
    _thread, run = await runs.create_thread_and_run(call.project, req, run_id)
    return polled(call, run)


async def list_runs(call: Call) -> bytes:
    thread_id = call.path(IdKind.thread, "thread_id")
    return await call.container.runs.list(call.project, thread_id, list_params(call))


async def get_run(call: Call) -> Response:
    thread_id = call.path(IdKind.thread, "thread_id")
    run_id = call.path(IdKind.run, "run_id")
    return polled(call, await call.container.runs.get(call.project, thread_id, run_id))


async def modify_run(call: Call) -> Response:
    thread_id = call.path(IdKind.thread, "thread_id")
    run_id = call.path(IdKind.run, "run_id")
    req = parse_body(RunUpdate, await read_body(call))
    return polled(call, await call.container.runs.update(call.project, thread_id, run_id, req))


async def cancel_run(call: Call) -> Response:
    thread_id = call.path(IdKind.thread, "thread_id")
    run_id = call.path(IdKind.run, "run_id")
    return polled(call, await call.container.runs.cancel(call.project, thread_id, run_id))


async def submit_tool_outputs(call: Call) -> Response:
    thread_id = call.path(IdKind.thread, "thread_id")
    run_id = call.path(IdKind.run, "run_id")
    req = parse_body(SubmitToolOutputs, await read_body(call))
    runs = call.container.runs
    if req.stream:
        local = call.container.worker.id
        return await _stream(
            call,
            run_id,
            lambda: runs.submit_tool_outputs(call.project, thread_id, run_id, req, local),
        )
    return polled(call, await runs.submit_tool_outputs(call.project, thread_id, run_id, req))


_RUN = "/threads/{thread_id}/runs/{run_id}"
routes = [
    Route("/threads/runs", v1(create_thread_and_run), methods=["POST"]),
    Route("/threads/{thread_id}/runs", v1(create_run), methods=["POST"]),
    Route("/threads/{thread_id}/runs", v1(list_runs), methods=["GET"]),
    Route(_RUN, v1(get_run), methods=["GET"]),
    Route(_RUN, v1(modify_run), methods=["POST"]),
    Route(_RUN + "/cancel", v1(cancel_run), methods=["POST"]),
    Route(_RUN + "/submit_tool_outputs", v1(submit_tool_outputs), methods=["POST"]),
]
