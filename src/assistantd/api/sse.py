"""Server-sent events: a run's events as `event:`/`data:` frames, ending with `done`.

The stream is a view of the run, not the run: it subscribes before the run can start
(so no early event is lost), relays events as the worker publishes them (tokens
included, nothing buffered), sends a keep-alive comment while the model is silent, and
ends after the run's last event of this turn (`requires_action` or a terminal state)
with `event: done` / `data: [DONE]`. A client that disconnects only unsubscribes.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import AsyncExitStack
from typing import TypeVar

from starlette.responses import StreamingResponse

from assistantd.errors import error_body
from assistantd.events.bus import Event, EventBus
from assistantd.services.run_events import RUN_ENDS

__all__ = ["DONE", "frame", "stream_run"]

T = TypeVar("T")
log = logging.getLogger(__name__)
DONE = b"event: done\ndata: [DONE]\n\n"
_KEEP_ALIVE = b": keep-alive\n\n"


def frame(name: str, data: bytes) -> bytes:
    return b"event: " + name.encode() + b"\ndata: " + data + b"\n\n"


async def _relay(
    queue: asyncio.Queue[Event], first: list[bytes], stack: AsyncExitStack, keepalive_s: float
) -> AsyncIterator[bytes]:
    async with stack:  # leaves the subscription however the stream ends
        try:
            for item in first:
                yield item
            while True:
                try:
                    name, data = await asyncio.wait_for(queue.get(), timeout=keepalive_s)
                except TimeoutError:
                    yield _KEEP_ALIVE
                    continue
                yield frame(name, data)
                if name in RUN_ENDS:
                    break
        except Exception:
            # The run goes on; this stream cannot. Say so in the spec's shape (a bare
            # Error object, which the SDK yields rather than raises), then end.
            log.exception("streaming a run failed")
            message = "The server had an error while streaming this run; it continues."
            yield frame("error", error_body(message, type="server_error")[len(b'{"error":') : -1])
        yield DONE


async def stream_run(
    bus: EventBus,
    run_id: str,
    start: Callable[[], Awaitable[T]],
    *,
    first: Callable[[T], list[bytes]] = lambda _: [],
    keepalive_s: float = 15.0,
) -> StreamingResponse:
    """Subscribe to `run_id`, then `start()` the run (its errors are plain HTTP errors,
    raised before any byte is streamed), then stream its events."""
    stack = AsyncExitStack()
    queue = await stack.enter_async_context(bus.subscribe(run_id))
    try:
        started = await start()
    except BaseException:
        await stack.aclose()
        raise
    return StreamingResponse(
        _relay(queue, first(started), stack, keepalive_s),
        media_type="text/event-stream",
        headers={"cache-control": "no-cache", "x-accel-buffering": "no"},
    )
