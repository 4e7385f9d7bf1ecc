"""/v1/responses: create (JSON, streamed, or in the background), retrieve (or replay its
stream), delete, cancel, list input items, count input tokens."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack

import orjson
from starlette.responses import Response, StreamingResponse
from starlette.routing import Route

from assistantd.api.deps import Call, include_params, list_params, read_body, v1
from assistantd.api.validation import parse_body
from assistantd.errors import InvalidRequest
from assistantd.events.bus import EventsLost, Subscription
from assistantd.ids import IdKind, new_id
from assistantd.observability.metrics import ACTIVE_STREAMS
from assistantd.protocol.responses import RESPONSE_INCLUDABLE, InputTokensCreate, ResponseCreate
from assistantd.services.response_events import ResponseEvents, output_events
from assistantd.services.responses import ResponseService
from assistantd.services.run_events import RUN_ENDS
from assistantd.store.repos.responses import ResponseRecord

__all__ = ["routes"]

log = logging.getLogger(__name__)
_KEEP_ALIVE = b": keep-alive\n"  # no blank line after it: see api/sse.py
_LIVE = ("queued", "in_progress")


def _frame(event: dict[str, object]) -> bytes:
    return b"event: " + str(event["type"]).encode() + b"\ndata: " + orjson.dumps(event) + b"\n\n"


def _error_event(seq: int, message: str) -> bytes:
    event = {
        "type": "error",
        "sequence_number": seq,
        "code": "server_error",
        "message": message,
        "param": None,
    }
    return _frame(event)


async def _relay(
    events: Subscription,
    translator: ResponseEvents,
    stack: AsyncExitStack,
    keepalive_s: float,
    after: int,
    service: ResponseService,
    forget: ResponseRecord | None,
) -> AsyncIterator[bytes]:
    """The response's events after `after`, until its final one."""
    ACTIVE_STREAMS.inc()
    stack.callback(ACTIVE_STREAMS.dec)
    async with stack:
        try:
            while not translator.finished:
                batch = await events.next(keepalive_s)
                if not batch:
                    yield _KEEP_ALIVE
                    continue
                frames = []
                for event in batch:
                    for out in await translator.feed(event.name, event.data):
                        if out["sequence_number"] > after:
                            frames.append(_frame(out))
                    if translator.finished:
                        break
                if frames:
                    yield b"".join(frames)
        except EventsLost as exc:
            yield _error_event(translator.seq + 1, f"This stream fell too far behind: {exc}.")
        except Exception:
            log.exception("streaming a response failed")
            yield _error_event(
                translator.seq + 1, "The server had an error while streaming this response."
            )
        finally:
            if forget is not None:
                await service.forget(forget)


def _streaming(body: AsyncIterator[bytes]) -> StreamingResponse:
    return StreamingResponse(
        body,
        media_type="text/event-stream",
        headers={"cache-control": "no-cache", "x-accel-buffering": "no"},
    )


async def _wait(events: Subscription, keepalive_s: float) -> None:
    """Until the run ends (its events say so)."""
    while True:
        batch = await events.next(keepalive_s)
        if any(event.name in RUN_ENDS for event in batch):
            return


async def create_response(call: Call) -> Response | bytes:
    req = parse_body(ResponseCreate, await read_body(call))
    service = call.container.responses
    bus = call.container.bus
    keepalive_s = call.container.settings.stream_keepalive_s
    response_id, run_id = new_id(IdKind.response), new_id(IdKind.run)
    include = list(req.include or [])
    if req.background and not req.stream:
        await service.create(call.project, req, response_id, run_id, streamed=False)
        return orjson.dumps(await service.document(call.project, response_id, include))
    stack = AsyncExitStack()
    events = await stack.enter_async_context(bus.subscribe(run_id, after=0))
    try:
        record = await service.create(call.project, req, response_id, run_id, streamed=True)
    except BaseException:
        await stack.aclose()
        raise
    forget = record if req.store is False else None
    if req.stream:
        translator = ResponseEvents(
            response_id,
            record.thread_id,
            bool(req.background),
            opening=lambda run: service.opening(record, run),
            final=lambda run: service.final(record, run, include),
        )
        return _streaming(_relay(events, translator, stack, keepalive_s, -1, service, forget))
    async with stack:
        await _wait(events, keepalive_s)
    doc = await service.document(call.project, response_id, include)
    if forget is not None:
        await service.forget(forget)
    return orjson.dumps(doc)


def _starting_after(call: Call) -> int:
    value = call.query.get("starting_after")
    if value is None:
        return -1
    if not value.strip().lstrip("-").isdigit() or len(value) > 18:
        raise InvalidRequest(
            "Invalid 'starting_after': expected an integer.",
            param="starting_after",
            code="invalid_value",
        )
    return int(value)


async def get_response(call: Call) -> Response | bytes:
    response_id = call.path(IdKind.response, "response_id")
    include = include_params(call, RESPONSE_INCLUDABLE)
    service = call.container.responses
    if call.query.get("stream") not in ("true", "True", "1"):
        return orjson.dumps(await service.document(call.project, response_id, include))
    after = _starting_after(call)
    record = await service.record(call.project, response_id)
    background = bool(orjson.loads(record.doc)["background"])
    stack = AsyncExitStack()
    events = await stack.enter_async_context(call.container.bus.subscribe(record.run_id, after=0))
    doc = await service.document(call.project, response_id, include)
    kept = await events.next(0)
    if not kept and doc["status"] not in _LIVE:
        # The run's own events are no longer kept: its stream, made from what it wrote.
        await stack.aclose()
        frames = [_frame(e) for e in output_events(doc, background) if e["sequence_number"] > after]

        async def replay() -> AsyncIterator[bytes]:
            yield b"".join(frames)

        return _streaming(replay())
    translator = ResponseEvents(
        response_id,
        record.thread_id,
        background,
        opening=lambda run: service.opening(record, run),
        final=lambda run: service.final(record, run, include),
    )
    keepalive_s = call.container.settings.stream_keepalive_s

    async def body() -> AsyncIterator[bytes]:
        first = []
        for event in kept:
            for out in await translator.feed(event.name, event.data):
                if out["sequence_number"] > after:
                    first.append(_frame(out))
        if first:
            yield b"".join(first)
        if translator.finished:
            await stack.aclose()
            return
        async for chunk in _relay(events, translator, stack, keepalive_s, after, service, None):
            yield chunk

    return _streaming(body())


async def delete_response(call: Call) -> bytes:
    response_id = call.path(IdKind.response, "response_id")
    return await call.container.responses.delete(call.project, response_id)


async def cancel_response(call: Call) -> bytes:
    response_id = call.path(IdKind.response, "response_id")
    return orjson.dumps(await call.container.responses.cancel(call.project, response_id))


async def list_input_items(call: Call) -> bytes:
    response_id = call.path(IdKind.response, "response_id")
    params = list_params(call)
    return await call.container.responses.input_items(call.project, response_id, params)


async def count_input_tokens(call: Call) -> bytes:
    req = parse_body(InputTokensCreate, await read_body(call))
    count = await call.container.responses.input_tokens(call.project, req)
    return orjson.dumps({"object": "response.input_tokens", "input_tokens": count})


_ONE = "/responses/{response_id}"
routes = [
    Route("/responses", v1(create_response, uses_model=True), methods=["POST"]),
    Route("/responses/input_tokens", v1(count_input_tokens), methods=["POST"]),
    Route(_ONE, v1(get_response), methods=["GET"]),
    Route(_ONE, v1(delete_response), methods=["DELETE"]),
    Route(_ONE + "/cancel", v1(cancel_response), methods=["POST"]),
    Route(_ONE + "/input_items", v1(list_input_items), methods=["GET"]),
]
