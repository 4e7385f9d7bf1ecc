"""Server-sent events: a run's events as `event:`/`data:` frames, ending with `done`.

The stream is a view of the run, not the run: it subscribes before the run can start
(so no early event is lost), relays events as the worker publishes them (tokens
included, nothing buffered), sends a keep-alive comment line while the model is
silent (never a blank line: see `_KEEP_ALIVE`), and ends after the run's last event of
this turn (`requires_action` or a terminal state) with `event: done` /
`data: [DONE]`. A client that disconnects only unsubscribes.

Each frame carries `id: <seq>`, the event's number in its run, so a client that lost
its connection can resume on any process (`resume_run`, an extension to OpenAI's API).
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import AsyncExitStack
from typing import TypeVar

from starlette.responses import StreamingResponse

from assistantd.errors import error_body
from assistantd.events.bus import EventBus, EventsLost, Subscription
from assistantd.observability.metrics import ACTIVE_STREAMS
from assistantd.services.run_events import RUN_ENDS

__all__ = ["DONE", "frame", "resume_run", "stream_run"]

T = TypeVar("T")
log = logging.getLogger(__name__)
DONE = b"event: done\ndata: [DONE]\n\n"
# A comment line with no blank line after it. A blank line ends an event: after the
# first frame (which carries `id:`) openai-python's decoder keeps that id and turns
# every later blank line into an empty event, whose `data` it then fails to parse as
# JSON. The comment alone still moves bytes (proxies and read timeouts see traffic),
# and every decoder ignores it as part of the next frame.
_KEEP_ALIVE = b": keep-alive\n"


def frame(name: str, data: bytes, seq: int | None = None) -> bytes:
    """One SSE frame; `id:` is the event's sequence number in its run, for resuming."""
    head = b"id: %d\nevent: " % seq if seq is not None else b"event: "
    return head + name.encode() + b"\ndata: " + data + b"\n\n"


def _error_frame(message: str) -> bytes:
    # A bare Error object, the spec's shape for an `error` event (the SDK yields it).
    return frame("error", error_body(message, type="server_error")[len(b'{"error":') : -1])


async def _relay(
    events: Subscription,
    first: list[bytes],
    stack: AsyncExitStack,
    keepalive_s: float,
    follow: bool = True,
) -> AsyncIterator[bytes]:
    """The run's events until its turn ends; with `follow` False, only those kept now."""
    ACTIVE_STREAMS.inc()
    stack.callback(ACTIVE_STREAMS.dec)
    async with stack:  # leaves the subscription however the stream ends
        try:
            for item in first:
                yield item
            ended = False
            while not ended:
                batch = await events.next(keepalive_s if follow else 0)
                if not batch:
                    if not follow:
                        break
                    yield _KEEP_ALIVE
                    continue
                # One write for what arrived together (a message's four opening
                # events, a burst of tokens): a send per event cost more than the event.
                frames = []
                for event in batch:
                    frames.append(frame(event.name, event.data, event.seq))
                    if event.name in RUN_ENDS:
                        ended = True
                        break
                yield b"".join(frames)
        except EventsLost as exc:
            yield _error_frame(f"This stream fell too far behind the run: {exc}.")
        except Exception:
            # The run goes on; this stream cannot. Say so, then end.
            log.exception("streaming a run failed")
            yield _error_frame("The server had an error while streaming this run; it continues.")
        yield DONE


async def stream_run(
    bus: EventBus,
    run_id: str,
    start: Callable[[], Awaitable[T]],
    *,
    after: int | None = None,
    first: Callable[[T], list[bytes]] = lambda _: [],
    follow: Callable[[T], bool] = lambda _: True,
    keepalive_s: float = 15.0,
) -> StreamingResponse:
    """Subscribe to `run_id` from event `after` (None: from now), then `start()` the
    run (its errors are plain HTTP errors, raised before any byte is streamed), then
    stream its events: all of its turn, or, if `follow(started)` is False, only those
    kept now."""
    stack = AsyncExitStack()
    events = await stack.enter_async_context(bus.subscribe(run_id, after))
    try:
        started = await start()
    except BaseException:
        await stack.aclose()
        raise
    body = _relay(events, first(started), stack, keepalive_s, follow=follow(started))
    return StreamingResponse(
        body,
        media_type="text/event-stream",
        headers={"cache-control": "no-cache", "x-accel-buffering": "no"},
    )


async def resume_run(
    bus: EventBus,
    run_id: str,
    after: int,
    is_live: Callable[[], Awaitable[bool]],
    *,
    keepalive_s: float = 15.0,
) -> StreamingResponse:
    """The run's events after `after`: those kept, then, if the run is still going (read
    after subscribing, so its ending cannot slip between), the rest as they come."""
    return await stream_run(
        bus, run_id, is_live, after=after, follow=lambda live: live, keepalive_s=keepalive_s
    )
