"""/v1/threads/{thread_id}/runs and /v1/threads/runs"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import TypeVar

import orjson
from starlette.responses import Response
from starlette.routing import Route

from assistantd.api.deps import Call, include_params, list_params, read_body, v1
from assistantd.api.sse import frame, resume_run, stream_run
from assistantd.api.validation import parse_body
from assistantd.errors import InvalidRequest
from assistantd.ids import IdKind, new_id
from assistantd.protocol.runs import (
    INCLUDABLE,
    RunCreate,
    RunUpdate,
    SubmitToolOutputs,
    ThreadAndRunCreate,
)


def polled(call: Call, body: bytes) -> Response:
    """A Run, with the interval the SDK's poll helpers wait before asking again."""
    after = str(call.container.settings.poll_after_ms)
    return Response(body, media_type="application/json", headers={"openai-poll-after-ms": after})


T = TypeVar("T")


def check_include(call: Call) -> list[str]:
    """`include[]` may only name what the spec allows; what it named."""
    return include_params(call, INCLUDABLE)


def _stream(
    call: Call,
    run_id: str,
    start: Callable[[], Awaitable[T]],
    first: Callable[[T], list[bytes]] = lambda _: [],
    after: int | None = 0,
) -> Awaitable[Response]:
    settings = call.container.settings
    return stream_run(
        call.container.bus,
        run_id,
        start,
        after=after,
        first=first,
        keepalive_s=settings.stream_keepalive_s,
    )


async def create_run(call: Call) -> Response:
    thread_id = call.path(IdKind.thread, "thread_id")
    include = check_include(call)
    req = parse_body(RunCreate, await read_body(call))
    runs = call.container.runs
    run_id = new_id(IdKind.run)
    if req.stream:
        return await _stream(
            call,
            run_id,
            lambda: runs.create(
                call.project, thread_id, req, run_id, streamed=True, include=include
            ),
        )
    return polled(call, await runs.create(call.project, thread_id, req, run_id, include=include))


async def create_thread_and_run(call: Call) -> Response:
    req = parse_body(ThreadAndRunCreate, await read_body(call))
    runs = call.container.runs
    run_id = new_id(IdKind.run)
    if req.stream:
        return await _stream(
            call,
            run_id,
            lambda: runs.create_thread_and_run(call.project, req, run_id, streamed=True),
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
        return await _stream(
            call,
            run_id,
            lambda: runs.submit_tool_outputs(call.project, thread_id, run_id, req, streamed=True),
            after=None,  # the run's earlier turns were streamed already
        )
    return polled(call, await runs.submit_tool_outputs(call.project, thread_id, run_id, req))


_LIVE = ("queued", "in_progress", "cancelling")


def _resume_after(call: Call) -> int:
    raw = call.header(b"last-event-id")
    value, param = (raw.decode("latin-1"), "Last-Event-ID") if raw else (None, "after")
    if value is None:
        value = call.query.get("after", "0")
    if not value.strip().isdigit() or len(value.strip()) > 18:
        raise InvalidRequest(
            f"Invalid '{param}': expected the id (a whole number) of the last event received.",
            param=param,
            code="invalid_value",
        )
    return int(value)


async def run_events(call: Call) -> Response:
    """Extension: re-attach to a run's stream on any process, after the last event seen
    (`Last-Event-ID` or `?after=`): the events missed, then the rest of its turn."""
    thread_id = call.path(IdKind.thread, "thread_id")
    run_id = call.path(IdKind.run, "run_id")
    after = _resume_after(call)
    runs = call.container.runs
    await runs.get(call.project, thread_id, run_id)  # 404 before subscribing

    async def is_live() -> bool:
        doc = await runs.get(call.project, thread_id, run_id)
        return orjson.loads(doc)["status"] in _LIVE

    settings = call.container.settings
    return await resume_run(
        call.container.bus, run_id, after, is_live, keepalive_s=settings.stream_keepalive_s
    )


_RUN = "/threads/{thread_id}/runs/{run_id}"
routes = [
    Route("/threads/runs", v1(create_thread_and_run, uses_model=True), methods=["POST"]),
    Route("/threads/{thread_id}/runs", v1(create_run, uses_model=True), methods=["POST"]),
    Route("/threads/{thread_id}/runs", v1(list_runs), methods=["GET"]),
    Route(_RUN, v1(get_run), methods=["GET"]),
    Route(_RUN, v1(modify_run), methods=["POST"]),
    Route(_RUN + "/events", v1(run_events), methods=["GET"]),
    Route(_RUN + "/cancel", v1(cancel_run), methods=["POST"]),
    Route(
        _RUN + "/submit_tool_outputs", v1(submit_tool_outputs, uses_model=True), methods=["POST"]
    ),
]
